"""Character model read from any MJCF: bodies, parents, local frames, joints and DoF layout.

A character is one kinematic tree. Body 0 is the root; it has a free joint (a floating base)
or no joint (welded to the world). Every other body has at most one joint, placed at the body's
frame origin: ``ball`` (3 DoF, quaternion position), ``hinge`` (1 DoF) or none (``fixed``).
The "joints" of a character are bodies ``1 .. num_bodies - 1`` in MuJoCo's body order, so joint
arrays have ``num_joints = num_bodies - 1`` entries.

Two layouts of joint coordinates are used, both in body order:

- ``joint_pos`` (..., num_joint_pos): MuJoCo's ``qpos`` without the root, quaternion (w, x, y, z)
  per ball joint and an angle per hinge;
- ``dof_vel`` (..., num_dofs): MuJoCo's ``qvel`` without the root, the ball joint's angular velocity
  in its child frame (3) and the hinge rate (1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import mujoco
import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.errors import MimicError, input_error


class JointType(enum.IntEnum):
    """Kinds of joint a body may have."""

    FIXED = 0
    FREE = 1
    BALL = 2
    HINGE = 3


_MJ_TO_JOINT = {
    int(mujoco.mjtJoint.mjJNT_FREE): JointType.FREE,
    int(mujoco.mjtJoint.mjJNT_BALL): JointType.BALL,
    int(mujoco.mjtJoint.mjJNT_HINGE): JointType.HINGE,
}
_POS_SIZE = {JointType.FIXED: 0, JointType.FREE: 7, JointType.BALL: 4, JointType.HINGE: 1}
_DOF_SIZE = {JointType.FIXED: 0, JointType.FREE: 6, JointType.BALL: 3, JointType.HINGE: 1}


@dataclass(frozen=True, eq=False)
class CharacterModel:
    """Static description of a character, with helpers that convert between joint layouts.

    Arrays are float64 NumPy; ``tensor()`` gives torch copies for batched math.
    """

    name: str
    mjcf_path: Path
    body_names: tuple[str, ...]
    parent_indices: np.ndarray  # (num_bodies,), -1 for the root
    local_pos: np.ndarray  # (num_bodies, 3) body origin in the parent frame
    local_rot: np.ndarray  # (num_bodies, 4) body rest rotation in the parent frame
    joint_types: tuple[JointType, ...]  # (num_bodies,)
    hinge_axes: np.ndarray  # (num_bodies, 3) hinge axis in the body frame; zero elsewhere
    joint_pos_offsets: np.ndarray  # (num_bodies,) start in joint_pos, -1 without coordinates
    dof_offsets: np.ndarray  # (num_bodies,) start in dof_vel, -1 without DoF
    dof_kp: np.ndarray  # (num_dofs,) PD stiffness from the joint's `stiffness`
    dof_kd: np.ndarray  # (num_dofs,) PD damping from the joint's `damping`
    joint_torque_limit: np.ndarray  # (num_bodies,) from the motors' ctrlrange; inf when none
    dof_limits: np.ndarray  # (num_dofs, 2) MJCF range per DoF, enforced or not: hinge range; +-max angle of a
    #                         ball joint on each of its 3 DoF; (-inf, inf) when the MJCF gives none
    body_masses: np.ndarray  # (num_bodies,)
    body_com_offset: np.ndarray  # (num_bodies, 3) centre of mass in the body frame
    # order of the joints in the character's DeepMimic-format clip files (its spec says; None: body order)
    clip_joint_order: tuple[str, ...] | None = None
    # (up axis "y" | "z", quaternion order "wxyz" | "xyzw") of those files (its spec says; DeepMimic's by default)
    clip_format: tuple[str, str] = ("y", "wxyz")

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    @property
    def num_joints(self) -> int:
        """Non-root bodies, fixed ones included."""
        return self.num_bodies - 1

    @property
    def num_joint_pos(self) -> int:
        return sum(_POS_SIZE[t] for t in self.joint_types[1:])

    @property
    def num_dofs(self) -> int:
        return sum(_DOF_SIZE[t] for t in self.joint_types[1:])

    @property
    def has_free_root(self) -> bool:
        return self.joint_types[0] == JointType.FREE

    @property
    def total_mass(self) -> float:
        return float(self.body_masses.sum())

    def body_index(self, name: str) -> int:
        """Index of the body called ``name``; a :class:`MimicError` lists the known names."""
        try:
            return self.body_names.index(name)
        except ValueError:
            known = ', '.join(self.body_names)
            raise input_error(self.mjcf_path, f"unknown body {name!r}; bodies are {known}") from None

    def body_indices(self, names: list[str] | tuple[str, ...]) -> list[int]:
        return [self.body_index(n) for n in names]

    @cached_property
    def ball_bodies(self) -> np.ndarray:
        return np.array([i for i, t in enumerate(self.joint_types) if i > 0 and t == JointType.BALL], dtype=np.int64)

    @cached_property
    def hinge_bodies(self) -> np.ndarray:
        return np.array([i for i, t in enumerate(self.joint_types) if i > 0 and t == JointType.HINGE],
                        dtype=np.int64)

    @cached_property
    def _layout(self) -> dict[str, torch.Tensor]:
        ball, hinge = self.ball_bodies, self.hinge_bodies
        return {
            "ball_pos": torch.as_tensor(self.joint_pos_offsets[ball][:, None] + np.arange(4), dtype=torch.long),
            "ball_dof": torch.as_tensor(self.dof_offsets[ball][:, None] + np.arange(3), dtype=torch.long),
            "hinge_pos": torch.as_tensor(self.joint_pos_offsets[hinge], dtype=torch.long),
            "hinge_dof": torch.as_tensor(self.dof_offsets[hinge], dtype=torch.long),
            "ball_joint": torch.as_tensor(ball - 1, dtype=torch.long),
            "hinge_joint": torch.as_tensor(hinge - 1, dtype=torch.long),
            "hinge_axis": torch.as_tensor(self.hinge_axes[hinge]),
        }

    def layout(self, device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """Index tensors for gathering ball/hinge entries out of the joint layouts."""
        return {k: v.to(device) for k, v in self._layout.items()}

    def joint_pos_to_rot(self, joint_pos: torch.Tensor) -> torch.Tensor:
        """Local joint rotations (..., num_joints, 4) from ``joint_pos`` (..., num_joint_pos)."""
        lay = self.layout(joint_pos.device)
        out = rot.quat_identity((*joint_pos.shape[:-1], self.num_joints), dtype=joint_pos.dtype,
                                device=joint_pos.device)
        out[..., lay["ball_joint"], :] = rot.quat_normalize(joint_pos[..., lay["ball_pos"]])
        axis = lay["hinge_axis"].to(joint_pos.dtype)
        out[..., lay["hinge_joint"], :] = rot.quat_from_axis_angle(axis, joint_pos[..., lay["hinge_pos"]])
        return out

    def joint_rot_to_pos(self, joint_rot: torch.Tensor) -> torch.Tensor:
        """``joint_pos`` (..., num_joint_pos) from local joint rotations (..., num_joints, 4).

        Hinge angles are the twist of the rotation about the hinge axis.
        """
        lay = self.layout(joint_rot.device)
        out = torch.zeros(*joint_rot.shape[:-2], self.num_joint_pos, dtype=joint_rot.dtype, device=joint_rot.device)
        out[..., lay["ball_pos"]] = joint_rot[..., lay["ball_joint"], :]
        axis = lay["hinge_axis"].to(joint_rot.dtype)
        out[..., lay["hinge_pos"]] = rot.quat_twist_angle(joint_rot[..., lay["hinge_joint"], :], axis)
        return out

    def dof_vel_to_joint_ang_vel(self, dof_vel: torch.Tensor) -> torch.Tensor:
        """Local joint angular velocities (..., num_joints, 3) in each child frame from ``dof_vel``."""
        lay = self.layout(dof_vel.device)
        out = torch.zeros(*dof_vel.shape[:-1], self.num_joints, 3, dtype=dof_vel.dtype, device=dof_vel.device)
        out[..., lay["ball_joint"], :] = dof_vel[..., lay["ball_dof"]]
        axis = lay["hinge_axis"].to(dof_vel.dtype)
        out[..., lay["hinge_joint"], :] = dof_vel[..., lay["hinge_dof"], None] * axis
        return out

    def joint_ang_vel_to_dof_vel(self, ang_vel: torch.Tensor) -> torch.Tensor:
        """``dof_vel`` (..., num_dofs) from local joint angular velocities (..., num_joints, 3)."""
        lay = self.layout(ang_vel.device)
        out = torch.zeros(*ang_vel.shape[:-2], self.num_dofs, dtype=ang_vel.dtype, device=ang_vel.device)
        out[..., lay["ball_dof"]] = ang_vel[..., lay["ball_joint"], :]
        axis = lay["hinge_axis"].to(ang_vel.dtype)
        out[..., lay["hinge_dof"]] = (ang_vel[..., lay["hinge_joint"], :] * axis).sum(-1)
        return out

    def joint_rot_to_dof_exp(self, joint_rot: torch.Tensor) -> torch.Tensor:
        """DoF-sized coordinates (..., num_dofs): exp map per ball joint, angle per hinge."""
        lay = self.layout(joint_rot.device)
        out = torch.zeros(*joint_rot.shape[:-2], self.num_dofs, dtype=joint_rot.dtype, device=joint_rot.device)
        out[..., lay["ball_dof"]] = rot.quat_to_exp_map(joint_rot[..., lay["ball_joint"], :])
        axis = lay["hinge_axis"].to(joint_rot.dtype)
        out[..., lay["hinge_dof"]] = rot.quat_twist_angle(joint_rot[..., lay["hinge_joint"], :], axis)
        return out

    def dof_exp_to_joint_pos(self, dof_exp: torch.Tensor) -> torch.Tensor:
        """``joint_pos`` (..., num_joint_pos) from exp-map/angle coordinates (..., num_dofs)."""
        lay = self.layout(dof_exp.device)
        out = torch.zeros(*dof_exp.shape[:-1], self.num_joint_pos, dtype=dof_exp.dtype, device=dof_exp.device)
        out[..., lay["ball_pos"]] = rot.exp_map_to_quat(dof_exp[..., lay["ball_dof"]])
        out[..., lay["hinge_pos"]] = dof_exp[..., lay["hinge_dof"]]
        return out


def load_character(path: str | Path) -> CharacterModel:
    """Read a :class:`CharacterModel` from an MJCF file.

    Raises :class:`MimicError` naming the file when it is missing, does not compile, or holds a
    body layout Mimic does not support (several trees, joint offsets, multi-joint bodies, slides).
    """
    path = Path(path)
    if not path.is_file():
        raise MimicError(f"{path}: character file not found")
    try:
        mj = mujoco.MjModel.from_xml_path(str(path))
    except Exception as exc:  # mujoco raises ValueError with the parser's message
        raise input_error(path, f"MJCF does not compile: {exc}") from None
    return character_from_mjmodel(mj, path)


def character_from_mjmodel(mj: mujoco.MjModel, path: str | Path = "<model>") -> CharacterModel:
    """Build a :class:`CharacterModel` from a compiled ``MjModel`` (see :func:`load_character`)."""
    path = Path(path)
    if mj.nbody < 2:
        raise input_error(path, "the model has no bodies besides the world")
    roots = [b for b in range(1, mj.nbody) if mj.body_parentid[b] == 0]
    if len(roots) != 1:
        names = [mujoco.mj_id2name(mj, mujoco.mjtObj.mjOBJ_BODY, b) for b in roots]
        raise input_error(path, f"expected one character tree under <worldbody>, found {len(roots)}: {names}")

    num_bodies = mj.nbody - 1
    names: list[str] = []
    types: list[JointType] = []
    hinge_axes = np.zeros((num_bodies, 3))
    pos_off = -np.ones(num_bodies, dtype=np.int64)
    dof_off = -np.ones(num_bodies, dtype=np.int64)
    kp: list[float] = []
    kd: list[float] = []
    limits: list[tuple[float, float]] = []
    torque_limit = np.full(num_bodies, np.inf)
    next_pos = next_dof = 0
    for i in range(num_bodies):
        b = i + 1
        name = mujoco.mj_id2name(mj, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}"
        names.append(name)
        if mj.body_jntnum[b] > 1:
            raise input_error(path, f"body {name!r} has {mj.body_jntnum[b]} joints; Mimic supports one per body "
                              "(use a ball joint for 3-DoF joints)")
        if mj.body_jntnum[b] == 0:
            types.append(JointType.FIXED)
            continue
        j = mj.body_jntadr[b]
        if int(mj.jnt_type[j]) not in _MJ_TO_JOINT:
            raise input_error(path, f"joint of body {name!r} is a slide joint, which Mimic does not support")
        jtype = _MJ_TO_JOINT[int(mj.jnt_type[j])]
        if (jtype == JointType.FREE) != (i == 0):
            where = "only the root body may have a free joint" if i else "the root must have a free joint or none"
            raise input_error(path, f"body {name!r}: {where}")
        if jtype != JointType.FREE and np.abs(mj.jnt_pos[j]).max() > 1e-9:
            raise input_error(path, f"joint of body {name!r} is offset from the body origin; place the body frame "
                              "at the joint")
        types.append(jtype)
        if i == 0:
            continue
        pos_off[i], dof_off[i] = next_pos, next_dof
        next_pos += _POS_SIZE[jtype]
        next_dof += _DOF_SIZE[jtype]
        nd = _DOF_SIZE[jtype]
        kp += [float(mj.jnt_stiffness[j])] * nd
        kd += [float(mj.dof_damping[mj.jnt_dofadr[j]])] * nd
        lo, hi = (float(x) for x in mj.jnt_range[j])
        has_range = hi > lo
        if jtype == JointType.HINGE:
            hinge_axes[i] = mj.jnt_axis[j]
            limits.append((lo, hi) if has_range else (-np.inf, np.inf))
        else:  # a ball joint's range is "0 max_angle"
            limits += [(-hi, hi) if hi > 0 else (-np.inf, np.inf)] * nd
        acts = [a for a in range(mj.nu) if int(mj.actuator_trntype[a]) == int(mujoco.mjtTrn.mjTRN_JOINT)
                and mj.actuator_trnid[a, 0] == j and mj.actuator_ctrllimited[a]]
        if acts:
            torque_limit[i] = max(float(np.abs(mj.actuator_ctrlrange[a]).max() * np.abs(mj.actuator_gear[a, :3]).max())
                                  for a in acts)

    parents = np.array([mj.body_parentid[b] - 1 for b in range(1, mj.nbody)], dtype=np.int64)
    return CharacterModel(
        name=path.stem,
        mjcf_path=path,
        body_names=tuple(names),
        parent_indices=parents,
        local_pos=np.array(mj.body_pos[1:], dtype=np.float64),
        local_rot=np.array(mj.body_quat[1:], dtype=np.float64),
        joint_types=tuple(types),
        hinge_axes=hinge_axes,
        joint_pos_offsets=pos_off,
        dof_offsets=dof_off,
        dof_kp=np.array(kp),
        dof_kd=np.array(kd),
        joint_torque_limit=torque_limit,
        dof_limits=np.array(limits).reshape(-1, 2),
        body_masses=np.array(mj.body_mass[1:], dtype=np.float64),
        body_com_offset=np.array(mj.body_ipos[1:], dtype=np.float64),
    )
