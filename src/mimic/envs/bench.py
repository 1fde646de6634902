"""``mimic bench env``: throughput of the full imitation environment against raw MuJoCo stepping.

Both are measured in the same process, interleaved in rounds so that machine noise hits both alike:

- env: the full environment (PD at every physics step, observations, reward, terminations,
  resets) driven by reference-tracking actions with exploration noise;
- raw: a fresh ``mujoco.batch.Batch`` of the engine's own compiled model (same bodies, contacts,
  PD actuators, physics rate and threads), started from a snapshot of the env's current states and
  PD targets, stepped ``substeps`` at a time with no Python in between; for the MuJoCo Warp engine,
  a second MJWarp ``Data`` of the same model from the same snapshot, ``substeps`` ``mjw.step`` calls
  at a time (one CUDA graph on a GPU; :mod:`mimic.engine.mujoco_warp_bench`). Starting from the env's own
  states keeps the contact load alike (walking and fallen characters, not a standing pose).

Raw steps are counted as policy steps (physics steps / substeps) so the two rates compare directly.
"""

from __future__ import annotations

import time

import mujoco.batch
import numpy as np
import torch

from mimic.engine.bench import calls_per_s
from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv


def bench_env(num_envs: int = 1024, seconds: float = 10.0, config: EnvConfig | None = None, rounds: int = 12,
              noise: float = 0.1, seed: int = 0) -> dict:
    """Measure the environment; returns the JSON fields of ``mimic bench env``.

    Args:
        num_envs: characters simulated together.
        seconds: total measuring time, split between the env and the raw baseline.
        config: the env (default settings when None).
        rounds: interleaved env/raw rounds; each raw round starts from a fresh snapshot of the env,
            so its characters stay as close to the env's (walking, few fallen) as possible.
        noise: std of the Gaussian noise added to reference-tracking actions (normalized units).
    """
    config = config or EnvConfig()
    # Env math runs between MuJoCo calls on the main thread; torch's own worker threads would spin
    # on the cores MuJoCo's threads need (README, "Threads").
    torch.set_num_threads(1)
    env = ImitationEnv(config, num_envs=num_envs, seed=seed)
    env.reset()
    g = torch.Generator().manual_seed(seed)
    eng = config.engine

    def run_env(duration: float) -> tuple[int, float, int]:
        steps, resets, start = 0, 0, time.perf_counter()
        while True:
            action = env.targets_to_action(env.ref.joint_pos) + noise * torch.randn(
                num_envs, env.action_dim, generator=g).to(env.device)
            _, _, done, _ = env.step(action)
            steps += 1
            resets += int((done > 0).sum())
            elapsed = time.perf_counter() - start
            if elapsed >= duration:
                return steps * num_envs, elapsed, resets

    run_env(0.5)  # warm-up (its first step compiles with env.compile; reset() compiled env.compile_resets' math)
    env.engine.physics_seconds = 0.0
    env_steps = env_time = raw_rate_sum = 0.0
    resets = 0
    share = seconds / (2 * rounds)
    for _ in range(rounds):
        n, t, r = run_env(share)
        env_steps, env_time, resets = env_steps + n, env_time + t, resets + r
        raw_rate_sum += raw_steps_per_s(env, share)
    env.close()
    env_rate = env_steps / env_time
    raw_rate = raw_rate_sum / rounds
    return {
        "env_steps_per_s": round(env_rate, 1),
        "raw_steps_per_s": round(raw_rate, 1),
        "ratio": round(env_rate / raw_rate, 3),
        "num_envs": num_envs,
        "physics_hz": eng.physics_hz,
        "control_hz": eng.control_hz,
        "resets_per_s": round(resets / env_time, 1),
        "physics_time_fraction": round(getattr(env.engine, "physics_seconds", float("nan")) / env_time, 3),
        "threads": torch.get_num_threads(),
    }


def raw_steps_per_s(env: ImitationEnv, seconds: float) -> float:
    """Policy steps/s of raw batch stepping from a snapshot of ``env``'s states and PD targets."""
    engine = env.engine
    if engine.config.name == "mujoco_warp":
        from mimic.engine.mujoco_warp_bench import raw_steps_per_s as warp_raw_steps_per_s

        return warp_raw_steps_per_s(engine, seconds)
    batch = mujoco.batch.Batch(engine.mj_model, env.num_envs, engine.config.num_threads)
    for name in ("qpos", "qvel", "ctrl", "qfrc_applied"):
        np.copyto(batch.bind(name), engine.batch.bind(name))
    return calls_per_s(lambda: batch.step(nstep=engine.substeps), seconds) * env.num_envs
