"""What closing a clip's loop does to its contacts: the measure behind ``loop_blend_seconds``.

The motion library closes a looping clip by spreading its end-to-start mismatch over a window at the
end of the cycle (README, "Motion library"). Spread over the whole cycle it also moves the frames
where a foot or hand is on the ground. :func:`contact_shift` measures that against the raw clip;
``benchmarks/loop_closure.py`` tabulates it and ``tests/motion`` checks the characters' settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mimic.character.model import CharacterModel
from mimic.motion.clip import Clip
from mimic.motion.library import MotionLibrary

NEAR_GROUND_M = 0.08


@dataclass(frozen=True)
class ContactShift:
    """One window's effect: height change of near-ground contact bodies (mean and max, m) and added speed (m/s)."""

    mean_m: float
    max_m: float
    added_speed_mps: float


def end_to_start_mismatch(clip: Clip, model: CharacterModel) -> float:
    """Largest root-relative body distance (m) between ``clip``'s last and first frame."""
    raw = MotionLibrary([clip], model, dtype=torch.float64, close_loops=False)
    s = raw.state(torch.zeros(2, dtype=torch.long), torch.tensor([clip.duration - 1e-6, 0.0], dtype=torch.float64))
    rel = s.body_pos - s.body_pos[:, :1]
    return (rel[0] - rel[1]).norm(dim=-1).max().item()


def contact_shift(clip: Clip, model: CharacterModel, bodies: Sequence[str], windows: Sequence[float | None],
                  samples: int = 600, end_margin: float = 1e-6) -> dict[float | None, ContactShift]:
    """Per loop-closing window (seconds, None for the whole cycle): how far closing ``clip`` moves ``bodies``.

    Heights are compared with the raw clip at ``samples`` times over ``[0, duration - end_margin]``, at
    the times a body is within 8 cm of the ground in the raw clip; a window with no such time gives 0.
    """
    f64 = torch.float64
    t = torch.linspace(0.0, clip.duration - end_margin, samples, dtype=f64)
    ids = torch.zeros(samples, dtype=torch.long)
    idx = [model.body_names.index(b) for b in bodies]
    raw = MotionLibrary([clip], model, dtype=f64, close_loops=False).state(ids, t)
    near = raw.body_pos[:, idx, 2] < NEAR_GROUND_M
    out = {}
    for w in windows:
        s = MotionLibrary([clip], model, dtype=f64, loop_blend_seconds=[w]).state(ids, t)
        dz = (s.body_pos[:, idx, 2] - raw.body_pos[:, idx, 2]).abs()[near]
        dv = (s.body_vel - raw.body_vel).norm(dim=-1).max().item()
        out[w] = ContactShift(dz.mean().item() if dz.numel() else 0.0, dz.max().item() if dz.numel() else 0.0, dv)
    return out
