"""The agents' optimizers: SGD with momentum or AdamW, fused where the device has it, and loading a saved
state without switching the implementation."""

from __future__ import annotations

import torch
from torch import nn


def make_optimizer(kind: str, params: list[nn.Parameter], lr: float, momentum: float,
                   weight_decay: float, fused: bool = True) -> torch.optim.Optimizer:
    """SGD with momentum or AdamW; with ``fused``, torch's fused form (one kernel over all parameters) where
    the parameters' device has one.

    On a CPU torch's default steps each parameter in turn: 2.3 ms per AdamW step of the 1024-512 actor
    against 0.22 ms fused, about a tenth of the PPO update (``benchmarks/learner.py``); the results agree
    to float rounding (1.5e-8 after 50 steps)."""
    fused = True if fused and _fused_supported(params) else None  # None: torch's own per-parameter choice
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=fused)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused)


def _fused_supported(params: list[nn.Parameter]) -> bool:
    """True when every parameter is a floating-point tensor on a device with fused optimizers (CPU, CUDA)."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """``optimizer.load_state_dict(state)``, keeping this optimizer's implementation and settings.

    torch takes every group setting from the saved state: ``fused`` (so a checkpoint written before the
    fused optimizers, or on another device, would switch them back), and the rate, weight decay and
    momentum (so ``mimic train --resume ... agent.amp.disc_lr=X`` would silently keep the old rate). Only the
    moments come from ``state``; the settings stay the ones this optimizer was built with, i.e. the
    configuration's (a rate the agent adapts as it trains is its own to restore)."""
    keep = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, settings in zip(optimizer.param_groups, keep, strict=True):
        group.update(settings)
