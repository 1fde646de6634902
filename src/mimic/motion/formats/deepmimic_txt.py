"""DeepMimic's motion files (``.txt``, JSON): read into and write from :class:`Clip`.

A file holds ``{"Loop": "wrap" | "none", "Frames": [[...], ...]}``; each frame is
``[duration, root position (3), root rotation (w, x, y, z), then per joint in the character file's
order: 4 numbers (quaternion) for a spherical joint or 1 angle for a revolute joint]``, in
DeepMimic's y-up world (z = character's right). Mimic is z-up: positions map
``(x, y, z) -> (x, -z, y)`` and quaternion vector parts the same way, exactly (a permutation with
one sign), so reading then writing gives the file's numbers back.

Files of the same layout made in pybullet's z-up world with its (x, y, z, w) quaternions (the Laikago's
``laikago_walk.txt``) are read and written by a character whose spec says ``clip_format: {up: z, quat:
xyzw}`` (:attr:`CharacterModel.clip_format`): positions and vector parts are then kept as they are and
the scalar part moves, again exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from mimic.character.model import CharacterModel, JointType
from mimic.errors import MimicError, input_error
from mimic.motion.bundled import clip_short_name
from mimic.motion.clip import Clip, LoopMode, validate_clip

_KNOWN_KEYS = ("Loop", "Frames")


def file_joint_order(model: CharacterModel) -> list[int]:
    """Body indices of the joints stored in a file, in file order (root and fixed bodies excluded).

    The order is the character spec's ``clip_joint_order`` (DeepMimic's character files), else the MJCF's.
    """
    if model.clip_joint_order is not None:
        order = [model.body_index(n) for n in model.clip_joint_order]
    else:
        order = list(range(model.num_bodies))
    return [b for b in order if b != 0 and model.joint_types[b] in (JointType.BALL, JointType.HINGE)]


def frame_size(model: CharacterModel) -> int:
    """Numbers per frame for ``model``: duration + root position + root rotation + joints."""
    return 1 + 3 + 4 + model.num_joint_pos


def _to_zup(v: np.ndarray) -> np.ndarray:
    return np.stack((v[..., 0], -v[..., 2], v[..., 1]), axis=-1)


def _to_yup(v: np.ndarray) -> np.ndarray:
    return np.stack((v[..., 0], v[..., 2], -v[..., 1]), axis=-1)


def _vec_from_file(v: np.ndarray, model: CharacterModel) -> np.ndarray:
    """(..., 3) vectors of a file in Mimic's z-up world."""
    return v.copy() if model.clip_format[0] == "z" else _to_zup(v)


def _vec_to_file(v: np.ndarray, model: CharacterModel) -> np.ndarray:
    return v.copy() if model.clip_format[0] == "z" else _to_yup(v)


def _quat_from_file(q: np.ndarray, model: CharacterModel) -> np.ndarray:
    """(..., 4) quaternions of a file as Mimic's (w, x, y, z) in its z-up world."""
    w, v = (q[..., 3:], q[..., :3]) if model.clip_format[1] == "xyzw" else (q[..., :1], q[..., 1:])
    return np.concatenate((w, _vec_from_file(v, model)), axis=-1)


def _quat_to_file(q: np.ndarray, model: CharacterModel) -> np.ndarray:
    w, v = q[..., :1], _vec_to_file(q[..., 1:], model)
    return np.concatenate((v, w) if model.clip_format[1] == "xyzw" else (w, v), axis=-1)


def _quat_order_text(model: CharacterModel) -> str:
    return ", ".join(model.clip_format[1])


def _column_layout(model: CharacterModel) -> list[tuple[int, int, int, str]]:
    """(file column, joint_pos offset, size, body name) per joint."""
    layout, col = [], 8
    for b in file_joint_order(model):
        size = 4 if model.joint_types[b] == JointType.BALL else 1
        layout.append((col, int(model.joint_pos_offsets[b]), size, model.body_names[b]))
        col += size
    return layout


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def read_deepmimic_txt(path: str | Path, model: CharacterModel) -> Clip:
    """Read a DeepMimic motion file for ``model``; bad input raises :class:`MimicError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MimicError(f"{path}: clip file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(path, f"cannot read file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise input_error(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise input_error(path, "expected a JSON object with 'Loop' and 'Frames'")
    if "Frames" not in data:
        raise input_error(path, "missing key", "Frames")
    frames = data["Frames"]
    if not isinstance(frames, list) or not frames:
        raise input_error(path, "expected a non-empty list of frames", "Frames")
    loop = LoopMode.parse(data.get("Loop", "wrap"), path)

    expected = frame_size(model)
    for i, frame in enumerate(frames):
        if not isinstance(frame, list) or not all(_is_number(x) for x in frame):
            raise input_error(path, f"frame {i}: expected a list of numbers", "Frames")
        if len(frame) != expected:
            raise input_error(
                path,
                f"frame {i}: expected {expected} numbers (duration, root position 3, root rotation 4, "
                f"{model.num_joint_pos} joint values for character {model.name!r}), got {len(frame)}",
                "Frames",
            )
        if not all(math.isfinite(x) for x in frame):
            col = next(c for c, x in enumerate(frame) if not math.isfinite(x))
            raise input_error(path, f"frame {i}: value {col} is not finite ({frame[col]})", "Frames")
    arr = np.asarray(frames, dtype=np.float64)

    joint_pos = np.zeros((arr.shape[0], model.num_joint_pos))
    for col, off, size, _ in _column_layout(model):
        values = arr[:, col:col + size]
        joint_pos[:, off:off + size] = _quat_from_file(values, model) if size == 4 else values
    clip = Clip(
        name=clip_short_name(path),
        loop=loop,
        frame_dt=arr[:, 0].copy(),
        root_pos=_vec_from_file(arr[:, 1:4], model),
        root_rot=_quat_from_file(arr[:, 4:8], model),
        joint_pos=joint_pos,
        body_names=model.body_names,
        source=path,
        meta={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
    )
    _check_joint_quats(arr, model, path)
    validate_clip(clip, model)
    return clip


def _check_joint_quats(arr: np.ndarray, model: CharacterModel, path: Path) -> None:
    """Name the DeepMimic joint of a zero or non-unit quaternion, in file terms."""
    from mimic.motion.clip import QUAT_NORM_TOLERANCE

    checks = [(4, "root")] + [(col, name) for col, _, size, name in _column_layout(model) if size == 4]
    for col, name in checks:
        norms = np.linalg.norm(arr[:, col:col + 4], axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > QUAT_NORM_TOLERANCE)
        if bad.size:
            i = int(bad[0])
            raise input_error(path, f"frame {i}: joint {name!r} rotation quaternion has norm {norms[i]:.6g}; "
                              f"it must be a unit quaternion ({_quat_order_text(model)})", "Frames")


def write_deepmimic_txt(clip: Clip, path: str | Path, model: CharacterModel) -> None:
    """Write ``clip`` as a DeepMimic motion file (one frame per line)."""
    validate_clip(clip, model)
    n = clip.num_frames
    arr = np.zeros((n, frame_size(model)))
    arr[:, 0] = clip.frame_dt
    arr[:, 1:4] = _vec_to_file(clip.root_pos, model)
    arr[:, 4:8] = _quat_to_file(clip.root_rot, model)
    for col, off, size, _ in _column_layout(model):
        values = clip.joint_pos[:, off:off + size]
        arr[:, col:col + size] = _quat_to_file(values, model) if size == 4 else values
    arr[arr == 0.0] = 0.0  # no "-0.0" in files
    header = {"Loop": clip.loop.value, **clip.meta}
    lines = ["{"] + [f'"{k}": {json.dumps(v)},' for k, v in header.items()] + ['"Frames":', "["]
    rows = [json.dumps([float(x) for x in row]) for row in arr]
    lines.append(",\n".join(rows))
    lines += ["]", "}"]
    Path(path).write_text("\n".join(lines) + "\n")
