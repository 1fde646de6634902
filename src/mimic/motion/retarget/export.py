"""A clip as a BVH of the character's own skeleton: ``mimic convert IN OUT.bvh``, ``mimic play --export``.

Conventions, chosen so Blender's BVH importer with its defaults (Y up, -Z forward, scale 1) shows
the motion in Mimic's own world and size: one ``JOINT`` per body, named after the body;
``OFFSET`` = the body's position in its parent, so the zero pose is the character's rest pose;
metres; y-up with the character facing +x and its left at -z (Mimic's ``(x, y, z)`` is written
``(x, z, -y)``, DeepMimic's axes); root channels ``Xposition Yposition Zposition Zrotation
Xrotation Yrotation``, every joint ``Zrotation Xrotation Yrotation`` (hinges too; fixed bodies
such as the wrists are written with zeros); an ``End Site`` near the tip of every leaf body.
``mimic import OUT.bvh --map mimic`` reads it back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel
from mimic.motion.clip import Clip, validate_clip
from mimic.motion.formats.bvh import BvhSkeleton, format_bvh, quat_to_euler
from mimic.motion.retarget.resample import uniform_clip

ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")


def _to_yup(v: np.ndarray) -> np.ndarray:
    return np.stack((v[..., 0], v[..., 2], -v[..., 1]), axis=-1)


def mimic_skeleton(model: CharacterModel) -> BvhSkeleton:
    """The character as a BVH skeleton (metres, y-up): body names, rest offsets, an End Site per leaf body."""
    parents = np.asarray(model.parent_indices, dtype=np.int64)
    offsets = _to_yup(model.local_pos)
    offsets[0] = 0.0  # the root's position is all in its channels
    ends = np.full((model.num_bodies, 3), np.nan)
    for b in range(model.num_bodies):
        if not (parents == b).any():
            # roughly the tip of the body's shape; Blender draws the leaf bone up to it
            tip = 1.6 * model.body_com_offset[b]
            if np.linalg.norm(tip) < 0.01:
                tip = 0.05 * model.local_pos[b] / max(float(np.linalg.norm(model.local_pos[b])), 1e-9)
            ends[b] = _to_yup(tip)
    channels = tuple(ROOT_CHANNELS if b == 0 else JOINT_CHANNELS for b in range(model.num_bodies))
    return BvhSkeleton(tuple(model.body_names), parents, offsets, channels, ends)


def clip_to_bvh_values(clip: Clip, model: CharacterModel) -> np.ndarray:
    """Channel values (num_frames, 6 + 3 * num_joints) of ``clip`` on :func:`mimic_skeleton`'s channels."""
    body_rot = np.empty((clip.num_frames, model.num_bodies, 4))
    body_rot[:, 0] = clip.root_rot / np.linalg.norm(clip.root_rot, axis=-1, keepdims=True)
    local = torch.as_tensor(model.local_rot[1:], dtype=torch.float64)
    body_rot[:, 1:] = rot.quat_mul(local, model.joint_pos_to_rot(torch.as_tensor(clip.joint_pos))).numpy()
    # y-up: (x, y, z) -> (x, z, -y) is a proper rotation, so a quaternion's vector part maps the same way
    body_rot = np.concatenate((body_rot[..., :1], _to_yup(body_rot[..., 1:])), axis=-1)
    angles = quat_to_euler(body_rot, "".join(c[0] for c in JOINT_CHANNELS))
    return np.concatenate((_to_yup(clip.root_pos), angles.reshape(clip.num_frames, -1)), axis=1)


def write_bvh_clip(clip: Clip, path: str | Path, model: CharacterModel) -> None:
    """Write ``clip`` as a BVH of the character's own skeleton (conventions: the module docstring).

    BVH has one frame time, so a clip with uneven keyframe durations is resampled evenly over its
    duration first (at about its median rate).
    """
    validate_clip(clip, model)
    clip = uniform_clip(clip, model)
    text = format_bvh(mimic_skeleton(model), float(clip.frame_dt[0]), clip_to_bvh_values(clip, model))
    Path(path).write_text(text)
