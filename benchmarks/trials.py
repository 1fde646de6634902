"""Short training trials side by side: one clip, several settings, each for the same wall-clock budget.

Runs each ``--trial NAME [KEY=VALUE ...]`` one after the other (never two at once: they would halve
each other) with ``mimic train CLIP --config CONFIG --max-time MINUTES`` plus its overrides, then
prints one line per trial: the best test return (and the fall rate of that test) reached by equal
sample counts, which compares learning per sample, and by the end, which compares equal
wall-clock; plus the trial's samples/s.

Run: ``python benchmarks/trials.py --clip walk --minutes 10 --trial base --trial g99 agent.discount=0.99``
(``--summarize-only`` reprints the table of trials already in ``--out``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from mimic.training.commands import train_worker
from mimic.training.config import load_train_config
from mimic.training.launch import run_workers
from mimic.training.logger import read_csv


def best_by(rows: list[dict[str, float]], samples: float) -> tuple[float, float]:
    """(best test return, fall rate of that test) among the tests done by ``samples``; NaNs when none."""
    tested = [r for r in rows if r["samples"] <= samples and math.isfinite(r.get("charts/test_return", math.nan))]
    if not tested:
        return math.nan, math.nan
    best = max(tested, key=lambda r: r["charts/test_return"])
    return best["charts/test_return"], best.get("charts/test_fall_rate", math.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="walk", help="clip name or path (default walk)")
    parser.add_argument("--config", default="fast", help="preset or YAML of every trial (default fast)")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget per trial (default 10)")
    parser.add_argument("--trial", nargs="+", action="append", required=True, metavar="NAME [KEY=VALUE]",
                        help="a trial: its name, then config overrides")
    parser.add_argument("--marks", type=float, nargs="+", default=[1, 2, 4, 8, 16],
                        help="sample counts (millions) to compare at (default 1 2 4 8 16)")
    parser.add_argument("--out", default="runs/trials", help="folder of the trial runs (default runs/trials)")
    parser.add_argument("--summarize-only", action="store_true", help="only print the table of existing trials")
    args = parser.parse_args()
    out = Path(args.out)
    for name, *overrides in args.trial:
        run_dir = out / name
        if args.summarize_only or (run_dir / "latest.pt").is_file():
            continue
        cfg = load_train_config(args.config, overrides)
        cfg.env.clips = [args.clip]
        cfg.run.max_samples, cfg.run.max_minutes = 0, args.minutes
        print(f"trial {name}: {' '.join(overrides) or '(the preset)'}", flush=True)
        run_workers(train_worker, (cfg, str(run_dir), False, False), device=cfg.run.device)
    marks = [m * 1e6 for m in args.marks]
    head = " ".join(f"{f'@{m:g}M':>12}" for m in args.marks)
    print(f"{'trial':>14} {'samples':>11} {'samples/s':>9} {head} {'end':>12}  (best test return / fall rate)")
    for name, *overrides in args.trial:
        log = out / name / "log.csv"
        if not log.is_file():
            print(f"{name:>14} (no run)")
            continue
        rows = read_csv(log)[1]
        total = rows[-1]["samples"]
        sps = total / (rows[-1]["wall_time_min"] * 60)
        cells = []
        for m in [*marks, total]:
            ret, fall = best_by(rows, m) if m <= total else (math.nan, math.nan)
            cells.append(f"{ret:.3f}/{fall:.0%}" if math.isfinite(ret) else "-")
        print(f"{name:>14} {total:>11,.0f} {sps:>9,.0f} " + " ".join(f"{c:>12}" for c in cells) + "  "
              + " ".join(overrides))


if __name__ == "__main__":
    main()
