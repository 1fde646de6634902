"""PPO's loss terms as functions of tensors, for :meth:`~mimic.agents.ppo.PPOAgent.update` (and AMP's
diagnostics): the clipped surrogate, the action-bound penalty, and the k3 estimate of the KL divergence."""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (M,) over ``mask`` (M,); 0 when the mask is empty."""
    return (x * mask).sum() / mask.sum().clamp_min(1)


def clipped_surrogate(ratio: torch.Tensor, advantage: torch.Tensor, clip: float) -> torch.Tensor:
    """(M,) PPO's clipped surrogate ``min(r A, clip(r, 1 - clip, 1 + clip) A)`` of importance ratios ``ratio``
    (M,) and advantages ``advantage`` (M,); the loss is its negative mean."""
    return torch.minimum(ratio * advantage, ratio.clamp(1.0 - clip, 1.0 + clip) * advantage)


def approx_kl(ratio: torch.Tensor) -> torch.Tensor:
    """(M,) the k3 estimate ``r - 1 - log r`` of KL(rollout policy || current) from importance ratios (M,)."""
    return ratio - 1.0 - torch.log(ratio.clamp_min(1e-12))


def action_bound_violation(mean: torch.Tensor, bound: float = 1.0) -> torch.Tensor:
    """(N,) sum over action dims of the squared excess of ``mean`` (N, A) beyond ``+-bound``."""
    below = (mean + bound).clamp_max(0.0)
    above = (mean - bound).clamp_min(0.0)
    return below.square().sum(-1) + above.square().sum(-1)
