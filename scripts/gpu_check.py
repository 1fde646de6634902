"""The GPU checks of the MuJoCo Warp engine in one run (< 10 minutes on one H200), all numbers in one JSON file.

Run by ``scripts/gpu_check.sh`` (which installs the ``gpu`` extra first) on a machine with an NVIDIA GPU:

1. ``tests/engine/test_mujoco_warp.py`` on ``cuda:0`` (the CPU engine against the Warp engine; its first run
   compiles Warp's CUDA kernels into Warp's kernel cache, which the later steps reuse), then its slow test of the
   compiled env against the eager one (step ``tests_warp_compiled``);
2. ``mimic bench env --engine mujoco_warp --json`` for 1,024, 4,096 and 16,384 characters (plus the CPU engine
   at 4,096 on the machine's cores, for comparison), and at 4,096 with ``compile=true`` (the env's per-step
   math under ``torch.compile``, step ``bench_compiled``) and also ``compile_resets=true`` (the resets' math,
   ``bench_compiled_resets``), and ``benchmarks/env_profile.py`` at 4,096, eager and with both compiled (steps
   ``profile_warp_4096*``: operations, host-device syncs and the env's parts per step);
3. ``mimic eval walk`` of the shipped controller (trained on the CPU engine) on both engines: the normalized
   returns and their difference (the issue asks for |difference| <= 0.03);
4. a walk trained from scratch on the GPU for ``--walk-minutes`` (``--config gpu``: 4,096 characters of 4
   steps each per iteration, 2 epochs of 4,096-sample minibatches), then evaluated on the Warp engine: the time
   to a walker that does not fall;
5. the full training loop (``mimic train walk --config fast --device cuda``, Warp engine) for 1,024 and
   16,384 characters, six iterations each: samples/s from the run's ``log.csv`` (4,096 is step 4's run);
6. two iterations of ``--config amp_steer`` (AMP and the steering task) on the Warp engine, 1,024 characters.

Each step runs in its own process with a time limit, is recorded as it finishes (a crash or a time-out is
recorded too), and steps are skipped once the overall budget (``--budget-s``) is spent.

Usage: ``python scripts/gpu_check.py --out OUT/gpu_check.json [--budget-s 540] [--walk-minutes M] [--skip ...]``.
A session that has done the rest trains only the walk, for most of a 10-minute call: ``--skip tests_warp,
bench_env,eval_walk,train_warp,train_amp --walk-minutes 8`` (MIMIC_GPU_ARGS in scripts/gpu_check.sh); one that
only measures the compiled env and the profiles: ``--skip tests_warp,bench_env,eval,train``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIMIC = [sys.executable, "-m", "mimic.cli"]


class Check:
    """Runs the steps against a deadline and rewrites the JSON file after each."""

    def __init__(self, out: Path, budget_s: float, skip: tuple[str, ...] = ()) -> None:
        self.out, self.deadline, self.skip = out, time.monotonic() + budget_s, skip
        self.result: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "steps": {}}
        out.parent.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def save(self) -> None:
        self.out.write_text(json.dumps(self.result, indent=2) + "\n")

    def run(self, name: str, cmd: list[str], limit_s: float, env: dict | None = None) -> dict:
        """Run ``cmd`` (at most ``limit_s`` and the budget left); record status, seconds and the output's tail."""
        limit = min(limit_s, self.left())
        if any(name.startswith(prefix) for prefix in self.skip):
            step = {"status": "skipped", "reason": "--skip"}
        elif limit < 20:
            step = {"status": "skipped", "reason": "time budget spent"}
        else:
            start = time.monotonic()
            print(f"[gpu_check] {name}: {' '.join(cmd)}", flush=True)
            try:
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit,
                                      env={**os.environ, **(env or {})})
                step = {"status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}",
                        "stdout": proc.stdout, "stderr_tail": proc.stderr[-3000:]}
            except subprocess.TimeoutExpired as exc:
                out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
                step = {"status": f"timed out after {limit:.0f} s", "stdout": out}
            step["seconds"] = round(time.monotonic() - start, 1)
        self.result["steps"][name] = step
        self.save()
        print(f"[gpu_check] {name}: {step['status']} ({step.get('seconds', 0)} s)", flush=True)
        return step


def last_line(step: dict) -> str:
    """The last line of the step's stdout (pytest's summary), or its status when it printed nothing."""
    return (step.get("stdout", "").strip().splitlines() or [step["status"]])[-1]


def last_json(step: dict) -> dict | None:
    """The last line of the step's stdout that parses as a JSON object."""
    for line in reversed(step.get("stdout", "").splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def train_rate(run_dir: Path, keep: Path | None = None) -> dict | None:
    """Samples/s of the iterations after the first (which holds compilation and warm-up), from ``log.csv``,
    and the test rounds (samples, minutes, normalized return, fall rate); ``keep``: where to copy the log
    (the device tool returns at most 8 files, two folders deep, so run folders stay out of OUT)."""
    log = run_dir / "log.csv"
    if not log.is_file():
        return None
    if keep is not None:
        shutil.copyfile(log, keep)
    rows = list(csv.DictReader(log.open()))
    rates = [float(r["charts/samples_per_s"]) for r in rows[1:]] or [float(r["charts/samples_per_s"]) for r in rows]
    tests = [[float(r["samples"]), round(float(r["wall_time_min"]), 2),
              round(float(r["charts/test_normalized_return"]), 3), round(float(r["charts/test_fall_rate"]), 3)]
             for r in rows if r.get("charts/test_normalized_return")]
    return {"iterations": len(rows), "samples_per_s": round(statistics.median(rates), 1) if rates else None,
            "samples": float(rows[-1]["samples"]) if rows else 0,
            "minutes": round(float(rows[-1]["wall_time_min"]), 2) if rows else 0,
            "tests_samples_min_nr_falls": tests}


def environment() -> dict:
    info: dict = {"python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception as exc:  # noqa: BLE001 - recorded, not fatal
        info["torch_error"] = repr(exc)
    for name in ("mujoco", "mujoco_warp", "warp"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except Exception as exc:  # noqa: BLE001
            info[f"{name}_error"] = repr(exc)
    try:
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                             "--format=csv,noheader"], capture_output=True, text=True,
                                            timeout=20).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        info["nvidia_smi_error"] = repr(exc)
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs")) / "gpu_check.json")
    parser.add_argument("--budget-s", type=float, default=540.0, help="overall time budget (default 540)")
    parser.add_argument("--sizes", default="1024,4096,16384", help="character counts for bench and training")
    parser.add_argument("--device", default="cuda:0", help="the Warp engine's device (cpu: a dry run of this script)")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/mimic_gpu_runs"),
                        help="training runs' folder (default /tmp/mimic_gpu_runs; their log.csv go next to --out)")
    parser.add_argument("--walk-minutes", type=float, default=4.0, help="GPU training time of step 4 (default 4)")
    parser.add_argument("--walk-extra", action="append", default=[], metavar="KEY=VALUE",
                        help="one more override of step 4's walk, repeatable (they come last, so they replace its "
                             "own), e.g. --walk-extra agent.critic_epochs=5 --walk-extra agent.steps_per_iter=32")
    parser.add_argument("--walk-envs", type=int, default=4096,
                        help="characters of step 4's walk (default 4096)")
    parser.add_argument("--skip", default="", help="comma-separated step-name prefixes to skip, e.g. "
                        "tests_warp,bench_env,eval_walk,train_warp,train_amp to give the walk all the time")
    args = parser.parse_args()
    check = Check(args.out, args.budget_s, tuple(p for p in args.skip.split(",") if p))
    check.result["environment"] = environment()
    check.save()
    sizes = [int(s) for s in args.sizes.split(",")]
    device = f"engine.device={args.device}"
    summary: dict = {"bench_env": {}, "train": {}}
    check.result["summary"] = summary

    # 1. equivalence on the GPU (compiles the CUDA kernels into Warp's cache)
    step = check.run("tests_warp", [sys.executable, "-m", "pytest", "tests/engine/test_mujoco_warp.py", "-q",
                                    "-p", "no:cacheprovider"], 300, env={"MIMIC_WARP_DEVICE": args.device})
    summary["tests_warp"] = last_line(step)
    # the env compiled (env.compile, env.compile_resets: Triton kernels on a GPU) against the eager one
    step = check.run("tests_warp_compiled", [sys.executable, "-m", "pytest", "tests/engine/test_mujoco_warp.py", "-q",
                                             "-p", "no:cacheprovider", "-m", "slow", "-k", "compiled"], 300,
                     env={"MIMIC_WARP_DEVICE": args.device})
    summary["tests_warp_compiled"] = last_line(step)

    # 2. environment throughput
    for n in sizes:
        step = check.run(f"bench_env_warp_{n}", [*MIMIC, "bench", "env", "--engine", "mujoco_warp", "--num-envs",
                                                 str(n), "--seconds", "5", "--json", device], 90)
        summary["bench_env"][f"mujoco_warp_{n}"] = last_json(step)
    # the env's per-step math compiled (env.compile; the first steps compile it, before the timing starts), then
    # the resets' math too (env.compile_resets)
    for name, options in (("compiled", ["compile=true"]), ("compiled_resets", ["compile=true", "compile_resets=true"])):
        step = check.run(f"bench_{name}_warp_4096", [*MIMIC, "bench", "env", "--engine", "mujoco_warp", "--num-envs",
                                                      "4096", "--seconds", "5", "--json", device, *options], 300)
        summary["bench_env"][f"mujoco_warp_4096_{name}"] = last_json(step)
    # where a 4,096-character step's time goes, eager and all compiled: operations, syncs, the env's parts
    for name, options in (("", ["env.compile=false"]), ("_compiled", ["env.compile=true", "env.compile_resets=true"])):
        step = check.run(f"profile_warp_4096{name}", [sys.executable, "benchmarks/env_profile.py", "--num-envs",
                                                      "4096", "--json", "env.engine.name=mujoco_warp", f"env.{device}",
                                                      *options], 300)
        summary[f"profile_warp_4096{name}"] = last_json(step)
    check.save()
    step = check.run("bench_env_cpu_4096", [*MIMIC, "bench", "env", "--num-envs", "4096", "--seconds", "5",
                                            "--json"], 90)
    summary["bench_env"]["mujoco_cpu_4096"] = last_json(step)
    check.save()

    # 3. sim-to-sim: the shipped walk controller (trained on the CPU engine) on both engines
    returns = {}
    for engine in ("mujoco_cpu", "mujoco_warp"):
        step = check.run(f"eval_walk_{engine}", [*MIMIC, "eval", "walk", "--engine", engine, "--json"], 120)
        result = last_json(step)
        summary[f"eval_walk_{engine}"] = result
        if result:
            returns[engine] = result["normalized_return"]
    if len(returns) == 2:
        summary["eval_walk_return_difference"] = round(returns["mujoco_warp"] - returns["mujoco_cpu"], 4)
    check.save()

    # 4. a walk from scratch on the GPU, timed, then evaluated on the Warp engine
    nets = "cuda" if args.device.startswith("cuda") else "cpu"
    run_dir = args.runs / "train_walk"
    minutes = max(0.5, min(args.walk_minutes, (check.left() - 150) / 60))
    check.run("train_walk_warp", [*MIMIC, "train", "walk", "--config", "gpu", "--num-envs", str(args.walk_envs),
                                  "--device", nets, "--max-time", f"{minutes:.2f}", "--no-progress",
                                  "--out", str(run_dir), f"env.{device}", *args.walk_extra], minutes * 60 + 120)
    summary["train"][f"walk_warp_{args.walk_envs}"] = train_rate(run_dir, check.out.parent / "train_walk.csv")
    summary["train_walk_minutes"] = round(minutes, 2)
    summary["train_walk_extra"] = args.walk_extra
    step = check.run("eval_trained_walk_warp", [*MIMIC, "eval", str(run_dir), "--engine", "mujoco_warp", "--json"],
                     120)
    summary["eval_trained_walk_warp"] = last_json(step)
    check.save()

    # 5. the full training loop on the GPU, six iterations per size (16 steps per iteration in `fast`)
    for n in [n for n in sizes if n != args.walk_envs]:
        run_dir = args.runs / f"train_{n}"
        check.run(f"train_warp_{n}", [*MIMIC, "train", "walk", "--config", "fast", "--num-envs", str(n), "--device",
                                      nets, "--max-samples", str(3 * 32 * n), "--no-progress", "--out", str(run_dir),
                                      "env.engine.name=mujoco_warp", f"env.{device}", "run.test_every=1000"], 150)
        summary["train"][f"mujoco_warp_{n}"] = train_rate(run_dir, check.out.parent / f"train_{n}.csv")
    check.save()

    # 6. AMP with the steering task on the GPU (its observations, expert samples and targets on the device)
    run_dir = args.runs / "train_amp_steer"
    check.run("train_amp_steer_warp", [*MIMIC, "train", "--config", "amp_steer", "--num-envs", "1024",
                                        "--device", nets, "--max-samples", str(2 * 32 * 1024), "--no-progress",
                                        "--out", str(run_dir), "env.engine.name=mujoco_warp", f"env.{device}",
                                        "run.test_every=1000"], 180)
    summary["train"]["amp_steer_warp_1024"] = train_rate(run_dir, check.out.parent / "train_amp_steer.csv")
    check.result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    check.save()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
