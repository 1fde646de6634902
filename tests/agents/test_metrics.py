import pytest
import torch

from mimic.agents.metrics import MinibatchMeans


def test_means_of_tensors_and_floats_over_minibatches():
    means = MinibatchMeans()
    assert means.means() == {}
    means.add({"loss": torch.tensor(1.0), "beta": 0.5})
    means.add({"loss": torch.tensor(2.0, requires_grad=True) * 1, "beta": 1.5})
    means.add({"loss": torch.tensor(3.0, dtype=torch.bfloat16), "beta": 1.0})
    out = means.means()
    assert out == pytest.approx({"loss": 2.0, "beta": 1.0})
    assert all(isinstance(v, float) for v in out.values())
