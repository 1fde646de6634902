"""Episode ends, as pure functions.

Done reasons: ``FAIL`` (a fall: forbidden ground contact or drift from the reference; the value
target is 0), ``SUCCESS`` (a non-cyclic clip reached its end; value 0, so standing still until the
end is not rewarded), ``TIMEOUT`` (time limit; the value is bootstrapped), ``INVALID`` (the
simulation blew up; the env is reset and the transition should not be learned from).
"""

from __future__ import annotations

import enum

import torch


class DoneReason(enum.IntEnum):
    """Why an episode ended at this step (0: it did not)."""

    NONE = 0
    FAIL = 1
    SUCCESS = 2
    TIMEOUT = 3
    INVALID = 4


def contact_fail(ground_contact: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """(N,) a body not in ``allowed`` (B,) bool touches the ground; ``ground_contact`` is (N, B)."""
    return (ground_contact & ~allowed).any(dim=-1)


def pose_fail(body_pos: torch.Tensor, ref_body_pos: torch.Tensor, max_dist: float | torch.Tensor) -> torch.Tensor:
    """(N,) some body is farther than ``max_dist`` (a number or (N,) per env; inf: never) from its reference
    position; positions (N, B, 3)."""
    return (body_pos - ref_body_pos).square().sum(-1).max(dim=-1).values > max_dist * max_dist


def done_reasons(fail: torch.Tensor, success: torch.Tensor, timeout: torch.Tensor,
                 invalid: torch.Tensor) -> torch.Tensor:
    """(N,) long :class:`DoneReason` per env; priority invalid > fail > success > timeout."""
    # torch.where rather than masked assignment, which makes a GPU wait for the host
    done = torch.where(timeout, int(DoneReason.TIMEOUT), 0)
    done = torch.where(success, int(DoneReason.SUCCESS), done)
    done = torch.where(fail, int(DoneReason.FAIL), done)
    return torch.where(invalid, int(DoneReason.INVALID), done).long()
