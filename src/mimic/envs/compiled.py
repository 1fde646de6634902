"""``env.compile``: the env's per-step math under ``torch.compile``, run uncompiled when compiling fails.

On a CPU, torch.compile's backend (Inductor) writes C++ and builds it with the machine's C++ compiler at
run time. A machine without one (``InvalidCxxCompiler``), or an operation the backend cannot handle, would
otherwise stop a run at its first step. Every function compiled here is pure math on the env's tensors, so
calling it uncompiled instead gives the same results to float rounding (``tests/envs/test_compile.py``);
the env then only loses the speed-up, with one warning that says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch._dynamo.exc
import torch._inductor.config


class CompileStatus:
    """Shared by one env's compiled functions: after one failure all of them run uncompiled."""

    def __init__(self) -> None:
        self.failed = False


class CompiledOrEager:
    """``fn`` compiled at its first call, and ``fn`` itself from the first compilation failure of any function
    sharing ``status`` on. Compiled for fixed shapes (``torch.compile(fn, dynamic=False)``), or with ``dynamic``
    for any size of the arguments (the resets of a varying number of envs): one compilation, slower to make."""

    def __init__(self, fn: Callable[..., Any], status: CompileStatus, dynamic: bool = False) -> None:
        self.fn = fn
        self.status = status
        self.compiled = torch.compile(fn, dynamic=dynamic)
        self.dynamic = dynamic
        # Compile in this process (5 us per call to set): Inductor's pool of compile workers adds processes
        # for no gain on a few cores, and under torch.distributed leaked-semaphore warnings at exit
        # (which setting it around each function's first call only did not stop: every call sets it).
        self.one_compile_thread = torch._inductor.config.patch(compile_threads=1)

    def __call__(self, *args: Any) -> Any:
        if self.status.failed:
            return self.fn(*args)
        if self.dynamic:  # one graph for every size, 1 included (torch specializes sizes 0 and 1 otherwise)
            for arg in args:
                for t in (arg, getattr(arg, "_base", None)):  # a view's base is guarded on too
                    if isinstance(t, torch.Tensor) and t.dim() > 0:
                        torch._dynamo.decorators.mark_unbacked(t, 0)
        try:
            with self.one_compile_thread:
                return self.compiled(*args)
        except torch._dynamo.exc.TorchDynamoException as exc:
            self.status.failed = True
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.warn(f"env.compile: torch.compile failed ({reason}); the env's math runs uncompiled "
                          f"(same results; on a CPU training runs up to about 10 % slower). "
                          f"Set env.compile=false to skip the attempt.",
                          RuntimeWarning, stacklevel=2)
            return self.fn(*args)
