"""Deterministic test episodes and the papers' measures of a policy.

Each of the env's ``num_envs`` characters runs its share of ``episodes`` (reference state
initialization, the policy's mean action): its first ones, so every episode start is an independent
draw. (Taking whichever episodes end first would over-count short ones: a character that falls at once
ends several episodes while the others play one.) Per episode:

- ``normalized_return``: DeepMimic's NR, the episode's return divided by the largest return possible
  over the full episode: the best reward per step (the sum of the reward's term weights, 1 for both
  rewards) times the steps the episode would last without a fall (to the time limit, or to the clip's
  end plus its end hold for a non-looping clip, from the start time drawn at reset). A fall after 1 s
  of a 20 s episode scores about 1/20 of a full one.
- ``reward_per_step``: the mean reward per step of the steps played (Mimic's earlier "test return";
  it ignores when the episode ended).
- ``mpjpe_m``: mean distance of the non-root bodies to the reference with the roots aligned (the
  AMP paper's pose error, without its time warping), ``body_pos_error_m`` (world positions, so it
  includes the root's drift) and ``root_pos_error_m``, averaged over the episode's steps.
- ``mpjpe_dtw_m`` (tracking tasks): the AMP paper's own measure (its Table 3), the same pose error
  averaged along the dynamic time warping of the episode's frames onto its reference's
  (:mod:`mimic.eval.dtw`), so that following the poses early or late is not charged; at most ``mpjpe_m``
  in practice.
- ``fall_rate`` (episodes that ended in a fall), ``mean_episode_seconds``, ``episodes``, and
  ``fall_seconds``: each fall's time after its episode's start, sorted (a fall right after a reference
  state start is not one while under way), and ``fall_starts``: each fall as ``[start, seconds]``, the
  time in its clip its episode started at and the fall's time after that start, sorted by start (falls
  bunched at one start time point at a reference state there that the policy cannot recover from;
  ``benchmarks/start_falls.py`` counts them per start-phase bin over many starts).
- ``mean_speed_mps``: the root's mean horizontal speed; ``clip_speed_mps``: the reference's over the same
  steps (for a policy that does not track a clip, AMP's, the speed the clips move at).
- ``style_score``: how an AMP policy with no task is judged, in [0, 1]: the fraction of the full episode
  it stayed up, times ``max(0, 1 - |mean_speed / clip_speed - 1|)`` (its speed against the clips').
- ``reward_terms``: each reward term's mean value per step (in [0, 1]) over the steps played, and
  ``reward_lost``: its weight times (1 - that mean), the reward per step it costs; with a tracking
  reward the losses add up to the best reward per step (1) minus ``reward_per_step`` (but for the zero
  reward of a fall's last step, ``env.reward_fail_zero``), so they say which term limits a controller.
- With the steering task also ``heading_error_deg`` (angle between the root's velocity and the target
  direction) and ``speed_error_mps``, averaged over the steps.
- With a discriminator (``disc_logits``, an AMP run's) also ``disc_agent_acc``: the share of the test
  transitions (the mean action's; the training rollouts' ``acc_agent`` samples actions) that the
  discriminator tells from the clips (logit < 0), and ``disc_agent_logit``, their mean logit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv
from mimic.eval.dtw import pose_error_dtw

METRICS = ("normalized_return", "reward_per_step", "mpjpe_m", "body_pos_error_m", "root_pos_error_m", "fall_rate",
           "mean_episode_seconds", "mean_speed_mps", "clip_speed_mps", "style_score")
TASK_METRICS = ("heading_error_deg", "speed_error_mps")
DISC_METRICS = ("disc_agent_acc", "disc_agent_logit")


def full_episode_steps(env: ImitationEnv, env_ids: torch.Tensor) -> torch.Tensor:
    """(M,) steps that the current episodes of ``env_ids`` would last without a fall, from their start."""
    limit = env.episode_seconds
    clip_ids = env.clip_ids[env_ids]
    clip_end = env.motion.durations[clip_ids].double() + env.end_hold_seconds[clip_ids]
    remaining = clip_end - env.motion_time[env_ids]
    seconds = torch.where(env.motion.wrap[clip_ids], torch.full_like(remaining, limit), remaining.clamp(max=limit))
    return torch.ceil(seconds / env.dt - 1e-6).clamp(min=1)


@torch.no_grad()
def evaluate(env: ImitationEnv, policy, episodes: int = 32, max_steps: int | None = None,
             disc_logits: Callable[[torch.Tensor], torch.Tensor] | None = None,
             time_warp: bool = True) -> dict[str, float]:
    """Run ``episodes`` deterministic episodes; returns the metrics of ``mimic eval --json``.

    Args:
        env: the environment (put in test mode and reset here).
        policy: callable ``obs (N, D) -> actions (N, A)`` in [-1, 1].
        episodes: episodes to finish (spread over the env's characters).
        max_steps: safety cap on control steps (default: enough for every episode at the time limit).
        disc_logits: callable ``amp_obs (N, D) -> logits (N,)`` (an AMP agent's ``disc_logits``), scoring the
            env's ``info["amp_obs"]`` each step; adds ``disc_agent_acc`` and ``disc_agent_logit``.
        time_warp: add ``mpjpe_dtw_m`` on a tracking task (keeps every step's body positions and aligns each
            episode's frames with its reference's at its end: about 40 ms per 20-s episode on one core).
    """
    n = env.num_envs
    limit = max(1, round(env.episode_seconds / env.dt))
    max_steps = max_steps or limit * (math.ceil(episodes / n) + 1)
    best_reward = sum(w for w in env.reward_weights.values() if w > 0) or 1.0
    env.test_mode = True
    obs = env.reset()
    all_ids = torch.arange(n)
    quota = torch.full((n,), episodes // n, dtype=torch.long)  # each character's share of the episodes
    quota[: episodes % n] += 1
    taken = torch.zeros(n, dtype=torch.long)
    possible = full_episode_steps(env, all_ids).cpu()
    start_time = env.start_time.cpu()  # (N,) each current episode's start time in its clip
    extra_keys: tuple[str, ...] = TASK_METRICS if getattr(env, "task", None) is not None else ()
    if disc_logits is not None and getattr(env, "amp", None) is not None:
        extra_keys = (*extra_keys, *DISC_METRICS)
    sums = {k: torch.zeros(n, dtype=torch.float64)
            for k in ("ret", "mpjpe", "err", "root_err", "speed", "ref_speed", *extra_keys)}
    steps = torch.zeros(n, dtype=torch.float64)
    term_sums: dict[str, torch.Tensor] = {}
    # the time-warped pose error of a tracking task needs each episode's frames: every step's batch is kept
    # (on the CPU), and an episode's are its character's rows from the step it started
    warp = time_warp and getattr(getattr(env, "config", None), "task", None) == "track"
    sim_log: list[torch.Tensor] = []
    ref_log: list[torch.Tensor] = []
    first_step = [0] * n
    results: list[dict] = []
    for _ in range(max_steps):
        obs, reward, done, info = env.step(policy(obs))
        # the sums live on the CPU whatever the engine's device (one small copy per step)
        reward, done = reward.cpu(), done.cpu()
        info = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in info.items()}
        sums["speed"] += info.get("root_speed", torch.zeros(n)).double()
        sums["ref_speed"] += info.get("ref_root_speed", torch.zeros(n)).double()
        if "disc_agent_acc" in extra_keys:
            logits = disc_logits(info["amp_obs"]).cpu().double()
            info["disc_agent_acc"], info["disc_agent_logit"] = (logits < 0).double(), logits
        for key in extra_keys:
            sums[key] += info[key].double()
        sums["ret"] += reward.double()
        if warp:
            sim_log.append(info["body_rel_pos"])
            ref_log.append(info["ref_body_rel_pos"])
        for name, value in info.get("reward_terms", {}).items():
            term_sums.setdefault(name, torch.zeros(n, dtype=torch.float64)).add_(value.double())
        sums["mpjpe"] += info["mpjpe"].double()
        sums["err"] += info["body_pos_error"].double()
        sums["root_err"] += info["root_pos_error"].double()
        steps += 1
        ended = torch.nonzero(done).squeeze(-1)
        for i in ended.tolist():
            if taken[i] < quota[i]:
                taken[i] += 1
                k = float(steps[i])
                speed, ref_speed = float(sums["speed"][i]) / k, float(sums["ref_speed"][i]) / k
                match = max(0.0, 1.0 - abs(speed / ref_speed - 1.0)) if ref_speed > 1e-6 else 0.0
                results.append({
                    "normalized_return": float(sums["ret"][i]) / (best_reward * float(possible[i])),
                    "reward_per_step": float(sums["ret"][i]) / k, "mpjpe_m": float(sums["mpjpe"][i]) / k,
                    "body_pos_error_m": float(sums["err"][i]) / k, "root_pos_error_m": float(sums["root_err"][i]) / k,
                    "fall_rate": float(int(done[i]) == DoneReason.FAIL), "mean_episode_seconds": k * env.dt,
                    "start_seconds": float(start_time[i]),
                    "mean_speed_mps": speed, "clip_speed_mps": ref_speed,
                    "style_score": min(1.0, k / float(possible[i])) * match,
                    **{key: float(sums[key][i]) / k for key in extra_keys},
                    "reward_terms": {name: float(v[i]) / k for name, v in term_sums.items()},
                })
                if warp:
                    sim_rel = torch.stack([x[i] for x in sim_log[first_step[i]:]])
                    ref_rel = torch.stack([x[i] for x in ref_log[first_step[i]:]])
                    results[-1]["mpjpe_dtw_m"] = pose_error_dtw(sim_rel, ref_rel)
            first_step[i] = len(sim_log)
            for v in (*sums.values(), *term_sums.values()):
                v[i] = 0.0
            steps[i] = 0.0
        if len(ended):  # the new episodes' start times and full length
            env_ended = ended.to(env.clip_ids.device)
            start_time[ended] = env.start_time[env_ended].cpu()
            possible[ended] = full_episode_steps(env, env_ended).cpu()
        if len(results) >= episodes:
            break
    env.test_mode = False
    if not results:
        return {**{k: math.nan for k in METRICS}, "episodes": 0}
    keys = (*METRICS, *(("mpjpe_dtw_m",) if warp else ()), *extra_keys)
    out = {k: round(sum(r[k] for r in results) / len(results), 4) for k in keys}
    out["mean_episode_seconds"] = round(out["mean_episode_seconds"], 3)
    out["episodes"] = len(results)
    falls = [r for r in results if r["fall_rate"] > 0]
    out["fall_seconds"] = sorted(round(r["mean_episode_seconds"], 3) for r in falls)
    out["fall_starts"] = sorted([round(r["start_seconds"], 3), round(r["mean_episode_seconds"], 3)] for r in falls)
    terms = {name: sum(r["reward_terms"].get(name, 0.0) for r in results) / len(results)
             for name in results[0]["reward_terms"]}
    if terms:
        out["reward_terms"] = {name: round(v, 4) for name, v in terms.items()}
        weights = getattr(env, "reward_weights", {})
        lost = {name: round(weights[name] * (1.0 - v), 4) for name, v in terms.items() if name in weights}
        if lost:  # a task's own reward (steering) has no tracking weights
            out["reward_lost"] = lost
    return out


def pool(results: list[dict]) -> dict:
    """One result from several :func:`evaluate` results (e.g. the same policy on several seeds), as if their
    episodes had been one evaluation: every mean weighted by its ``episodes``, the fall lists merged."""
    total = sum(r["episodes"] for r in results)
    if total == 0:  # nothing measured: no means to weigh
        return dict(results[0])

    def mean(values: list[float]) -> float:
        return round(sum(v * r["episodes"] for v, r in zip(values, results, strict=True)) / total, 4)

    out: dict = {}
    for key, value in results[0].items():
        if key == "episodes":
            out[key] = total
        elif key in ("fall_seconds", "fall_starts"):
            out[key] = sorted(x for r in results for x in r[key])
        elif isinstance(value, dict):  # reward_terms, reward_lost: per term
            out[key] = {name: mean([r[key][name] for r in results]) for name in value}
        else:
            out[key] = mean([r[key] for r in results])
    return out
