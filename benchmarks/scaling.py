"""Full-loop training throughput with 1, 2, ... processes on this machine, and the speed-up ratio.

For each process count P, runs ``mimic train walk --nproc P`` (each rank ``--num-envs`` characters,
the threading rule of ``mimic.training.launch``) for ``--iterations`` PPO iterations in a fresh
run directory and reads the per-iteration samples/s from its ``log.csv`` (environment stepping,
inference, PPO updates and the all-reduces; test rounds excluded; the first ``--warmup``
iterations dropped). All counts run in this one invocation, one after the other, so the ratio
compares runs on the same machine state.

Run: ``python benchmarks/scaling.py --nproc 1 2 --num-envs 256 --iterations 14``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mimic.agents.compute import available_cores, threads_per_process
from mimic.training.logger import read_csv


def measure(nproc: int, num_envs: int, iterations: int, warmup: int, config: str, out: Path) -> dict[str, float]:
    steps = 32
    samples = nproc * num_envs * steps * iterations
    cmd = [sys.executable, "-m", "mimic.cli", "train", "walk", "--config", config, "--out", str(out),
           "--nproc", str(nproc), "--num-envs", str(num_envs), "--max-samples", str(samples), "--no-progress",
           f"agent.steps_per_iter={steps}", f"run.test_every={10 * iterations}", f"run.checkpoint_every={iterations}"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    rows = read_csv(out / "log.csv")[1]
    rates = [r["charts/samples_per_s"] for r in rows[warmup:]]
    return {"nproc": nproc, "num_envs_per_process": num_envs, "mujoco_threads": threads_per_process(nproc),
            "iterations": len(rows), "samples_per_s": statistics.median(rates), "wall_s_with_startup": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    parser.add_argument("--num-envs", type=int, default=256, help="characters per process (default 256)")
    parser.add_argument("--iterations", type=int, default=14, help="PPO iterations per run (default 14)")
    parser.add_argument("--warmup", type=int, default=2, help="iterations left out of the rate (default 2)")
    parser.add_argument("--config", default="fast", help="preset or YAML (default fast)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in args.nproc:
            results.append(measure(p, args.num_envs, args.iterations, args.warmup, args.config, Path(tmp) / f"p{p}"))
            if not args.json:
                r = results[-1]
                print(f"nproc {p}: {r['samples_per_s']:,.0f} samples/s ({r['num_envs_per_process']} envs per process, "
                      f"{r['mujoco_threads']} MuJoCo threads each)", flush=True)
    base = results[0]["samples_per_s"]
    for r in results:
        r["speedup"] = round(r["samples_per_s"] / base, 3)
    if args.json:
        print(json.dumps({"cores": available_cores(), "runs": results}))
    else:
        print(f"cores: {available_cores()}")
        for r in results:
            print(f"  {r['nproc']} process(es): {r['samples_per_s']:8,.0f} samples/s  speed-up x{r['speedup']:.2f}")


if __name__ == "__main__":
    main()
