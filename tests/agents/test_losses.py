"""PPO's loss terms on known answers."""

from __future__ import annotations

import math

import torch

from mimic.agents.losses import action_bound_violation, approx_kl, clipped_surrogate, masked_mean


def test_the_surrogate_clips_the_ratio_only_where_that_lowers_the_objective():
    ratio = torch.tensor([1.5, 1.5, 0.5, 0.5, 1.1])
    adv = torch.tensor([2.0, -2.0, 2.0, -2.0, 1.0])
    # A > 0: min(rA, 1.2A) caps a large ratio; A < 0: min(rA, clip(r)A) keeps the worse (unclipped) large ratio
    expected = torch.tensor([2.4, -3.0, 1.0, -1.6, 1.1])
    assert torch.allclose(clipped_surrogate(ratio, adv, 0.2), expected)


def test_the_kl_estimate_is_zero_at_ratio_one_and_positive_elsewhere():
    kl = approx_kl(torch.tensor([1.0, 2.0, 0.5, 0.0]))
    assert kl[0] == 0.0
    assert math.isclose(kl[1].item(), 1.0 - math.log(2.0), rel_tol=1e-6)
    assert math.isclose(kl[2].item(), -0.5 + math.log(2.0), rel_tol=1e-6)
    assert torch.isfinite(kl[3])  # a ratio of 0 is clamped, not log(0)


def test_the_bound_violation_counts_only_the_excess_beyond_the_bound():
    mean = torch.tensor([[0.5, -0.9, 1.0], [1.5, -1.2, 0.0]])
    assert torch.allclose(action_bound_violation(mean), torch.tensor([0.0, 0.25 + 0.04]))


def test_masked_mean_is_zero_for_an_empty_mask():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert masked_mean(x, torch.tensor([True, False, True])).item() == 2.0
    assert masked_mean(x, torch.zeros(3, dtype=torch.bool)).item() == 0.0
