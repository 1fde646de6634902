"""An outside library's PPO (Stable-Baselines3) trains on mimic/Imitate-v0 (slow; needs SB3)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_sb3_ppo_runs_a_few_thousand_steps():
    pytest.importorskip("stable_baselines3")
    path = Path(__file__).resolve().parents[2] / "examples" / "sb3_ppo.py"
    spec = importlib.util.spec_from_file_location("sb3_ppo", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sb3_ppo"] = module
    spec.loader.exec_module(module)
    result = module.train("walk", timesteps=4096, num_envs=4)
    assert 0.0 <= result["reward_per_step_after"] <= 1.0
    assert result["reward_per_step_before"] >= 0.0
