"""MuJoCo's options on the CPU engine: ``env.engine.fast_solver`` and ``env.engine.ground_pairs`` against
MuJoCo's defaults.

Three copies of the same environment (the walk, ``fast``'s env section, 256 characters) are stepped with
the same actions from the same start, in interleaved rounds so that machine noise hits all alike:

- ``default``: MuJoCo's default solver options (dense Jacobian for this size, constraint islands, warm
  start) and its automatic contact detection (broad phase over all geoms, then the compatible pairs);
- ``solver``: ``fast_solver`` (sparse Jacobian, one island, no warm start), automatic contacts;
- ``fast``: ``fast_solver`` and ``ground_pairs`` (one explicit pair per character geom and the ground, no
  broad phase), the engine's default.

Two regimes:

- ``policy``: the shipped walk controller acting (deterministic mean action): upright walking, the feet's
  contacts, the load of a trained policy;
- ``random``: zero-mean Gaussian actions (std 0.5): characters falling and lying on the ground, many
  contacts, the load early in training.

Reported per regime: the time inside MuJoCo's step per sample (``engine.physics_seconds``) of each, the
ratios to ``default``, and the largest observation difference to ``default`` after the first control step
(the options agree to the solver's tolerance; over many steps a closed loop amplifies any difference, and
once one copy's character falls where another's does not, the resets that follow differ too).

Run: ``python benchmarks/physics_options.py [--num-envs 256] [--steps 60] [--rounds 6] [--json]``.
``--json`` prints one JSON line last with, per regime, ``default_us_per_sample``, ``solver_us_per_sample``,
``fast_us_per_sample``, ``solver_ratio`` and ``ratio`` (default over fast).
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace

import torch

from mimic.agents.checkpoint import load_checkpoint
from mimic.envs.tracking import ImitationEnv
from mimic.policies import resolve_checkpoint
from mimic.training.config import load_train_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=int, default=256, help="characters per copy (default 256)")
    parser.add_argument("--steps", type=int, default=60, help="control steps per round and copy (default 60)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds per regime (default 6)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    torch.set_num_threads(1)

    cfg = load_train_config("fast", [])
    policy = load_checkpoint(resolve_checkpoint("walk")).policy()
    result = {}
    for regime in ("policy", "random"):
        envs = {}
        for name, fast, pairs in (("default", False, False), ("solver", True, False), ("fast", True, True)):
            env_cfg = replace(cfg.env, engine=replace(cfg.env.engine, fast_solver=fast, ground_pairs=pairs))
            envs[name] = ImitationEnv(env_cfg, num_envs=args.num_envs, seed=0)
        obs = {name: env.reset() for name, env in envs.items()}
        times: dict[str, list[float]] = {name: [] for name in envs}
        first: dict[str, torch.Tensor] = {}
        for r in range(args.rounds):
            for name, env in envs.items():
                g = torch.Generator().manual_seed(r)
                env.engine.physics_seconds = 0.0
                for _ in range(args.steps):
                    if regime == "policy":
                        with torch.no_grad():
                            action = policy(obs[name])
                    else:
                        action = 0.5 * torch.randn(args.num_envs, env.action_dim, generator=g)
                    obs[name] = env.step(action)[0]
                    first.setdefault(name, obs[name].clone())
                times[name].append(env.engine.physics_seconds / (args.steps * args.num_envs) * 1e6)
        med = {name: statistics.median(t) for name, t in times.items()}
        diff = max(float((first["default"] - first[name]).abs().max()) for name in ("solver", "fast"))
        result[regime] = {"default_us_per_sample": round(med["default"], 2),
                          "solver_us_per_sample": round(med["solver"], 2), "fast_us_per_sample": round(med["fast"], 2),
                          "solver_ratio": round(med["default"] / med["solver"], 3),
                          "ratio": round(med["default"] / med["fast"], 3), "max_obs_diff": diff}
        print(f"{regime:7s} MuJoCo per sample: default {med['default']:6.2f} us, fast_solver {med['solver']:6.2f} us "
              f"({med['default'] / med['solver']:.3f}x), fast_solver + ground_pairs {med['fast']:6.2f} us "
              f"({med['default'] / med['fast']:.3f}x); rounds: "
              + "; ".join(f"{name} {[round(t, 1) for t in ts]}" for name, ts in times.items())
              + f"; max obs difference after one step {diff:.2e}")
        for env in envs.values():
            env.close()
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
