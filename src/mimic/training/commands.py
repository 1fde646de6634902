"""``mimic train | eval | play | export | plot``: argument parsing and the command bodies (play's in
:mod:`mimic.training.play`; policies by name in :mod:`mimic.policies`)."""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mimic.errors import MimicError
from mimic.policies import load_policy, shipped_name

if TYPE_CHECKING:
    from mimic.envs.config import EnvConfig

_SHIPPED_HELP = "policy (walk; another character's as CHARACTER/CLIP, e.g. dog3d/trot, or CLIP with --character)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the training commands to the ``mimic`` parser."""
    from mimic.cli import _positive_float, _positive_int, add_character_arg

    p = sub.add_parser("train", help="train a policy with PPO",
                       description="Train a policy that imitates a clip with PPO. Writes config.yaml, log.csv, "
                                   "TensorBoard events (tb/), latest.pt and best.pt into the run directory.")
    p.add_argument("clip", nargs="?", default=None, help="bundled clip name or clip path (default: the config's)")
    p.add_argument("--dataset", default=None, metavar="NAME|FILE.yaml",
                   help="train on a motion dataset instead of one clip: a YAML list of clips with weights and "
                        "optional playback rates (README, 'Motion datasets'), or a bundled one "
                        "(humanoid_locomotion); sets env.clips, env.clip_weights and env.clip_rates")
    from mimic.training.config import preset_names

    p.add_argument("--config", default=None,
                   help=f"preset name ({', '.join(preset_names())}) or YAML path (default deepmimic_humanoid; "
                        "fast trains quickest on a CPU)")
    p.add_argument("--arg-file", default=None, metavar="F",
                   help="a DeepMimic train_humanoid3d_*_args.txt: maps the motion file, fall contact bodies, "
                        "contact termination and time limit, and warns about the rest")
    p.add_argument("--out", default=None, help="run directory (default runs/CLIP-DATE-TIME)")
    p.add_argument("--num-envs", type=_positive_int, default=None, help="characters simulated together")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max-samples", type=_positive_int, default=None, help="stop after this many samples")
    budget.add_argument("--max-time", type=_positive_float, default=None, metavar="MIN",
                        help="stop after this many minutes of wall time")
    p.add_argument("--seed", type=int, default=None, help="random seed (default the config's, 0)")
    p.add_argument("--device", default=None,
                   help="device of the networks: cpu, cuda (each rank takes cuda:LOCAL_RANK) or cuda:K; the "
                        "simulation runs where env.engine says (the CPU engine by default; "
                        "env.engine.name=mujoco_warp for the GPU) (default cpu)")
    p.add_argument("--nproc", type=_positive_int, default=None,
                   help="worker processes on this machine, data-parallel over torch.distributed (gloo on CPU, "
                        "NCCL on CUDA); each runs --num-envs characters. Under torchrun this is ignored and "
                        "torchrun's ranks are used (default 1; with --resume the run's own)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest.pt, with the run's configuration, --nproc and "
                        "--num-envs unless given")
    p.add_argument("--init", default=None, metavar="POLICY",
                   help="start from a trained policy (run directory, checkpoint file or shipped name): its actor "
                        "and observation normalizer; critic, discriminator and optimizers start afresh (run.init; "
                        "pair with agent.actor_warmup_iters=N so the new critic learns first)")
    p.add_argument("--no-progress", action="store_true", help="print a table line per iteration, no progress bar")
    add_character_arg(p)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides, e.g. agent.actor_lr=5e-5 env.episode_seconds=10")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate trained policies",
                       description="Deterministic test episodes of one or more policies, measured as the papers do: "
                                   "DeepMimic's normalized return (the return over the largest possible over the "
                                   "full episode, so a fall lowers it), reward per step, the AMP paper's root-"
                                   "relative joint position error (mpjpe), world body and root errors (m), fall "
                                   "rate, episode length. Several policies give one table.")
    p.add_argument("policy", nargs="+",
                   help="run directory (uses best.pt, else latest.pt), checkpoint file, or the name of a shipped "
                        + _SHIPPED_HELP)
    p.add_argument("--episodes", type=_positive_int, default=32, help="test episodes per policy (default 32)")
    p.add_argument("--engine", choices=("mujoco_cpu", "mujoco_warp"), default=None,
                   help="simulate with this engine instead of the one the policy was trained with (sim-to-sim "
                        "across engines; mujoco_warp needs the gpu extra, runs on cuda:0 or else Warp's cpu device)")
    p.add_argument("--seed", type=int, nargs="+", action="extend", default=None, metavar="SEED",
                   help="seed of the test episodes' starts and task targets (default: the run's seed + 20000, so "
                        "every checkpoint of a run meets the same episodes); another seed gives fresh episodes, "
                        "e.g. to confirm a checkpoint picked on the default ones. Several seeds (--seed 0 7) run "
                        "--episodes episodes on each: one row per seed and one pooling them all (JSON lines gain "
                        "seed, the pooled one seeds)")
    p.add_argument("--by-clip", action="store_true",
                   help="for a policy trained on several clips (a dataset): --episodes episodes starting on each "
                        "clip, one row each (which start clips fall); JSON lines gain start_clip")
    p.add_argument("--set", dest="env_overrides", metavar="env.KEY=VALUE", action="append", default=[],
                   help="evaluate with a field of the policy's stored env config changed (repeatable), e.g. "
                        "env.episode_seconds=60 (a steering policy follows a minute of random targets) or "
                        "env.clip_weights=[1,0,0]; training-only settings are dropped all the same")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per policy and line: policy, normalized_return, reward_per_step, "
                        "mpjpe_m, body_pos_error_m, root_pos_error_m, fall_rate, mean_episode_seconds, episodes "
                        "(with fall_seconds: each fall's time after its episode's start, and fall_starts: each "
                        "fall as [its episode's start time in the clip, the fall's time after it])")
    add_character_arg(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("play", help="render a trained policy beside its reference",
                       description="Run a policy (mean action): MuJoCo's viewer when a display exists, otherwise "
                                   "(or with --out) a video of the simulated character beside its translucent "
                                   "reference.")
    p.add_argument("policy", help="run directory, checkpoint file, or the name of a shipped " + _SHIPPED_HELP)
    p.add_argument("--out", default=None,
                   help="mp4 path; without it, the MuJoCo viewer when a display exists, else play.mp4 in the run "
                        "directory")
    p.add_argument("--seconds", type=_positive_float, default=8.0, help="length of the video (default 8)")
    p.add_argument("--no-caption", action="store_true",
                   help="leave out the caption (clip, time, running return) and the coloured border that marks "
                        "a fall (red) or another episode end (blue) for 0.75 s")
    p.add_argument("--export", default=None, metavar="OUT.bvh|OUT.npz|OUT.txt",
                   help="write the simulated motion of one episode (from the clip's start, at most --seconds) as a "
                        "clip instead of a video: .bvh opens in Blender with the character's skeleton (metres, "
                        "y-up), .npz / .txt play with `mimic view`; with --out the video is written too")
    p.add_argument("--targets", default=None, metavar="T:DEG:SPEED,...",
                   help="steering policies: a fixed sequence of targets instead of random ones, each from time T "
                        "(s): direction DEG (degrees about z from +x) and SPEED (m/s), e.g. 0:0:1,4:90:1.5,8:180:1 "
                        "(the video shows the target as a red arrow either way)")
    add_character_arg(p)
    p.set_defaults(func=_play)

    p = sub.add_parser("export", help="export a policy as ONNX or TorchScript with a JSON contract",
                       description="Write the policy (raw observation -> normalized action, the observation "
                                   "normalizer inside) as one graph, and beside it OUT.json: the observation layout, "
                                   "the action -> PD target map, joints, PD gains and torque limits, rates and clip "
                                   "timing, everything needed to drive the character without Mimic.")
    p.add_argument("policy", help="run directory, checkpoint file, or the name of a shipped " + _SHIPPED_HELP)
    p.add_argument("out", help="OUT.onnx (ONNX, needs the onnx and onnxscript packages) or OUT.pt (TorchScript)")
    add_character_arg(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("plot", help="plot a run's learning curves",
                       description="Test/train return, episode length and tracking error against samples and wall "
                                   "time, from the run's log.csv.")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", default=None, help="PNG path (default curves.png in the run directory)")
    p.set_defaults(func=cmd_plot)


def cmd_train(args: argparse.Namespace) -> int:
    from mimic.training.config import load_train_config

    if args.clip and "=" in args.clip:  # `mimic train key=value ...` with no clip
        args.overrides, args.clip = [args.clip, *args.overrides], None
    clips_set = [o for o in args.overrides if o.split("=", 1)[0].strip() == "env.clips"]
    chosen = [c for c in (f"the clip {args.clip!r}" if args.clip else None,
                          f"--dataset {args.dataset}" if args.dataset else None,
                          clips_set[-1] if clips_set else None) if c]
    if len(chosen) > 1:
        both = "both" if len(chosen) == 2 else "all"
        raise MimicError(f"{' and '.join(chosen)} {both} choose the clips to train on; give one")
    out = Path(args.out) if args.out else None
    if args.init and args.resume:
        raise MimicError("--init starts a new run from a policy; --resume continues one: give one of them")
    if args.resume:
        if out is None:
            raise MimicError("--resume needs --out RUN_DIR")
        cfg = load_train_config(out / "config.yaml", args.overrides)
    else:
        cfg = load_train_config(args.config, args.overrides)
    if args.arg_file:
        from mimic.training.argfile import apply_arg_file

        for warning in apply_arg_file(cfg, args.arg_file):
            print(f"mimic: warning: {warning}")
    if args.character:
        cfg.env.character = args.character
    if args.clip:
        cfg.env.clips, cfg.env.clip_weights, cfg.env.clip_rates = [args.clip], None, None
    if args.dataset:
        from mimic.motion.dataset import load_dataset

        data = load_dataset(args.dataset)
        cfg.env.clips, cfg.env.clip_weights, cfg.env.clip_rates = data.clips, data.weights, data.env_rates
    run = cfg.run
    nproc = args.nproc or 1
    if args.resume:
        nproc = _resumed_sizes(out, run.num_envs, args.nproc, args.num_envs)
    run.num_envs = args.num_envs or run.num_envs
    if args.max_samples:
        run.max_samples, run.max_minutes = args.max_samples, 0.0
    if args.max_time:
        run.max_minutes, run.max_samples = args.max_time, 0
    run.seed = run.seed if args.seed is None else args.seed
    run.device = args.device or run.device
    if args.init:
        from mimic.policies import resolve_checkpoint

        run.init = shipped_name(args.init, args.character)
        resolve_checkpoint(run.init)  # a clear error before any worker starts
    if out is None:
        from mimic.character.spec import DEFAULT_CHARACTER
        from mimic.motion.bundled import clip_short_name

        name = Path(args.dataset).stem if args.dataset else clip_short_name(cfg.env.clips[0])
        if cfg.env.character and cfg.env.character != DEFAULT_CHARACTER:
            name = f"{Path(cfg.env.character).stem}-{name}"
        out = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not args.resume and (out / "latest.pt").is_file():  # before starting any worker
        from mimic.training.runner import run_exists_error

        raise run_exists_error(out)
    from mimic.training.launch import run_workers

    run_workers(train_worker, (cfg, str(out), args.resume, not args.no_progress), nproc=nproc,
                device=run.device, timeout_s=run.dist_timeout_s)
    return 0


def _resumed_sizes(out: Path, run_num_envs: int, nproc: int | None, num_envs: int | None) -> int:
    """The process count to resume ``out`` with (the run's own unless given); says when either size changes."""
    from mimic.agents.checkpoint import read_checkpoint

    latest = out / "latest.pt"
    run_nproc = int(read_checkpoint(latest).get("extra", {}).get("world_size", 1)) if latest.is_file() else 1
    if nproc is not None and nproc != run_nproc:
        print(f"mimic: resuming with --nproc {nproc} instead of the run's {run_nproc} (new ranks get fresh "
              "random streams)")
    if num_envs is not None and num_envs != run_num_envs:
        print(f"mimic: resuming with --num-envs {num_envs} instead of the run's {run_num_envs}")
    return run_nproc if nproc is None else nproc


def train_worker(ctx, cfg, out: str, resume: bool, progress: bool) -> None:
    """One rank of ``mimic train``: build the trainer on this rank's context and train."""
    from mimic.training.runner import Trainer

    trainer = Trainer(cfg, out, resume=resume, progress=progress, dist=ctx)
    if ctx.is_main:
        print(f"run directory: {out}" + (f" ({ctx.world_size} processes)" if ctx.enabled else ""), flush=True)
    last = trainer.train()
    if ctx.is_main:
        print(closing_line(trainer, last), flush=True)


def closing_line(trainer, last: dict[str, float]) -> str:
    """One line on how a run ended: samples, minutes, best test return (or why there is none)."""
    if not last:
        return f"stopped before the first iteration finished; nothing new saved in {trainer.out_dir}"
    best = trainer.best_score
    test = (f"best test {trainer.best_key()} {best:.3f} (best.pt)" if math.isfinite(best) else
            f"no test round yet (one every run.test_every={trainer.config.run.test_every} iterations)")
    return (f"trained {int(last['samples']):,} samples in {last['wall_time_min']:.1f} min; {test}; "
            f"latest.pt in {trainer.out_dir}")


def cmd_eval(args: argparse.Namespace) -> int:
    from mimic.agents.amp import discriminator_of
    from mimic.eval.evaluator import evaluate, pool

    seeds: list[int | None] = list(dict.fromkeys(args.seed)) if args.seed else [None]
    results = []
    for policy in args.policy:
        name = shipped_name(policy, args.character)
        for clip, only in _eval_starts(name, args.by_clip):
            label = f"{policy} [{clip}]" if clip else policy
            tagged = {"policy": policy, **({"start_clip": clip} if clip else {})}
            per_seed = []
            for seed in seeds:
                agent, env, ckpt = load_policy(name, num_envs=min(args.episodes, 16), engine=args.engine,
                                               env_change=_with_env_overrides(only, args.env_overrides), seed=seed)
                result = evaluate(env, agent.policy(), episodes=args.episodes,
                                  disc_logits=discriminator_of(agent))
                env.close()
                per_seed.append(result)
                if args.json:
                    print(json.dumps({**tagged, **({"seed": seed} if seed is not None else {}), **result}),
                          flush=True)
                results.append((f"{label} seed {seed}" if len(seeds) > 1 else label, ckpt, result))
            if len(seeds) > 1:
                pooled = pool(per_seed)
                if args.json:
                    print(json.dumps({**tagged, "seeds": seeds, **pooled}), flush=True)
                results.append((f"{label} all {len(seeds)} seeds", ckpt, pooled))
    if args.json:
        return 0
    if len(results) == 1:
        policy, ckpt, result = results[0]
        print(f"{ckpt}: {result['episodes']} episodes")
        for key, value in result.items():
            if isinstance(value, dict):  # reward_terms, reward_lost: one term per entry
                value = ", ".join(f"{k} {v:.3f}" for k, v in value.items())
            print(f"  {key:22s} {value}")
        return 0
    cols = [("NR", "normalized_return", "{:.3f}"), ("rew/step", "reward_per_step", "{:.3f}"),
            ("mpjpe_m", "mpjpe_m", "{:.3f}"), ("body_m", "body_pos_error_m", "{:.3f}"),
            ("root_m", "root_pos_error_m", "{:.3f}"), ("falls", "fall_rate", "{:.1%}"),
            ("ep_s", "mean_episode_seconds", "{:.1f}"), ("episodes", "episodes", "{}")]
    if all("mpjpe_dtw_m" in r for _, _, r in results):  # tracking: the AMP paper's time-warped error too
        cols.insert(3, ("mpjpe_dtw", "mpjpe_dtw_m", "{:.3f}"))
    if all("heading_error_deg" in r for _, _, r in results):  # steering: the task's own measures
        cols[1:5] = [("head_deg", "heading_error_deg", "{:.1f}"), ("speed_err", "speed_error_mps", "{:.2f}"),
                     ("speed", "mean_speed_mps", "{:.2f}")]
    width = max(len(p) for p, _, _ in results)
    print(f"{'policy':<{width}} " + " ".join(f"{h:>9}" for h, _, _ in cols))
    for policy, _, result in results:
        print(f"{policy:<{width}} " + " ".join(f"{fmt.format(result[k]):>9}" for _, k, fmt in cols))
    return 0


def _with_env_overrides(change: Callable | None, overrides: list[str]) -> Callable | None:
    """``--set env.KEY=VALUE`` overrides, then ``change`` (an ``EnvConfig -> EnvConfig`` or None)."""
    if not overrides:
        return change

    def apply(env: EnvConfig) -> EnvConfig:  # the overrides first: --by-clip's weights win
        env = env.with_overrides(overrides)
        return change(env) if change is not None else env

    return apply


def _eval_starts(policy: str, by_clip: bool) -> list[tuple[str | None, Callable | None]]:
    """(start clip name or None, env_change) per evaluation of ``policy``: one over its clip mix, or with
    ``by_clip`` one per clip of the mix, every episode starting on that clip (its weight alone non-zero)."""
    if not by_clip:
        return [(None, None)]
    from dataclasses import replace

    from mimic.agents.checkpoint import read_checkpoint
    from mimic.motion.bundled import clip_labels
    from mimic.policies import resolve_checkpoint

    stored = read_checkpoint(resolve_checkpoint(policy)).get("extra", {}).get("train_config", {}).get("env", {})
    clips = stored.get("clips") or []
    if not clips:
        raise MimicError(f"{policy}: --by-clip needs the run configuration the checkpoint stores")

    def only(i: int) -> Callable:
        return lambda env: replace(env, clip_weights=[float(j == i) for j in range(len(clips))])

    return [(label, only(i)) for i, label in enumerate(clip_labels(clips, stored.get("clip_rates")))]


def _play(args: argparse.Namespace) -> int:
    from mimic.training.play import cmd_play

    return cmd_play(args)


def cmd_export(args: argparse.Namespace) -> int:
    from mimic.export import export_policy_graph

    graph, sidecar = export_policy_graph(shipped_name(args.policy, args.character), args.out)
    print(f"wrote {graph} and {sidecar}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from mimic.render.plots import plot_run

    print(f"wrote {plot_run(args.run, args.out)}")
    return 0
