"""Actor and critic networks: separate MLPs on normalized observations.

Both follow MimicKit's ``fc_2layers_1024units`` (ANCHORS 3.12): hidden layers with ReLU, PyTorch's
default weight init and zero biases. The actor's mean head is initialized uniform in
``+-init_output_scale`` (0.01) with zero bias, so the first policy outputs near-zero actions (the
middle of every joint's action range); its log-std is fixed (DeepMimic/MimicKit) or learned.
The critic's head is a plain linear layer with zero bias.

Initialization draws from a ``torch.Generator`` passed in, never from the global RNG.

Precision (:mod:`mimic.agents.compute`): with ``precision="bf16"`` the hidden layers run under bf16
autocast and the heads in fp32 on the fp32 cast of the last hidden layer, so the action mean and
the value keep fp32 resolution (the log-probabilities of a 0.05-std policy need it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mimic.agents.compute import autocast


def mlp(in_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """Linear + ReLU layers of sizes ``hidden``; the output size is ``hidden[-1]`` (or ``in_dim``)."""
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(in_dim, size), nn.ReLU()]
        in_dim = size
    return nn.Sequential(*layers)


def hidden_features(body: nn.Module, obs: torch.Tensor, precision: str) -> torch.Tensor:
    """``body(obs)`` under ``precision``'s autocast, returned in fp32 (N, H).

    Without gradients (acting, values) a bf16 body runs on bf16 copies of its weights kept between calls
    (:func:`_low_precision_weights`): autocast would cast every weight again at every control step (a
    1024-512 actor's 0.7M weights: 0.3 of the 2.7 ms of acting for 512 characters). The result is the
    same, bit for bit: autocast computes these layers from the same bf16 casts.
    """
    if precision == "bf16" and not torch.is_grad_enabled():
        weights = _low_precision_weights(body, torch.bfloat16)
        if weights is not None:
            x = obs.to(torch.bfloat16)
            for layer in body:
                x = torch.relu(x) if isinstance(layer, nn.ReLU) else F.linear(x, *weights[id(layer)])
            return x.float()
    with autocast(precision, obs.device.type):
        return body(obs).float()


def _low_precision_weights(body: nn.Module, dtype: torch.dtype) -> dict[int, tuple[torch.Tensor, torch.Tensor]] | None:
    """``dtype`` copies (weight, bias) of the Linear layers of an :func:`mlp` ``body``, by ``id(layer)``; None for
    a body of other layers.

    Cast again when a parameter's version counter has moved (in-place writes: a loaded state dict, a broadcast,
    a for-loop or foreach optimizer) or after :func:`forget_low_precision_weights`, which the PPO agent calls
    after every optimizer step: fused optimizers write the parameters without bumping their versions."""
    if not isinstance(body, nn.Sequential) or not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in body):
        return None
    params = list(body.parameters())
    key = (dtype, params[0].device if params else None, tuple((id(p), p._version) for p in params))
    cache = body.__dict__.get("_low_precision_cache")
    if cache is None or cache[0] != key:
        weights = {id(m): (m.weight.detach().to(dtype), m.bias.detach().to(dtype) if m.bias is not None else None)
                   for m in body if isinstance(m, nn.Linear)}
        cache = (key, weights)
        body.__dict__["_low_precision_cache"] = cache  # not a buffer: never saved, never synced
    return cache[1]


def init_linear_(layer: nn.Linear, generator: torch.Generator) -> None:
    """PyTorch's default Linear weight init (Kaiming uniform, a = sqrt(5)) from ``generator``; bias 0."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    nn.init.zeros_(layer.bias)


class Actor(nn.Module):
    """Diagonal Gaussian policy over normalized actions.

    Args:
        obs_dim / action_dim: sizes D and A.
        hidden: hidden layer sizes.
        action_std: initial (and, with ``learn_std`` False, fixed) standard deviation.
        learn_std: make the log-std a trainable vector (MimicKit's CONSTANT std type).
        init_output_scale: half-width of the mean head's uniform weight init.
        generator: source of the initial weights.
        precision: ``fp32`` or ``bf16`` (hidden layers under autocast; resolved, not ``auto``).
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden: Sequence[int], action_std: float, learn_std: bool,
                 init_output_scale: float, generator: torch.Generator, precision: str = "fp32") -> None:
        super().__init__()
        self.precision = precision
        self.body = mlp(obs_dim, hidden)
        self.mean_head = nn.Linear(hidden[-1] if hidden else obs_dim, action_dim)
        for layer in self.body:
            if isinstance(layer, nn.Linear):
                init_linear_(layer, generator)
        nn.init.uniform_(self.mean_head.weight, -init_output_scale, init_output_scale, generator=generator)
        nn.init.zeros_(self.mean_head.bias)
        log_std = torch.full((action_dim,), math.log(action_std))
        if learn_std:
            self.log_std = nn.Parameter(log_std)
        else:  # a buffer: saved with the model, never touched by the optimizer
            self.register_buffer("log_std", log_std)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Action mean (N, A) of normalized observations (N, D)."""
        return self.mean_head(hidden_features(self.body, obs, self.precision))

    def log_prob(self, mean: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(N,) log-density of ``action`` (N, A) under the Gaussian centred on ``mean`` (N, A)."""
        log_std = self.log_std
        z = (action - mean) * torch.exp(-log_std)
        return (-0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def sample(self, mean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Actions (N, A) drawn around ``mean`` with ``generator``."""
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + noise * self.log_std.exp()


class Critic(nn.Module):
    """State-value function V(s) of normalized observations."""

    def __init__(self, obs_dim: int, hidden: Sequence[int], generator: torch.Generator,
                 precision: str = "fp32") -> None:
        super().__init__()
        self.precision = precision
        self.body = mlp(obs_dim, hidden)
        self.head = nn.Linear(hidden[-1] if hidden else obs_dim, 1)
        for layer in [*self.body, self.head]:
            if isinstance(layer, nn.Linear):
                init_linear_(layer, generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Values (N,) of normalized observations (N, D)."""
        return self.head(hidden_features(self.body, obs, self.precision)).squeeze(-1)


def forget_low_precision_weights(module: nn.Module) -> None:
    """Drop the cached low-precision weights of ``module`` and its submodules (after their parameters changed)."""
    for m in module.modules():
        m.__dict__.pop("_low_precision_cache", None)
