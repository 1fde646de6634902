"""Numerical guards and failed saves: NaN or Inf never reaches the weights, a diverging run stops with a
clear message, and a full disk while saving is a clear error that leaves the previous checkpoint intact."""

from __future__ import annotations

import errno

import pytest
import torch

from mimic.agents import PPOAgent, PPOConfig, RolloutBuffer, collect, data_parallel, load_checkpoint, save_checkpoint
from mimic.errors import MimicError

torch.set_num_threads(1)
T = 8


def agent_and_rollout(scripted_env) -> tuple[PPOAgent, RolloutBuffer]:
    env = scripted_env(4)
    agent = PPOAgent(env.obs_dim, env.action_dim, PPOConfig(actor_hidden=[16], critic_hidden=[16], steps_per_iter=T,
                                                            critic_batch_size=T, actor_batch_size=T, critic_epochs=2,
                                                            actor_epochs=2, precision="fp32"))
    buf = RolloutBuffer(T, 4, env.obs_dim, env.action_dim)
    collect(env, agent, buf)
    return agent, buf


def test_nan_minibatches_are_skipped_and_counted(scripted_env):
    agent, buf = agent_and_rollout(scripted_env)
    before = [p.clone() for p in [*agent.actor.parameters(), *agent.critic.parameters()]]
    buf.rewards[3, 1] = float("nan")  # every minibatch holds it: one per epoch, 2 critic + 2 actor epochs
    metrics = agent.update(buf)
    assert metrics["skipped_minibatches"] == 4.0
    after = [*agent.actor.parameters(), *agent.critic.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))  # nothing reached the weights
    assert all(torch.isfinite(p).all() for p in after)
    # a clean rollout trains again and resets the run of skips
    collect(scripted_env(4), agent, buf)
    assert agent.update(buf)["skipped_minibatches"] == 0.0


def test_several_in_a_row_stop_training_with_a_clear_message(scripted_env, monkeypatch):
    agent, buf = agent_and_rollout(scripted_env)
    monkeypatch.setattr(data_parallel, "NONFINITE_LIMIT", 3)
    buf.rewards[0, 0] = float("inf")
    with pytest.raises(MimicError, match="training diverged: 3 minibatches in a row had NaN or Inf"):
        agent.update(buf)


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, scripted_env, monkeypatch):
    agent, _ = agent_and_rollout(scripted_env)
    path = save_checkpoint(tmp_path / "latest.pt", agent)
    good = path.read_bytes()
    agent.iteration = 99

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(MimicError, match=r"latest.pt: cannot write the checkpoint \(No space left on device\); "
                                         r"the previous one, if any, is intact"):
        save_checkpoint(path, agent)
    monkeypatch.undo()
    assert path.read_bytes() == good and load_checkpoint(path).iteration == 0
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # no temporary file left
