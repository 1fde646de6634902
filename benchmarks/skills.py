"""DeepMimic's skills with one budget each: train, evaluate as the papers do, and tabulate beside them.

For each clip: ``mimic train CLIP --config CONFIG --max-time MINUTES`` into ``OUT/CLIP`` (resumed when a
stopped run is there, skipped when it already trained for the budget), then 32 deterministic test
episodes of its best policy (``mimic eval``'s measures), and its learning curves
(``OUT/CLIP/curves.png``). Writes ``OUT/skills.md``: a markdown table with the samples, wall time,
normalized return (NR), MPJPE (plain and time-warped, the AMP paper's measure), world body error, fall
rate and episode length of every clip, beside DeepMimic's NR (its Table 2, after the samples it lists)
and the AMP paper's tracking error of its DeepMimic baseline (Table 3).

Run: ``python benchmarks/skills.py run jump spinkick backflip cartwheel --minutes 60 [--nproc N] [--out runs/skills]``;
``--no-train`` tabulates the clips already trained in ``--out`` (with whatever budget each had). The
last column is the PD backend each trained with (README, "Physics engine").
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mimic.training.commands import train_worker
from mimic.training.config import load_train_config
from mimic.training.launch import run_workers
from mimic.training.logger import read_csv

# DeepMimic paper, Table 2: (samples in millions, NR); AMP paper, Table 3: the DeepMimic baseline's
# pose error (m). See ../shared/reference/ANCHORS.md, section 2.
DEEPMIMIC_NR: dict[str, tuple[float, float]] = {
    "backflip": (72, 0.729), "cartwheel": (51, 0.804), "crawl": (68, 0.932), "dance_a": (67, 0.863),
    "dance_b": (79, 0.822), "getup_facedown": (49, 0.885), "getup_faceup": (66, 0.838), "jump": (86, 0.947),
    "kick": (50, 0.854), "punch": (60, 0.812), "roll": (81, 0.735), "run": (53, 0.951), "spin": (191, 0.664),
    "spinkick": (67, 0.748), "walk": (61, 0.985),
}
AMP_DEEPMIMIC_ERROR: dict[str, float] = {
    "backflip": 0.076, "cartwheel": 0.039, "crawl": 0.044, "dance_a": 0.038, "jump": 0.033, "roll": 0.072,
    "run": 0.028, "spin": 0.063, "spinkick": 0.042, "walk": 0.018,
}


def train_clip(clip: str, args: argparse.Namespace, run_dir: Path) -> None:
    """Train (or continue) ``clip`` until the run has ``args.minutes`` of wall time."""
    latest = run_dir / "latest.pt"
    resume = latest.is_file()
    if resume:
        rows = read_csv(run_dir / "log.csv")[1]
        if rows and rows[-1]["wall_time_min"] >= args.minutes * 0.99:
            return
        cfg = load_train_config(run_dir / "config.yaml", args.overrides)
    else:
        cfg = load_train_config(args.config, args.overrides)
        cfg.env.clips = [clip]
    cfg.run.max_samples, cfg.run.max_minutes = 0, args.minutes
    print(f"{clip}: {'resuming' if resume else 'training'} for {args.minutes:g} min in total", flush=True)
    run_workers(train_worker, (cfg, str(run_dir), resume, False), nproc=args.nproc, device=cfg.run.device,
                timeout_s=cfg.run.dist_timeout_s)


def evaluate_clip(run_dir: Path, episodes: int, checkpoint: str = "best") -> dict[str, float]:
    """``mimic eval``'s metrics of the run's best (else last) policy, or of its last with ``checkpoint="latest"``
    (cached in ``eval.json`` beside it)."""
    from mimic.eval.evaluator import evaluate
    from mimic.policies import load_policy

    cache = run_dir / "eval.json"
    ckpt = run_dir / ("best.pt" if checkpoint == "best" and (run_dir / "best.pt").is_file() else "latest.pt")
    if cache.is_file():
        data = json.loads(cache.read_text())
        if (data.get("checkpoint_mtime") == ckpt.stat().st_mtime and data.get("episodes") == episodes
                and data.get("checkpoint", "best.pt") == ckpt.name):
            return data
    agent, env, _ = load_policy(str(ckpt), num_envs=min(episodes, 16))
    result = evaluate(env, agent.policy(), episodes=episodes)
    env.close()
    cache.write_text(json.dumps({**result, "checkpoint_mtime": ckpt.stat().st_mtime, "checkpoint": ckpt.name}))
    return result


def pd_backend(run_dir: Path) -> str:
    """The PD backend the run trained with (its config's, else its character's choice for its clips)."""
    from mimic.character.spec import load_spec

    env = load_train_config(run_dir / "config.yaml").env
    spec = load_spec(env.character)
    return spec.engine_config_for(env.engine, [spec.clip_short_name(c) for c in env.clips]).backend


def table(clips: list[str], out: Path) -> str:
    """The markdown table of the trained clips."""
    head = ("| clip | samples | wall time | NR | DeepMimic NR (samples) | MPJPE (m) | time-warped MPJPE (m) | "
            "AMP's DeepMimic error (m) | body error (m) | falls | episode (s) | PD |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for clip in clips:
        run_dir = out / clip
        if not (run_dir / "eval.json").is_file():
            continue
        r = json.loads((run_dir / "eval.json").read_text())
        last = read_csv(run_dir / "log.csv")[1][-1]
        dm = DEEPMIMIC_NR.get(clip)
        amp = AMP_DEEPMIMIC_ERROR.get(clip)
        warped = r.get("mpjpe_dtw_m")  # evaluations written before it existed have none
        lines.append(f"| {clip} | {last['samples'] / 1e6:.1f}M | {last['wall_time_min']:.0f} min | "
                     f"{r['normalized_return']:.3f} | {f'{dm[1]:.3f} ({dm[0]:g}M)' if dm else '-'} | "
                     f"{r['mpjpe_m']:.3f} | {f'{warped:.3f}' if warped is not None else '-'} | "
                     f"{f'{amp:.3f}' if amp else '-'} | "
                     f"{r['body_pos_error_m']:.3f} | "
                     f"{r['fall_rate']:.0%} | {r['mean_episode_seconds']:.1f} | {pd_backend(run_dir)} |")
    return head + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="bundled clip names (or clip paths)")
    parser.add_argument("--minutes", type=float, help="wall-clock training budget per clip (needed unless --no-train)")
    parser.add_argument("--no-train", action="store_true",
                        help="only evaluate and tabulate the runs already in --out (clips trained with other budgets)")
    parser.add_argument("--config", default="fast256",
                        help="preset or YAML for every clip (default fast256, which trained the shipped skills)")
    parser.add_argument("--nproc", type=int, default=1, help="training processes (default 1)")
    parser.add_argument("--episodes", type=int, default=32, help="test episodes per clip (default 32)")
    parser.add_argument("--out", default="runs/skills", help="folder of the runs and skills.md (default runs/skills)")
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for all")
    parser.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                        help="evaluate each run's best.pt (the best test round; the default) or latest.pt (its last "
                             "checkpoint: short test rounds, as a non-looping clip's, make the best one noisy)")
    args = parser.parse_args()
    if args.minutes is None and not args.no_train:
        parser.error("--minutes is required (or --no-train to tabulate what is trained)")
    out = Path(args.out)
    from mimic.render.plots import plot_run

    for clip in args.clips:
        name = Path(clip).stem.removeprefix("humanoid3d_")
        run_dir = out / name
        if args.no_train:
            if not (run_dir / "latest.pt").is_file():
                print(f"{name}: not trained in {out}; skipped", flush=True)
                continue
        else:
            train_clip(clip, args, run_dir)
        result = evaluate_clip(run_dir, args.episodes, args.checkpoint)
        plot_run(run_dir)
        print(f"{name}: NR {result['normalized_return']:.3f}, MPJPE {result['mpjpe_m']:.3f} m, falls "
              f"{result['fall_rate']:.0%}" + ("" if math.isfinite(result["normalized_return"]) else " (no episode)"),
              flush=True)
    names = [Path(c).stem.removeprefix("humanoid3d_") for c in args.clips]
    text = table(names, out)
    (out / "skills.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
