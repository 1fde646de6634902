"""Soak: step every bundled clip's environment with random and with extreme actions, and count what breaks.

For each of the humanoid's bundled clips, in turn, an env of ``--num-envs`` characters is stepped in chunks
of ``--chunk`` control steps per env, alternating two action kinds: uniform random in [-1, 1], and
"extreme" (each DoF at -1 or +1, flipping at random: the PD targets jump between their bounds). It counts:

- ``crashes``: exceptions out of ``env.step`` (must be 0);
- ``invalid_resets``: simulations the engine flagged invalid (diverged, NaN, body speeds above the limit)
  and the env reset, as designed;
- ``nan_outputs``: NaN or Inf that reached an observation or a reward (must be 0).

Progress goes to a JSON state file after every chunk, so a stopped soak resumes where it was.

Run: ``python benchmarks/soak.py --steps 10000000 [--state runs/soak.json] [--num-envs 256] [--chunk 100]``;
prints one line per chunk and a summary, and with ``--json`` one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv
from mimic.motion import bundled_clips


def load_state(path: Path) -> dict:
    if path.is_file():
        return json.loads(path.read_text())
    return {"steps": 0, "crashes": 0, "invalid_resets": 0, "nan_outputs": 0, "chunks": 0, "seconds": 0.0,
            "errors": []}


def soak_chunk(env: ImitationEnv, kind: str, steps: int, generator: torch.Generator) -> dict:
    """Step ``env`` ``steps`` times with ``kind`` actions; returns the chunk's counts."""
    counts = {"crashes": 0, "invalid_resets": 0, "nan_outputs": 0, "errors": []}
    n, a = env.num_envs, env.action_dim
    signs = torch.where(torch.rand(n, a, generator=generator) < 0.5, -1.0, 1.0)
    for _ in range(steps):
        if kind == "random":
            action = 2 * torch.rand(n, a, generator=generator) - 1
        else:
            flip = torch.rand(n, a, generator=generator) < 0.1
            signs = torch.where(flip, -signs, signs)
            action = signs
        try:
            obs, reward, _, info = env.step(action)
        except Exception as exc:  # a crash: count it, note it, start the env afresh
            counts["crashes"] += 1
            counts["errors"].append(f"{type(exc).__name__}: {exc}")
            env.reset()
            continue
        counts["invalid_resets"] += int(info["num_invalid"])
        counts["nan_outputs"] += int((~torch.isfinite(obs)).any(-1).sum()) + int((~torch.isfinite(reward)).sum())
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000_000, help="control steps in total, over all envs")
    parser.add_argument("--state", default="runs/soak.json", help="progress file (resumes from it)")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=100, help="control steps per env per chunk")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    state_path = Path(args.state)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state = load_state(state_path)
    clips = list(bundled_clips())
    envs: dict[str, ImitationEnv] = {}
    generator = torch.Generator().manual_seed(state["chunks"])
    while state["steps"] < args.steps:
        clip = clips[state["chunks"] % len(clips)]
        kind = "random" if (state["chunks"] // len(clips)) % 2 == 0 else "extreme"
        if clip not in envs:
            envs[clip] = ImitationEnv(EnvConfig(clips=[clip]), num_envs=args.num_envs, seed=state["chunks"])
            envs[clip].reset()
        start = time.perf_counter()
        counts = soak_chunk(envs[clip], kind, args.chunk, generator)
        state["seconds"] += time.perf_counter() - start
        state["steps"] += args.chunk * args.num_envs
        state["chunks"] += 1
        for key in ("crashes", "invalid_resets", "nan_outputs"):
            state[key] += counts[key]
        state["errors"] = (state["errors"] + counts["errors"])[-20:]
        state_path.write_text(json.dumps(state))
        print(f"{state['steps']:>12,} steps  {clip:15s} {kind:8s} crashes {state['crashes']}  invalid resets "
              f"{state['invalid_resets']}  NaN outputs {state['nan_outputs']}  "
              f"({state['steps'] / max(state['seconds'], 1e-9):,.0f} steps/s)", flush=True)
    summary = {k: state[k] for k in ("steps", "crashes", "invalid_resets", "nan_outputs", "seconds")}
    print(f"soak: {summary['steps']:,} control steps over {len(clips)} clips, random and extreme actions: "
          f"{summary['crashes']} crashes, {summary['invalid_resets']} invalid simulations reset, "
          f"{summary['nan_outputs']} NaN outputs")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
