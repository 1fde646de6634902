"""Test helper: a clip written as the BVH of a *different* skeleton than Mimic's.

The foreign skeleton is Mixamo-like: ``mixamorig:`` names, extra joints (Spine, Spine2, Head,
clavicles, toes) that retargeting must fold away, a T-pose rest (arms horizontal; the character's
arms hang down), centimetres, y-up facing +z (the character faces +x), the root's rotation
channels before its position channels, Euler orders that vary per joint, and some joints with 6
channels. By default its bone lengths are the character's, so retargeting it back must give the
clip's body positions; ``arm_stretch``/``leg_stretch`` make its forearms and shins longer (the root
moves with the legs), and ``limb_twist_deg`` turns the zero pose of its thighs and arms about the
bone (another rest convention): neither may change the retargeted poses.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import CharacterModel
from mimic.motion.clip import Clip
from mimic.motion.formats.bvh import BvhSkeleton, format_bvh, quat_to_euler

PREFIX = "mixamorig:"
_ORDERS = ("ZXY", "XYZ", "YXZ", "ZYX", "YZX", "XZY")
_SIX = {"Spine", "LeftUpLeg", "RightForeArm"}  # joints written with position channels too


def _joints(rest: dict[str, np.ndarray]) -> list[tuple[str, str | None, str, np.ndarray]]:
    """(name, parent, character body it turns with, rest position in the character's rest frame)."""
    up = np.array([0.0, 0.0, 1.0])
    out = [
        ("Hips", None, "root", rest["root"]),
        ("Spine", "Hips", "root", rest["root"] + 0.4 * (rest["chest"] - rest["root"])),
        ("Spine1", "Spine", "chest", rest["chest"]),
        ("Spine2", "Spine1", "chest", 0.5 * (rest["chest"] + rest["neck"])),
        ("Neck", "Spine2", "neck", rest["neck"]),
        ("Head", "Neck", "neck", rest["neck"] + 0.1 * up),
    ]
    for side, name in (("left", "Left"), ("right", "Right")):
        out += [
            (f"{name}Shoulder", "Spine2", "chest", 0.5 * (rest["chest"] + rest[f"{side}_shoulder"])),
            (f"{name}Arm", f"{name}Shoulder", f"{side}_shoulder", rest[f"{side}_shoulder"]),
            (f"{name}ForeArm", f"{name}Arm", f"{side}_elbow", rest[f"{side}_elbow"]),
            (f"{name}Hand", f"{name}ForeArm", f"{side}_wrist", rest[f"{side}_wrist"]),
            (f"{name}UpLeg", "Hips", f"{side}_hip", rest[f"{side}_hip"]),
            (f"{name}Leg", f"{name}UpLeg", f"{side}_knee", rest[f"{side}_knee"]),
            (f"{name}Foot", f"{name}Leg", f"{side}_ankle", rest[f"{side}_ankle"]),
            (f"{name}ToeBase", f"{name}Foot", f"{side}_ankle", rest[f"{side}_ankle"] + np.array([0.12, 0.0, -0.04])),
        ]
    return out


_END_SITES = {"Head": [0.0, 0.0, 0.15], "LeftHand": [0.0, 0.0, -0.08], "RightHand": [0.0, 0.0, -0.08],
              "LeftToeBase": [0.05, 0.0, 0.0], "RightToeBase": [0.05, 0.0, 0.0]}


def _quat(axis: tuple[float, float, float], degrees: float) -> torch.Tensor:
    return rot.quat_from_axis_angle(torch.tensor(axis, dtype=torch.float64), torch.tensor(math.radians(degrees),
                                                                                        dtype=torch.float64))


def _to_yup(v: torch.Tensor) -> torch.Tensor:
    return torch.stack((v[..., 0], v[..., 2], -v[..., 1]), dim=-1)


def foreign_bvh_text(clip: Clip, model: CharacterModel, arm_stretch: float = 1.0, leg_stretch: float = 1.0,
                     limb_twist_deg: float = 0.0) -> str:
    """The BVH text of ``clip`` (evenly spaced keyframes) on the foreign skeleton (module docstring)."""
    f64 = torch.float64
    fk = ForwardKinematics(model, dtype=f64)
    rest_pos, _ = fk(torch.zeros(3, dtype=f64), rot.quat_identity(dtype=f64),
                     rot.quat_identity((model.num_joints,), dtype=f64))
    rest = {n: rest_pos[i].numpy() for i, n in enumerate(model.body_names)}
    _, body_rot = fk(torch.as_tensor(clip.root_pos), rot.quat_normalize(torch.as_tensor(clip.root_rot)),
                     model.joint_pos_to_rot(torch.as_tensor(clip.joint_pos)))
    # E: the foreign rest frame of a body -> the character's: the foreign faces -y in Mimic's axes
    # (+z in the file's), and its arms are turned up to horizontal.
    facing = _quat((0.0, 0.0, 1.0), -90.0)
    tpose = {"left": _quat((1.0, 0.0, 0.0), -90.0), "right": _quat((1.0, 0.0, 0.0), 90.0)}

    def rest_change(body: str) -> torch.Tensor:
        side, part = body.split("_")[0], body.split("_")[-1]
        t = tpose[side] if part in ("shoulder", "elbow", "wrist") else rot.quat_identity(dtype=f64)
        if part in ("hip", "knee", "shoulder", "elbow", "wrist"):
            twist = limb_twist_deg if side == "left" else -limb_twist_deg
            t = rot.quat_mul(t, _quat((0.0, 0.0, 1.0), twist))
        return rot.quat_mul(t, rot.quat_conj(facing))

    def stretch(body: str) -> float:
        part = body.split("_")[-1]
        return arm_stretch if part in ("elbow", "wrist") else leg_stretch if part in ("knee", "ankle") else 1.0

    joints = _joints(rest)
    index = {name: i for i, (name, *_) in enumerate(joints)}
    names, parents, offsets, channels, ends = [], [], [], [], []
    world = []
    for k, (name, parent, body, pos) in enumerate(joints):
        change = rest_change(body)
        world.append(rot.quat_mul(body_rot[:, model.body_index(body)], change))
        if parent is None:
            offset = torch.zeros(3, dtype=f64)
        else:
            p_body = joints[index[parent]][2]
            step = torch.as_tensor(pos - joints[index[parent]][3])
            offset = rot.quat_rotate(rot.quat_conj(rest_change(p_body)), step)
            if body != p_body:
                offset = stretch(body) * offset
        names.append(PREFIX + name)
        parents.append(-1 if parent is None else index[parent])
        offsets.append(100.0 * _to_yup(offset))
        order = _ORDERS[k % len(_ORDERS)]
        rot_names = tuple(f"{a}rotation" for a in order)
        if parent is None:
            channels.append(rot_names + ("Xposition", "Yposition", "Zposition"))
        elif name in _SIX:
            channels.append(("Xposition", "Yposition", "Zposition") + rot_names)
        else:
            channels.append(rot_names)
        end = _END_SITES.get(name)
        ends.append(100.0 * _to_yup(rot.quat_rotate(rot.quat_conj(change), torch.tensor(end, dtype=f64)))
                    if end else torch.full((3,), float("nan"), dtype=f64))
    skeleton = BvhSkeleton(tuple(names), np.array(parents), torch.stack(offsets).numpy(), tuple(channels),
                           torch.stack(ends).numpy())

    columns = []
    for k, chans in enumerate(channels):
        parent = parents[k]
        local = world[k] if parent < 0 else rot.quat_mul(rot.quat_conj(world[parent]), world[k])
        local = torch.cat((local[..., :1], _to_yup(local[..., 1:])), dim=-1).numpy()
        angles = quat_to_euler(local, "".join(c[0] for c in chans if c.endswith("rotation")))
        if parent < 0:
            position = (100.0 * leg_stretch * _to_yup(torch.as_tensor(clip.root_pos))).numpy()
        else:
            position = np.broadcast_to(skeleton.offsets[k], (clip.num_frames, 3))
        block = []
        for c in chans:
            if c.endswith("position"):
                block.append(position[:, "XYZ".index(c[0])])
        block = [angles[:, i] for i in range(3)] + block if parent < 0 else block + [angles[:, i] for i in range(3)]
        columns += block
    return format_bvh(skeleton, float(clip.frame_dt[0]), np.stack(columns, axis=1))


def write_foreign_bvh(clip: Clip, model: CharacterModel, path: Path, **options: float) -> Path:
    """Write :func:`foreign_bvh_text` (``options``: its keyword arguments) to ``path``; returns ``path``."""
    path.write_text(foreign_bvh_text(clip, model, **options))
    return path
