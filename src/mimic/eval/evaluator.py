"""Deterministic test episodes and DeepMimic's measures of a policy.

Each of the env's ``num_envs`` characters runs episodes (reference state initialization, the
policy's mean action) until ``episodes`` have finished. Per episode: the normalized return (mean
reward per step, DeepMimic's measure, in [0, 1]), mean body-position and root-position tracking
errors (m), whether it ended in a fall, and its length (s).
"""

from __future__ import annotations

import math

import torch

from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv


@torch.no_grad()
def evaluate(env: ImitationEnv, policy, episodes: int = 32, max_steps: int | None = None) -> dict[str, float]:
    """Run ``episodes`` deterministic episodes; returns the metrics of ``mimic eval --json``.

    Args:
        env: the environment (put in test mode and reset here).
        policy: callable ``obs (N, D) -> actions (N, A)`` in [-1, 1].
        episodes: episodes to finish (spread over the env's characters).
        max_steps: safety cap on control steps (default: enough for every episode at the time limit).
    """
    n = env.num_envs
    limit = max(1, round(env.config.episode_seconds / env.dt))
    max_steps = max_steps or limit * (math.ceil(episodes / n) + 1)
    env.test_mode = True
    obs = env.reset()
    ret = torch.zeros(n, dtype=torch.float64)
    err = torch.zeros(n, dtype=torch.float64)
    root_err = torch.zeros(n, dtype=torch.float64)
    steps = torch.zeros(n, dtype=torch.float64)
    results: list[tuple[float, float, float, bool, float]] = []
    for _ in range(max_steps):
        obs, reward, done, info = env.step(policy(obs))
        ret += reward.double()
        err += info["body_pos_error"].double()
        root_err += info["root_pos_error"].double()
        steps += 1
        for i in torch.nonzero(done).squeeze(-1).tolist():
            if len(results) < episodes:
                k = float(steps[i])
                results.append((float(ret[i]) / k, float(err[i]) / k, float(root_err[i]) / k,
                                int(done[i]) == DoneReason.FAIL, k * env.dt))
            ret[i] = err[i] = root_err[i] = steps[i] = 0.0
        if len(results) >= episodes:
            break
    env.test_mode = False
    if not results:
        return {"normalized_return": math.nan, "body_pos_error_m": math.nan, "root_pos_error_m": math.nan,
                "fall_rate": math.nan, "mean_episode_seconds": math.nan, "episodes": 0}
    cols = list(zip(*results, strict=True))
    mean = lambda xs: sum(xs) / len(xs)
    return {
        "normalized_return": round(mean(cols[0]), 4),
        "body_pos_error_m": round(mean(cols[1]), 4),
        "root_pos_error_m": round(mean(cols[2]), 4),
        "fall_rate": round(mean([float(x) for x in cols[3]]), 4),
        "mean_episode_seconds": round(mean(cols[4]), 3),
        "episodes": len(results),
    }
