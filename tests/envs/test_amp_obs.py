"""AMP observations: the simulated and the expert side describe the same state with the same numbers, they
do not depend on where the character is or which way it faces, and the env hands them over each step."""

from __future__ import annotations

import math

import torch

from mimic.character import rotations as rot
from mimic.envs.amp_obs import amp_frame, amp_frame_dim, amp_frame_groups
from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv


def make(num_envs: int = 4) -> ImitationEnv:
    torch.set_num_threads(1)
    cfg = EnvConfig(clips=["walk"], amp_obs_steps=2, task="none", phase_obs=False, action_mode="residual")
    return ImitationEnv(cfg, num_envs=num_envs, seed=2)


def test_sim_and_expert_frames_agree_on_the_same_state():
    env = make()
    env.reset()  # the characters start on the clip: the simulated state is the reference state
    sim = env.amp_frame_of_sim(env.sim_track_state(env.engine))
    expert = env.amp.motion_frames(env.clip_ids, env.motion_time)[:, 0]
    assert sim.shape == (4, amp_frame_dim(env.model, 5)) == (4, 140)
    assert torch.allclose(sim, expert, atol=2e-3), (sim - expert).abs().max()
    assert env.amp_obs_dim == 280 and env.amp.sample_expert(7).shape == (7, 280)


def test_a_frame_does_not_depend_on_position_or_heading():
    env = make(1)
    env.reset()
    s = env.motion.state(torch.zeros(3, dtype=torch.long), torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
    key = s.body_pos[:, env.key_bodies]
    base = amp_frame(s.root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_rot, s.dof_vel, key)
    turn = rot.quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=s.root_rot.dtype),
                                    torch.tensor(2.0, dtype=s.root_rot.dtype)).expand(3, 4)
    shift = torch.tensor([3.0, -1.0, 0.0], dtype=s.root_pos.dtype)
    moved = amp_frame(rot.quat_rotate(turn, s.root_pos) + shift, rot.quat_mul(turn, s.root_rot),
                      rot.quat_rotate(turn, s.root_vel), rot.quat_rotate(turn, s.root_ang_vel), s.joint_rot,
                      s.dof_vel, rot.quat_rotate(turn[:, None].expand(3, len(env.key_bodies), 4), key) + shift)
    assert torch.allclose(base, moved, atol=1e-5)


def test_the_env_gives_amp_obs_each_step_and_no_task_reward():
    env = make()
    env.reset()
    for _ in range(5):
        _, reward, done, info = env.step(torch.zeros(4, env.action_dim))
    assert info["amp_obs"].shape == (4, 280) and torch.all(reward == 0) and info["reward_terms"] == {}
    frames = info["amp_obs"].view(4, 2, 140)
    # newest first: the previous step's newest frame is now second (no env was reset in 5 steps)
    _, _, done, info2 = env.step(torch.zeros(4, env.action_dim))
    assert torch.equal(info2["amp_obs"].view(4, 2, 140)[:, 1], frames[:, 0])
    assert math.isfinite(float(info2["amp_obs"].abs().sum()))


def test_the_feature_groups_tile_the_frame_in_order():
    env = make(1)
    env.reset()
    groups = amp_frame_groups(env.model, len(env.key_bodies))
    spans = list(groups.values())
    assert spans[0].start == 0 and spans[-1].stop == env.amp.frame_dim
    assert all(a.stop == b.start for a, b in zip(spans[:-1], spans[1:], strict=True))
    frame = env.amp_frame_of_sim(env.sim_track_state(env.engine))
    assert torch.equal(frame[:, groups["root_height"]], env.engine.root_pos[:, 2:3].to(frame.dtype))
    assert groups["dof_vel"].stop - groups["dof_vel"].start == env.model.num_dofs
