"""The AMP paper's time-warped pose error: the warping path on known costs, and a delayed copy of a motion."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mimic.eval.dtw import dtw_mean_cost, pose_cost, pose_error_dtw


def brute_force(cost: np.ndarray) -> float:
    """Mean cost along the cheapest monotonic path, by enumerating every path (small matrices only)."""
    t, s = cost.shape
    best = (np.inf, 0)
    moves = [(1, 0), (0, 1), (1, 1)]
    for length in range(max(t, s) - 1, t + s - 1):
        for seq in itertools.product(moves, repeat=length):
            i = j = 0
            total = cost[0, 0]
            for di, dj in seq:
                i, j = i + di, j + dj
                if i >= t or j >= s:
                    break
                total += cost[i, j]
            else:
                if (i, j) == (t - 1, s - 1) and total < best[0]:
                    best = (total, length + 1)
    return best[0] / best[1]


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2)])
def test_the_warping_path_is_the_cheapest_one(shape):
    cost = np.random.default_rng(sum(shape)).random(shape)
    assert dtw_mean_cost(cost) == pytest.approx(brute_force(cost))


def cell_by_cell(cost: np.ndarray) -> float:
    """The same by the textbook recurrence, one cell at a time, with the same trace back."""
    t, s = cost.shape
    total = np.full((t + 1, s + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(t):
        for j in range(s):
            total[i + 1, j + 1] = cost[i, j] + min(total[i, j + 1], total[i + 1, j], total[i, j])
    total[0, 0] = np.inf
    i, j, length = t, s, 1
    while (i, j) != (1, 1):
        _, i, j = min((total[i - 1, j - 1], i - 1, j - 1), (total[i - 1, j], i - 1, j), (total[i, j - 1], i, j - 1))
        length += 1
    return total[t, s] / length


@pytest.mark.parametrize("shape", [(30, 40), (41, 7), (1, 9), (12, 1), (60, 60)])
def test_the_vectorized_recurrence_is_the_textbook_one(shape):
    cost = np.random.default_rng(shape[0] * 100 + shape[1]).random(shape)
    assert dtw_mean_cost(cost) == pytest.approx(cell_by_cell(cost), rel=1e-12)


def test_a_diagonal_of_zeros_costs_nothing():
    cost = 1.0 - np.eye(6)
    assert dtw_mean_cost(cost) == 0.0


def motion(frames: int, delay: int = 0) -> torch.Tensor:
    """(frames, 14, 3) body positions relative to the root moving on circles, ``delay`` frames late."""
    t = (torch.arange(frames, dtype=torch.float64) - delay).clamp(min=0)[:, None]
    phase = torch.arange(14, dtype=torch.float64)[None]
    return torch.stack((0.3 * torch.sin(0.2 * t + phase), 0.3 * torch.cos(0.2 * t + phase),
                        0.1 * phase.expand(frames, -1)), dim=-1)


def test_a_delayed_copy_is_charged_only_at_its_ends():
    ref, late = motion(120), motion(120, delay=3)
    plain = pose_cost(late, ref).diagonal().mean()  # the unwarped MPJPE
    assert plain > 0.15
    warped = pose_error_dtw(late, ref)
    assert warped < 0.1 * plain
    assert pose_error_dtw(ref, ref) == 0.0
