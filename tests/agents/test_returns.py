"""TD(lambda) returns against hand-computed episodes, and the buffer's assembly of next values."""

from __future__ import annotations

import pytest
import torch

from mimic.agents import RolloutBuffer, td_lambda_returns
from mimic.envs.terminations import DoneReason

NONE, FAIL, SUCCESS, TIMEOUT, INVALID = (int(d) for d in DoneReason)
GAMMA, LAM = 0.5, 0.5
REWARDS = [1.0, 2.0, 3.0]
VALUES = [5.0, 10.0, 20.0]  # V(s0), V(s1), V(s2); V(next obs) after the rollout is 30


def returns(dones: list[int], next_values: list[float], gamma: float = GAMMA, lam: float = LAM) -> list[float]:
    """One env (column) of td_lambda_returns."""
    col = lambda x, dtype=torch.float32: torch.tensor(x, dtype=dtype)[:, None]
    out = td_lambda_returns(col(REWARDS), col(VALUES), col(next_values), col(dones, torch.long), gamma, lam)
    return out[:, 0].tolist()


# Hand computations, gamma = lambda = 0.5. Inside an episode G_t = r_t + g((1-l) V_{t+1} + l G_{t+1}).
CASES = {
    # no end: the last step bootstraps V(next obs) = 30.
    # G2 = 3 + .5*30 = 18; G1 = 2 + .5(.5*20 + .5*18) = 11.5; G0 = 1 + .5(.5*10 + .5*11.5) = 6.375
    "rollout_end": ([NONE, NONE, NONE], [10, 20, 30], [6.375, 11.5, 18.0]),
    # fall at t=1: next value 0 whatever the critic says (99), lambda cut.
    # G1 = 2; G0 = 1 + .5(.5*10 + .5*2) = 4
    "fail": ([NONE, FAIL, NONE], [10, 99, 30], [4.0, 2.0, 18.0]),
    # success at t=0: G0 = 1 + 0; a new episode starts at t=1.
    "success": ([SUCCESS, NONE, NONE], [99, 20, 30], [1.0, 11.5, 18.0]),
    # time-out at t=1 bootstraps V(terminal obs) = 40, lambda cut.
    # G1 = 2 + .5*40 = 22; G0 = 1 + .5(.5*10 + .5*22) = 9
    "timeout": ([NONE, TIMEOUT, NONE], [10, 40, 30], [9.0, 22.0, 18.0]),
    # blow-up at t=1: its return is its own value V(s1) = 10, so t=0 bootstraps V(s1) fully.
    # G0 = 1 + .5(.5*10 + .5*10) = 6
    "invalid": ([NONE, INVALID, NONE], [10, 99, 30], [6.0, 10.0, 18.0]),
    # time-out at t=0 (bootstrap 8), then a new episode that falls at t=2.
    # G2 = 3; G1 = 2 + .5(.5*20 + .5*3) = 7.75; G0 = 1 + .5*8 = 5
    "timeout_then_fail": ([TIMEOUT, NONE, FAIL], [8, 20, 99], [5.0, 7.75, 3.0]),
}


@pytest.mark.parametrize("case", CASES)
def test_td_lambda_hand_computed(case):
    dones, next_values, expected = CASES[case]
    assert returns(dones, next_values) == pytest.approx(expected)


def test_lambda_one_is_discounted_sum_to_the_bootstrap():
    # G2 = 3 + .5*30 = 18; G1 = 2 + .5*18 = 11; G0 = 1 + .5*11 = 6.5 (intermediate values ignored)
    assert returns([NONE] * 3, [123, 456, 30], lam=1.0) == pytest.approx([6.5, 11.0, 18.0])
    # time-out at t=1 with bootstrap 40: G1 = 2 + 20 = 22; G0 = 1 + .5*22 = 12
    assert returns([NONE, TIMEOUT, NONE], [123, 40, 30], lam=1.0) == pytest.approx([12.0, 22.0, 18.0])


def test_lambda_zero_is_one_step_td():
    assert returns([NONE] * 3, [10, 20, 30], lam=0.0) == pytest.approx([6.0, 12.0, 18.0])
    assert returns([FAIL, TIMEOUT, NONE], [10, 20, 30], lam=0.0) == pytest.approx([1.0, 12.0, 18.0])


def test_columns_are_independent_envs():
    cases = list(CASES.values())
    dones = torch.tensor([c[0] for c in cases]).T
    next_values = torch.tensor([c[1] for c in cases], dtype=torch.float32).T
    n = len(cases)
    out = td_lambda_returns(torch.tensor(REWARDS)[:, None].expand(3, n), torch.tensor(VALUES)[:, None].expand(3, n),
                            next_values, dones, GAMMA, LAM)
    assert torch.allclose(out, torch.tensor([c[2] for c in cases]).T)


def test_buffer_assembles_next_values():
    buf = RolloutBuffer(num_steps=3, num_envs=2, obs_dim=1, action_dim=1)
    buf.rewards[:] = torch.tensor(REWARDS)[:, None]
    buf.values[:] = torch.tensor(VALUES)[:, None]
    buf.last_values[:] = 30.0
    buf.dones[:, 1] = torch.tensor([NONE, TIMEOUT, NONE])
    buf.bootstrap_values[1, 1] = 40.0
    expected_next = torch.tensor([[10.0, 10.0], [20.0, 40.0], [30.0, 30.0]])
    assert torch.equal(buf.next_values(), expected_next)
    ret = buf.returns(GAMMA, LAM)
    assert ret[:, 0].tolist() == pytest.approx(CASES["rollout_end"][2])
    assert ret[:, 1].tolist() == pytest.approx(CASES["timeout"][2])
