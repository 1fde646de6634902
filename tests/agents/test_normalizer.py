"""The running observation normalizer: statistics equal NumPy's, freezing, clipping, state round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mimic.agents import RunningNormalizer


def batches(seed: int = 0, sizes: tuple[int, ...] = (1, 7, 100, 33)) -> list[np.ndarray]:
    """Batches of 4 features far from zero mean and unit scale (where naive sums lose precision)."""
    rng = np.random.default_rng(seed)
    loc, scale = np.array([1000.0, -3.0, 0.5, 0.0]), np.array([0.01, 2.0, 1e-3, 50.0])
    return [rng.normal(loc, scale, size=(n, 4)) for n in sizes]


def test_mean_and_std_equal_numpy():
    norm = RunningNormalizer(4)
    data = batches()
    for b in data:
        norm.record(torch.as_tensor(b))
        norm.update()
    all_x = np.concatenate(data)
    assert int(norm.count) == len(all_x)
    np.testing.assert_allclose(norm.mean.numpy(), all_x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.std.numpy(), all_x.std(0), rtol=1e-6)


def test_several_records_per_update_merge_like_one_batch():
    a, b = RunningNormalizer(4), RunningNormalizer(4)
    data = batches(1)
    for x in data:
        a.record(torch.as_tensor(x))
    a.update()
    b.record(torch.as_tensor(np.concatenate(data)))
    b.update()
    assert torch.allclose(a.mean, b.mean) and torch.allclose(a.var, b.var)


def test_normalize_clips_and_floors_the_std():
    norm = RunningNormalizer(2, clip=10.0, min_std=1e-4)
    norm.record(torch.tensor([[0.0, 5.0], [2.0, 5.0]]))  # feature 1 is constant: std 0 -> 1e-4
    norm.update()
    out = norm(torch.tensor([[1.0, 5.0], [3.0, 5.5], [100.0, 4.0]]))
    assert out.dtype == torch.float32
    assert torch.allclose(out, torch.tensor([[0.0, 0.0], [2.0, 10.0], [10.0, -10.0]]))
    assert torch.allclose(norm.unnormalize(norm(torch.tensor([[1.5, 5.0]]))), torch.tensor([[1.5, 5.0]]))


def test_freezes_after_the_sample_budget():
    norm = RunningNormalizer(4, max_samples=150)
    first, second, third = (torch.as_tensor(b) for b in batches(2, (100, 100, 100)))
    for b in (first, second):  # the batch that crosses the budget is still merged whole
        norm.record(b)
        norm.update()
    assert norm.frozen and int(norm.count) == 200
    mean, var = norm.mean.clone(), norm.var.clone()
    norm.record(third)
    norm.update()
    assert int(norm.count) == 200 and torch.equal(norm.mean, mean) and torch.equal(norm.var, var)
    np.testing.assert_allclose(norm.mean.numpy(), torch.cat((first, second)).mean(0).numpy(), rtol=1e-12)


def test_state_dict_round_trip():
    norm = RunningNormalizer(4, max_samples=1000)
    for b in batches(3):
        norm.record(torch.as_tensor(b))
        norm.update()
    norm.record(torch.ones(5, 4))  # pending samples are not state: they are merged at the next update
    state = norm.state_dict()
    assert set(state) == {"count", "mean", "var"}
    other = RunningNormalizer(4, max_samples=1000)
    other.load_state_dict(state)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(other(x), norm(x))
    assert torch.equal(other.count, norm.count) and torch.equal(other.mean, norm.mean)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_record_accepts_leading_dims(shape):
    norm = RunningNormalizer(4)
    norm.record(torch.zeros(shape))
    norm.update()
    assert int(norm.count) == np.prod(shape[:-1])
