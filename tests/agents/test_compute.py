"""Learner arithmetic: precision resolution, bf16 against fp32 updates, the update's thread count."""

from __future__ import annotations

import pytest
import torch

from mimic.agents import PPOAgent, PPOConfig, RolloutBuffer
from mimic.agents.compute import cpu_has_native_bf16, resolve_precision, torch_threads
from mimic.errors import MimicError

torch.set_num_threads(1)


def test_precision_resolution():
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_native_bf16() else "fp32")
    with pytest.raises(MimicError, match="update_threads"):
        PPOConfig(update_threads=-1)


def test_torch_threads_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with torch_threads(0):  # 0: unchanged
        assert torch.get_num_threads() == before


def _updated(precision: str, optimizer: str) -> tuple[dict[str, float], torch.Tensor, PPOAgent]:
    """One update on a fixed synthetic rollout; returns the metrics, the parameter change and the agent."""
    cfg = PPOConfig(actor_hidden=[256, 128], critic_hidden=[256, 128], steps_per_iter=16, precision=precision,
                    actor_optimizer=optimizer, critic_optimizer=optimizer, actor_lr=1e-4, critic_lr=1e-3,
                    update_threads=2)
    agent = PPOAgent(40, 6, cfg)
    g = torch.Generator().manual_seed(1)
    buf = RolloutBuffer(16, 32, 40, 6)
    obs = torch.randn(16, 32, 40, generator=g)
    for t in range(16):
        out = agent.act(obs[t])
        buf.obs[t], buf.actions[t], buf.log_probs[t] = obs[t], out.action, out.log_prob
        buf.values[t], buf.rand_mask[t] = out.value, out.rand_mask
    buf.rewards.copy_(torch.rand(16, 32, generator=g))
    params = lambda: torch.cat([p.detach().flatten() for p in [*agent.actor.parameters(), *agent.critic.parameters()]])
    before = params()
    metrics = agent.update(buf)
    return metrics, params() - before, agent


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_bf16_update_agrees_with_fp32(optimizer):
    """Stated tolerance: the parameter change of one update points the same way (cosine > 0.995) with
    the same size (within 1 %), and the losses agree to 1e-3 (relative for the critic)."""
    m32, d32, a32 = _updated("fp32", optimizer)
    m16, d16, a16 = _updated("bf16", optimizer)
    assert (a32.precision, a16.precision) == ("fp32", "bf16")
    # parameters, optimizer state and heads stay fp32 under bf16
    assert all(p.dtype == torch.float32 for p in a16.actor.parameters())
    assert a16.act(torch.randn(4, 40)).log_prob.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(d32, d16, dim=0) > 0.995
    assert abs(float(d16.norm() / d32.norm()) - 1.0) < 0.01
    assert abs(m16["critic_loss"] - m32["critic_loss"]) < 1e-3 * abs(m32["critic_loss"])
    assert abs(m16["actor_loss"] - m32["actor_loss"]) < 1e-3


def test_update_runs_on_update_threads_and_restores_one():
    agent = PPOAgent(5, 2, PPOConfig(actor_hidden=[8], critic_hidden=[8], steps_per_iter=4, update_threads=2))
    seen = []
    step = agent._critic_step
    agent._critic_step = lambda *a: (seen.append(torch.get_num_threads()), step(*a))[1]
    buf = RolloutBuffer(4, 3, 5, 2)
    buf.rand_mask.fill_(True)
    agent.update(buf)
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == 1


def test_bf16_acting_is_batch_independent():
    """The rollout's log-probabilities (batch of N envs) equal the update's (minibatches of other sizes)."""
    agent = PPOAgent(40, 6, PPOConfig(actor_hidden=[64, 32], critic_hidden=[8], precision="bf16"))
    obs = torch.randn(96, 40, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(agent.actor(obs)[:32], agent.actor(obs[:32]))


def test_bf16_inference_weights_give_autocast_results_and_follow_updates():
    """Acting without gradients runs on cached bf16 weights: the same values as autocast, bit for bit, after a
    fused optimizer step (which the agent follows with forget_low_precision_weights), a for-loop one and a
    loaded state dict."""
    from mimic.agents.compute import autocast
    from mimic.agents.networks import Actor, Critic, forget_low_precision_weights

    g = torch.Generator().manual_seed(0)
    actor = Actor(12, 3, [32, 16], 0.05, False, 0.01, g, precision="bf16")
    critic = Critic(12, [32, 16], g, precision="bf16")
    obs = torch.randn(64, 12, generator=g)

    def reference(net):
        with torch.no_grad(), autocast("bf16", "cpu"):
            hidden = net.body(obs).float()
        return net.mean_head(hidden) if isinstance(net, Actor) else net.head(hidden).squeeze(-1)

    def check():
        with torch.no_grad():
            assert torch.equal(actor(obs), reference(actor))
            assert torch.equal(critic(obs), reference(critic))

    def loss():
        return actor(obs).square().sum() + critic(obs).square().sum()  # with gradients: autocast

    params = [*actor.parameters(), *critic.parameters()]
    check()
    fused = torch.optim.AdamW(params, lr=0.1, fused=True)
    fused.zero_grad()
    loss().backward()
    fused.step()  # torch 2.13's fused step writes without a version bump: GuardedStep forgets the cache
    forget_low_precision_weights(actor)
    forget_low_precision_weights(critic)
    check()
    plain = torch.optim.Adam(params, lr=0.1, foreach=False)
    plain.zero_grad()
    loss().backward()
    plain.step()  # in-place writes bump the versions: the cache follows by itself
    check()
    actor.load_state_dict(Actor(12, 3, [32, 16], 0.05, False, 0.01, torch.Generator().manual_seed(5),
                                precision="bf16").state_dict())
    check()
    assert "_low_precision_cache" not in actor.state_dict()
