"""Observation layouts, as pure functions of batched state tensors (num_envs first).

``deepmimic``: DeepMimic's state in the character's heading frame (rotation by minus the heading
about z, origin at the root): [phase (1)], root height (1), per body its position relative to the
root (3) and rotation (quaternion 4 or tangent/normal 6), then per body linear and angular velocity
(3 + 3). With 15 bodies, phase and quaternions: 1 + 1 + 15 * 7 + 15 * 6 = 197 (DeepMimic's size).
Body positions are joint positions (Mimic's body frames sit at the joints), so the root's own entry
is zero.

``mimickit``: MimicKit's state in the world frame (its ``global_obs``): root height (1), root
rotation tangent/normal (6), root linear and angular velocity (3 + 3), local joint rotations
tangent/normal (J * 6), DoF velocities (num_dofs), key-body positions relative to the root (K * 3);
then for each reference frame ahead: reference root position relative to the current root with its
height as z (3), reference root rotation (6), reference joint rotations (J * 6), reference key-body
positions relative to the reference root (K * 3). Humanoid: 140 + 3 * 108 = 464.
"""

from __future__ import annotations

import torch

from mimic.character import rotations as rot


def deepmimic_obs_size(num_bodies: int, phase: bool, rot_size: int) -> int:
    """Length of the ``deepmimic`` observation."""
    return int(phase) + 1 + num_bodies * (3 + rot_size) + num_bodies * 6


def deepmimic_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, body_pos: torch.Tensor, body_rot: torch.Tensor,
                  body_vel: torch.Tensor, body_ang_vel: torch.Tensor, phase: torch.Tensor | None,
                  rot_encoding: str = "quat", world_root_rot: bool = True) -> torch.Tensor:
    """The ``deepmimic`` observation (N, D).

    Args:
        root_pos, root_rot: (N, 3), (N, 4) simulated root pose.
        body_pos, body_rot, body_vel, body_ang_vel: (N, B, 3|4) world body state.
        phase: (N,) clip phase in [0, 1], or None to leave it out.
        rot_encoding: ``quat`` (w >= 0) or ``tan_norm``.
        world_root_rot: keep the root body's rotation and velocities in the world frame.
    """
    n, b = body_pos.shape[:2]
    heading = rot.calc_heading(root_rot)
    half = 0.5 * heading
    zeros = torch.zeros_like(half)
    heading_inv = torch.stack((torch.cos(half), zeros, zeros, -torch.sin(half)), dim=-1)
    local_rot = rot.quat_mul(heading_inv[:, None, :], body_rot)
    # positions, velocities and angular velocities turned into the heading frame in one call
    vectors = torch.cat((body_pos - root_pos[:, None, :], body_vel, body_ang_vel), dim=1)
    rel_pos, vel, ang_vel = rot.rotate_heading_inv(vectors, heading[:, None]).split(b, dim=1)
    if world_root_rot:
        local_rot = torch.cat((body_rot[:, :1], local_rot[:, 1:]), dim=1)
        vel = torch.cat((body_vel[:, :1], vel[:, 1:]), dim=1)
        ang_vel = torch.cat((body_ang_vel[:, :1], ang_vel[:, 1:]), dim=1)
    rot_feat = rot.quat_canonical(local_rot) if rot_encoding == "quat" else rot.quat_to_tan_norm(local_rot)
    parts = [root_pos[:, 2:3], torch.cat((rel_pos, rot_feat), dim=-1).reshape(n, -1),
             torch.cat((vel, ang_vel), dim=-1).reshape(n, -1)]
    if phase is not None:
        parts.insert(0, phase[:, None].to(root_pos.dtype))
    return torch.cat(parts, dim=-1)


def deepmimic_obs_layout(body_names: list[str], phase: bool, rot_encoding: str,
                         world_root_rot: bool) -> list[dict]:
    """The ``deepmimic`` observation's parts in order: ``name``, ``start``, ``size``, ``meaning``."""
    rot_size = 4 if rot_encoding == "quat" else 6
    rot_text = "quaternion (w, x, y, z), w >= 0" if rot_encoding == "quat" else "tangent and normal axes (6)"
    frame = ("the heading frame (yaw of the root removed, origin at the root)"
             + ("; the root's own rotation and velocities stay in the world frame" if world_root_rot else ""))
    parts = [("phase", 1, "clip phase in [0, 1)")] if phase else []
    parts.append(("root_height", 1, "root height above the ground (m)"))
    parts += [(f"{b}/pos_rot", 3 + rot_size, f"body position relative to the root (m) and rotation ({rot_text}), in "
               + frame) for b in body_names]
    parts += [(f"{b}/vel", 6, "body linear (m/s) then angular (rad/s) velocity, in " + frame) for b in body_names]
    return _with_starts(parts)


def mimickit_obs_layout(joint_names: list[str], num_dofs: int, key_bodies: list[str], steps: list[int]) -> list[dict]:
    """The ``mimickit`` observation's parts in order: ``name``, ``start``, ``size``, ``meaning`` (world frame)."""
    parts = [("root_height", 1, "root height (m)"), ("root_rot", 6, "root rotation, tangent and normal axes"),
             ("root_vel", 3, "root linear velocity (m/s)"), ("root_ang_vel", 3, "root angular velocity (rad/s)")]
    parts += [(f"{j}/rot", 6, "local joint rotation, tangent and normal axes") for j in joint_names]
    parts.append(("dof_vel", num_dofs, "joint velocities (rad/s), MuJoCo qvel order without the root"))
    parts += [(f"{k}/pos", 3, "key body position relative to the root (m)") for k in key_bodies]
    for n in steps:
        parts += [(f"ref+{n}/root_pos", 3, f"reference root {n} steps ahead: x, y relative to the root, height"),
                  (f"ref+{n}/root_rot", 6, "reference root rotation, tangent and normal axes")]
        parts += [(f"ref+{n}/{j}/rot", 6, "reference local joint rotation") for j in joint_names]
        parts += [(f"ref+{n}/{k}/pos", 3, "reference key body relative to the reference root") for k in key_bodies]
    return _with_starts(parts)


def _with_starts(parts: list[tuple[str, int, str]]) -> list[dict]:
    out, start = [], 0
    for name, size, meaning in parts:
        out.append({"name": name, "start": start, "size": size, "meaning": meaning})
        start += size
    return out


def mimickit_obs_size(num_joints: int, num_dofs: int, num_key: int, num_steps: int) -> int:
    """Length of the ``mimickit`` observation."""
    return 13 + num_joints * 6 + num_dofs + num_key * 3 + num_steps * (9 + num_joints * 6 + num_key * 3)


def mimickit_obs(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor, root_ang_vel: torch.Tensor,
                 joint_rot: torch.Tensor, dof_vel: torch.Tensor, key_pos: torch.Tensor, ref_root_pos: torch.Tensor,
                 ref_root_rot: torch.Tensor, ref_joint_rot: torch.Tensor, ref_key_pos: torch.Tensor) -> torch.Tensor:
    """The ``mimickit`` observation (N, D), world frame.

    Args:
        root_pos, root_rot, root_vel, root_ang_vel: (N, 3|4) simulated root state.
        joint_rot: (N, J, 4) local joint rotations; dof_vel: (N, num_dofs).
        key_pos: (N, K, 3) world key-body positions.
        ref_root_pos, ref_root_rot: (N, S, 3|4) reference root at S future steps.
        ref_joint_rot: (N, S, J, 4); ref_key_pos: (N, S, K, 3).
    """
    n = root_pos.shape[0]
    char = torch.cat((
        root_pos[:, 2:3], rot.quat_to_tan_norm(root_rot), root_vel, root_ang_vel,
        rot.quat_to_tan_norm(joint_rot).reshape(n, -1), dof_vel,
        (key_pos - root_pos[:, None, :]).reshape(n, -1),
    ), dim=-1)
    rel_root = ref_root_pos - root_pos[:, None, :]
    rel_root = torch.cat((rel_root[..., :2], ref_root_pos[..., 2:3]), dim=-1)
    steps = ref_root_pos.shape[1]
    tar = torch.cat((
        rel_root, rot.quat_to_tan_norm(ref_root_rot),
        rot.quat_to_tan_norm(ref_joint_rot).reshape(n, steps, -1),
        (ref_key_pos - ref_root_pos[:, :, None, :]).reshape(n, steps, -1),
    ), dim=-1)
    return torch.cat((char, tar.reshape(n, -1)), dim=-1)
