"""Time-to-quality on the walk clip: train for a fixed wall-clock budget and report the curve.

Trains ``mimic train walk`` with a preset for ``--minutes`` and prints, at each checkpoint time
(e.g. 30 min, 1 h, 2 h), the best deterministic test normalized return and the body-position
tracking error reached by then, plus the full-loop samples/s (environment stepping, inference
and PPO updates together).

Run: ``python benchmarks/train_walk.py --minutes 120 --config fast --out runs/bench-walk [KEY=VALUE ...]``
(the setting README's walk results come from: one process on 2 cores, the preset's characters). ``--resume``
continues a run that stopped early up to ``--minutes`` in total.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from mimic.training.commands import train_worker
from mimic.training.config import load_train_config
from mimic.training.launch import run_workers
from mimic.training.logger import read_csv


def summarize(run_dir: Path, marks: list[float]) -> list[dict[str, float]]:
    """Best test return and the error, fall rate and episode length of that test, up to each wall-time mark
    (minutes)."""
    _, rows = read_csv(run_dir / "log.csv")
    out = []
    for mark in marks:
        within = [r for r in rows if r["wall_time_min"] <= mark]
        tested = [r for r in within if math.isfinite(r.get("charts/test_return", math.nan))]
        if not tested:
            continue
        best = max(tested, key=lambda r: r["charts/test_return"])
        out.append({"minutes": mark, "samples": within[-1]["samples"], "best_test_return": best["charts/test_return"],
                    "body_pos_error_m": best.get("charts/body_pos_error_m", math.nan),
                    "fall_rate": best.get("charts/test_fall_rate", math.nan),
                    "test_episode_s": best.get("charts/test_episode_length_s", math.nan),
                    "samples_per_s": sum(r["charts/samples_per_s"] for r in within) / len(within)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget (default 30)")
    parser.add_argument("--config", default="fast", help="preset or YAML (default fast)")
    parser.add_argument("--out", default="runs/bench-walk", help="run directory (default runs/bench-walk)")
    parser.add_argument("--nproc", type=int, default=1, help="training processes (default 1)")
    parser.add_argument("--num-envs", type=int, default=None, help="characters per process (default the preset's)")
    parser.add_argument("--summarize-only", action="store_true", help="only print the table of an existing run")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out up to --minutes in total")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. agent.actor_lr=1e-4")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.summarize_only:
        if args.resume:
            cfg = load_train_config(out / "config.yaml", args.overrides)
        else:
            cfg = load_train_config(args.config, args.overrides)
        cfg.env.clips = ["walk"]
        cfg.run.max_samples, cfg.run.max_minutes = 0, args.minutes
        cfg.run.num_envs = args.num_envs or cfg.run.num_envs
        run_workers(train_worker, (cfg, str(out), args.resume, False), nproc=args.nproc, device=cfg.run.device,
                    timeout_s=cfg.run.dist_timeout_s)
    marks = [m for m in (5, 10, 15, 30, 60, 90, 120, 180) if m <= args.minutes * 1.01] or [args.minutes]
    print(f"{'minutes':>8} {'samples':>12} {'best test return':>17} {'body err (m)':>13} {'fall rate':>10} "
          f"{'test ep (s)':>12} {'samples/s':>10}")
    for row in summarize(out, marks):
        print(f"{row['minutes']:>8.0f} {row['samples']:>12,.0f} {row['best_test_return']:>17.3f} "
              f"{row['body_pos_error_m']:>13.3f} {row['fall_rate']:>10.0%} {row['test_episode_s']:>12.1f} "
              f"{row['samples_per_s']:>10.0f}")


if __name__ == "__main__":
    main()
