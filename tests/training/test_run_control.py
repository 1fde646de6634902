"""How a run stops, resumes and reports: SIGTERM saves like Ctrl-C, resume keeps the run's sizes, the
time-bounded progress bar, the closing line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import torch

from mimic.agents.checkpoint import read_checkpoint
from mimic.cli import main
from mimic.training.logger import read_csv

TINY = ["--no-progress", "run.test_every=1000", "run.checkpoint_every=1000", "agent.steps_per_iter=8",
        "agent.actor_hidden=[32]", "agent.critic_hidden=[32]"]


def _train_until_logged(cmd: list[str], log, rows: int = 3) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (log.is_file() and len(log.read_text().splitlines()) > rows):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"training did not start: {proc.communicate()[0]}")
        time.sleep(0.2)
    return proc


def _sigterm_run(tmp_path, nproc: int) -> tuple[int, str, dict, list]:
    """Start a long run, SIGTERM the command's own process only (as `timeout` does), wait for it."""
    out = tmp_path / f"run{nproc}"
    cmd = [sys.executable, "-m", "mimic.cli", "train", "walk", "--out", str(out), "--nproc", str(nproc),
           "--num-envs", "4", "--max-samples", "100000000", *TINY]
    proc = _train_until_logged(cmd, out / "log.csv")
    try:
        os.kill(proc.pid, signal.SIGTERM)
        text, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, text, read_checkpoint(out / "latest.pt"), read_csv(out / "log.csv")[1]


def test_sigterm_saves_latest_in_one_process(tmp_path):
    code, text, data, rows = _sigterm_run(tmp_path, 1)
    assert code == 0, text  # as Ctrl-C in one process: saved, then a normal exit
    assert "terminated (SIGTERM): saving" in text
    # checkpoint_every=1000: without the handler nothing would have been saved
    assert data["agent"]["iteration"] >= rows[-1]["iteration"] >= 3


def test_sigterm_to_the_launcher_stops_every_rank_and_saves(tmp_path):
    code, text, data, rows = _sigterm_run(tmp_path, 2)
    assert code == 130, text  # as Ctrl-C with --nproc
    assert "terminated (SIGTERM): stopping every rank after this iteration" in text
    assert data["agent"]["iteration"] == rows[-1]["iteration"] >= 3
    assert len(data["extra"]["rank_rng"]) == 2


def test_resume_keeps_the_runs_nproc_and_says_when_sizes_change(tmp_path, capsys):
    out = tmp_path / "run"
    small = ["--num-envs", "4", *TINY, "run.checkpoint_every=1"]
    assert main(["train", "walk", "--out", str(out), "--nproc", "2", "--max-samples", "64", *small]) == 0
    assert main(["train", "--out", str(out), "--resume", "--max-samples", "128", "--no-progress"]) == 0
    assert "instead of the run's" not in capsys.readouterr().out
    assert read_checkpoint(out / "latest.pt")["extra"]["world_size"] == 2  # kept without --nproc
    assert main(["train", "--out", str(out), "--resume", "--nproc", "1", "--num-envs", "2", "--max-samples", "192",
                 "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "--nproc 1 instead of the run's 2" in said and "--num-envs 2 instead of the run's 4" in said
    rows = read_csv(out / "log.csv")[1]
    assert rows[-1]["samples"] == 192


def test_time_bounded_progress_bar_reaches_100_percent_with_a_remaining_time(tmp_path, capsys):
    from mimic.training.config import load_train_config
    from mimic.training.runner import Trainer

    cfg = load_train_config(None, ["run.num_envs=4", "agent.steps_per_iter=4", "agent.actor_hidden=[16]",
                                   "agent.critic_hidden=[16]", "run.test_every=2", "run.test_episodes=1",
                                   "run.test_envs=1", "env.episode_seconds=0.5"])
    cfg.run.max_samples, cfg.run.max_minutes = 0, 0.04  # 2.4 s
    trainer = Trainer(cfg, tmp_path / "run", progress=True)
    last = trainer.train()
    err = capsys.readouterr().err
    assert last["wall_time_min"] > 0.03  # the last row is logged just before the budget check
    assert "100%|" in err and re.search(r"\| \d\d:\d\d<\d\d:\d\d", err)  # elapsed < remaining
    assert "sps=" in err and "test=" in err and "fall=" in err
    torch.set_num_threads(1)


def test_closing_line_is_never_blank(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "walk", "--out", str(out), "--num-envs", "2", "--max-samples", "16", *TINY]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("trained ")]
    assert len(lines) == 1 and lines[0].startswith("trained 16 samples in ")
    assert lines[0].endswith(f"min; no test round yet (one every run.test_every=1000 iterations); latest.pt in {out}")
