"""One motion clip: keyframes of a character's root pose and joint coordinates."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import CharacterModel, JointType
from mimic.errors import MimicError, input_error

# How far a stored quaternion's norm may be from 1. DeepMimic normalizes what it reads, and its own
# clips rely on it (kick's right hip is 42% off unit length), so only norms outside [0.5, 1.5]
# (zero, garbage) are rejected; everything is normalized when used.
QUAT_NORM_TOLERANCE = 0.5


class LoopMode(enum.StrEnum):
    """What happens past a clip's end: ``wrap`` repeats it (cyclic), ``none`` holds the last pose."""

    WRAP = "wrap"
    NONE = "none"

    @classmethod
    def parse(cls, value: object, source: str | Path | None = None, field_name: str = "Loop") -> LoopMode:
        """The mode named by ``value``; a :class:`MimicError` lists the valid names otherwise."""
        try:
            return cls(str(value).lower())
        except ValueError:
            raise input_error(source, f"unknown loop mode {value!r}; expected 'wrap' or 'none'", field_name) from None


@dataclass
class Clip:
    """Keyframes of one motion for one character, in Mimic's z-up world (metres, radians).

    Attributes:
        name: short name (``walk`` for DeepMimic's ``humanoid3d_walk.txt``).
        loop: :class:`LoopMode`.
        frame_dt: (num_frames,) seconds from each keyframe to the next; the last entry is unused
            (DeepMimic writes 0). Kept per frame because some clips are not uniformly sampled.
        root_pos: (num_frames, 3) root body position.
        root_rot: (num_frames, 4) root rotation, quaternion (w, x, y, z).
        joint_pos: (num_frames, num_joint_pos) joint coordinates in the character's ``joint_pos``
            layout (a quaternion per ball joint, an angle per hinge).
        body_names: the character's body names, which fix the meaning of ``joint_pos``.
        source: the file it was read from, if any.
        meta: format-specific keys kept for writing back (e.g. DeepMimic's ``CycleSyncRootPos``).
    """

    name: str
    loop: LoopMode
    frame_dt: np.ndarray
    root_pos: np.ndarray
    root_rot: np.ndarray
    joint_pos: np.ndarray
    body_names: tuple[str, ...]
    source: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def frame_times(self) -> np.ndarray:
        """(num_frames,) time of each keyframe, starting at 0."""
        return np.concatenate(([0.0], np.cumsum(self.frame_dt[:-1])))

    @property
    def duration(self) -> float:
        """Seconds from the first to the last keyframe (DeepMimic: sum of all but the last duration)."""
        return float(np.sum(self.frame_dt[:-1]))

    @property
    def fps(self) -> float:
        """Keyframes per second (from the median frame duration)."""
        return float(1.0 / np.median(self.frame_dt[:-1]))

    def retimed(self, rate: float) -> Clip:
        """The same keyframes played ``rate`` times as fast (each keyframe duration divided by ``rate``):
        1.5 walks the same strides at 1.5x the cadence and speed."""
        if not rate > 0:
            raise MimicError(f"{self.name}: a playback rate must be positive, got {rate}")
        return replace(self, frame_dt=self.frame_dt / rate, meta=dict(self.meta))

    def joint_rot(self, model: CharacterModel) -> np.ndarray:
        """(num_frames, num_joints, 4) local joint rotations (unit quaternions)."""
        return model.joint_pos_to_rot(torch.as_tensor(self.joint_pos)).numpy()

    def body_pos(self, model: CharacterModel) -> np.ndarray:
        """(num_frames, num_bodies, 3) world position of every body (= its joint) per keyframe."""
        fk = ForwardKinematics(model, dtype=torch.float64)
        root_rot = torch.as_tensor(self.root_rot)
        root_rot = root_rot / root_rot.norm(dim=-1, keepdim=True)
        pos, _ = fk(torch.as_tensor(self.root_pos), root_rot, model.joint_pos_to_rot(torch.as_tensor(self.joint_pos)))
        return pos.numpy()


def validate_clip(clip: Clip, model: CharacterModel) -> None:
    """Check a clip against a character; raise a :class:`MimicError` naming file, frame and field.

    Checks: body names and joint layout match, at least 2 frames, finite numbers, positive frame
    durations (the last may be 0), unit quaternions (within ``QUAT_NORM_TOLERANCE``).
    """
    src = clip.source or clip.name
    if tuple(clip.body_names) != tuple(model.body_names):
        unknown = [b for b in clip.body_names if b not in model.body_names]
        missing = [b for b in model.body_names if b not in clip.body_names]
        detail = (f"unknown joints {unknown}" if unknown else "") + (f" missing joints {missing}" if missing else "")
        raise input_error(src, f"clip joints do not fit character {model.name!r}: {detail.strip() or 'order differs'}",
                          "body_names")
    if np.ndim(clip.root_pos) != 2:
        raise input_error(src, f"expected shape (frames, 3), got {np.shape(clip.root_pos)}", "root_pos")
    n = clip.num_frames
    if n < 2:
        raise input_error(src, f"a clip needs at least 2 frames, got {n}", "Frames")
    shapes = {"frame_dt": (n,), "root_pos": (n, 3), "root_rot": (n, 4), "joint_pos": (n, model.num_joint_pos)}
    for name, shape in shapes.items():
        arr = getattr(clip, name)
        if arr.shape != shape:
            raise input_error(src, f"expected shape {shape} for character {model.name!r}, got {arr.shape}", name)
        bad = ~np.isfinite(arr)
        if bad.any():
            frame = int(np.argwhere(bad)[0][0])
            raise input_error(src, f"frame {frame}: {name} is not finite (NaN or inf)")
    neg = np.flatnonzero(clip.frame_dt[:-1] <= 0)
    if neg.size:
        i = int(neg[0])
        raise input_error(src, f"frame {i}: duration {clip.frame_dt[i]} must be positive", "frame duration")
    if clip.frame_dt[-1] < 0:
        raise input_error(src, f"frame {n - 1}: duration {clip.frame_dt[-1]} is negative", "frame duration")
    _check_unit(clip.root_rot, src, "root rotation")
    for b in model.ball_bodies:
        off = model.joint_pos_offsets[b]
        _check_unit(clip.joint_pos[:, off:off + 4], src, f"joint {model.body_names[b]!r} rotation")
    assert all(t != JointType.FREE for t in model.joint_types[1:])


def _check_unit(quats: np.ndarray, source: str | Path, what: str) -> None:
    norms = np.linalg.norm(quats, axis=-1)
    bad = np.flatnonzero(np.abs(norms - 1.0) > QUAT_NORM_TOLERANCE)
    if bad.size:
        i = int(bad[0])
        raise input_error(source, f"frame {i}: {what} quaternion has norm {norms[i]:.6g}; it must be a unit quaternion")
