"""An :class:`~mimic.envs.tracking.ImitationEnv`'s policy observation, assembled from its state: the character's
own part in a layout's settings (:mod:`mimic.envs.observations`), then the task's (the steering target), then
the clock (``env.clock_obs_seconds``). One place for that order: the observation, its size and its described
layout (``mimic export``'s contract) all follow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from mimic.envs import observations as obs_fn

if TYPE_CHECKING:
    from mimic.envs.config import EnvConfig
    from mimic.envs.tracking import ImitationEnv


def character_size(env: ImitationEnv, layout: EnvConfig | None = None) -> int:
    """Size of the character's own observation (no task) in ``layout``'s observation settings (default: the
    env's own)."""
    cfg, model = layout or env.config, env.model
    if cfg.obs == "deepmimic":
        return obs_fn.deepmimic_obs_size(model.num_bodies, cfg.phase_obs, 4 if cfg.body_rot_obs == "quat" else 6)
    return obs_fn.mimickit_obs_size(model.num_joints, model.num_dofs, len(env.key_bodies), len(cfg.tar_obs_steps))


def layout(env: ImitationEnv) -> list[dict]:
    """The policy observation's parts in order: ``name``, ``start``, ``size``, ``meaning``."""
    cfg, model = env.config, env.model
    if cfg.obs == "deepmimic":
        parts = obs_fn.deepmimic_obs_layout(list(model.body_names), cfg.phase_obs, cfg.body_rot_obs,
                                            cfg.world_root_rot_obs)
    else:
        key = [model.body_names[i] for i in env.key_bodies.tolist()]
        parts = obs_fn.mimickit_obs_layout(list(model.body_names[1:]), model.num_dofs, key, list(cfg.tar_obs_steps))
    extra = []
    if env.task is not None:
        extra.append(("steering_target", env.task.obs_dim, "cos and sin of the target direction's angle from the "
                      "root's heading, then the target speed (m/s)"))
    if cfg.clock_obs_seconds > 0:
        extra.append(("clock", 1, f"time since the episode's reset over {cfg.clock_obs_seconds} s, at most 1"))
    for name, size, meaning in extra:
        parts.append({"name": name, "start": parts[-1]["start"] + parts[-1]["size"], "size": size,
                      "meaning": meaning})
    return parts


def size(env: ImitationEnv) -> int:
    """Size D of the policy observation."""
    return (character_size(env) + (env.task.obs_dim if env.task is not None else 0)
            + (1 if env.config.clock_obs_seconds > 0 else 0))


def observe(env: ImitationEnv, ids: torch.Tensor | None = None) -> torch.Tensor:
    """Policy observations (N, D) of all envs, or (M, D) of envs ``ids``."""
    parts = [character(env, ids)]
    if env.task is not None:
        task = env.task.observation(env.engine.root_rot)
        parts.append(task if ids is None else task[ids])
    if env.config.clock_obs_seconds > 0:
        t = env.episode_time if ids is None else env.episode_time[ids]
        parts.append((t / env.config.clock_obs_seconds).clamp(max=1.0)[:, None].to(parts[0].dtype))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def character(env: ImitationEnv, ids: torch.Tensor | None = None, layout: EnvConfig | None = None) -> torch.Tensor:
    """The character's own observation (N, D) of all envs or (M, D) of envs ``ids``, in ``layout``'s
    observation settings (``obs``, ``phase_obs``, ``body_rot_obs``, ``world_root_rot_obs``, ``tar_obs_steps``;
    default: the env's own; a teacher's, :mod:`mimic.envs.teacher`)."""
    e, cfg = env.engine, layout or env.config
    pick = (lambda x: x) if ids is None else (lambda x: x[ids])
    clip_ids, motion_time = pick(env.clip_ids), pick(env.motion_time)
    if cfg.obs == "deepmimic":
        phase = env.motion.phase(clip_ids, motion_time) if cfg.phase_obs else None
        return obs_fn.deepmimic_obs(pick(e.root_pos), pick(e.root_rot), pick(e.body_pos), pick(e.body_rot),
                                    pick(e.body_vel), pick(e.body_ang_vel), phase, cfg.body_rot_obs,
                                    cfg.world_root_rot_obs)
    steps = torch.as_tensor(cfg.tar_obs_steps, dtype=torch.float64, device=env.device)
    n, k = len(clip_ids), len(steps)
    times = (motion_time[:, None] + steps * env.dt).reshape(-1)
    fut = env.motion.state(clip_ids.repeat_interleave(k), times)
    offset = pick(env.ref_offset).repeat_interleave(k, dim=0)
    ref_root_pos = (fut.root_pos + offset).reshape(n, k, 3)
    ref_key = (fut.body_pos[:, env.key_bodies] + offset[:, None, :]).reshape(n, k, -1, 3)
    body_pos = pick(e.body_pos)
    return obs_fn.mimickit_obs(
        pick(e.root_pos), pick(e.root_rot), pick(e.root_vel), pick(e.root_ang_vel),
        env.model.joint_pos_to_rot(pick(e.joint_pos)), pick(e.dof_vel), body_pos[:, env.key_bodies],
        ref_root_pos, fut.root_rot.reshape(n, k, 4), fut.joint_rot.reshape(n, k, -1, 4), ref_key,
    )
