"""Running mean and standard deviation of observations, frozen after a sample budget.

Statistics are kept as a sample ``count``, ``mean`` and population variance ``var`` (ddof 0) over
every sample recorded so far. New samples are first accumulated as plain sums (count, sum, sum of
squares, float64) and merged into the totals by :meth:`RunningNormalizer.update` with Chan et al.'s
parallel formula. Plain sums are what a ``torch.distributed.all_reduce`` can add across ranks before
the merge (MimicKit's ``Normalizer`` does the same), so multi-process training needs no other change.

Recording and merging are split on purpose: the agent records observations while it collects a
rollout and merges them after its update, so the actions, values and log-probabilities stored in
the rollout and the update that learns from them see the same normalization.
"""

from __future__ import annotations

import torch
from torch import nn


class RunningNormalizer(nn.Module):
    """Normalizes ``(x - mean) / std`` clipped to ``+-clip``; std is at least ``min_std``.

    Args:
        size: feature size D; inputs are (..., D).
        max_samples: once ``count`` reaches this, recording stops and the statistics are frozen
            (the batch that crosses the budget is still merged whole).
        clip: bound of normalized values (DeepMimic and MimicKit: 10).
        min_std: floor of the standard deviation, so constant features do not blow up (MimicKit: 1e-4).
    """

    def __init__(self, size: int, max_samples: int = 100_000_000, clip: float = 10.0, min_std: float = 1e-4) -> None:
        super().__init__()
        self.size, self.max_samples, self.clip, self.min_std = size, max_samples, clip, min_std
        # float64 totals: a float32 count stops counting exactly at 2^24 samples.
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        # Pending sums of samples recorded since the last update (not part of the state dict).
        self.register_buffer("new_count", torch.zeros((), dtype=torch.float64), persistent=False)
        self.register_buffer("new_sum", torch.zeros(size, dtype=torch.float64), persistent=False)
        self.register_buffer("new_sum_sq", torch.zeros(size, dtype=torch.float64), persistent=False)

    @property
    def frozen(self) -> bool:
        """True once the sample budget is spent; :meth:`record` then does nothing."""
        return bool(self.count >= self.max_samples)

    @property
    def std(self) -> torch.Tensor:
        """(D,) float64 standard deviation, at least ``min_std``."""
        return self.var.sqrt().clamp_min(self.min_std)

    @torch.no_grad()
    def record(self, x: torch.Tensor) -> None:
        """Accumulate samples ``x`` (..., D) for the next :meth:`update`."""
        if self.frozen:
            return
        x = x.reshape(-1, self.size).to(torch.float64)
        self.new_count += x.shape[0]
        self.new_sum += x.sum(0)
        self.new_sum_sq += x.square().sum(0)

    @torch.no_grad()
    def update(self) -> None:
        """Merge the recorded samples into the statistics (Chan's parallel mean/variance merge)."""
        n_b = self.new_count.clone()
        if n_b == 0 or self.frozen:
            self._clear_pending()
            return
        mean_b = self.new_sum / n_b
        m2_b = (self.new_sum_sq - n_b * mean_b.square()).clamp_min(0.0)
        n_a = self.count.clone()
        n = n_a + n_b
        delta = mean_b - self.mean
        m2 = self.var * n_a + m2_b + delta.square() * n_a * n_b / n
        self.mean += delta * n_b / n
        self.var.copy_(m2 / n)
        self.count.copy_(n)
        self._clear_pending()

    def _clear_pending(self) -> None:
        self.new_count.zero_()
        self.new_sum.zero_()
        self.new_sum_sq.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized ``x`` (..., D), in ``x``'s dtype."""
        mean, std = self.mean.to(x.dtype), self.std.to(x.dtype)
        return ((x - mean) / std).clamp(-self.clip, self.clip)

    def unnormalize(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`forward` for unclipped values."""
        return z * self.std.to(z.dtype) + self.mean.to(z.dtype)
