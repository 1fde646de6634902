"""Imitation rewards as pure functions: each term is ``exp(-scale * error)``, mixed by weights.

DeepMimic (its current code): pose (joint and root orientation angles, DiffWeights normalized to
sum 1), vel (joint and root angular velocities), end_eff (end-effector positions relative to the
root in the heading frame, height above ground), root (position, angle, linear and angular
velocity), com (centre-of-mass velocity). MimicKit: pose, vel (per DoF), root_pose, root_vel,
key_pos. Tables of weights and scales live in :mod:`mimic.envs.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimic.character import rotations as rot


@dataclass
class TrackState:
    """The quantities the rewards compare, for the simulated character or its reference.

    Shapes: root_pos (N, 3), root_rot (N, 4), root_vel (N, 3), root_ang_vel (N, 3) world;
    joint_rot (N, J, 4) local; dof_vel (N, num_dofs); body_pos (N, B, 3); com_vel (N, 3).
    """

    root_pos: torch.Tensor
    root_rot: torch.Tensor
    root_vel: torch.Tensor
    root_ang_vel: torch.Tensor
    joint_rot: torch.Tensor
    dof_vel: torch.Tensor
    body_pos: torch.Tensor
    com_vel: torch.Tensor


def heading_relative(pos: torch.Tensor, root_pos: torch.Tensor, root_rot: torch.Tensor) -> torch.Tensor:
    """(N, K, 3) positions relative to the root in its heading frame, with z = height above ground."""
    rel = rot.rotate_heading_inv(pos - root_pos[:, None, :], rot.calc_heading(root_rot)[:, None])
    return torch.cat((rel[..., :2], pos[..., 2:3]), dim=-1)


def deepmimic_errors(sim: TrackState, ref: TrackState, joint_weights: torch.Tensor, dof_weights: torch.Tensor,
                     root_weight: float, end_effectors: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-term errors (N,) of DeepMimic's reward.

    Args:
        joint_weights: (J,) normalized DiffWeights of the non-root joints; ``root_weight`` the root's.
        dof_weights: (num_dofs,) the same per DoF: a joint's squared angular-velocity error is the
            sum over its DoF (hinge axes are unit vectors).
        end_effectors: (E,) body indices.
    """
    root_angle = rot.quat_diff_angle(sim.root_rot, ref.root_rot)
    joint_angle = rot.quat_diff_angle(sim.joint_rot, ref.joint_rot)
    pose = root_weight * root_angle ** 2 + (joint_weights * joint_angle ** 2).sum(-1)
    vel = (root_weight * (sim.root_ang_vel - ref.root_ang_vel).square().sum(-1)
           + (dof_weights * (sim.dof_vel - ref.dof_vel).square()).sum(-1))
    ee_sim = heading_relative(sim.body_pos[:, end_effectors], sim.root_pos, sim.root_rot)
    ee_ref = heading_relative(ref.body_pos[:, end_effectors], ref.root_pos, ref.root_rot)
    end_eff = (ee_sim - ee_ref).square().sum(-1).sum(-1)
    root = ((sim.root_pos - ref.root_pos).square().sum(-1) + 0.1 * root_angle ** 2
            + 0.01 * (sim.root_vel - ref.root_vel).square().sum(-1)
            + 0.001 * (sim.root_ang_vel - ref.root_ang_vel).square().sum(-1))
    com = 0.1 * (sim.com_vel - ref.com_vel).square().sum(-1)
    return {"pose": pose, "vel": vel, "end_eff": end_eff, "root": root, "com": com}


def mimickit_errors(sim: TrackState, ref: TrackState, joint_weights: torch.Tensor, dof_weights: torch.Tensor,
                    key_bodies: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-term errors (N,) of MimicKit's reward (world-frame root tracking, its default).

    Args:
        joint_weights: (J,) MimicKit joint_err_w; dof_weights: (num_dofs,) the same per DoF.
        key_bodies: (K,) body indices.
    """
    pose = (joint_weights * rot.quat_diff_angle(sim.joint_rot, ref.joint_rot) ** 2).sum(-1)
    vel = (dof_weights * (sim.dof_vel - ref.dof_vel).square()).sum(-1)
    root_angle = rot.quat_diff_angle(sim.root_rot, ref.root_rot)
    root_pose = (sim.root_pos - ref.root_pos).square().sum(-1) + 0.1 * root_angle ** 2
    root_vel = ((sim.root_vel - ref.root_vel).square().sum(-1)
                + 0.1 * (sim.root_ang_vel - ref.root_ang_vel).square().sum(-1))
    key_sim = sim.body_pos[:, key_bodies] - sim.root_pos[:, None, :]
    key_ref = ref.body_pos[:, key_bodies] - ref.root_pos[:, None, :]
    key_pos = (key_sim - key_ref).square().sum(-1).sum(-1)
    return {"pose": pose, "vel": vel, "root_pose": root_pose, "root_vel": root_vel, "key_pos": key_pos}


def combine(errors: dict[str, torch.Tensor], weights: dict[str, float],
            scales: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total reward (N,) and each term ``exp(-scale * error)`` (N,); weight-0 terms are skipped."""
    terms = {name: torch.exp(-scales[name] * err) for name, err in errors.items()}
    total = sum(weights[name] * term for name, term in terms.items() if weights[name] != 0.0)
    return total, terms
