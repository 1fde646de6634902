"""The deployed policy: one module from a raw observation to the action the environment takes.

``Policy`` = the agent's observation normalizer, the actor's mean and the clamp to [-1, 1]; the
deterministic action of :meth:`PPOAgent.act`. Evaluation, ``mimic play`` and export all use it, so
what is exported is what was measured.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from mimic.agents.networks import Actor
from mimic.agents.normalizer import RunningNormalizer


class Policy(nn.Module):
    """Raw observations (N, D) -> actions (N, A) in [-1, 1] (the Gaussian's mean, clamped).

    Args:
        obs_norm: the observation normalizer (frozen statistics are used as they are).
        actor: the actor network.
    """

    def __init__(self, obs_norm: RunningNormalizer, actor: Actor) -> None:
        super().__init__()
        self.obs_norm, self.actor = obs_norm, actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        obs = obs.to(device=self.obs_norm.mean.device, dtype=torch.float32)  # env tensors may live elsewhere
        return self.actor(self.obs_norm(obs)).clamp(-1.0, 1.0)


def export_copy(policy: Policy) -> Policy:
    """A standalone fp32 copy on the CPU for export: float32 normalizer statistics (an exported graph
    has one input dtype), fp32 arithmetic throughout, no pending normalizer sums, eval mode."""
    obs_norm = copy.deepcopy(policy.obs_norm).cpu()
    for name in ("count", "mean", "var", "new_count", "new_sum", "new_sum_sq"):
        setattr(obs_norm, name, getattr(obs_norm, name).float())
    actor = copy.deepcopy(policy.actor).cpu().float()
    actor.precision = "fp32"
    return Policy(obs_norm, actor).eval()
