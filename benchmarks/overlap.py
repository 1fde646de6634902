"""Does overlapping the environment's torch work with MuJoCo's threaded step pay on this machine?

MuJoCo's batched step releases the GIL, so the main thread could run torch (the policy's forward pass,
the reference state, PD targets, reward and observation) for one half of the characters while MuJoCo
steps the other half: a two-stage pipeline. This measures, in one process, the time per control step
of N characters:

- ``sequential``: today's loop, the torch work of all N, then MuJoCo steps all N on its threads;
- ``pipelined``: two halves of N/2, MuJoCo stepping one half in a Python thread while the main thread
  does the other half's torch work, then the other way round;

with the parts alone (MuJoCo on N and N/2, torch work on N and N/2) so that the result can be read.
Characters follow their reference (the actor's output is small at initialization) from the walk's
start; all are reset every ``--reset-every`` steps. Single torch thread (as in the rollout), bf16
actor where the CPU has it, 1024-512 actor.

Run: ``python benchmarks/overlap.py [--num-envs 256] [--steps 60] [--json]`` (about 30 s).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import replace

import torch

from mimic.agents.compute import resolve_precision
from mimic.agents.networks import Actor
from mimic.engine import EngineConfig
from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv


def make_env(num_envs: int, clip: str) -> ImitationEnv:
    cfg = EnvConfig(clips=[clip], action_mode="residual")
    return ImitationEnv(replace(cfg, engine=EngineConfig()), num_envs=num_envs, seed=0)


@torch.no_grad()
def torch_work(env: ImitationEnv, actor: Actor, obs: torch.Tensor) -> torch.Tensor:
    """One step's torch work of ``env`` but MuJoCo's: act, PD targets, then reward and observation."""
    action = actor(obs).float()
    ref, targets = env._pre_physics_math(env.clip_ids, env.motion_time + env.dt, action)
    env.engine.set_pd_targets_exp(targets)
    env.motion_time += env.dt
    return env._post_physics_math(ref)[4]


class Runner:
    """An env with its last observation, and the actor that drives it."""

    def __init__(self, env: ImitationEnv, actor: Actor) -> None:
        self.env, self.actor, self.obs = env, actor, env.reset()

    def reset(self) -> None:
        self.obs = self.env.reset()

    def work(self) -> None:
        self.obs = torch_work(self.env, self.actor, self.obs)


def timed(fn, steps: int, reset, reset_every: int) -> float:
    """Mean ms per call of ``fn`` over ``steps`` calls, ``reset()`` (untimed) every ``reset_every``."""
    total = 0.0
    for i in range(steps):
        if i % reset_every == 0:
            reset()
        start = time.perf_counter()
        fn()
        total += time.perf_counter() - start
    return total / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=60, help="timed control steps per measurement")
    parser.add_argument("--reset-every", type=int, default=60)
    parser.add_argument("--clip", default="walk")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, half = args.num_envs, args.num_envs // 2
    envs = [make_env(k, args.clip) for k in (n, half, half)]
    actor = Actor(envs[0].obs_dim, envs[0].action_dim, [1024, 512], 0.05, False, 0.01, torch.Generator(),
                  resolve_precision("auto", "cpu"))
    full, a, b = (Runner(env, actor) for env in envs)

    def overlapped(stepping: Runner, working: Runner) -> None:
        thread = threading.Thread(target=stepping.env.engine.step)
        thread.start()
        working.work()
        thread.join()

    for runner in (full, a, b):  # warm up: first calls allocate
        for _ in range(3):
            runner.work()
            runner.env.engine.step()
    r = {
        "physics_full_ms": timed(full.env.engine.step, args.steps, full.reset, args.reset_every),
        "physics_half_ms": timed(a.env.engine.step, args.steps, a.reset, args.reset_every),
        "torch_full_ms": timed(full.work, args.steps, full.reset, args.reset_every),
        "torch_half_ms": timed(a.work, args.steps, a.reset, args.reset_every),
        "sequential_ms": timed(lambda: (full.work(), full.env.engine.step()), args.steps, full.reset,
                               args.reset_every),
        "pipelined_ms": timed(lambda: (overlapped(a, b), overlapped(b, a)), args.steps, lambda: (a.reset(), b.reset()),
                              args.reset_every),
    }
    r["speedup"] = r["sequential_ms"] / r["pipelined_ms"]
    print(f"{n} characters, ms per control step (MuJoCo on every core, torch on one thread):")
    print(f"  MuJoCo alone:      {r['physics_full_ms']:6.2f} ({half}: {r['physics_half_ms']:.2f} x 2)")
    print(f"  torch work alone:  {r['torch_full_ms']:6.2f} ({half}: {r['torch_half_ms']:.2f} x 2)")
    print(f"  sequential:        {r['sequential_ms']:6.2f}")
    print(f"  pipelined halves:  {r['pipelined_ms']:6.2f}  (speed-up {r['speedup']:.2f}x)")
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in r.items()}))


if __name__ == "__main__":
    main()
