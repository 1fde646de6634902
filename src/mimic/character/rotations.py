"""Batched rotation math on torch tensors.

The one quaternion convention of Mimic
--------------------------------------
- Quaternions are stored **(w, x, y, z)**, scalar first, as in MuJoCo and DeepMimic's files.
- Hamilton product; rotations are *active*: ``quat_rotate(q, v) = q * (0, v) * conj(q)``.
- A body rotation maps vectors from the body's local frame to its parent (or the world) frame,
  so ``world_rot = parent_rot * local_rot``.
- Unit quaternions only; ``q`` and ``-q`` are the same rotation. Functions that return a
  quaternion from an angle (exp map, axis-angle) return the one with ``w >= 0``.
- The world is z-up; the heading of a rotation is the yaw of its rotated x axis about z.
- Exponential maps (axis * angle, 3 numbers) are the tangent-space coordinates of rotations;
  angular velocities are exp maps per second.

Every function works on any leading batch shape ``(...)``: a quaternion argument is ``(..., 4)``,
a vector ``(..., 3)``, and shapes broadcast as in torch.
"""

from __future__ import annotations

import math

import torch

_EPS = 1e-9


def quat_identity(shape: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Identity quaternions of shape ``(*shape, 4)``."""
    q = torch.zeros(*shape, 4, dtype=dtype, device=device)
    q[..., 0] = 1.0
    return q


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` of (..., 4) quaternions: rotate by ``b`` first, then ``a``."""
    # Scalar/vector form: few large tensor ops, which matters more than flops at these sizes.
    aw, av = a[..., :1], a[..., 1:]
    bw, bv = b[..., :1], b[..., 1:]
    w = aw * bw - (av * bv).sum(dim=-1, keepdim=True)
    if av.shape != bv.shape:
        av, bv = torch.broadcast_tensors(av, bv)
    v = aw * bv + bw * av + torch.linalg.cross(av, bv, dim=-1)
    return torch.cat((w, v), dim=-1)


def quat_conj(q: torch.Tensor) -> torch.Tensor:
    """Conjugate of (..., 4) quaternions; the inverse for unit quaternions."""
    return torch.cat((q[..., :1], -q[..., 1:]), dim=-1)


quat_inv = quat_conj


def quat_normalize(q: torch.Tensor) -> torch.Tensor:
    """Unit-length (..., 4) quaternions."""
    return q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def quat_canonical(q: torch.Tensor) -> torch.Tensor:
    """The sign of each (..., 4) quaternion that has ``w >= 0`` (same rotation)."""
    return torch.where(q[..., :1] < 0, -q, q)


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors ``v`` by (..., 4) unit quaternions ``q``."""
    w = q[..., :1]
    u = q[..., 1:]
    if u.shape != v.shape:
        u, v = torch.broadcast_tensors(u, v)
    t = 2.0 * torch.linalg.cross(u, v, dim=-1)
    return v + w * t + torch.linalg.cross(u, t, dim=-1)


def quat_rotate_inv(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors ``v`` by the inverse of (..., 4) unit quaternions ``q``."""
    return quat_rotate(quat_conj(q), v)


def quat_from_axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Quaternions (..., 4) from unit axes (..., 3) and angles (...) in radians."""
    half = 0.5 * angle
    return torch.cat((torch.cos(half)[..., None], torch.sin(half)[..., None] * axis), dim=-1)


def quat_to_axis_angle(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit axes (..., 3) and angles (...) in [0, pi] of (..., 4) unit quaternions.

    The identity gets axis (1, 0, 0) and angle 0.
    """
    q = quat_canonical(q)
    sin_half = q[..., 1:].norm(dim=-1)
    angle = 2.0 * torch.atan2(sin_half, q[..., 0])
    default = torch.zeros_like(q[..., 1:])
    default[..., 0] = 1.0
    axis = torch.where(sin_half[..., None] > _EPS, q[..., 1:] / sin_half.clamp_min(_EPS)[..., None], default)
    return axis, angle


def exp_map_to_quat(exp_map: torch.Tensor) -> torch.Tensor:
    """Quaternions (..., 4) of exponential maps (..., 3) (axis * angle).

    Angles beyond pi wrap around; small angles use the series expansion so gradients stay finite.
    """
    angle = exp_map.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(half)/angle -> 1/2 - angle^2/48 as angle -> 0
    small = angle < 1e-6
    scale = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / angle.clamp_min(1e-12))
    return torch.cat((torch.cos(half), scale * exp_map), dim=-1)


def quat_to_exp_map(q: torch.Tensor) -> torch.Tensor:
    """Exponential maps (..., 3) of (..., 4) unit quaternions, with angle in [0, pi]."""
    q = quat_canonical(q)
    sin_half = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, q[..., :1])
    # angle / sin(half) -> 2 + angle^2/12 as angle -> 0
    small = sin_half < 1e-6
    scale = torch.where(small, 2.0 + angle * angle / 12.0, angle / sin_half.clamp_min(1e-12))
    return scale * q[..., 1:]


def quat_angle(q: torch.Tensor) -> torch.Tensor:
    """Rotation angle (...) in [0, pi] of (..., 4) unit quaternions."""
    return 2.0 * torch.atan2(q[..., 1:].norm(dim=-1), q[..., 0].abs())


def quat_diff_angle(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Angle (...) in [0, pi] of the rotation taking ``q0`` to ``q1``."""
    return quat_angle(quat_mul(quat_conj(q0), q1))


def quat_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Spherical interpolation along the shortest arc; ``t`` is (...) or a float, 0 gives ``q0``."""
    t = torch.as_tensor(t, dtype=q0.dtype, device=q0.device)
    if t.dim() > 0:
        t = t[..., None]
    cos = (q0 * q1).sum(dim=-1, keepdim=True)
    q1 = torch.where(cos < 0, -q1, q1)
    cos = cos.abs().clamp(max=1.0)
    theta = torch.acos(cos)
    sin = torch.sin(theta)
    near = sin < 1e-6
    w0 = torch.where(near, 1.0 - t, torch.sin((1.0 - t) * theta) / sin.clamp_min(1e-12))
    w1 = torch.where(near, t, torch.sin(t * theta) / sin.clamp_min(1e-12))
    return quat_normalize(w0 * q0 + w1 * q1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of (..., 4) unit quaternions (columns = rotated axes)."""
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        (
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ),
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)


def quat_from_matrix(m: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4), ``w >= 0``, of rotation matrices (..., 3, 3).

    Uses the largest of the four squared components for precision near 180-degree rotations.
    """
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    squares = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), dim=-1
    )
    # Each row: the quaternion scaled by 4 * its k-th component, for k = w, x, y, z.
    candidates = torch.stack(
        (
            torch.stack((squares[..., 0], m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                         m[..., 1, 0] - m[..., 0, 1]), dim=-1),
            torch.stack((m[..., 2, 1] - m[..., 1, 2], squares[..., 1], m[..., 1, 0] + m[..., 0, 1],
                         m[..., 0, 2] + m[..., 2, 0]), dim=-1),
            torch.stack((m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1], squares[..., 2],
                         m[..., 2, 1] + m[..., 1, 2]), dim=-1),
            torch.stack((m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2],
                         squares[..., 3]), dim=-1),
        ),
        dim=-2,
    )
    best = squares.argmax(dim=-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    return quat_canonical(quat_normalize(q))


def quat_to_tan_norm(q: torch.Tensor) -> torch.Tensor:
    """The 6-D tangent/normal encoding (..., 6): the rotated x axis, then the rotated z (up) axis."""
    x_axis = torch.zeros(*q.shape[:-1], 3, dtype=q.dtype, device=q.device)
    z_axis = torch.zeros_like(x_axis)
    x_axis[..., 0] = 1.0
    z_axis[..., 2] = 1.0
    return torch.cat((quat_rotate(q, x_axis), quat_rotate(q, z_axis)), dim=-1)


def calc_heading(q: torch.Tensor) -> torch.Tensor:
    """Heading angles (...): yaw about z of the rotated x axis of (..., 4) quaternions."""
    w, x, y, z = q.unbind(-1)
    # Rotated x axis = first column of the rotation matrix.
    fx = 1 - 2 * (y * y + z * z)
    fy = 2 * (x * y + w * z)
    return torch.atan2(fy, fx)


def heading_quat(q: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 4) about z by the heading of ``q``."""
    half = 0.5 * calc_heading(q)
    zeros = torch.zeros_like(half)
    return torch.stack((torch.cos(half), zeros, zeros, torch.sin(half)), dim=-1)


def heading_quat_inv(q: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 4) about z by minus the heading of ``q``: world -> heading frame."""
    return quat_conj(heading_quat(q))


def rotate_heading_inv(v: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors by minus ``heading`` (...) about z: world -> heading frame.

    Equal to ``quat_rotate(heading_quat_inv(q), v)`` for ``heading = calc_heading(q)``, in fewer ops.
    """
    c, s = torch.cos(heading), torch.sin(heading)
    x, y = v[..., 0], v[..., 1]
    return torch.stack((c * x + s * y, c * y - s * x, v[..., 2]), dim=-1)


def remove_heading(q: torch.Tensor) -> torch.Tensor:
    """The heading-free part ``heading_quat(q)^-1 * q`` of (..., 4) quaternions."""
    return quat_mul(heading_quat_inv(q), q)


def quat_twist_angle(q: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Signed angle (...) of the twist of ``q`` about unit ``axis`` (swing-twist decomposition).

    For a pure rotation about ``axis`` this is its angle, in (-pi, pi].
    """
    proj = (q[..., 1:] * axis).sum(dim=-1)
    angle = 2.0 * torch.atan2(proj, q[..., 0])
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def angular_velocity(q0: torch.Tensor, q1: torch.Tensor, dt: float | torch.Tensor,
                     local: bool = False) -> torch.Tensor:
    """Constant angular velocity (..., 3) turning ``q0`` into ``q1`` in ``dt`` seconds.

    World (parent) frame by default: ``q1 = exp(w dt) * q0``. With ``local=True`` the velocity is
    in the rotated (child) frame, ``q1 = q0 * exp(w dt)``, which is MuJoCo's ball-joint and
    free-joint angular velocity convention.
    """
    diff = quat_mul(quat_conj(q0), q1) if local else quat_mul(q1, quat_conj(q0))
    return quat_to_exp_map(diff) / dt
