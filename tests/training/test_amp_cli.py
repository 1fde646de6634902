"""AMP from the command line: a steering run trains, evaluates with the task's measures, and plays with a
scripted target sequence."""

from __future__ import annotations

import json

from mimic.agents.checkpoint import export_policy
from mimic.cli import main
from mimic.training.logger import read_csv

TINY = ["--num-envs", "4", "--max-samples", "128", "--no-progress", "agent.steps_per_iter=16",
        "agent.actor_hidden=[32]", "agent.critic_hidden=[32]", "agent.amp.disc_hidden=[32]", "run.test_every=2",
        "run.test_episodes=2"]


def test_amp_steering_trains_evaluates_and_plays(tmp_path, capsys):
    run = tmp_path / "steer"
    assert main(["train", "--config", "amp_steer", "--out", str(run), *TINY]) == 0
    rows = read_csv(run / "log.csv")[1]
    for key in ("amp/acc_expert", "amp/acc_agent", "amp/style_reward", "amp/task_reward", "amp/grad_penalty",
                "charts/test_heading_error_deg", "amp/test_agent_acc", "amp/test_agent_logit"):
        assert key in rows[-1], key
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"fall_rate", "mean_speed_mps", "heading_error_deg", "speed_error_mps", "disc_agent_acc"} <= set(result)
    # a shipped (policy-only) file holds no discriminator: no score from an untrained one
    export_policy(run / "latest.pt", tmp_path / "shipped.pt")
    assert main(["eval", str(tmp_path / "shipped.pt"), "--episodes", "2", "--json"]) == 0
    assert "disc_agent_acc" not in json.loads(capsys.readouterr().out)
    assert main(["play", str(run), "--out", str(tmp_path / "p.mp4"), "--seconds", "1", "--targets",
                 "0:0:1,0.5:90:1.5"]) == 0
    assert (tmp_path / "p.mp4").stat().st_size > 1000
    assert main(["play", str(run), "--targets", "0:0"]) == 2
    assert "--targets: '0:0' is not TIME:DEGREES:SPEED" in capsys.readouterr().err
