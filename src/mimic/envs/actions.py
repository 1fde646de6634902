"""The env's action space: normalized actions in [-1, 1] mapped linearly onto per-DoF PD targets.

PD target = offset + scale * action (each (num_dofs,), an exp map per ball joint and an angle per hinge). The
scale is half the width of bounds from the joint ranges (:func:`action_bounds`, MimicKit's rule); the offset
depends on ``env.action_mode``: ``absolute``, the bounds' middle; ``rest``, the MJCF's zero pose;
``residual``, the reference pose at the end of the step, with the scale times ``residual_scale``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from mimic.character.model import CharacterModel
    from mimic.envs.config import EnvConfig


class ActionMap:
    """Offsets and scale of one character's action modes.

    Attributes:
        scale: (num_dofs,) PD-target change per unit of action.
        offsets: mode (``absolute``, ``rest``) -> (num_dofs,) PD target of action 0.
    """

    def __init__(self, model: CharacterModel, device: torch.device) -> None:
        self.model = model
        lo, hi = action_bounds(model.dof_limits, model.dof_offsets, model.joint_types)
        middle = torch.as_tensor((lo + hi) / 2, dtype=torch.float32, device=device)
        self.offsets = {"absolute": middle, "rest": torch.zeros_like(middle)}
        self.scale = torch.as_tensor((hi - lo) / 2, dtype=torch.float32, device=device)

    def offset_scale(self, layout: EnvConfig, ref_joint_rot: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(offset, scale) in ``layout``'s action settings: (N, num_dofs) or (num_dofs,), and (num_dofs,);
        ``ref_joint_rot`` (N, num_joints, 4): the reference pose at the end of the step (``residual`` only)."""
        if layout.action_mode == "residual":
            return self.model.joint_rot_to_dof_exp(ref_joint_rot), layout.residual_scale * self.scale
        return self.offsets[layout.action_mode], self.scale

    def targets(self, action: torch.Tensor, layout: EnvConfig, ref_joint_rot: torch.Tensor | None) -> torch.Tensor:
        """PD targets (N, num_dofs) of normalized actions (N, num_dofs), clipped to [-1, 1]."""
        offset, scale = self.offset_scale(layout, ref_joint_rot)
        return offset + scale * action.clamp(-1.0, 1.0)

    def action(self, targets: torch.Tensor, layout: EnvConfig, ref_joint_rot: torch.Tensor | None) -> torch.Tensor:
        """Normalized actions (N, num_dofs), unclipped, whose PD targets are ``targets`` (N, num_dofs)."""
        offset, scale = self.offset_scale(layout, ref_joint_rot)
        return (targets - offset) / scale


def action_bounds(dof_limits: np.ndarray, dof_offsets: np.ndarray, joint_types: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Per-DoF PD-target bounds (low, high), each (num_dofs,), from the joint ranges.

    MimicKit's rule: a ball joint's exp-map components get +-1.2 x its largest range, a hinge its
    range widened 1.4x about its middle; a DoF without a range gets +-pi.
    """
    lo, hi = dof_limits[:, 0].copy(), dof_limits[:, 1].copy()
    free = ~np.isfinite(lo) | ~np.isfinite(hi)
    lo[free], hi[free] = -math.pi, math.pi
    hinge = np.zeros(len(lo), dtype=bool)
    for b, t in enumerate(joint_types):
        if b > 0 and int(t) == 3:  # JointType.HINGE
            hinge[dof_offsets[b]] = True
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    ball = ~hinge & ~free
    lo = np.where(hinge & ~free, mid - 1.4 * half, np.where(ball, 1.2 * lo, lo))
    hi = np.where(hinge & ~free, mid + 1.4 * half, np.where(ball, 1.2 * hi, hi))
    return lo, hi
