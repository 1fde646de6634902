"""BVH in and out: import any skeleton's motion onto the character, export clips on its own skeleton.

``import_bvh("walk.bvh", model, ImportOptions(map="mixamo"))`` returns the clip and the lines of
the import report (``mimic import`` prints them). Steps: :mod:`.maps` pairs bodies with joints,
:mod:`.solve` turns every frame into character poses, :mod:`.resample` trims and retimes, then the
feet are put on the ground. :mod:`.export` writes a clip as a BVH of the character's skeleton
(``mimic convert``, ``mimic play --export``); :mod:`.commands` is ``mimic import``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import CharacterModel
from mimic.errors import MimicError, input_error
from mimic.motion.clip import Clip, LoopMode, validate_clip
from mimic.motion.formats.bvh import read_bvh
from mimic.motion.retarget.maps import MAP_CHOICES, PRESETS, JointMap, resolve_map
from mimic.motion.retarget.resample import resample_clip, sample_poses, uniform_clip
from mimic.motion.retarget.solve import Roles, retarget_motion

__all__ = ["GROUND_MODES", "ImportOptions", "ImportResult", "JointMap", "MAP_CHOICES", "PRESETS", "Roles", "UP_AXES",
           "import_bvh", "resample_clip", "sample_poses", "uniform_clip"]

UP_AXES = ("y", "z")
# feet: the lowest ankle of the clip at the character's standing ankle height; none: the source's heights, scaled
GROUND_MODES = ("feet", "none")


@dataclass
class ImportOptions:
    """How to import a BVH (the options of ``mimic import``).

    Attributes:
        map: a preset (``auto``, ``mimic``, ``mixamo``, ``lafan``, ``cmu``) or a YAML map path.
        scale: metres of root motion per file unit; ``None`` scales by leg length (character over source).
        up: the file's up axis, ``y`` (BVH's usual) or ``z``.
        fps: keyframes per second of the clip; ``None`` keeps the file's rate.
        start, end: the part of the file to keep, in seconds (``end=None``: to the end).
        loop: the clip's loop mode.
        ground: ``feet`` or ``none`` (see ``GROUND_MODES``).
        roles: the character bodies to align by.
    """

    map: str = "auto"
    scale: float | None = None
    up: str = "y"
    fps: float | None = None
    start: float = 0.0
    end: float | None = None
    loop: LoopMode = LoopMode.NONE
    ground: str = "feet"
    roles: Roles = field(default_factory=Roles)


@dataclass
class ImportResult:
    """The imported clip, the map used, and the report lines (choices made, guesses, warnings)."""

    clip: Clip
    joint_map: JointMap
    notes: list[str]


def import_bvh(path: str | Path, model: CharacterModel, options: ImportOptions | None = None) -> ImportResult:
    """Read a BVH file and retarget it onto ``model``; bad input raises :class:`MimicError` naming the file."""
    opts = options or ImportOptions()
    path = Path(path)
    if opts.up not in UP_AXES:
        raise MimicError(f"--up {opts.up}: expected one of {', '.join(UP_AXES)}")
    if opts.ground not in GROUND_MODES:
        raise MimicError(f"--ground {opts.ground}: expected one of {', '.join(GROUND_MODES)}")
    if opts.scale is not None and not opts.scale > 0:
        raise MimicError(f"--scale {opts.scale}: must be a positive number of metres per file unit")
    lacking = [b for b in opts.roles.required if b not in model.body_names]
    if lacking:
        raise MimicError(f"character {model.name!r} has no bodies {', '.join(lacking)}, which retargeting aligns "
                         f"the skeletons by (pelvis, chest, hips, feet); its bodies: {', '.join(model.body_names)}")
    motion = read_bvh(path)
    if motion.num_frames < 2:
        raise input_error(path, f"the file has {motion.num_frames} frame; a clip needs at least 2", "Frames")
    joint_map = resolve_map(opts.map, motion.skeleton, model, path, opts.roles.required)
    poses = retarget_motion(motion, model, joint_map, up=opts.up, scale=opts.scale, roles=opts.roles)
    frames = motion.num_frames
    clip = Clip(name=path.stem, loop=LoopMode.parse(opts.loop, path), frame_dt=np.full(frames, motion.frame_time),
                root_pos=poses.root_pos, root_rot=poses.root_rot, joint_pos=poses.joint_pos,
                body_names=model.body_names, source=path)
    clip.frame_dt[-1] = 0.0
    src_fps = 1.0 / motion.frame_time
    fps = opts.fps or src_fps
    clip = resample_clip(clip, model, fps, opts.start, opts.end)
    notes = [joint_map.note]
    if joint_map.folded:
        notes.append(f"folded into their parents ({len(joint_map.folded)}): {', '.join(joint_map.folded)}")
    notes.append(f"up axis: {opts.up} (-> Mimic's z)")
    notes += poses.notes
    notes.append(f"frames: {frames} at {src_fps:.4g} fps -> {clip.num_frames} at {fps:.4g} fps "
                 f"({clip.duration:.3f} s from {opts.start:g} s)")
    if opts.ground == "feet":
        notes.append(_put_feet_on_ground(clip, model, opts.roles))
    notes.append(_loop_note(clip, model))
    validate_clip(clip, model)
    return ImportResult(clip, joint_map, notes)


def _put_feet_on_ground(clip: Clip, model: CharacterModel, roles: Roles) -> str:
    """Shift the clip up or down so its lowest foot is at the character's standing foot height."""
    feet = model.body_indices([roles.left_foot, roles.right_foot])
    fk = ForwardKinematics(model, dtype=torch.float64)
    standing, _ = fk(torch.as_tensor(model.local_pos[0]), torch.as_tensor(model.local_rot[0]),
                     rot.quat_identity((model.num_joints,), dtype=torch.float64))
    target = float(standing[feet, 2].min())
    lowest = float(clip.body_pos(model)[:, feet, 2].min())
    clip.root_pos[:, 2] += target - lowest
    return (f"ground: lowest foot moved {100 * (target - lowest):+.1f} cm to the character's standing foot height "
            f"{100 * target:.1f} cm (--ground none keeps the source's heights)")


def _loop_note(clip: Clip, model: CharacterModel) -> str:
    ends = dataclasses.replace(clip, root_pos=clip.root_pos[[0, -1]], root_rot=clip.root_rot[[0, -1]],
                               joint_pos=clip.joint_pos[[0, -1]], frame_dt=clip.frame_dt[[0, -1]])
    pos = ends.body_pos(model)
    pos = pos - pos[:, :1]  # pelvis-relative: a cycle may travel
    gap = float(np.linalg.norm(pos[1] - pos[0], axis=-1).max())
    note = f"loop: {clip.loop.value}; first and last poses differ by up to {100 * gap:.1f} cm"
    if clip.loop == LoopMode.NONE and gap < 0.05:
        note += " (a cycle? --loop wrap repeats it)"
    elif clip.loop == LoopMode.WRAP and gap >= 0.05:
        note += " (a cycle should end in its first pose: trim it with --start/--end; the motion library spreads " \
                "what is left over the cycle)"
    return note
