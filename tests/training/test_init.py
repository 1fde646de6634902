"""`mimic train --init POLICY`: a new run starts from a trained policy's actor and normalizer, and
``agent.actor_warmup_iters`` keeps that actor still while the fresh critic learns."""

from __future__ import annotations

import pytest
import torch

from mimic.agents.checkpoint import export_policy, read_checkpoint
from mimic.cli import main

SMALL = ["--num-envs", "4", "--no-progress", "run.test_every=1000", "run.checkpoint_every=1",
         "agent.steps_per_iter=8", "agent.actor_hidden=[32]", "agent.critic_hidden=[32]"]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A trained run's policy-only file (what `mimic` ships)."""
    tmp = tmp_path_factory.mktemp("src")
    assert main(["train", "walk", "--out", str(tmp / "run"), "--max-samples", "64", *SMALL]) == 0
    return export_policy(tmp / "run" / "latest.pt", tmp / "policy.pt")


def test_init_takes_the_actor_and_normalizer_and_warmup_keeps_the_actor(tmp_path, source, capsys):
    src = read_checkpoint(source)["agent"]
    out = tmp_path / "run"
    assert main(["train", "walk", "--out", str(out), "--init", str(source), "--max-samples", "64",
                 "agent.actor_warmup_iters=2", *SMALL]) == 0  # 2 iterations of 4 x 8 samples
    assert "actor_warmup_iters=0" not in capsys.readouterr().out
    state = read_checkpoint(out / "latest.pt")["agent"]
    assert state["iteration"] == 2 and state["samples"] == 64  # counters start afresh
    assert _same(state["actor"], src["actor"])  # warm-up: the critic learned, the actor did not move
    assert state["obs_norm"]["count"] == src["obs_norm"]["count"] + 64  # its statistics, carried on

    assert main(["train", "--out", str(out), "--resume", "--max-samples", "96", "--no-progress"]) == 0
    after = read_checkpoint(out / "latest.pt")["agent"]
    assert not _same(after["actor"], src["actor"])  # past the warm-up it learns; resume did not re-init


def test_init_refuses_a_policy_of_another_shape_and_resume(tmp_path, source, capsys):
    assert main(["train", "walk", "--out", str(tmp_path / "a"), "--init", str(source), "--max-samples", "32",
                 *SMALL, "env.obs=mimickit"]) == 2
    assert "run.init: the policy is for {'obs_dim': 197" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "b"), "--resume", "--init", str(source)]) == 2
    assert "--init starts a new run" in capsys.readouterr().err


def test_init_explores_with_this_runs_fixed_action_std(tmp_path, source, capsys):
    src = read_checkpoint(source)["agent"]["actor"]
    out = tmp_path / "run"
    assert main(["train", "walk", "--out", str(out), "--init", str(source), "--max-samples", "32",
                 "agent.action_std=0.03", *SMALL]) == 0
    assert "--init with agent.actor_warmup_iters=0" in capsys.readouterr().out  # no warm-up: a one-line note
    actor = read_checkpoint(out / "latest.pt")["agent"]["actor"]
    assert torch.allclose(src["log_std"].exp(), torch.full_like(src["log_std"], 0.05))
    assert torch.allclose(actor["log_std"].exp(), torch.full_like(actor["log_std"], 0.03))


def test_init_adds_the_clock_input_with_zero_weights(tmp_path, source):
    from mimic.agents.checkpoint import load_checkpoint
    from mimic.envs.config import EnvConfig
    from mimic.envs.tracking import ImitationEnv

    out = tmp_path / "run"
    assert main(["train", "walk", "--out", str(out), "--init", str(source), "--max-samples", "32",
                 "agent.actor_warmup_iters=1", "env.clock_obs_seconds=0.5", "agent.normalizer_samples=1", *SMALL]) == 0
    # (a frozen normalizer: the old statistics stay as they were)
    old, new = load_checkpoint(source), load_checkpoint(out / "latest.pt")
    assert new.obs_dim == old.obs_dim + 1
    env = ImitationEnv(EnvConfig(clips=["walk"], clock_obs_seconds=0.5), num_envs=3, seed=1)
    obs, clocks = env.reset(), set()
    for _ in range(20):  # the clock from 0 to run out: the widened policy acts as the old one throughout
        assert torch.allclose(new.policy()(obs), old.policy()(obs[:, :-1]), atol=1e-6)
        clocks |= set(obs[:, -1].tolist())
        obs, *_ = env.step(torch.zeros(3, env.action_dim))
    assert {0.0, 1.0} <= clocks
    assert new.obs_norm.mean[-1] == 1.0 and new.obs_norm.std[-1] == 0.25  # reset: -4, run out: 0
