"""The data-parallel pieces of an update (README, "Multi-process training"), each the plain single-process
operation with one rank.

- :func:`global_masked_mean`: a minibatch loss whose denominator counts every rank's samples, so that with
  gradients averaged over ranks one update on R ranks' rollouts equals one update on their concatenation;
- :func:`merge_normalizer`: a running normalizer's new statistics, summed over ranks before they are folded in;
- :class:`GuardedStep`: backpropagate, average gradients over ranks, and step, unless a gradient is NaN or
  Inf: that minibatch is skipped on every rank, and ``NONFINITE_LIMIT`` in a row stop training.
"""

from __future__ import annotations

import torch
from torch import nn

from mimic.agents.networks import forget_low_precision_weights
from mimic.agents.normalizer import RunningNormalizer
from mimic.distributed import DistContext
from mimic.errors import MimicError

# Minibatches in a row with NaN or Inf gradients after which training stops (each is skipped).
NONFINITE_LIMIT = 10


def global_counts(dist: DistContext, *masks: torch.Tensor) -> torch.Tensor:
    """(len(masks),) float64 number of True entries of each mask, summed over ranks."""
    return dist.sum_(torch.stack([m.sum() for m in masks]).double())


def global_masked_mean(dist: DistContext, x: torch.Tensor, mask: torch.Tensor,
                       count: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``x`` (M,) over ``mask`` (M,) on all ranks, as this rank's share: its masked sum over the global
    count (``count``, from :func:`global_counts`, or counted here), times the number of ranks (the gradient
    average divides that back out). With one process this is the masked mean (0 for an empty mask)."""
    count = global_counts(dist, mask)[0] if count is None else count
    scale = dist.world_size / float(count.clamp_min(1))
    return (x * mask).sum() * scale


def merge_normalizer(dist: DistContext, norm: RunningNormalizer) -> None:
    """Fold the samples ``norm`` recorded since its last update into its statistics, summed over ranks."""
    if dist.enabled and not norm.frozen:
        pending = dist.sum_(torch.cat((norm.new_count[None], norm.new_sum, norm.new_sum_sq)))
        norm.new_count.copy_(pending[0])
        norm.new_sum.copy_(pending[1:1 + norm.size])
        norm.new_sum_sq.copy_(pending[1 + norm.size:])
    norm.update()


class GuardedStep:
    """Optimizer steps that NaN and Inf never reach.

    Args:
        dist: the process group the gradients are averaged over.
        grad_clip: clip each network's gradient norm to this (0: no clipping).

    Attributes:
        skipped: minibatches skipped since the caller last set it to 0 (once per update).
        in_a_row: skipped minibatches since the last one that stepped.
    """

    def __init__(self, dist: DistContext, grad_clip: float = 0.0) -> None:
        self.dist, self.grad_clip = dist, grad_clip
        self.skipped = 0
        self.in_a_row = 0

    def __call__(self, optimizer: torch.optim.Optimizer, net: nn.Module, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` into ``net`` and step ``optimizer``, or skip and count a non-finite gradient."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.dist.average_gradients(net.parameters())  # NaN on any rank reaches every rank: they all skip
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if grads and not bool(torch.stack([g.sum() for g in grads]).sum().isfinite()):
            optimizer.zero_grad(set_to_none=True)
            self.skipped += 1
            self.in_a_row += 1
            if self.in_a_row >= NONFINITE_LIMIT:
                raise MimicError(f"training diverged: {NONFINITE_LIMIT} minibatches in a row had NaN or Inf losses "
                                 "or gradients (none reached the weights); the run stops with its last checkpoint "
                                 "(latest.pt) kept: lower the learning rates or check the env's observations")
            return
        self.in_a_row = 0
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), self.grad_clip)
        optimizer.step()
        forget_low_precision_weights(net)  # a fused step leaves the version counters as they were
