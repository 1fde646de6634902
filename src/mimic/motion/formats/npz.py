"""Mimic's own clip format (``.npz``): NumPy arrays, z-up, metres, radians, one row per keyframe.

Keys (F keyframes, B bodies):

- ``format_version`` (int, 1), ``character`` (str), ``name`` (str)
- ``fps`` (float): keyframes per second (1 / median frame duration)
- ``frame_dt`` (F,): seconds from each keyframe to the next (last unused); exact timing
- ``loop`` (str): ``wrap`` or ``none``
- ``root_pos`` (F, 3), ``root_rot`` (F, 4) quaternion (w, x, y, z)
- ``joint_pos`` (F, Q): MuJoCo ``qpos`` without the root (quaternion per ball joint, angle per hinge)
- ``joint_rot`` (F, B-1, 4): local rotation of every non-root body (derived, for convenience)
- ``body_names`` (B,): body names in the character's order
- ``body_pos`` (F, B, 3): world position of every body frame (= its joint), from forward kinematics
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from mimic.character.model import CharacterModel
from mimic.errors import MimicError, input_error
from mimic.fileio import temporary_beside
from mimic.motion.clip import Clip, LoopMode, validate_clip

FORMAT_VERSION = 1
_REQUIRED = ("frame_dt", "loop", "root_pos", "root_rot", "joint_pos", "body_names")


def read_npz(path: str | Path, model: CharacterModel) -> Clip:
    """Read a Mimic ``.npz`` clip for ``model``; bad input raises :class:`MimicError`."""
    path = Path(path)
    if not path.is_file():
        raise MimicError(f"{path}: clip file not found")
    if not zipfile.is_zipfile(path):  # np.load would try it as a pickle and say so
        raise input_error(path, "not a Mimic .npz clip (the file is not a NumPy .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile/ValueError for corrupt archives, object arrays
        raise input_error(path, f"not a readable .npz clip: {exc}") from None
    for key in _REQUIRED:
        if key not in arrays:
            raise input_error(path, "missing array", key)
    names = arrays["body_names"]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise input_error(path, f"expected a 1-D array of body names, got {names.dtype} of shape {names.shape}",
                          "body_names")
    clip = Clip(
        name=str(arrays["name"]) if "name" in arrays else path.stem,
        loop=LoopMode.parse(str(arrays["loop"]), path, "loop"),
        frame_dt=_numbers(arrays, "frame_dt", path),
        root_pos=_numbers(arrays, "root_pos", path),
        root_rot=_numbers(arrays, "root_rot", path),
        joint_pos=_numbers(arrays, "joint_pos", path),
        body_names=tuple(str(b) for b in names),
        source=path,
    )
    validate_clip(clip, model)
    return clip


def _numbers(arrays: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    """``arrays[key]`` as float64; a MimicError names the array when it holds no numbers."""
    value = arrays[key]
    if value.dtype.kind not in "biuf":
        raise input_error(path, f"expected numbers, got an array of {value.dtype}", key)
    return np.asarray(value, dtype=np.float64)


def write_npz(clip: Clip, path: str | Path, model: CharacterModel) -> None:
    """Write ``clip`` as a Mimic ``.npz`` (atomically: a temporary file renamed into place)."""
    validate_clip(clip, model)
    path = Path(path)
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "character": np.array(model.name),
        "name": np.array(clip.name),
        "fps": np.array(clip.fps),
        "frame_dt": clip.frame_dt,
        "loop": np.array(clip.loop.value),
        "root_pos": clip.root_pos,
        "root_rot": clip.root_rot,
        "joint_pos": clip.joint_pos,
        "joint_rot": clip.joint_rot(model),
        "body_names": np.array(model.body_names),
        "body_pos": clip.body_pos(model),
    }
    fd, tmp = temporary_beside(path, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
