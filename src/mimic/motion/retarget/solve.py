"""Retargeting: a BVH skeleton's motion onto a character with other proportions and another rest pose.

Copying local rotations is wrong as soon as the rest poses differ (a T-pose source would put the
character's hanging arms out to the side). Instead each character body gets the *world*
orientation that puts its segments along the source's, all batched over frames:

- **pelvis and chest** (bodies with several mapped children): the rotation that takes the
  character's rest frame of two directions (to the main child, between the side children, e.g.
  hips line or shoulders line) onto the same two directions in the source, from joint positions;
- **limbs** (one mapped child): the bone direction from positions exactly, the twist about the
  bone from the source joint's rotation relative to its zero pose, after aligning the zero pose's
  bone direction with the character's rest direction (a T-pose arm is turned down by the shortest
  rotation). A limb whose child is a hinge (thigh, upper arm) instead takes its twist from the
  plane of the bend when the limb is bent, so the knee or elbow bends in the source's plane; a
  constant twist offset between the two (another rest convention) is measured on the bent frames
  and removed from the rotation's twist first;
- **leaves** (feet, head): the source joint's rotation relative to its zero pose, which is taken
  as standing (level feet and head, as in T-pose and A-pose skeletons), turned by the yaw between
  the skeletons' facings;
- **hinges** (knee, elbow) take the angle that best points their child along the source bone (the
  projection on the plane of the hinge axis).

Joint rotations are the differences of these world orientations down the tree. The root
trajectory is the source pelvis' scaled by the ratio of leg lengths (character's over source's),
which also converts units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import CharacterModel, JointType
from mimic.motion.formats.bvh import BvhMotion
from mimic.motion.retarget.maps import JointMap

_F64 = torch.float64
# A limb bent less than this (degrees) takes its twist from rotations; more than the upper bound, from the bend plane.
BEND_BLEND_DEG = (15.0, 35.0)


@dataclass(frozen=True)
class Roles:
    """Character bodies the retargeting aligns by: the pelvis, the hips (facing) and the feet (leg length, ground)."""

    root: str = "root"
    chest: str = "chest"
    left_hip: str = "left_hip"
    right_hip: str = "right_hip"
    left_foot: str = "left_ankle"
    right_foot: str = "right_ankle"

    @property
    def required(self) -> tuple[str, ...]:
        return (self.root, self.chest, self.left_hip, self.right_hip, self.left_foot, self.right_foot)


@dataclass
class Retargeted:
    """Character poses per source frame: root position (F, 3) metres, root rotation (F, 4), joint_pos (F, Q)."""

    root_pos: np.ndarray
    root_rot: np.ndarray
    joint_pos: np.ndarray
    notes: list[str]


def to_zup(v: torch.Tensor, up: str) -> torch.Tensor:
    """(..., 3) vectors from a ``y``-up world (x, y, z) -> (x, -z, y), or unchanged for ``z``-up."""
    return torch.stack((v[..., 0], -v[..., 2], v[..., 1]), dim=-1) if up == "y" else v


def source_world(motion: BvhMotion, up: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World joint positions (F, J, 3) and rotations (F, J, 4), and zero-pose positions (J, 3); z-up, file units."""
    sk = motion.skeleton
    local_pos, local_quat = (torch.as_tensor(a, dtype=_F64) for a in motion.local_pose())
    pos, quat = local_pos.clone(), local_quat.clone()
    rest = torch.as_tensor(sk.offsets, dtype=_F64).clone()
    depth = np.zeros(sk.num_joints, dtype=np.int64)
    for j in range(1, sk.num_joints):  # parents come first in a BVH file
        depth[j] = depth[sk.parents[j]] + 1
    for d in range(1, int(depth.max(initial=0)) + 1):  # one batch per tree depth
        joints = torch.as_tensor(np.flatnonzero(depth == d))
        parents = torch.as_tensor(sk.parents[joints.numpy()])
        pos[:, joints] = pos[:, parents] + rot.quat_rotate(quat[:, parents], local_pos[:, joints])
        quat[:, joints] = rot.quat_mul(quat[:, parents], local_quat[:, joints])
        rest[joints] = rest[parents] + rest[joints]
    # a proper rotation of the axes maps a quaternion's vector part like a vector
    quat = torch.cat((quat[..., :1], to_zup(quat[..., 1:], up)), dim=-1)
    return to_zup(pos, up), quat, to_zup(rest, up)


def leg_length(parents: np.ndarray, lengths: np.ndarray, hip: int, foot: int) -> float:
    """Summed bone lengths from ``hip`` down to ``foot`` (``lengths[j]``: joint j's distance to its parent)."""
    total, j = 0.0, foot
    while j != hip and j >= 0:
        total += float(lengths[j])
        j = int(parents[j])
    return total


def quat_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Shortest rotations (..., 4) taking directions ``a`` onto ``b`` (..., 3); any half turn for opposite ones."""
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cross = torch.linalg.cross(a, b, dim=-1)
    dot = (a * b).sum(-1, keepdim=True)
    # opposite directions: turn half way about any axis normal to a
    helper = torch.where(a[..., :1].abs() < 0.9, torch.tensor([1.0, 0.0, 0.0], dtype=a.dtype),
                         torch.tensor([0.0, 1.0, 0.0], dtype=a.dtype))
    normal = torch.linalg.cross(a, helper, dim=-1)
    normal = normal / normal.norm(dim=-1, keepdim=True)
    opposite = (1.0 + dot) < 1e-9
    q = torch.where(opposite, torch.cat((torch.zeros_like(dot), normal), -1), torch.cat((1.0 + dot, cross), -1))
    return rot.quat_normalize(q)


def frame_rotation(src_primary: torch.Tensor, src_secondary: torch.Tensor, tar_primary: torch.Tensor,
                   tar_secondary: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 4) taking the frame (primary, secondary) of ``tar_`` onto that of ``src_`` (..., 3 each).

    The primary directions match exactly; the secondary ones as closely as the primary allows.
    """
    src, tar = _frame(src_primary, src_secondary), _frame(tar_primary, tar_secondary)
    return rot.quat_from_matrix(src @ tar.transpose(-1, -2))


def _frame(primary: torch.Tensor, secondary: torch.Tensor) -> torch.Tensor:
    e1 = primary / primary.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    e2 = secondary - (secondary * e1).sum(-1, keepdim=True) * e1
    e2 = e2 / e2.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.stack((e1, e2, torch.linalg.cross(e1, e2, dim=-1)), dim=-1)


def _yaw_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rotation about z taking the horizontal part of ``a`` onto that of ``b`` (3,)."""
    angle = math.atan2(float(a[0] * b[1] - a[1] * b[0]), float(a[0] * b[0] + a[1] * b[1]))
    return torch.tensor([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], dtype=_F64)


def retarget_motion(motion: BvhMotion, model: CharacterModel, joint_map: JointMap, up: str = "y",
                    scale: float | None = None, roles: Roles | None = None) -> Retargeted:
    """Character poses for every frame of ``motion`` (see the module docstring for the method).

    Args:
        motion: the parsed BVH.
        model: the character.
        joint_map: character body -> source joint (:func:`~mimic.motion.retarget.maps.resolve_map`).
        up: the BVH's up axis, ``y`` or ``z``.
        scale: metres of root motion per file unit; default: character's over source's leg length.
        roles: the bodies to align by (DeepMimic's humanoid's by default).
    """
    roles = roles or Roles()
    jm = joint_map.joints
    sk = motion.skeleton
    pos, quat, rest = source_world(motion, up)
    fk = ForwardKinematics(model, dtype=_F64)
    num_joints = model.num_joints
    c_pos, c_rot = fk(torch.zeros(3, dtype=_F64), rot.quat_identity(dtype=_F64),
                      rot.quat_identity((num_joints,), dtype=_F64))
    index = model.body_index
    facing = _yaw_between(rest[jm[index(roles.left_hip)]] - rest[jm[index(roles.right_hip)]],
                          c_pos[index(roles.left_hip)] - c_pos[index(roles.right_hip)])
    kids = {body: [k for k in range(model.num_bodies) if model.parent_indices[k] == body and k in jm]
            for body in range(model.num_bodies)}

    world: dict[int, torch.Tensor] = {}
    for body, joint in jm.items():
        if body != 0 and model.joint_types[body] == JointType.FIXED:
            continue
        if len(kids[body]) >= 2:
            world[body] = rot.quat_mul(_branch_rotation(model, body, kids[body], jm, pos, c_pos), c_rot[body])
        elif kids[body] and body != 0:
            world[body] = _limb_rotation(model, body, kids[body][0], jm, sk.parents, pos, quat, rest, c_pos,
                                         c_rot, facing, kids)
        else:  # a leaf: its rotation relative to the (standing) zero pose, turned to the character's facing
            world[body] = rot.quat_mul(quat[:, joint], rot.quat_mul(rot.quat_conj(facing), c_rot[body]))
    root_rot, joint_rot = _local_rotations(model, world, jm, kids, pos)

    lengths = np.linalg.norm(sk.offsets, axis=-1)
    src_leg = np.mean([leg_length(sk.parents, lengths, jm[index(h)], jm[index(f)])
                       for h, f in ((roles.left_hip, roles.left_foot), (roles.right_hip, roles.right_foot))])
    char_lengths = np.linalg.norm(model.local_pos, axis=-1)
    char_leg = np.mean([leg_length(model.parent_indices, char_lengths, index(h), index(f))
                        for h, f in ((roles.left_hip, roles.left_foot), (roles.right_hip, roles.right_foot))])
    notes = [_units_note(src_leg, char_leg, scale)]
    factor = scale if scale is not None else char_leg / max(src_leg, 1e-12)
    root_pos = (factor * pos[:, jm[0]]).numpy()
    notes += _zero_pose_notes(rest, jm, roles, model)
    joint_pos = model.joint_rot_to_pos(joint_rot)
    return Retargeted(root_pos, _continuous(root_rot).numpy(), _continuous_balls(model, joint_pos).numpy(), notes)


def _branch_rotation(model: CharacterModel, body: int, kids: list[int], jm: dict[int, int], pos: torch.Tensor,
                     c_pos: torch.Tensor) -> torch.Tensor:
    """(F, 4) rotation taking the character's rest frame of ``body``'s children onto the source's."""
    parent = int(model.parent_indices[body])
    along = c_pos[body] - c_pos[parent] if parent >= 0 else torch.tensor([0.0, 0.0, 1.0], dtype=_F64)
    dirs = {k: (c_pos[k] - c_pos[body]) / (c_pos[k] - c_pos[body]).norm().clamp_min(1e-12) for k in kids}
    main = max(kids, key=lambda k: float((dirs[k] * along).sum()))
    others = [k for k in kids if k != main]
    joint = jm[body]
    if len(others) >= 2:
        src_side, tar_side = pos[:, jm[others[-1]]] - pos[:, jm[others[0]]], c_pos[others[-1]] - c_pos[others[0]]
    else:
        src_side, tar_side = pos[:, jm[others[0]]] - pos[:, joint], c_pos[others[0]] - c_pos[body]
    tar_main = (c_pos[main] - c_pos[body]).expand_as(src_side)
    return frame_rotation(pos[:, jm[main]] - pos[:, joint], src_side, tar_main, tar_side.expand_as(src_side))


def _limb_rotation(model: CharacterModel, body: int, kid: int, jm: dict[int, int], parents: np.ndarray,
                   pos: torch.Tensor, quat: torch.Tensor, rest: torch.Tensor, c_pos: torch.Tensor, c_rot: torch.Tensor,
                   facing: torch.Tensor, kids: dict[int, list[int]]) -> torch.Tensor:
    """(F, 4) world rotation of a body with one mapped child: bone direction exact, twist as the docstring says.

    ``pos``/``quat`` (F, J, ...) are the source's world joint poses, ``rest`` (J, 3) its zero pose,
    ``c_pos``/``c_rot`` (B, ...) the character's rest pose, ``facing`` the yaw from source to character.
    """
    joint, child = jm[body], jm[kid]
    carrier = int(parents[child])  # the source joint whose rotation carries the child
    bone, bone_rest = pos[:, child] - pos[:, joint], rest[child] - rest[joint]
    tar_dir = c_pos[kid] - c_pos[body]
    swing = quat_between(rot.quat_rotate(quat[:, carrier], bone_rest.expand_as(bone)), bone)
    align = rot.quat_mul(quat_between(rot.quat_rotate(facing, bone_rest), tar_dir), facing)
    by_rotation = rot.quat_mul(rot.quat_mul(swing, quat[:, carrier]), rot.quat_mul(rot.quat_conj(align), c_rot[body]))
    grandkids = kids.get(kid, [])
    if model.joint_types[kid] != JointType.HINGE or len(grandkids) != 1:
        return by_rotation
    # the bend plane: its normal is the hinge axis, pointing the way a positive rotation bends the limb
    lower = pos[:, jm[grandkids[0]]] - pos[:, child]
    lo, hi = model.dof_limits[model.dof_offsets[kid]]
    sign = -1.0 if np.isfinite(lo) and np.isfinite(hi) and lo + hi < 0 else 1.0
    tar_normal = rot.quat_rotate(c_rot[kid], sign * torch.as_tensor(model.hinge_axes[kid], dtype=_F64))
    src_normal = torch.linalg.cross(bone, lower, dim=-1)
    by_plane = rot.quat_mul(frame_rotation(bone, src_normal, tar_dir.expand_as(bone), tar_normal.expand_as(bone)),
                            c_rot[body])
    cos_bend = (bone * lower).sum(-1) / (bone.norm(dim=-1) * lower.norm(dim=-1)).clamp_min(1e-12)
    bend = torch.rad2deg(torch.arccos(cos_bend.clamp(-1.0, 1.0)))
    weight = ((bend - BEND_BLEND_DEG[0]) / (BEND_BLEND_DEG[1] - BEND_BLEND_DEG[0])).clamp(0.0, 1.0)
    axis = rot.quat_rotate(rot.quat_conj(c_rot[body]), tar_dir / tar_dir.norm())  # the bone in body coordinates
    twist = rot.quat_twist_angle(rot.quat_mul(rot.quat_conj(by_rotation), by_plane), axis)
    # the constant part, a circular mean weighted by how reliable the plane is
    offset = float(torch.atan2((weight * twist.sin()).sum(), (weight * twist.cos()).sum())) if weight.any() else 0.0
    residual = torch.remainder(twist - offset + math.pi, 2 * math.pi) - math.pi
    weight = torch.where(residual.abs() > math.pi / 2, torch.zeros_like(weight), weight)  # flipped plane: overbent
    return rot.quat_mul(by_rotation, rot.quat_from_axis_angle(axis, offset + weight * residual))


def _local_rotations(model: CharacterModel, world: dict[int, torch.Tensor], jm: dict[int, int],
                     kids: dict[int, list[int]], pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Root rotation (F, 4) and joint rotations (F, num_joints, 4) from desired world rotations, down the tree.

    Each joint is solved against its parent's achieved rotation, so a hinge's projection error is
    not passed on to its children.
    """
    root = world[0]
    frames = root.shape[0]
    achieved = {0: root}
    local_rot = torch.as_tensor(model.local_rot, dtype=_F64)
    joint_rot = rot.quat_identity((frames, model.num_joints), dtype=_F64)
    for body in range(1, model.num_bodies):
        base = rot.quat_mul(achieved[int(model.parent_indices[body])], local_rot[body])
        kind = model.joint_types[body]
        if kind == JointType.HINGE:
            axis = torch.as_tensor(model.hinge_axes[body], dtype=_F64)
            if len(kids[body]) == 1 and body in jm:
                want = rot.quat_rotate(rot.quat_conj(base), pos[:, jm[kids[body][0]]] - pos[:, jm[body]])
                rest = torch.as_tensor(model.local_pos[kids[body][0]], dtype=_F64).expand_as(want)
                want = want - (want * axis).sum(-1, keepdim=True) * axis
                rest = rest - (rest * axis).sum(-1, keepdim=True) * axis
                angle = torch.atan2((torch.linalg.cross(rest, want, dim=-1) * axis).sum(-1), (rest * want).sum(-1))
            elif body in world:
                angle = rot.quat_twist_angle(rot.quat_mul(rot.quat_conj(base), world[body]), axis)
            else:
                angle = torch.zeros(frames, dtype=_F64)
            joint_rot[:, body - 1] = rot.quat_from_axis_angle(axis, angle)
        elif kind == JointType.BALL and body in world:
            joint_rot[:, body - 1] = rot.quat_normalize(rot.quat_mul(rot.quat_conj(base), world[body]))
        achieved[body] = rot.quat_mul(base, joint_rot[:, body - 1])
    return root, joint_rot


def _continuous(q: torch.Tensor) -> torch.Tensor:
    """(F, ..., 4) quaternions with signs flipped so consecutive frames agree (same rotations)."""
    flip = (q[1:] * q[:-1]).sum(-1) < 0
    sign = torch.cumprod(torch.where(flip, -1.0, 1.0).to(q.dtype), dim=0)
    return torch.cat((q[:1], q[1:] * sign[..., None]), dim=0)


def _continuous_balls(model: CharacterModel, joint_pos: torch.Tensor) -> torch.Tensor:
    out = joint_pos.clone()
    for body in model.ball_bodies:
        off = int(model.joint_pos_offsets[body])
        out[:, off:off + 4] = _continuous(joint_pos[:, off:off + 4])
    return out


# Units a BVH file may be in, with metres per unit.
UNITS = (("metres", 1.0), ("centimetres", 0.01), ("millimetres", 0.001), ("inches", 0.0254),
         ("CMU units (1/0.45 inch)", 0.0254 / 0.45))


def guess_units(leg: float) -> tuple[str, float]:
    """The unit (name, metres per unit) that makes a leg of ``leg`` units closest to 0.85 m."""
    return min(UNITS, key=lambda u: abs(math.log(max(leg * u[1], 1e-12) / 0.85)))


def _units_note(src_leg: float, char_leg: float, scale: float | None) -> str:
    name, unit = guess_units(src_leg)
    seen = f"source legs {src_leg:.4g} units long: looks like {name} ({src_leg * unit:.2f} m)"
    if scale is not None:
        return f"{seen}; root motion x{scale:g} (--scale: metres per unit, the actor's own stride)"
    return (f"{seen}; root motion x{char_leg / max(src_leg, 1e-12):.4g} (character legs {char_leg:.3f} m over "
            f"source legs)")


def _zero_pose_notes(rest: torch.Tensor, jm: dict[int, int], roles: Roles, model: CharacterModel) -> list[str]:
    """A warning when the BVH's zero pose is not standing (legs down), which the feet and head rely on."""
    b = model.body_index
    legs = rest[jm[b(roles.left_foot)]] - rest[jm[b(roles.left_hip)]]
    down = float(torch.rad2deg(torch.arccos((-legs[2] / legs.norm().clamp_min(1e-12)).clamp(-1, 1))))
    if down <= 30.0:
        return []
    return [f"warning: in the BVH's zero pose the legs point {down:.0f} degrees away from down; feet and head "
            "orientations assume a standing zero pose and may be off"]
