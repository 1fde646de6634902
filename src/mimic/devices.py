"""Small helpers for tensors that move between the CPU and an accelerator."""

from __future__ import annotations

import torch


def generator_device(generator: torch.Generator | None) -> torch.device:
    """The device ``generator`` draws on (random draws must be made there); the CPU for None."""
    return generator.device if generator is not None else torch.device("cpu")


def upload(x: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``x`` copied from the CPU to ``device`` without waiting for the device's queued work.

    A plain ``x.to("cuda")`` synchronizes the stream: PyTorch waits for every kernel queued before it, so
    the GPU then idles while Python queues the next ones. With ``non_blocking`` the driver stages the
    (pageable) memory and returns at once, the copy running in stream order, so ``x`` may be freed or
    changed afterwards. Only for host-to-device copies: a device-to-host copy made this way may be read
    before it lands. On the CPU it is ``x`` itself.
    """
    return x.to(device, non_blocking=True)
