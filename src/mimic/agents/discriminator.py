"""AMP's discriminator: its settings, network, least-squares objective, gradient penalty and style reward.

A logit ``d = D(s, s')`` of an AMP observation (a few consecutive frames, :mod:`mimic.envs.amp_obs`) is
trained to tell the clips (expert) from the policy's motion (agent), with one of two objectives
(``agent.amp.objective``):

- ``least_squares``, the AMP paper's and DeepMimic's (``ct_agent_humanoid_amp.txt``): squared errors toward
  +1 (expert) and -1 (agent), plus ``grad_penalty / 2`` times the squared gradient norm of ``d`` on expert
  samples. Style reward ``max(0, 1 - 0.25 (d - 1)^2)``: 1 where the motion looks like the data, and exactly
  0 from ``d <= -1``, so while the discriminator wins every policy sample scores the same 0.
- ``bce``, MimicKit's (``amp_agent.py``): binary cross-entropy (expert 1, agent 0), plus ``grad_penalty``
  times the mean of the squared gradient norms on expert and on agent samples. Style reward
  ``-log(max(1 - sigmoid(d), 1e-4))`` (= softplus(d), at most 9.21): positive and graded for every ``d``,
  so a policy still learns which of its motions look less unlike the data while the discriminator wins.

Both add ``logit_reg`` times the squared weights of the output layer and weight decay; the reward is
times ``reward_scale``.

With ``vdb_dim > 0`` the discriminator has a variational bottleneck (VDB, Peng et al. 2019, the same
authors' remedy for a discriminator that wins): its MLP encodes an observation into a Gaussian code
``z ~ N(mu(x), sigma(x)^2)`` of ``vdb_dim`` numbers and the logit is a linear function of ``z``. Training
draws ``z``; the mean KL divergence of the codes from ``N(0, I)`` over both sides' samples (a bound on
the information the code carries about the observation) is held near ``vdb_info`` nats by a Lagrange
multiplier ``beta``, raised or lowered by ``vdb_beta_lr`` times the excess after every step (dual
ascent). Rewards, ``mimic eval`` and the test rounds use the mean code ``mu(x)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from mimic.agents.networks import hidden_features, init_linear_, mlp
from mimic.errors import MimicError


@dataclass
class AMPConfig:
    """The discriminator's and the reward mix's settings (``agent.amp.*``; used when ``agent.name`` is ``amp``).

    Attributes:
        disc_hidden: hidden sizes, ReLU (both sources: 1024 -> 512).
        disc_optimizer / disc_lr / disc_weight_decay: MimicKit: SGD (momentum 0.9), 2.5e-4, 1e-4;
            DeepMimic: 1e-5, 5e-4. ``adam`` is AdamW.
        disc_epochs: passes over the rollout's agent samples per iteration (MimicKit: 2).
        disc_batch_size: minibatch size in units of ``num_envs`` agent samples (MimicKit: 2); each
            minibatch also takes as many expert samples and half its agent samples from the replay buffer.
        replay_size: agent samples kept from past rollouts (MimicKit: 200,000, about 1.5 of its rollouts;
            here 32,768, four rollouts of 256 characters; it is saved in ``latest.pt`` so a resume is exact).
        logit_reg: weight of the output layer's squared weights (MimicKit 0.01; DeepMimic 0.05).
        grad_penalty: weight w of the gradient penalty ``w / 2 * E_expert |grad d|^2`` (MimicKit 5; DeepMimic 10).
        reward_scale: multiplies the style reward (both: 2).
        style_weight / task_weight: the reward is ``task_weight * task + style_weight * style`` (MimicKit
            style-only: 1 / 0; with a task: 0.5 / 0.5, DeepMimic's TaskRewardLerp 0.5).
        normalizer_samples: the AMP observation normalizer stops updating after this many expert samples.
        objective: ``least_squares`` (the AMP paper, DeepMimic) or ``bce`` (MimicKit); see the module doc.
        vdb_dim: size of the variational bottleneck's code (0: none, the AMP papers' discriminator; the
            ``amp_walk`` preset: 64). See the module doc.
        vdb_info: the bottleneck's bound on the codes' mean KL divergence from N(0, I), nats (VDB: 0.5).
        vdb_beta_lr / vdb_beta: the dual step of its multiplier beta per discriminator step (VDB: 1e-5)
            and beta's first value (it is saved in checkpoints, so a resume goes on with it).
        disc_precision: ``fp32``, ``bf16`` or ``auto`` (bf16 where the CPU has it), as ``agent.precision``
            for the actor and critic: the hidden layers under bf16 autocast, the gradient penalty's double
            backward included (1.9x faster per step at 1024-512 on 2 cores; the same loss and penalty
            within 1e-3 relative, ``tests/agents/test_amp.py``). Parameters and optimizer stay fp32.
    """

    disc_hidden: list[int] = field(default_factory=lambda: [1024, 512])
    disc_optimizer: str = "sgd"
    disc_lr: float = 2.5e-4
    disc_weight_decay: float = 1e-4
    disc_epochs: int = 2
    disc_batch_size: int = 2
    replay_size: int = 32_768
    logit_reg: float = 0.01
    grad_penalty: float = 5.0
    reward_scale: float = 2.0
    style_weight: float = 1.0
    task_weight: float = 0.0
    normalizer_samples: int = 100_000_000
    disc_precision: str = "fp32"
    objective: str = "least_squares"
    vdb_dim: int = 0
    vdb_info: float = 0.5
    vdb_beta_lr: float = 1e-5
    vdb_beta: float = 0.0

    def __post_init__(self) -> None:
        checks = {"disc_lr": self.disc_lr > 0, "disc_weight_decay": self.disc_weight_decay >= 0,
                  "disc_epochs": self.disc_epochs >= 0, "disc_batch_size": self.disc_batch_size > 0,
                  "replay_size": self.replay_size >= 0, "logit_reg": self.logit_reg >= 0,
                  "grad_penalty": self.grad_penalty >= 0, "reward_scale": self.reward_scale >= 0,
                  "style_weight": self.style_weight >= 0, "task_weight": self.task_weight >= 0,
                  "disc_optimizer": self.disc_optimizer in ("sgd", "adam"),
                  "disc_precision": self.disc_precision in ("fp32", "bf16", "auto"),
                  "objective": self.objective in OBJECTIVES, "vdb_dim": self.vdb_dim >= 0,
                  "vdb_info": self.vdb_info > 0, "vdb_beta_lr": self.vdb_beta_lr >= 0, "vdb_beta": self.vdb_beta >= 0}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise MimicError(f"agent.amp: out-of-range value for {', '.join(bad)}")


OBJECTIVES = ("least_squares", "bce")
BCE_MIN_ONE_MINUS_PROB = 1e-4  # MimicKit's floor on 1 - sigmoid(d) in the bce style reward


class Discriminator(nn.Module):
    """Logits (N,) of normalized AMP observations (N, D): an MLP (``hidden``, ReLU; its hidden layers in
    ``precision``, ``fp32`` or ``bf16`` resolved) and a linear head in fp32, as the critic's; with
    ``bottleneck`` > 0 two linear layers between them give the mean and log-std of a Gaussian code of that
    size (the module doc), and the head reads the code.

    Weights are drawn from ``generator`` in layer order (PyTorch's default init, zero biases).
    """

    def __init__(self, obs_dim: int, hidden: list[int], generator: torch.Generator, precision: str = "fp32",
                 bottleneck: int = 0) -> None:
        super().__init__()
        self.precision = precision
        self.body = mlp(obs_dim, hidden)
        width = hidden[-1] if hidden else obs_dim
        self.bottleneck = bottleneck
        if bottleneck:
            self.code_mean = nn.Linear(width, bottleneck)
            self.code_log_std = nn.Linear(width, bottleneck)
            width = bottleneck
        self.head = nn.Linear(width, 1)
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                init_linear_(layer, generator)

    def encode(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The code's mean (N, K) and log-std (N, K) of observations (N, D); without a bottleneck the last
        hidden layer's features (N, H) and None."""
        features = hidden_features(self.body, obs, self.precision)
        if not self.bottleneck:
            return features, None
        return self.code_mean(features), self.code_log_std(features)

    def forward(self, obs: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N,) of observations (N, D): of the mean code, or, given standard normal ``noise`` (N, K)
        and a bottleneck, of the code ``mu + sigma * noise``."""
        return self.logits_and_kl(obs, noise)[0]

    def logits_and_kl(self, obs: torch.Tensor, noise: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (N,) as :meth:`forward` and each code's KL divergence from N(0, I) (N,; None without a
        bottleneck): ``0.5 * sum(mu^2 + sigma^2 - 1) - sum(log sigma)``."""
        mean, log_std = self.encode(obs)
        if log_std is None:
            return self.head(mean).squeeze(-1), None
        code = mean if noise is None else mean + log_std.exp() * noise
        kl = 0.5 * (mean.square() + (2 * log_std).exp() - 1.0).sum(-1) - log_std.sum(-1)
        return self.head(code).squeeze(-1), kl


def style_reward(logits: torch.Tensor, scale: float = 1.0, objective: str = "least_squares") -> torch.Tensor:
    """The style reward (N,) of logits (N,): ``scale * max(0, 1 - 0.25 (d - 1)^2)`` (``least_squares``) or
    ``scale * -log(max(1 - sigmoid(d), 1e-4))`` (``bce``)."""
    if objective == "bce":
        return scale * torch.nn.functional.softplus(logits).clamp_max(-math.log(BCE_MIN_ONE_MINUS_PROB))
    return scale * (1.0 - 0.25 * (logits - 1.0).square()).clamp_min(0.0)


def least_squares_terms(expert_logits: torch.Tensor, agent_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample squared errors toward +1 (expert, (Ne,)) and -1 (agent, (Na,)); the objective is half their
    means' sum."""
    return (expert_logits - 1.0).square(), (agent_logits + 1.0).square()


def bce_terms(expert_logits: torch.Tensor, agent_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample binary cross-entropies toward 1 (expert, (Ne,)) and 0 (agent, (Na,)); the objective is half
    their means' sum."""
    return torch.nn.functional.softplus(-expert_logits), torch.nn.functional.softplus(agent_logits)


def objective_terms(objective: str, expert_logits: torch.Tensor,
                    agent_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-sample terms of ``objective`` (``least_squares`` or ``bce``) for expert and agent logits."""
    return (bce_terms if objective == "bce" else least_squares_terms)(expert_logits, agent_logits)


def penalty_and_kl_terms(disc: Discriminator, obs: torch.Tensor, noise: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(logits (N,), squared gradient norms (N,), the codes' KL divergences (N,; None without a bottleneck)) of
    ``disc`` at observations (N, D) (with its code's ``noise`` (N, K), if given), from one forward pass; the
    norms are differentiable (for the gradient penalty's own gradient)."""
    obs = obs.detach().requires_grad_(True)
    logits, kl = disc.logits_and_kl(obs, noise)
    (grad,) = torch.autograd.grad(logits.sum(), obs, create_graph=True)
    return logits, grad.square().sum(-1), kl
