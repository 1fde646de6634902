"""Checkpoints: a saved and reloaded agent acts, counts and learns exactly as the original."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mimic.agents import PPOAgent, PPOConfig, RolloutBuffer, collect, load_checkpoint, save_checkpoint
from mimic.errors import MimicError

torch.set_num_threads(1)
CONFIG = PPOConfig(actor_hidden=[32, 32], critic_hidden=[16], steps_per_iter=8, actor_optimizer="adam",
                   std_type="learned", seed=3)


def trained(env) -> tuple[PPOAgent, RolloutBuffer]:
    agent = PPOAgent(env.obs_dim, env.action_dim, CONFIG)
    buf = RolloutBuffer(CONFIG.steps_per_iter, env.num_envs, env.obs_dim, env.action_dim)
    for _ in range(2):
        collect(env, agent, buf)
        agent.update(buf)
    return agent, buf


def test_save_load_round_trip(tmp_path: Path, scripted_env):
    env = scripted_env(4)
    agent, buf = trained(env)
    path = save_checkpoint(tmp_path / "run" / "model.pt", agent, env=env, extra={"note": "hi"})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left behind

    env_state = env.generator.get_state()
    restored_env = scripted_env(4, seed=99)
    restored = load_checkpoint(path, env=restored_env)
    assert torch.equal(restored_env.generator.get_state(), env_state)
    assert restored.config == agent.config
    assert (restored.iteration, restored.samples) == (agent.iteration, agent.samples) == (2, 64)
    for name in ("count", "mean", "var"):
        assert torch.equal(getattr(restored.obs_norm, name), getattr(agent.obs_norm, name))
    obs = torch.randn(16, env.obs_dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(restored.act(obs, deterministic=True).action, agent.act(obs, deterministic=True).action)

    # Everything that shapes the next update (optimizer moments, generator, normalizer) came back:
    # one more update from the same rollout gives bit-identical weights.
    buf2 = RolloutBuffer(CONFIG.steps_per_iter, env.num_envs, env.obs_dim, env.action_dim)
    for x in (buf, buf2):
        x.next_obs = None
    collect(env, agent, buf)
    collect(restored_env, restored, buf2)
    assert torch.equal(buf.obs, buf2.obs) and torch.equal(buf.actions, buf2.actions)
    agent.update(buf)
    restored.update(buf2)
    for a, b in zip(agent.actor.parameters(), restored.actor.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(agent.critic.parameters(), restored.critic.parameters(), strict=True):
        assert torch.equal(a, b)


def test_load_into_an_existing_agent(tmp_path: Path, scripted_env):
    env = scripted_env(4)
    agent, _ = trained(env)
    save_checkpoint(tmp_path / "a.pt", agent)
    other = PPOAgent(env.obs_dim, env.action_dim, CONFIG)
    assert load_checkpoint(tmp_path / "a.pt", agent=other) is other
    assert other.iteration == 2
    with pytest.raises(MimicError, match="obs_dim"):
        load_checkpoint(tmp_path / "a.pt", agent=PPOAgent(5, 2, CONFIG))
    with pytest.raises(MimicError, match="does not fit"):
        load_checkpoint(tmp_path / "a.pt", agent=PPOAgent(env.obs_dim, env.action_dim, PPOConfig(actor_hidden=[8])))


def test_missing_and_corrupt_checkpoints_raise_mimic_errors(tmp_path: Path, scripted_env):
    with pytest.raises(MimicError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(MimicError, match="garbage.pt: not a readable checkpoint"):
        load_checkpoint(garbage)
    env = scripted_env(2)
    good = save_checkpoint(tmp_path / "good.pt", PPOAgent(env.obs_dim, env.action_dim, CONFIG))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MimicError, match="truncated.pt: not a readable checkpoint"):
        load_checkpoint(truncated)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(MimicError, match="not a Mimic PPO checkpoint"):
        load_checkpoint(other)


def test_exported_policy_acts_like_the_checkpoint_and_is_smaller(tmp_path: Path, scripted_env):
    from mimic.agents.checkpoint import export_policy, read_checkpoint

    env = scripted_env(4)
    agent, _ = trained(env)
    full = save_checkpoint(tmp_path / "latest.pt", agent, env=env, extra={"train_config": {"run": {}}})
    small = export_policy(full, tmp_path / "policy.pt")
    assert small.stat().st_size < 0.6 * full.stat().st_size
    data = read_checkpoint(small)
    assert data["extra"]["policy_only"] and "critic" not in data["agent"]
    assert data["extra"]["train_config"] == {"run": {}}
    restored = load_checkpoint(small)
    obs = torch.randn(5, env.obs_dim)
    assert torch.equal(restored.act(obs, deterministic=True).env_action, agent.act(obs, deterministic=True).env_action)
    assert (restored.iteration, restored.samples) == (agent.iteration, agent.samples)


def test_exported_policy_can_change_the_stored_run_settings(tmp_path: Path, scripted_env):
    from mimic.agents.checkpoint import export_policy, read_checkpoint

    env = scripted_env(4)
    agent, _ = trained(env)
    cfg = {"run": {}, "env": {"clips": ["walk", "run"], "clip_weights": [1.0, 4.0]}}
    full = save_checkpoint(tmp_path / "latest.pt", agent, env=env, extra={"train_config": cfg})
    small = export_policy(full, tmp_path / "policy.pt", overrides=["env.clip_weights=[1.0, 1.0]"])
    assert read_checkpoint(small)["extra"]["train_config"]["env"] == {"clips": ["walk", "run"], "clip_weights": [1, 1]}
    assert read_checkpoint(full)["extra"]["train_config"]["env"]["clip_weights"] == [1.0, 4.0]  # the run's own: kept
    with pytest.raises(MimicError, match="env.clip_weight=.*unknown"):
        export_policy(full, tmp_path / "other.pt", overrides=["env.clip_weight=[1.0]"])
    assert not (tmp_path / "other.pt").exists()


def test_a_checkpoint_from_another_kind_of_device_loads_with_a_fresh_random_stream(tmp_path: Path, scripted_env):
    """A GPU-trained run's generator state (16 bytes for CUDA) does not fit a CPU generator: evaluating or
    resuming it on a CPU reseeds the stream from the seed and the iteration instead of failing."""
    env = scripted_env(4)
    agent, _ = trained(env)
    state = agent.state_dict()
    assert state["generator_device"] == "cpu"
    state["generator"], state["generator_device"] = torch.zeros(16, dtype=torch.uint8), "cuda"
    other = PPOAgent(env.obs_dim, env.action_dim, CONFIG)
    other.load_state_dict(state)
    assert other.iteration == 2
    assert torch.equal(other.generator.get_state(), torch.Generator().manual_seed(CONFIG.seed + 2).get_state())
    obs = torch.randn(16, env.obs_dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(other.act(obs, deterministic=True).action, agent.act(obs, deterministic=True).action)


def test_networks_start_from_a_cpu_generator_with_the_seed():
    """Weights are drawn on the CPU before the networks move to the agent's device, so a GPU agent starts
    from the same weights as a CPU one (here: the CPU agent's init generator is its own generator)."""
    agent = PPOAgent(6, 2, CONFIG)
    assert agent.init_generator is agent.generator and agent.init_generator.device.type == "cpu"
    again = PPOAgent(6, 2, CONFIG)
    for a, b in zip(agent.actor.parameters(), again.actor.parameters(), strict=True):
        assert torch.equal(a, b)
