"""``scripts/ship_policy.py``: a policy-only copy with changed run settings, and none when they do not load."""

import subprocess
import sys
from pathlib import Path

from mimic.agents.checkpoint import read_checkpoint
from mimic.policies import stored_train_config

SCRIPT = Path(__file__).parents[1] / "scripts" / "ship_policy.py"


def ship(tmp_path: Path, *sets: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "amp_steer", "mine", "--into", str(tmp_path), "--set", *sets],
                          capture_output=True, text=True, timeout=120)


def test_ship_changes_env_and_agent_settings(tmp_path):
    done = ship(tmp_path, "env.steering.reverse_prob=0.5", "env.start_times=failed_starts", "agent.mirror_weight=3")
    assert done.returncode == 0, done.stderr
    cfg = stored_train_config(tmp_path / "mine.pt")
    assert cfg.env.steering.reverse_prob == 0.5 and cfg.env.steering.speed_max == 3.0  # the rest of the section kept
    assert cfg.env.start_times == "failed_starts" and cfg.agent.mirror_weight == 3
    assert read_checkpoint(tmp_path / "mine.pt")["extra"]["policy_only"]


def test_ship_writes_nothing_when_the_changed_settings_do_not_load(tmp_path):
    done = ship(tmp_path, "agent.teacher_weight=1")  # a teacher weight without a teacher
    assert done.returncode == 2 and "go together" in done.stderr
    assert list(tmp_path.iterdir()) == []
    done = ship(tmp_path, "run.seed=3")
    assert done.returncode == 2 and "expected env.KEY=VALUE or agent.KEY=VALUE" in done.stderr
