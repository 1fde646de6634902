"""Data-parallel training over ``torch.distributed``: the process group and the few collectives PPO needs.

One :class:`DistContext` per process says which rank it is and does the reductions; with a single
process (``world_size == 1``) every method is a no-op, so the agent and trainer run the same code
either way. Backend: gloo when the networks are on the CPU, NCCL when they are on CUDA.

A process group comes from :func:`init_process_group_from_env`, which reads the variables that
``torchrun`` (or Mimic's own launcher, :mod:`mimic.training.launch`) sets: ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from mimic.errors import MimicError

ENV_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class RankError(MimicError):
    """Another rank died, timed out or disagrees: this rank cannot go on."""


def under_launcher() -> bool:
    """True when this process was started by ``torchrun`` or Mimic's launcher (the env variables are set)."""
    return all(v in os.environ for v in ENV_VARS)


@dataclass
class DistContext:
    """This process's place in the group and the collectives the agent uses.

    Attributes:
        rank: this process's rank, 0 .. world_size - 1 (rank 0 writes logs and checkpoints).
        world_size: number of processes.
        local_rank: rank on this machine (picks the GPU under ``cuda``).
        device: the device of the networks (``cpu``, ``cuda:K``).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------------------------ reductions
    def _comm(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` on the device the backend reduces on (NCCL: CUDA; gloo: CPU)."""
        want = self.device if self.device.type == "cuda" else torch.device("cpu")
        return tensor if tensor.device == want else tensor.to(want)

    def _run(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RankError:
            raise
        except Exception as exc:  # gloo/NCCL raise RuntimeError subclasses when a peer is gone
            raise RankError(f"rank {self.rank}: {what} failed; another rank probably died or timed out "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    def _all_reduce(self, tensor: torch.Tensor, op: dist.ReduceOp) -> torch.Tensor:
        if not self.enabled:
            return tensor
        buf = self._comm(tensor)
        self._run("all_reduce", dist.all_reduce, buf, op=op)
        if buf is not tensor:
            tensor.copy_(buf)
        return tensor

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over ranks, in place; returns it."""
        return self._all_reduce(tensor, dist.ReduceOp.SUM)

    def mean_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Average ``tensor`` over ranks, in place; returns it."""
        if self.enabled:
            self.sum_(tensor).div_(self.world_size)
        return tensor

    def max_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Element-wise maximum over ranks, in place; returns it."""
        return self._all_reduce(tensor, dist.ReduceOp.MAX)

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is True on any rank (e.g. "stop now")."""
        if not self.enabled:
            return flag
        return bool(self.max_(torch.tensor([float(flag)]))[0] > 0)

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers into ``module`` on every rank."""
        if not self.enabled:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            buf = self._comm(t.data)
            self._run("broadcast", dist.broadcast, buf, src=0)
            if buf is not t.data:
                t.data.copy_(buf)

    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """Average the gradients of ``params`` over ranks (one flat all-reduce)."""
        if not self.enabled:
            return
        params = [p for p in params if p.grad is not None]
        if not params:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self.mean_(flat)
        offset = 0
        for p in params:
            n = p.grad.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n

    def gather_objects(self, obj) -> list:
        """``obj`` of every rank, in rank order (picklable objects; small ones only)."""
        if not self.enabled:
            return [obj]
        out: list = [None] * self.world_size
        self._run("all_gather_object", dist.all_gather_object, out, obj)
        return out

    def check_in_sync(self, modules: Iterable[nn.Module], what: str = "parameters") -> None:
        """Raise :class:`RankError` on every rank when the ranks' ``modules`` differ.

        Cheap: one float64 sum and one index-weighted sum per parameter and buffer (normalizer
        statistics included), compared with rank 0's.
        Data-parallel updates keep the ranks bit-identical, so any difference means divergence.
        """
        if not self.enabled:
            return
        sums = []
        for m in modules:
            for t in [*m.parameters(), *m.buffers()]:
                x = t.detach().double().reshape(-1)
                w = torch.arange(1, x.numel() + 1, dtype=torch.float64, device=x.device) / x.numel()
                sums.append(torch.stack((x.sum(), (x * w).sum())))
        mine = torch.cat(sums)
        ref = self._comm(mine.clone())
        self._run("broadcast", dist.broadcast, ref, src=0)
        bad = torch.tensor([float(not torch.allclose(mine, ref.to(mine.device), rtol=1e-9, atol=1e-12))])
        self.max_(bad)
        if bool(bad[0] > 0):
            raise RankError(f"rank {self.rank}: the ranks' {what} have diverged (checksums differ from rank 0's); "
                            f"stopping rather than training {self.world_size} different models")


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA networks, ``gloo`` otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def check_device(device: str) -> torch.device:
    """``device`` parsed; a clear error when it names CUDA on a machine without it."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise MimicError(f"--device {device}: not a device (use cpu, cuda or cuda:K)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MimicError(f"--device {device} (run.device, from --device or the config): CUDA is not available on "
                         f"this machine (torch {torch.__version__}); use --device cpu")
    return dev


def rank_device(device: str, local_rank: int) -> torch.device:
    """The device of this rank: ``cuda`` means ``cuda:LOCAL_RANK``; ``cuda:K`` and ``cpu`` are kept."""
    dev = check_device(device)
    if dev.type == "cuda":
        if dev.index is None:
            dev = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    return dev


def init_process_group_from_env(device: str = "cpu", timeout_s: float = 120.0) -> DistContext:
    """Join the process group described by the launcher's env variables; returns this rank's context.

    Without those variables, returns the single-process context (no process group).
    """
    if not under_launcher():
        return DistContext(device=rank_device(device, 0))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    dev = rank_device(device, local_rank)
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend_for(dev), rank=rank, world_size=world,
                                    timeout=datetime.timedelta(seconds=timeout_s))
        except Exception as exc:
            raise RankError(f"rank {rank}: could not join the process group at "
                            f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} within {timeout_s:.0f} s "
                            f"({type(exc).__name__}: {exc})") from None
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=dev)


def shutdown() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
