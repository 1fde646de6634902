"""Where one environment step's time goes: torch operations, host-device syncs and the env's own parts.

For the GPU issue, whose 4,096-character env step costs 22 ms of which the physics is 6 ms: this counts,
per ``ImitationEnv.step`` of the walk (``--config``'s env section, zero-mean random actions):

- ``ms_per_step``: wall time (the device synchronized once at the end of the timed steps);
- ``aten_ops_per_step``: ATen operations dispatched one by one (each one a kernel launch on a GPU, but for
  views; with ``env.compile`` those left outside the compiled calls) and ``cuda_kernels_per_step``: the GPU
  kernels launched, from torch's profiler (CUDA only);
- ``syncs_per_step`` (CUDA only): operations that made the host wait for the GPU
  (``torch.cuda.set_sync_debug_mode``), with the env's lines that issued them;
- ``parts_ms``: the step's parts (the reference state and PD targets before the physics, the engine step,
  the simulated state, reward and observation after it, resets of some envs), each timed
  with the device synchronized around it (so their sum exceeds ``ms_per_step`` on a GPU, where the parts
  overlap with the host's dispatch);
- the top operations by host time from torch's profiler;
- ``rollout_ms_per_step`` and ``rollout_syncs_per_step`` (CUDA only): a step of the trainer's rollout
  (:func:`~mimic.agents.rollout.collect` with the config's agent: the policy, the env step, the episode
  bookkeeping), with the lines that synchronized (``rollout_sync_sites``), so the rollout's own syncs show
  as the difference to ``syncs_per_step``.

Run: ``python benchmarks/env_profile.py [--num-envs 4096] [--steps 50] [--json] [KEY=VALUE ...]``, e.g.
``env.engine.name=mujoco_warp env.engine.device=cuda:0 env.compile=true`` (overrides of the train config).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from mimic.agents.registry import build_agent, env_dims
from mimic.agents.rollout import collect
from mimic.envs.compiled import CompiledOrEager
from mimic.envs.tracking import ImitationEnv
from mimic.training.config import load_train_config


class OpCounter(TorchDispatchMode):
    """Counts the ATen operations dispatched inside the block."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def uncounted_compiled_calls(env: ImitationEnv) -> Iterator[None]:
    """Inside the block the env's (and its engine's) compiled calls run compiled, outside any dispatch mode (one
    would make them run eagerly), so an :class:`OpCounter` counts only the operations dispatched one by one."""
    saved = [(obj, name, fn) for obj in (env, env.engine) for name, fn in vars(obj).items()
             if isinstance(fn, CompiledOrEager)]

    def outside_modes(fn: CompiledOrEager) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            with _disable_current_modes():
                return fn(*args)
        return call

    for obj, name, fn in saved:
        setattr(obj, name, outside_modes(fn))
    try:
        yield
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_syncs(device: torch.device, fn: Callable[[], Any]) -> tuple[int | None, collections.Counter]:
    """The host-device syncs ``fn()`` made (``torch.cuda.set_sync_debug_mode``) and the Python lines that issued
    them; None on a CPU, where nothing waits."""
    where: collections.Counter = collections.Counter()
    if device.type != "cuda":
        return None, where
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for w in caught:  # the Python line whose operation synchronized
        where[f"{w.filename.split('/mimic/')[-1]}:{w.lineno}"] += 1
    return len(caught), where


def rollout_step(cfg: Any, env: ImitationEnv) -> dict:
    """A step of the trainer's rollout (policy, env step, bookkeeping) with the config's agent: its wall time (ms)
    and, on a GPU, its host-device syncs and their lines."""
    dev = env.device
    agent = build_agent(cfg.agent, env_dims(env), device=dev, env=env)
    buffer = agent.make_buffer(env.num_envs)
    collect(env, agent, buffer)  # warm-up: the first rollout resets the env
    sync(dev)
    start = time.perf_counter()
    collect(env, agent, buffer)
    sync(dev)
    ms = (time.perf_counter() - start) / buffer.num_steps * 1e3
    syncs, where = count_syncs(dev, lambda: collect(env, agent, buffer))
    return {"rollout_ms_per_step": round(ms, 3),
            "rollout_syncs_per_step": None if syncs is None else syncs / buffer.num_steps,
            "rollout_sync_sites": dict(where.most_common(12))}


def timed_parts(env: ImitationEnv, times: collections.Counter) -> None:
    """Wrap the env's parts so each call adds its synchronized wall time to ``times``."""
    dev = env.device
    parts = {"reference_and_pd_targets": (env, "_pre_physics_math"), "physics": (env.engine, "step"),
             "state_reward_observation": (env, "_post_physics_math"), "resets": (env, "_reset_envs")}
    for name, (obj, attr) in parts.items():
        inner = getattr(obj, attr)

        def wrapped(*args, _inner=inner, _name=name, **kwargs):
            sync(dev)
            start = time.perf_counter()
            out = _inner(*args, **kwargs)
            sync(dev)
            times[_name] += time.perf_counter() - start
            return out

        setattr(obj, attr, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="fast", help="preset whose env section is used (default fast)")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50, help="timed steps (default 50)")
    parser.add_argument("--top", type=int, default=15, help="profiler rows to print (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE overrides of the train config")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the trainer: env math on one thread
    cfg = load_train_config(args.config, args.overrides)
    env = ImitationEnv(cfg.env, num_envs=args.num_envs, seed=0)
    dev = env.device
    gen = torch.Generator().manual_seed(0)
    actions = [(0.3 * torch.randn(args.num_envs, env.action_dim, generator=gen)).to(dev) for _ in range(8)]
    env.reset()
    for i in range(20):  # warm-up: allocator, compilation with env.compile, Warp's kernels
        env.step(actions[i % 8])
    sync(dev)

    start = time.perf_counter()
    for i in range(args.steps):
        env.step(actions[i % 8])
    sync(dev)
    ms = (time.perf_counter() - start) / args.steps * 1e3

    with uncounted_compiled_calls(env), OpCounter() as counter:
        for i in range(10):
            env.step(actions[i % 8])
    ops = counter.count / 10

    def ten_steps() -> None:
        for i in range(10):
            env.step(actions[i % 8])

    syncs, where = count_syncs(dev, ten_steps)

    with torch.profiler.profile() as prof:
        for i in range(10):
            env.step(actions[i % 8])
        sync(dev)
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.top))
    kernels = (sum(e.count for e in events if e.device_type == torch.autograd.DeviceType.CUDA) / 10
               if dev.type == "cuda" else None)

    rollout = rollout_step(cfg, env)  # before the parts' timers wrap the env
    times: collections.Counter = collections.Counter()
    timed_parts(env, times)
    for i in range(args.steps):
        env.step(actions[i % 8])
    parts = {k: round(v / args.steps * 1e3, 3) for k, v in times.most_common()}

    result = {"num_envs": args.num_envs, "device": str(dev), "engine": cfg.env.engine.name,
              "compile": cfg.env.compile, "compile_resets": cfg.env.compile_resets, "ms_per_step": round(ms, 3),
              "env_steps_per_s": round(args.num_envs / ms * 1e3), "aten_ops_per_step": ops,
              "cuda_kernels_per_step": kernels,
              "syncs_per_step": None if syncs is None else syncs / 10, "sync_sites": dict(where.most_common(12)),
              "parts_ms": parts, **rollout}
    for key, value in result.items():
        if not args.json:
            print(f"{key:18s} {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
