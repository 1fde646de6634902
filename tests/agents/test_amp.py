"""AMP: the style reward and gradient penalty against hand computations, a discriminator that learns to
tell the clips' motion from other motion, the rollout's extra field and reward shaping, exact resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mimic.agents import AMPAgent, PPOConfig, collect, load_checkpoint, save_checkpoint
from mimic.agents.checkpoint import export_policy, read_checkpoint
from mimic.agents.discriminator import (
    AMPConfig,
    Discriminator,
    least_squares_terms,
    penalty_and_kl_terms,
    style_reward,
)
from mimic.errors import MimicError

torch.set_num_threads(1)
AMP_DIM = 6


def expert_sampler(n: int, generator: torch.Generator) -> torch.Tensor:
    """'Clips' whose AMP observations cluster around (1, -1, 1, -1, 1, -1)."""
    return torch.tensor([1.0, -1.0] * 3) + 0.3 * torch.randn(n, AMP_DIM, generator=generator)


class AmpScriptedEnv:
    """ScriptedEnv's contract plus ``info["amp_obs"]``: the policy's 'motion' is its action, repeated."""

    obs_dim, action_dim, amp_obs_dim = 3, 2, AMP_DIM

    def __init__(self, num_envs: int, seed: int = 0) -> None:
        self.num_envs = num_envs
        self.generator = torch.Generator().manual_seed(seed)

    def reset(self) -> torch.Tensor:
        return torch.randn(self.num_envs, self.obs_dim, generator=self.generator)

    def step(self, action: torch.Tensor):
        obs = torch.randn(self.num_envs, self.obs_dim, generator=self.generator)
        done = torch.zeros(self.num_envs, dtype=torch.long)
        amp_obs = action.repeat(1, 3)
        return obs, torch.full((self.num_envs,), 0.5), done, {"terminal_obs": obs, "amp_obs": amp_obs}


def small_amp(**amp) -> AMPAgent:
    cfg = PPOConfig(actor_hidden=[16], critic_hidden=[16], steps_per_iter=8, actor_optimizer="adam", name="amp",
                    seed=1, precision="fp32",
                    amp=AMPConfig(**{"disc_hidden": [32], "disc_optimizer": "adam", "disc_lr": 1e-3, "replay_size": 64,
                                       **amp}))
    return AMPAgent(3, 2, cfg, amp_obs_dim=AMP_DIM, expert=expert_sampler)


def test_bf16_discriminator_step_agrees_with_fp32():
    """``disc_precision: bf16`` (the AMP presets' ``auto`` on a CPU with bf16): the same logits, penalty and
    gradients of the whole objective as fp32, within bf16's precision."""
    g = torch.Generator().manual_seed(0)
    expert, agent = torch.randn(256, 40, generator=g), torch.randn(256, 40, generator=g) + 0.5
    out = {}
    for precision in ("fp32", "bf16"):
        disc = Discriminator(40, [128, 64], torch.Generator().manual_seed(1), precision)
        logits, grad_sq, _ = penalty_and_kl_terms(disc, expert)
        err_e, err_a = least_squares_terms(logits, disc(agent))
        loss = 0.5 * (err_e.mean() + err_a.mean()) + 2.5 * grad_sq.mean()
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in disc.parameters()])
        out[precision] = (logits.detach(), grad_sq.detach(), loss.item(), grads)
    (l32, g32, loss32, p32), (l16, g16, loss16, p16) = out["fp32"], out["bf16"]
    assert (l16 - l32).abs().max() < 0.02 and abs(loss16 - loss32) < 0.01 * abs(loss32)
    assert ((g16 - g32).abs() / g32.abs().clamp_min(1e-3)).median() < 0.02
    cosine = torch.nn.functional.cosine_similarity(p16, p32, dim=0)
    assert cosine > 0.99, float(cosine)


def test_style_reward_on_known_logits():
    logits = torch.tensor([1.0, 0.0, -1.0, 3.0, 2.0, -5.0])
    assert torch.allclose(style_reward(logits), torch.tensor([1.0, 0.75, 0.0, 0.0, 0.75, 0.0]))
    assert torch.allclose(style_reward(logits, scale=2.0), torch.tensor([2.0, 1.5, 0.0, 0.0, 1.5, 0.0]))
    # MimicKit's: -log(max(1 - sigmoid(d), 1e-4)), positive and graded where least squares gives 0
    prob = torch.sigmoid(logits)
    hand = -torch.log(torch.maximum(1 - prob, torch.tensor(1e-4)))
    assert torch.allclose(style_reward(logits, 2.0, "bce"), 2.0 * hand, atol=1e-5)
    assert torch.allclose(style_reward(torch.tensor([20.0]), 1.0, "bce"), torch.tensor([math.log(1e4)]))
    far = style_reward(torch.tensor([-1.0, -3.0, -5.0]), 1.0, "bce")
    assert bool((far > 0).all()) and far[0] > far[1] > far[2]


def test_gradient_penalty_equals_a_hand_computation():
    g = torch.Generator().manual_seed(0)
    linear = Discriminator(4, [], g)  # d(x) = w . x + b: the gradient is w everywhere
    x = torch.randn(5, 4, generator=g)
    logits, grad_sq, _ = penalty_and_kl_terms(linear, x)
    w = linear.head.weight[0]
    assert torch.allclose(grad_sq, w.square().sum().expand(5))
    assert torch.allclose(logits, x @ w + linear.head.bias)
    # one ReLU layer: grad = W2 diag(relu'(W1 x + b1)) W1
    net = Discriminator(4, [8], g)
    _, grad_sq, _ = penalty_and_kl_terms(net, x)
    w1, b1, w2 = net.body[0].weight, net.body[0].bias, net.head.weight[0]
    active = ((x @ w1.T + b1) > 0).float()
    hand = ((active * w2) @ w1).square().sum(-1)
    assert torch.allclose(grad_sq, hand, atol=1e-6)
    assert grad_sq.requires_grad  # the penalty itself is trained through


@pytest.mark.parametrize("objective", ["least_squares", "bce"])
def test_discriminator_separates_expert_from_random_transitions(objective):
    agent = small_amp(grad_penalty=0.0, objective=objective)
    g = torch.Generator().manual_seed(5)
    for _ in range(150 if objective == "least_squares" else 400):  # the logistic loss's gradients fade sooner
        expert = expert_sampler(128, g)
        agent.amp_norm.record(expert)
        agent.amp_norm.update()
        metrics = agent._disc_step(expert, torch.randn(128, AMP_DIM, generator=g), torch.ones(128, dtype=torch.bool))
    assert metrics["amp_acc_expert"] > 0.9 and metrics["amp_acc_agent"] > 0.9, metrics
    with torch.no_grad():
        d_expert = agent.disc(agent.amp_norm(expert_sampler(256, g)))
        d_random = agent.disc(agent.amp_norm(torch.randn(256, AMP_DIM, generator=g)))
    expert_reward, random_reward = style_reward(d_expert, 1.0, objective), style_reward(d_random, 1.0, objective)
    assert float(expert_reward.mean()) > float(random_reward.mean()) + 0.5


def test_the_bottleneck_codes_and_their_kl_on_a_hand_computation():
    g = torch.Generator().manual_seed(0)
    disc = Discriminator(4, [8], g, bottleneck=3)
    x, noise = torch.randn(5, 4, generator=g), torch.randn(5, 3, generator=g)
    with torch.no_grad():
        mean, log_std = disc.encode(x)
        logits, kl = disc.logits_and_kl(x)
        noisy, _ = disc.logits_and_kl(x, noise)
    hand_kl = torch.distributions.kl_divergence(torch.distributions.Normal(mean, log_std.exp()),
                                                torch.distributions.Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(kl, hand_kl, atol=1e-5)
    assert torch.allclose(logits, disc.head(mean).squeeze(-1)) and torch.equal(disc(x), logits)
    assert torch.allclose(noisy, disc.head(mean + log_std.exp() * noise).squeeze(-1))
    # without a bottleneck the same init and layers as before (the critic's): old checkpoints load
    assert set(Discriminator(4, [8], g).state_dict()) == {"body.0.weight", "body.0.bias", "head.weight", "head.bias"}


def test_the_bottleneck_holds_the_information_near_its_bound():
    """VDB on the tiny case: beta rises until the codes' mean KL sits near ``vdb_info``, and the training
    accuracy (of sampled codes) stays below the unconstrained discriminator's."""
    results = {}
    for vdb in (0, 8):
        agent = small_amp(grad_penalty=0.0, vdb_dim=vdb, vdb_info=0.1, vdb_beta_lr=0.05)
        g = torch.Generator().manual_seed(5)
        kls, accs = [], []
        for _ in range(300):
            expert = expert_sampler(128, g)
            agent.amp_norm.record(expert)
            agent.amp_norm.update()
            m = agent._disc_step(expert, torch.randn(128, AMP_DIM, generator=g), torch.ones(128, dtype=torch.bool))
            kls.append(m.get("amp_kl", 0.0))
            accs.append(0.5 * (m["amp_acc_expert"] + m["amp_acc_agent"]))
        results[vdb] = (sum(kls[-50:]) / 50, sum(accs[-50:]) / 50, agent.vdb_beta)
    kl, acc, beta = results[8]
    assert beta > 0 and 0.03 < kl < 0.3, results
    assert results[0][1] > 0.95 and acc < results[0][1] - 0.1, results


def test_bce_gradient_penalty_covers_both_sides():
    """MimicKit's objective: the logged penalty is the mean of the expert and agent sides' squared gradient
    norms (a linear discriminator: |w|^2 on both)."""
    agent = small_amp(objective="bce")
    expert, other = expert_sampler(64, torch.Generator().manual_seed(0)), torch.randn(64, AMP_DIM)
    with torch.no_grad():
        for layer in (*agent.disc.body, agent.disc.head):
            if isinstance(layer, torch.nn.Linear):
                layer.weight.zero_()
    metrics = agent._disc_step(expert, other, torch.ones(64, dtype=torch.bool))
    assert metrics["amp_grad_penalty"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["amp_disc_loss"] == pytest.approx(math.log(2.0), abs=1e-3)  # BCE of d = b ~ 0 on both sides


def test_the_rollout_stores_amp_obs_and_rewards_become_style_rewards():
    env, agent = AmpScriptedEnv(4), small_amp(style_weight=1.0, task_weight=0.5)
    buf = agent.make_buffer(env.num_envs)
    collect(env, agent, buf)
    assert buf.extras["amp_obs"].shape == (8, 4, AMP_DIM)
    amp_obs = buf.extras["amp_obs"].flatten(0, 1)
    expected = 0.5 * 0.5 + 2.0 * style_reward(agent.disc(agent.amp_norm(amp_obs))).detach().view(8, 4)
    metrics = agent.update(buf)
    assert torch.allclose(buf.rewards, expected, atol=1e-6)
    assert metrics["amp_task_reward"] == pytest.approx(0.5)
    for key in ("amp_style_reward", "amp_disc_loss", "amp_grad_penalty", "amp_acc_expert", "amp_acc_agent",
                "amp_logit_expert", "amp_logit_agent"):
        assert key in metrics
    assert agent.replay_count == 32  # this rollout's samples went to the replay buffer


def test_the_discriminator_normalizer_sees_both_sides():
    """MimicKit's normalizer: fitted to the agent's samples and as many expert samples. A feature the clips
    hold constant (the walk's neck) gets its spread from the agent's side instead of the 1e-4 floor, which
    put any motion of it at the clip bound and let the discriminator win on it alone."""
    def constant_first(n: int, generator: torch.Generator) -> torch.Tensor:
        x = expert_sampler(n, generator)
        x[:, 0] = 0.0  # never moves in the clips
        return x

    env, agent = AmpScriptedEnv(4), small_amp()
    agent.expert = constant_first
    buf = agent.make_buffer(env.num_envs)
    collect(env, agent, buf)
    agent.update(buf)
    agent_side = buf.extras["amp_obs"].flatten(0, 1)[:, 0]
    std = float(agent.amp_norm.std[0])
    assert std > 0.2 * float(agent_side.std())  # about half of it (half the samples are the clips' zeros)
    assert agent.amp_norm.count == 2 * agent_side.numel()  # one expert sample per agent sample


def test_an_env_without_amp_obs_is_a_clear_error(scripted_env):
    agent = small_amp()
    with pytest.raises(MimicError, match="set env.amp_obs_steps"):
        collect(scripted_env(2), agent, agent.make_buffer(2))
    with pytest.raises(MimicError, match="needs AMP observations from the env"):
        AMPAgent(3, 2, PPOConfig(name="amp"), amp_obs_dim=0)


@pytest.mark.parametrize("amp", [{}, {"vdb_dim": 4, "vdb_beta_lr": 1e-2}], ids=["plain", "bottleneck"])
def test_amp_checkpoints_resume_exactly_and_ship_without_the_discriminator(tmp_path: Path, amp):
    env = AmpScriptedEnv(4)
    agent = small_amp(**amp)
    buf = agent.make_buffer(4)
    for _ in range(3):  # the replay buffer fills
        collect(env, agent, buf)
        agent.update(buf)
    path = save_checkpoint(tmp_path / "amp.pt", agent, env=env)
    assert read_checkpoint(path)["agent_name"] == "amp"
    restored_env = AmpScriptedEnv(4, seed=99)
    restored = load_checkpoint(path, env=restored_env)
    assert isinstance(restored, AMPAgent) and restored.expert is None  # built to act
    restored.expert = expert_sampler
    buf2 = restored.make_buffer(4)
    for b in (buf, buf2):
        b.next_obs = None
    collect(env, agent, buf)
    collect(restored_env, restored, buf2)
    agent.update(buf)
    restored.update(buf2)
    for a, b in zip([*agent.actor.parameters(), *agent.critic.parameters(), *agent.disc.parameters()],
                    [*restored.actor.parameters(), *restored.critic.parameters(), *restored.disc.parameters()],
                    strict=True):
        assert torch.equal(a, b)
    assert torch.equal(agent.replay, restored.replay) and torch.equal(agent.amp_norm.mean, restored.amp_norm.mean)
    assert agent.vdb_beta == restored.vdb_beta and (agent.vdb_beta > 0) == bool(amp)
    # a shipped copy acts like the original and holds no discriminator or replay
    shipped = export_policy(path, tmp_path / "ship.pt")
    state = read_checkpoint(shipped)["agent"]
    assert not {"disc", "replay", "disc_optimizer"} & set(state)
    obs = torch.randn(5, 3)
    original = load_checkpoint(path)
    assert torch.equal(load_checkpoint(shipped).act(obs, deterministic=True).action,
                       original.act(obs, deterministic=True).action)


def test_a_resume_takes_the_configured_discriminator_rate():
    """``mimic train --resume ... agent.amp.disc_lr=X``: the discriminator's moments come from the
    checkpoint, its rate from the configuration (torch alone would keep the saved one)."""
    saved = small_amp()
    buf = saved.make_buffer(4)
    for _ in range(2):
        collect(AmpScriptedEnv(4), saved, buf)
        saved.update(buf)
    resumed = small_amp(disc_lr=1e-4)
    resumed.load_state_dict(saved.state_dict())
    assert resumed.disc_optimizer.param_groups[0]["lr"] == 1e-4
    moments = [saved.disc_optimizer.state[p]["exp_avg"] for p in saved.disc.parameters()]
    assert all(torch.equal(a, resumed.disc_optimizer.state[p]["exp_avg"])
               for a, p in zip(moments, resumed.disc.parameters(), strict=True))
