"""Start N worker processes on this machine (``mimic train --nproc N``), or join ``torchrun``'s group.

:func:`run_workers` calls ``fn(ctx, *args)`` in every rank with its :class:`~mimic.distributed.DistContext`:

- under ``torchrun`` (its env variables set), in this process, which is one rank of the group;
- with ``nproc == 1``, in this process, with no process group;
- otherwise in ``nproc`` spawned processes that rendezvous on a free loopback port. This process
  only watches them: when one exits with an error, the others get ``grace_s`` seconds to notice
  (their next collective fails or times out) and are then terminated, and a single
  :class:`~mimic.errors.MimicError` names the rank that failed first.

Threading rule (:func:`threads_per_process`): every rank acts and runs env math with one torch
thread (small tensors between MuJoCo calls), steps MuJoCo with ``cores // nproc`` threads (at
least 1) and runs the PPO update with as many torch threads (MuJoCo is idle then), so N processes
on C cores never run more busy threads than cores.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable

from mimic import distributed
from mimic.errors import MimicError

EXIT_RANK_ERROR = 3  # a worker that failed with a MimicError (its message already printed)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(fn: Callable, args: tuple = (), nproc: int = 1, device: str = "cpu", timeout_s: float = 120.0,
                grace_s: float | None = None):
    """Run ``fn(ctx, *args)`` on every rank; returns rank 0's result when it runs in this process.

    Args:
        fn: a module-level function (it is pickled by reference for spawned workers).
        args: picklable arguments.
        nproc: processes to spawn on this machine (ignored under ``torchrun``).
        device: networks' device (``cpu``, ``cuda``, ``cuda:K``); picks the backend.
        timeout_s: how long a collective may wait for the other ranks before failing.
        grace_s: after a rank fails, how long the others may take to exit on their own
            (default ``timeout_s`` + 10).
    """
    if distributed.under_launcher():
        ctx = distributed.init_process_group_from_env(device, timeout_s)
        try:
            return fn(ctx, *args)
        finally:
            distributed.shutdown()
    distributed.check_device(device)  # before starting any process
    if nproc <= 1:
        return fn(distributed.init_process_group_from_env(device, timeout_s), *args)
    return _spawn(fn, args, nproc, device, timeout_s, timeout_s + 10.0 if grace_s is None else grace_s)


def _spawn(fn: Callable, args: tuple, nproc: int, device: str, timeout_s: float, grace_s: float) -> None:
    ctx = mp.get_context("spawn")
    port = free_port()
    procs = []
    for rank in range(nproc):
        env = {"RANK": str(rank), "WORLD_SIZE": str(nproc), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        p = ctx.Process(target=_worker, args=(fn, args, env, device, timeout_s), name=f"mimic-rank{rank}", daemon=False)
        p.start()
        procs.append(p)
    first_failure: int | None = None  # rank whose failure was seen first
    stopped: set[int] = set()  # ranks this launcher terminated after the grace period
    previous_term = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM reaches this process only (a scheduler, `timeout`): pass it on, so that the ranks stop
        # after the iteration and save together, then wait for them as for Ctrl-C.
        def forward(signum, frame) -> None:
            for p in procs:
                if p.exitcode is None:
                    os.kill(p.pid, signal.SIGTERM)
            raise KeyboardInterrupt

        previous_term = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            codes = [p.exitcode for p in procs]
            if all(c is not None for c in codes):
                break
            bad = [r for r, c in enumerate(codes) if c not in (None, 0)]
            if bad and first_failure is None:
                first_failure = bad[0]
                deadline = time.monotonic() + grace_s
            if first_failure is not None and time.monotonic() > deadline:
                for r, p in enumerate(procs):
                    if p.exitcode is None:
                        stopped.add(r)
                        p.terminate()
                for p in procs:
                    p.join(5.0)
                    if p.exitcode is None:
                        p.kill()
                break
            time.sleep(0.05)
    except KeyboardInterrupt:  # the workers got the same SIGINT (or a forwarded SIGTERM): they stop together
        for p in procs:        # and rank 0 saves
            p.join(grace_s)
        raise
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        for p in procs:
            if p.exitcode is None:
                p.kill()
            p.join()
    codes = [p.exitcode for p in procs]
    failed = [r for r, c in enumerate(codes) if c != 0 and r not in stopped]
    if not failed:
        return
    # The cause, not its echoes: a rank that died (signal, crash) before one that only saw a collective
    # fail (EXIT_RANK_ERROR); among equals, the one seen first.
    failed.sort(key=lambda r: (codes[r] == EXIT_RANK_ERROR, r != first_failure, r))
    rank, code = failed[0], codes[failed[0]]
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    others = ", ".join(f"rank {r}: {'terminated by the launcher' if r in stopped else _describe(c)}"
                       for r, c in enumerate(codes) if r != rank)
    raise MimicError(f"training stopped: rank {rank} {how} ({others})")


def _describe(code: int | None) -> str:
    if code == 0:
        return "finished"
    if code == EXIT_RANK_ERROR:
        return "stopped with an error"
    if code is None:
        return "still running"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _worker(fn: Callable, args: tuple, env: dict[str, str], device: str, timeout_s: float) -> None:
    """Body of a spawned rank: join the group, run ``fn``, turn errors into one line and an exit code."""
    os.environ.update(env)
    rank = env["RANK"]
    try:
        ctx = distributed.init_process_group_from_env(device, timeout_s)
        fn(ctx, *args)
    except MimicError as exc:
        print(f"mimic: error: {exc}" if str(exc).startswith("rank ") else f"mimic: error: rank {rank}: {exc}",
              file=sys.stderr, flush=True)
        os._exit(EXIT_RANK_ERROR)
    except KeyboardInterrupt:
        os._exit(130)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    try:
        distributed.shutdown()
    except Exception:  # the group may already be broken; the work is done
        pass
    # The work is done and written. Leave without the interpreter's teardown: destroying gloo's threads
    # after the other rank has gone can abort ("terminate called without an active exception", SIGABRT).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
