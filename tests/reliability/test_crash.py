"""Crash safety: ``mimic train`` killed with SIGKILL at random moments (some during a checkpoint write) always
resumes from an intact checkpoint, its counters continue, and it loses at most one checkpoint interval.

Slow (about two minutes): ``python -m pytest -m slow tests/reliability/test_crash.py -s``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mimic.agents.checkpoint import read_checkpoint, save_checkpoint
from mimic.cli import main
from mimic.training.logger import read_csv

NUM_ENVS, STEPS, CHECKPOINT_EVERY, TRIALS = 4, 8, 1, 20
INTERVAL = NUM_ENVS * STEPS * CHECKPOINT_EVERY  # samples between two checkpoints
# The default 1024-512 networks and a checkpoint every iteration: a write (about 18 MB, synced) takes a good
# share of each iteration, so some kills land inside one.
SETTINGS = ["--num-envs", str(NUM_ENVS), "--no-progress", f"agent.steps_per_iter={STEPS}",
            "run.test_every=100000",
            f"run.checkpoint_every={CHECKPOINT_EVERY}"]


def logged(out: Path) -> list[dict]:
    return read_csv(out / "log.csv")[1] if (out / "log.csv").is_file() else []


def start(out: Path, resume: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mimic.cli", "train", *([] if resume else ["walk"]), "--out", str(out),
           *(["--resume"] if resume else []), "--max-samples", "1000000000", *([] if resume else SETTINGS)]
    if resume:
        cmd.append("--no-progress")
    return subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"training stopped on its own: {proc.communicate()[0]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("training made no progress")
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path):
    rng = random.Random(7)
    out = tmp_path / "run"
    worst, in_write = 0, 0
    stale: set[Path] = set()
    for trial in range(TRIALS):
        rows_before = len(logged(out))
        proc = start(out, resume=trial > 0)
        if trial == 0:
            wait_for(lambda: (out / "latest.pt").is_file(), proc)
        else:
            ckpt = read_checkpoint(out / "latest.pt")
            wait_for(lambda n=rows_before: len(logged(out)) > n, proc)
            first_new = logged(out)[rows_before]
            # the counters continue from the checkpoint, not from what was logged after it
            assert first_new["iteration"] == ckpt["agent"]["iteration"] + 1, (trial, first_new)
            assert not any(p.exists() for p in stale), "the resumed run left the killed writer's temporary file"
        time.sleep(rng.uniform(0.0, 1.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stale = set(out.glob(".*.tmp"))
        in_write += bool(stale)  # killed while writing a checkpoint
        data = read_checkpoint(out / "latest.pt")  # never corrupt
        lost = logged(out)[-1]["samples"] - data["agent"]["samples"]
        assert 0 <= lost <= INTERVAL, (trial, lost)
        worst = max(worst, lost)
    final = read_checkpoint(out / "latest.pt")["agent"]["samples"]
    assert main(["train", "--out", str(out), "--resume", "--max-samples", str(final + INTERVAL), "--no-progress"]) == 0
    assert read_checkpoint(out / "latest.pt")["agent"]["samples"] >= final + INTERVAL
    print(f"\ncrash trials: {TRIALS} SIGKILLs ({in_write} during a checkpoint write), every resume succeeded; "
          f"worst loss {worst:.0f} samples (checkpoint interval {INTERVAL})")


def test_a_write_interrupted_inside_the_process_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C (or any exception) in the middle of torch.save: the temporary file goes, the old file stays."""
    from mimic.agents import PPOAgent, PPOConfig
    from mimic.agents import checkpoint as ckpt_module

    agent = PPOAgent(3, 2, PPOConfig(actor_hidden=[8], critic_hidden=[8]))
    path = save_checkpoint(tmp_path / "latest.pt", agent)
    good = path.read_bytes()
    real_save = torch.save

    def interrupted(data, f):
        real_save(data, f)
        f.truncate(100)  # half written
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt_module.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, agent)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["latest.pt"]
