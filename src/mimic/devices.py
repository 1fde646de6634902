"""Small helpers for tensors that move between the CPU and an accelerator."""

from __future__ import annotations

import torch


def generator_device(generator: torch.Generator | None) -> torch.device:
    """The device ``generator`` draws on (random draws must be made there); the CPU for None."""
    return generator.device if generator is not None else torch.device("cpu")


def upload(x: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``x`` on ``device``; from the CPU without waiting for the device's queued work.

    A plain ``x.to("cuda")`` synchronizes the stream: PyTorch waits for every kernel queued before it, so
    the GPU then idles while Python queues the next ones. With ``non_blocking`` the driver stages the
    (pageable) memory and returns at once, the copy running in stream order, so ``x`` may be freed or
    changed afterwards. A copy off a GPU stays blocking (one made without waiting may be read before it
    lands): a draw from an agent's CUDA generator for a motion library on the CPU (AMP's expert samples)
    comes down whole. On the CPU it is ``x`` itself.
    """
    return x.to(device, non_blocking=x.device.type == "cpu")
