"""The PPO agent: config loading, acting, exploration, collection, update metrics, determinism."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from mimic import config as config_lib
from mimic.agents import PPOAgent, PPOConfig, RolloutBuffer, action_bound_violation, collect
from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError

torch.set_num_threads(1)
SMALL = dict(actor_hidden=[32, 32], critic_hidden=[32, 32], steps_per_iter=8)


def small_agent(obs_dim: int = 3, action_dim: int = 2, **kw) -> PPOAgent:
    return PPOAgent(obs_dim, action_dim, PPOConfig(**{**SMALL, **kw}))


def test_config_builds_from_a_dict_and_rejects_bad_values():
    cfg = config_lib.build(PPOConfig, {"actor_optimizer": "adam", "actor_hidden": [64], "actor_lr": 3e-4},
                           source="agent.yaml")
    assert cfg.actor_optimizer == "adam" and cfg.actor_hidden == [64] and cfg.critic_hidden == [1024, 512]
    with pytest.raises(MimicError, match="agent.yaml: std_type"):
        config_lib.build(PPOConfig, {"std_type": "variable"}, source="agent.yaml")
    with pytest.raises(MimicError, match="discount"):
        config_lib.build(PPOConfig, {"discount": 1.5}, source="agent.yaml")


def test_defaults_are_mimickit_ppo():
    cfg = PPOConfig()
    assert (cfg.actor_hidden, cfg.action_std, cfg.std_type, cfg.actor_optimizer) == ([1024, 512], 0.05, "fixed", "sgd")
    assert (cfg.actor_lr, cfg.critic_lr, cfg.discount, cfg.td_lambda) == (2.5e-5, 1e-4, 0.99, 0.95)
    assert cfg.steps_per_iter == 32
    assert (cfg.critic_epochs, cfg.critic_batch_size, cfg.actor_epochs, cfg.actor_batch_size) == (2, 2, 5, 4)
    assert (cfg.ppo_clip_ratio, cfg.norm_adv_clip, cfg.action_bound_weight) == (0.2, 4.0, 10.0)


def test_networks_start_near_zero_actions_with_a_fixed_std():
    agent = small_agent()
    head = agent.actor.mean_head
    assert head.weight.abs().max() <= 0.01 and torch.all(head.bias == 0)
    assert torch.all(agent.critic.head.bias == 0)
    assert torch.allclose(agent.actor.log_std, torch.full((2,), math.log(0.05)))
    optimized = {id(p) for g in agent.actor_optimizer.param_groups for p in g["params"]}
    assert id(agent.actor.log_std) not in optimized
    learned = small_agent(std_type="learned")
    assert isinstance(learned.actor.log_std, torch.nn.Parameter)
    assert id(learned.actor.log_std) in {id(p) for g in learned.actor_optimizer.param_groups for p in g["params"]}


def test_act_shapes_clipping_and_log_probs():
    agent = small_agent(action_std=2.0)  # wide noise so some samples leave [-1, 1]
    obs = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    out = agent.act(obs)
    assert out.action.shape == out.env_action.shape == (64, 2)
    assert out.log_prob.shape == out.value.shape == out.rand_mask.shape == (64,)
    assert out.rand_mask.all()  # default exploration probability 1
    assert (out.action.abs() > 1).any() and out.env_action.abs().max() <= 1
    mean = agent.actor(agent.obs_norm(obs))
    expected = torch.distributions.Normal(mean, 2.0).log_prob(out.action).sum(-1)
    assert torch.allclose(out.log_prob, expected, atol=1e-5)
    det = agent.act(obs, deterministic=True)
    assert torch.equal(det.action, mean.detach()) and not det.rand_mask.any()


def test_exploration_probability_anneals_and_masks_steps():
    agent = small_agent(exp_prob_begin=1.0, exp_prob_end=0.2, exp_anneal_samples=1000)
    assert agent.exp_prob == 1.0
    agent.samples = 500
    assert agent.exp_prob == pytest.approx(0.6)
    agent.samples = 5000
    assert agent.exp_prob == pytest.approx(0.2)
    out = agent.act(torch.zeros(4000, 3))
    assert 0.15 < out.rand_mask.float().mean() < 0.25
    mean = agent.actor(agent.obs_norm(torch.zeros(1, 3)))
    assert torch.equal(out.action[~out.rand_mask], mean.detach().expand(int((~out.rand_mask).sum()), 2))


def test_action_bound_violation():
    mean = torch.tensor([[0.5, -0.9], [1.5, -3.0]])
    assert torch.allclose(action_bound_violation(mean), torch.tensor([0.0, 0.25 + 4.0]))


@pytest.mark.parametrize("lists_ended", [False, True], ids=["nonzero", "ended_ids"])
def test_collect_bootstraps_timeouts_from_the_terminal_obs(scripted_env, lists_ended):
    n, t = 4, 6
    d = DoneReason
    schedule = torch.tensor([[d.NONE, d.TIMEOUT, d.FAIL, d.NONE], [d.NONE, d.NONE, d.NONE, d.SUCCESS],
                             [d.TIMEOUT, d.NONE, d.INVALID, d.NONE]])
    env, agent = scripted_env(n, schedule), small_agent(steps_per_iter=t)
    recorded: list[torch.Tensor] = []
    step = env.step

    def spy(action):  # keep every terminal obs to check the bootstrap values against
        obs, reward, done, info = step(action)
        info["terminal_obs"] = terminal = info["terminal_obs"].clone()
        terminal[done == d.INVALID] = float("nan")  # a blown-up sim's observation never reaches the critic
        recorded.append(terminal)
        info.pop("ended_ids", None)
        if lists_ended:  # as ImitationEnv does: the rollout then needs no nonzero() of its own
            info["ended_ids"] = torch.nonzero(done).squeeze(-1)
        return obs, reward, done, info

    env.step = spy
    buf = RolloutBuffer(t, n, env.obs_dim, env.action_dim)
    stats = collect(env, agent, buf)
    assert agent.samples == t * n and buf.next_obs is not None
    dones = schedule.repeat(2, 1)
    assert torch.equal(buf.dones, dones)
    timeout = dones == d.TIMEOUT
    expected = agent.value(torch.stack(recorded)[timeout])
    assert torch.allclose(buf.bootstrap_values[timeout], expected)
    assert torch.all(buf.bootstrap_values[~timeout] == 0)
    assert torch.allclose(buf.last_values, agent.value(buf.next_obs))
    # the batched pass after the rollout gives each step's value of the observation it acted on
    assert torch.allclose(buf.values, agent.value(buf.obs.flatten(0, 1)).view(t, n), atol=1e-6)
    assert stats["num_episodes"] == int((dones != 0).sum()) and stats["num_falls"] == int((dones == d.FAIL).sum()) == 2
    assert torch.allclose(buf.rewards, 1 - buf.actions.clamp(-1, 1).square().mean(-1))


def test_update_metrics_and_advantage_statistics_over_exploring_samples(scripted_env):
    n, t = 8, 8
    schedule = torch.zeros(5, n, dtype=torch.long)
    schedule[4, :3] = torch.tensor([DoneReason.FAIL, DoneReason.TIMEOUT, DoneReason.INVALID])
    env, agent = scripted_env(n, schedule), small_agent(steps_per_iter=t, exp_prob_begin=0.5, exp_prob_end=0.5)
    buf = RolloutBuffer(t, n, env.obs_dim, env.action_dim)
    collect(env, agent, buf)
    adv = (buf.returns(agent.config.discount, agent.config.td_lambda) - buf.values)
    explore = buf.rand_mask & buf.valid
    assert 0 < explore.sum() < explore.numel() and not buf.valid.all()
    metrics = agent.update(buf)
    expected_keys = {"actor_loss", "critic_loss", "clip_frac", "imp_ratio", "action_bound_loss", "adv_mean", "adv_std",
                     "exp_prob"}
    assert expected_keys <= set(metrics) and all(math.isfinite(v) for v in metrics.values())
    assert metrics["adv_mean"] == pytest.approx(float(adv[explore].mean()), rel=1e-5)
    assert metrics["adv_std"] == pytest.approx(float(adv[explore].std(unbiased=False)), rel=1e-5)
    assert metrics["exp_prob"] == 0.5 and agent.iteration == 1
    assert int(agent.obs_norm.count) == n * t  # the rollout's observations, merged after the update


def test_kl_schedule_moves_the_actor_rate_toward_the_target(scripted_env):
    """``actor_lr_schedule: kl``: after an update whose KL is above twice the target the actor's rate is
    divided by 1.5 (not below the lower bound), below half of it multiplied by 1.5; ``fixed`` leaves it."""
    def run(updates: int = 1, **kw) -> tuple[PPOAgent, dict]:
        env = scripted_env(8)
        agent = small_agent(steps_per_iter=8, actor_optimizer="adam", **kw)
        buf = RolloutBuffer(8, 8, env.obs_dim, env.action_dim)
        for _ in range(updates):
            collect(env, agent, buf)
            metrics = agent.update(buf)
        return agent, metrics

    fixed, metrics = run(actor_lr=1e-2)
    assert metrics["actor_lr"] == 1e-2 and metrics["approx_kl"] > 0
    big, metrics = run(actor_lr=1e-2, actor_lr_schedule="kl", kl_target=1e-9, actor_lr_bounds=[5e-3, 1e-1])
    assert metrics["approx_kl"] > 2e-9 and metrics["actor_lr"] == pytest.approx(1e-2 / 1.5)
    big, metrics = run(updates=3, actor_lr=1e-2, actor_lr_schedule="kl", kl_target=1e-9, actor_lr_bounds=[5e-3, 1e-1])
    assert metrics["actor_lr"] == pytest.approx(5e-3)  # 1e-2 / 1.5^3 is below the bound
    small, metrics = run(actor_lr=1e-6, actor_lr_schedule="kl", kl_target=1.0)
    assert metrics["approx_kl"] < 0.5 and metrics["actor_lr"] == pytest.approx(1.5e-6)
    with pytest.raises(MimicError, match="actor_lr_bounds"):
        PPOConfig(actor_lr_schedule="kl", actor_lr_bounds=[1e-3, 1e-4])


def test_agent_leaves_the_global_rng_alone(scripted_env):
    state = torch.get_rng_state()
    env = scripted_env(4)
    agent = small_agent()
    buf = RolloutBuffer(8, 4, env.obs_dim, env.action_dim)
    collect(env, agent, buf)
    agent.update(buf)
    assert torch.equal(torch.get_rng_state(), state)


def train(env_config, seed: int, iterations: int = 3) -> PPOAgent:
    env = ImitationEnv(env_config, num_envs=4, seed=seed)
    agent = PPOAgent(env.obs_dim, env.action_dim, PPOConfig(**SMALL, actor_optimizer="adam", seed=seed))
    buf = RolloutBuffer(agent.config.steps_per_iter, env.num_envs, env.obs_dim, env.action_dim)
    for _ in range(iterations):
        collect(env, agent, buf)
        agent.update(buf)
    env.close()
    return agent


def test_seeded_runs_are_bit_identical(pendulum_config):
    a, b, c = train(pendulum_config, 0), train(pendulum_config, 0), train(pendulum_config, 1)
    for name, net in (("actor", "actor"), ("critic", "critic")):
        wa, wb, wc = (getattr(x, net).state_dict() for x in (a, b, c))
        assert all(torch.equal(wa[k], wb[k]) for k in wa), name
        assert not all(torch.equal(wa[k], wc[k]) for k in wa), name
    assert torch.equal(a.obs_norm.mean, b.obs_norm.mean) and a.samples == b.samples


def test_stored_log_probs_and_values_match_a_recomputation(pendulum_config):
    """What the rollout stored is what the update recomputes before its first step (ratio exactly 1)."""
    env = ImitationEnv(pendulum_config, num_envs=4, seed=0)
    agent = PPOAgent(env.obs_dim, env.action_dim, PPOConfig(**SMALL))
    buf = RolloutBuffer(agent.config.steps_per_iter, env.num_envs, env.obs_dim, env.action_dim)
    for _ in range(2):  # the second rollout runs with a non-trivial normalizer
        collect(env, agent, buf)
        with torch.no_grad():
            norm_obs = agent.obs_norm(buf.obs)
            mean = agent.actor(norm_obs)
            assert torch.allclose(agent.actor.log_prob(mean, buf.actions), buf.log_probs, atol=1e-5)
            assert torch.allclose(agent.critic(norm_obs), buf.values, atol=1e-6)
        agent.update(buf)
    env.close()


def test_value_norm_standardizes_the_critic_targets_so_the_reward_scale_drops_out(scripted_env):
    """``agent.value_norm``: the statistics are the valid returns' mean and variance, the critic learns
    the standardized returns, so rewards 100x larger train the same critic weights and give values 100x
    larger (fp32: bf16's rounding would not cancel exactly)."""
    n, t = 8, 8
    env = scripted_env(n)
    plain = small_agent(steps_per_iter=t, value_norm=True, precision="fp32")
    buf = RolloutBuffer(t, n, env.obs_dim, env.action_dim)
    collect(env, plain, buf)
    scaled = copy.deepcopy(plain)  # the same weights and random stream
    big = copy.deepcopy(buf)
    big.rewards *= 100.0
    for values in (big.values, big.bootstrap_values, big.last_values):  # as a critic of that scale bootstraps
        values *= 100.0
    returns = buf.returns(plain.config.discount, plain.config.td_lambda)[buf.valid]
    plain.update(buf)
    scaled.update(big)
    assert float(plain.value_norm.mean) == pytest.approx(float(returns.mean()), rel=1e-5)
    assert float(plain.value_norm.var) == pytest.approx(float(returns.var(unbiased=False)), rel=1e-4)
    for key, w in plain.critic.state_dict().items():
        assert torch.allclose(w, scaled.critic.state_dict()[key], atol=1e-5), key
    obs = buf.obs.flatten(0, 1)
    assert torch.allclose(scaled.value(obs), 100.0 * plain.value(obs), rtol=1e-4, atol=1e-3)
    off = small_agent(steps_per_iter=t, critic_optimizer="adam")
    assert off.value_norm is None and "value_norm" not in off.state_dict()


def test_value_norm_statistics_resume_and_a_mismatched_checkpoint_is_refused(scripted_env):
    env = scripted_env(8)
    agent = small_agent(value_norm=True)
    buf = RolloutBuffer(8, 8, env.obs_dim, env.action_dim)
    collect(env, agent, buf)
    agent.update(buf)
    again = small_agent(value_norm=True)
    again.load_state_dict(agent.state_dict())
    obs = buf.obs.flatten(0, 1)
    assert torch.equal(again.value_norm.mean, agent.value_norm.mean) and torch.equal(again.value(obs), agent.value(obs))
    with pytest.raises(MimicError, match="standardized returns"):
        small_agent().load_state_dict(agent.state_dict())
    with pytest.raises(MimicError, match="raw returns"):
        small_agent(value_norm=True).load_state_dict(small_agent().state_dict())


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_fused_optimizers_step_as_the_per_parameter_ones_and_stay_fused_after_a_load(kind):
    from mimic.agents.optimizers import load_optimizer_state, make_optimizer

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    twin = copy.deepcopy(net)
    fused = make_optimizer(kind, list(net.parameters()), lr=1e-2, momentum=0.9, weight_decay=1e-3)
    assert fused.param_groups[0]["fused"]
    plain_cls = torch.optim.SGD if kind == "sgd" else torch.optim.AdamW
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    plain = plain_cls(twin.parameters(), lr=1e-2, weight_decay=1e-3, foreach=False, **extra)
    for _ in range(20):
        x = torch.randn(8, 5)
        for model, opt in ((net, fused), (twin, plain)):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)
    load_optimizer_state(fused, plain.state_dict())  # a checkpoint written by the per-parameter optimizer
    assert fused.param_groups[0]["fused"] and fused.param_groups[0]["lr"] == 1e-2
    assert small_agent().critic_optimizer.param_groups[0]["fused"]
    assert not small_agent(fused_optimizer=False).critic_optimizer.param_groups[0]["fused"]


def test_a_resume_takes_the_configured_rates_and_keeps_a_scheduled_one_within_its_bounds():
    """``mimic train --resume ... agent.critic_lr=X`` trains the critic at X: the optimizer's moments come from
    the checkpoint, its settings from the configuration. The ``kl`` schedule's actor rate is the run's state:
    kept, clamped to the (possibly new) ``actor_lr_bounds``."""
    saved = small_agent(actor_optimizer="adam", critic_lr=1e-3, actor_lr_schedule="kl", actor_lr_bounds=[1e-6, 1e-3])
    saved.actor_optimizer.param_groups[0]["lr"] = 2e-4  # where the schedule had moved it
    state = saved.state_dict()
    wider = small_agent(actor_optimizer="adam", critic_lr=5e-4, actor_lr_schedule="kl", actor_lr_bounds=[1e-6, 1e-3])
    wider.load_state_dict(state)
    assert wider.critic_optimizer.param_groups[0]["lr"] == 5e-4
    assert wider.actor_optimizer.param_groups[0]["lr"] == 2e-4
    capped = small_agent(actor_optimizer="adam", actor_lr_schedule="kl", actor_lr_bounds=[1e-6, 1e-4])
    capped.load_state_dict(state)
    assert capped.actor_optimizer.param_groups[0]["lr"] == 1e-4
    fixed = small_agent(actor_optimizer="adam", actor_lr=3e-5)
    fixed.load_state_dict(state)
    assert fixed.actor_optimizer.param_groups[0]["lr"] == 3e-5


def test_teacher_weight_pulls_the_action_mean_toward_the_labels_on_labelled_samples_only():
    """With advantages of 0 the surrogate gives no gradient: only the behaviour-cloning term moves the actor,
    toward the teacher's actions, measured on the labelled samples (``agent.teacher_weight``)."""
    t, n = 8, 16
    def run(weight: float) -> tuple[PPOAgent, RolloutBuffer, list[float]]:
        agent = small_agent(steps_per_iter=t, actor_optimizer="adam", actor_lr=1e-3, teacher_weight=weight)
        buf = agent.make_buffer(n)
        gen = torch.Generator().manual_seed(0)
        buf.obs.copy_(torch.randn(t, n, 3, generator=gen))
        buf.rand_mask.fill_(True)
        buf.extras["teacher_action"].fill_(0.5)
        buf.extras["teacher_mask"][:, : n // 2] = 1.0  # half the envs labelled
        losses = []
        for _ in range(20):
            with torch.no_grad():
                mean = agent.actor(agent.obs_norm(buf.obs))
            buf.actions.copy_(mean)
            buf.log_probs.copy_(agent.actor.log_prob(mean, mean))
            losses.append(agent.update(buf)["teacher_loss"])
        return agent, buf, losses

    agent, buf, losses = run(1.0)
    with torch.no_grad():
        mean = agent.actor(agent.obs_norm(buf.obs))
    assert float((mean[:, : 16 // 2] - 0.5).abs().mean()) < 0.1  # from about 0.5 (the mean starts near 0)
    assert losses[-1] < 0.1 * losses[0]
    off = small_agent(steps_per_iter=t)
    assert off.rollout_fields() == {} and "teacher_action" in agent.rollout_fields()
    with pytest.raises(MimicError, match="teacher_weight"):
        PPOConfig(teacher_weight=-1.0)


def test_a_resume_takes_the_configured_fixed_exploration_noise():
    """``mimic train --resume ... agent.action_std=X`` explores with std X (a fine-tune may explore less); a
    resume with the run's own setting restores the noise it had, so an exact resume stays exact."""
    saved = small_agent(action_std=0.1)
    state = saved.state_dict()
    same = small_agent(action_std=0.1)
    same.load_state_dict(state)
    assert torch.equal(same.actor.log_std, saved.actor.log_std)
    quieter = small_agent(action_std=0.05)
    quieter.load_state_dict(state)
    assert torch.allclose(quieter.actor.log_std.exp(), torch.full_like(quieter.actor.log_std, 0.05))


def test_a_fixed_std_anneals_geometrically_between_two_sample_counts_and_resumes_on_its_way(scripted_env):
    """``action_std_end``: the std stays at ``action_std`` until the first count of
    ``action_std_anneal_samples``, reaches ``action_std_end`` at the second (the geometric mean halfway) and
    stays; every update sets the actor's noise for the next rollout, and a resume continues the anneal."""
    agent = small_agent(action_std=0.08, action_std_end=0.02, action_std_anneal_samples=[100, 300])
    assert agent.action_std == pytest.approx(0.08) and small_agent().action_std == 0.05
    for samples, std in ((100, 0.08), (200, 0.04), (300, 0.02), (10_000, 0.02)):
        agent.samples = samples
        assert agent.action_std == pytest.approx(std)
    step = small_agent(action_std=0.08, action_std_end=0.02, action_std_anneal_samples=[100, 100])
    step.samples = 50
    assert step.action_std == pytest.approx(0.08)  # equal counts: a step, no division by zero
    step.samples = 100
    assert step.action_std == pytest.approx(0.02)
    env, agent = scripted_env(8), small_agent(action_std=0.08, action_std_end=0.02, action_std_anneal_samples=[0, 128])
    buf = RolloutBuffer(8, 8, env.obs_dim, env.action_dim)
    collect(env, agent, buf)
    metrics = agent.update(buf)  # 64 of 128 samples: halfway
    assert metrics["action_std"] == pytest.approx(0.04)
    assert torch.allclose(agent.actor.log_std.exp(), torch.full((env.action_dim,), 0.04))
    resumed = small_agent(action_std=0.08, action_std_end=0.02, action_std_anneal_samples=[0, 128])
    resumed.load_state_dict(agent.state_dict())
    assert torch.allclose(resumed.actor.log_std.exp(), torch.full((env.action_dim,), 0.04))
    with pytest.raises(MimicError, match="action_std_anneal_samples"):
        PPOConfig(action_std_end=0.02, action_std_anneal_samples=[300, 100])
    with pytest.raises(MimicError, match="action_std_end: anneals a fixed"):
        PPOConfig(action_std_end=0.02, std_type="learned")


def test_mirror_weight_pulls_the_policy_toward_its_mirror_image_and_logs_the_hand_computed_term():
    """With advantages of 0 only the symmetry term moves the actor (``agent.mirror_weight``): its value is the
    mean squared distance between the action mean and the mirrored action mean of the mirrored state, and
    training drives it toward 0."""
    from mimic.envs.mirror import Mirror, SignedPermutation

    t, n = 8, 16
    obs_sign, act_sign = torch.tensor([1.0, 1.0, -1.0]), torch.tensor([1.0, -1.0])

    def agent_and_buffer(lr: float) -> tuple[PPOAgent, RolloutBuffer]:
        agent = small_agent(steps_per_iter=t, actor_optimizer="adam", actor_lr=lr, mirror_weight=1.0,
                            actor_init_output_scale=1.0)
        agent.mirror = Mirror(SignedPermutation(torch.tensor([1, 0, 2]), obs_sign),
                              SignedPermutation(torch.tensor([1, 0]), act_sign))
        buf = agent.make_buffer(n)
        buf.obs.copy_(torch.randn(t, n, 3, generator=torch.Generator().manual_seed(0)))
        buf.rand_mask.fill_(True)
        return agent, buf

    def update(agent: PPOAgent, buf: RolloutBuffer) -> float:
        with torch.no_grad():
            mean = agent.actor(agent.obs_norm(buf.obs))
        buf.actions.copy_(mean)
        buf.log_probs.copy_(agent.actor.log_prob(mean, mean))
        return agent.update(buf)["mirror_loss"]

    frozen, buf = agent_and_buffer(1e-12)  # the update does not move it: its term is the hand computation's
    with torch.no_grad():
        mean = frozen.actor(frozen.obs_norm(buf.obs))
        mirrored = frozen.actor(frozen.obs_norm(buf.obs[..., [1, 0, 2]] * obs_sign))
        by_hand = (mean - mirrored[..., [1, 0]] * act_sign).square().mean().item()
    assert by_hand > 0.01
    assert update(frozen, buf) == pytest.approx(by_hand, rel=1e-4)
    agent, buf = agent_and_buffer(1e-3)
    losses = [update(agent, buf) for _ in range(20)]
    assert losses[-1] < 0.05 * losses[0]
    unbuilt = small_agent(steps_per_iter=t, mirror_weight=1.0)
    with pytest.raises(MimicError, match="mirror_weight needs the env"):
        unbuilt.update(buf)
    assert "mirror_loss" not in small_agent(steps_per_iter=t).update(buf)
    with pytest.raises(MimicError, match="mirror_weight"):
        PPOConfig(mirror_weight=-1.0)
