"""Clip timing: sample a clip at any times, trim it, resample it at an even rate."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel
from mimic.errors import MimicError
from mimic.motion.clip import Clip


def sample_poses(clip: Clip, model: CharacterModel, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root position (T, 3), root rotation (T, 4) and ``joint_pos`` (T, Q) at ``times`` (T,) seconds.

    Between keyframes: positions and hinge angles interpolate linearly, rotations by slerp; times
    outside the clip take the first or last keyframe (no wrapping).
    """
    frame_times = clip.frame_times
    n = clip.num_frames
    idx = np.clip(np.searchsorted(frame_times, times, side="right") - 1, 0, max(n - 2, 0))
    nxt = np.minimum(idx + 1, n - 1)
    span = np.where(nxt > idx, frame_times[nxt] - frame_times[idx], 1.0)
    w = np.clip((times - frame_times[idx]) / span, 0.0, 1.0)
    root_pos = clip.root_pos[idx] + w[:, None] * (clip.root_pos[nxt] - clip.root_pos[idx])
    wt = torch.as_tensor(w)

    def slerp(q: np.ndarray) -> np.ndarray:
        return rot.quat_slerp(torch.as_tensor(q[idx]), torch.as_tensor(q[nxt]), wt).numpy()

    root_rot = slerp(clip.root_rot)
    joint_pos = clip.joint_pos[idx] + w[:, None] * (clip.joint_pos[nxt] - clip.joint_pos[idx])
    for b in model.ball_bodies:
        off = int(model.joint_pos_offsets[b])
        joint_pos[:, off:off + 4] = slerp(clip.joint_pos[:, off:off + 4])
    return root_pos, root_rot, joint_pos


def resample_clip(clip: Clip, model: CharacterModel, fps: float, start: float = 0.0,
                  end: float | None = None) -> Clip:
    """``clip`` between ``start`` and ``end`` seconds (default: its end) at about ``fps`` keyframes per second.

    Keyframes are evenly spaced from ``start`` to ``end`` inclusive, a whole number of intervals
    closest to ``fps`` (so a cycle keeps its exact length); when ``fps`` is the clip's own even rate
    and ``start`` a keyframe time, the keyframes are the clip's own.
    """
    end = clip.duration if end is None else min(end, clip.duration)
    src = clip.source or clip.name
    if not (fps > 0 and math.isfinite(fps)):
        raise MimicError(f"{src}: fps must be a positive number, got {fps}")
    if start < 0 or start >= end:
        raise MimicError(f"{src}: --start {start:g} s must be at least 0 and before the end ({end:.3f} s; the clip "
                         f"lasts {clip.duration:.3f} s)")
    intervals = round((end - start) * fps)
    if intervals < 1:
        raise MimicError(f"{src}: {end - start:g} s at {fps:g} fps is less than 2 keyframes")
    times = np.linspace(start, end, intervals + 1)
    return _retimed(clip, model, times, np.full(intervals + 1, (end - start) / intervals))


def uniform_clip(clip: Clip, model: CharacterModel) -> Clip:
    """``clip`` itself if its keyframes are evenly spaced; else resampled evenly over the same duration."""
    dt = clip.frame_dt[:-1]
    if np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9):
        return clip
    intervals = max(1, round(clip.duration / float(np.median(dt))))
    times = np.linspace(0.0, clip.duration, intervals + 1)
    return _retimed(clip, model, times, np.full(intervals + 1, clip.duration / intervals))


def _retimed(clip: Clip, model: CharacterModel, times: np.ndarray, frame_dt: np.ndarray) -> Clip:
    root_pos, root_rot, joint_pos = sample_poses(clip, model, times)
    frame_dt = frame_dt.copy()
    frame_dt[-1] = 0.0  # DeepMimic's convention: the last duration is unused
    return dataclasses.replace(clip, frame_dt=frame_dt, root_pos=root_pos, root_rot=root_rot, joint_pos=joint_pos)
