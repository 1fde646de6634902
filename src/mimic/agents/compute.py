"""How the networks' arithmetic runs: numeric precision (bf16 autocast or fp32) and torch's thread count.

The PPO learner on a CPU is bound by the MLPs' matrix products (README, "Training speed"). Two
levers, both chosen per run:

- **Precision.** ``bf16`` runs the hidden layers under ``torch.autocast`` with bfloat16 (matrix
  products in bf16 with fp32 accumulation); the output heads, the loss, parameters, optimizer
  state, normalizer and returns stay fp32. The heads are kept in fp32 because the policy's fixed
  std is small (0.05): a mean rounded to bf16 (8 bits of mantissa) would put noise of the order of
  the std's square into every log-probability and so into the PPO ratio. ``auto`` picks bf16 where
  the hardware has native bf16 arithmetic (x86 AVX512-BF16 or AMX, any CUDA GPU with bf16) and fp32
  elsewhere, where emulated bf16 is slower than fp32.
- **Threads.** Env math runs between MuJoCo calls with one torch thread (worker threads would spin
  on MuJoCo's cores); during the PPO update MuJoCo is idle, so the update may use every core this
  process owns (:func:`torch_threads`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Literal

import torch

Precision = Literal["auto", "bf16", "fp32"]


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when this CPU has bf16 dot-product instructions (x86 ``avx512_bf16`` or ``amx_bf16``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device | str) -> Literal["bf16", "fp32"]:
    """The precision ``auto`` stands for on ``device``, or ``precision`` itself when explicit."""
    if precision != "auto":
        return "bf16" if precision == "bf16" else "fp32"
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_process(nproc: int, cores: int | None = None) -> int:
    """Threads for each of ``nproc`` processes sharing ``cores`` cores (at least 1)."""
    return max(1, (cores or available_cores()) // max(1, nproc))


def autocast(precision: str, device_type: str) -> contextlib.AbstractContextManager:
    """An autocast context for resolved ``precision`` (``bf16``) on ``device_type``; a no-op for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def torch_threads(num_threads: int) -> Iterator[None]:
    """Run the block with ``num_threads`` torch intra-op threads (<= 0: unchanged), then restore the count."""
    previous = torch.get_num_threads()
    if num_threads > 0 and num_threads != previous:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
