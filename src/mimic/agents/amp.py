"""AMP (Peng et al. 2021): PPO plus a discriminator whose style reward says how much the policy's motion
looks like the clips (:mod:`mimic.agents.discriminator` has the objective; :mod:`mimic.envs.amp_obs` the
observations).

Each iteration: the rollout stores every step's AMP observation (``amp_obs``, from the env's ``info``);
before the returns, the current discriminator turns them into style rewards, mixed with the env's task
reward (``agent.amp.task_weight * task + style_weight * style``); PPO updates the actor and critic on that
reward; then the discriminator trains for ``disc_epochs`` passes, each minibatch pairing agent samples
(half from this rollout, half from a replay buffer of past rollouts, so it does not forget what the
policy used to do) with as many expert samples drawn from the clips. Its observations have their own
running normalizer, fitted to the agent's samples and as many expert samples, as MimicKit's
``amp_agent.py`` does: fitted to the expert samples alone, a feature the clips hold constant (the walk's
neck) has a standard deviation at the floor (1e-4), so any motion of the character's neck sits at the
clip bound (+-10) and the discriminator separates the two sides from it alone. With several ranks the
discriminator's losses are global means and its gradients are averaged, like PPO's.

Diagnostics (``amp_*`` metrics, logged under ``amp/``): accuracy on expert (logit > 0) and agent (logit
< 0) samples, their mean logits, the gradient penalty, the mean style and task rewards. A discriminator
that wins (accuracy near 1 on both) gives the policy no gradient; one near 0.5 from the start learns
nothing: the runner warns about both.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from mimic.agents.compute import resolve_precision
from mimic.agents.config import PPOConfig
from mimic.agents.data_parallel import global_masked_mean, merge_normalizer
from mimic.agents.discriminator import Discriminator, objective_terms, penalty_and_kl_terms, style_reward
from mimic.agents.losses import masked_mean
from mimic.agents.metrics import MinibatchMeans
from mimic.agents.normalizer import RunningNormalizer
from mimic.agents.optimizers import load_optimizer_state, make_optimizer
from mimic.agents.ppo import PPOAgent
from mimic.agents.rollout import RolloutBuffer
from mimic.distributed import DistContext
from mimic.errors import MimicError

ExpertSampler = Callable[[int, torch.Generator], torch.Tensor]


class AMPAgent(PPOAgent):
    """PPO with AMP's discriminator.

    Args:
        obs_dim / action_dim: policy sizes; amp_obs_dim: size of an AMP observation (the env's ``amp_obs_dim``).
        config: :class:`PPOConfig` with ``amp`` settings.
        expert: ``expert(n, generator) -> (n, amp_obs_dim)`` AMP observations of the clips (the env's
            ``amp.sample_expert``); None for an agent that only acts (play, eval).
        device, dist: as :class:`PPOAgent`.
    """

    name = "amp"

    def __init__(self, obs_dim: int, action_dim: int, config: PPOConfig | None = None,
                 device: torch.device | str = "cpu", dist: DistContext | None = None, *, amp_obs_dim: int,
                 expert: ExpertSampler | None = None) -> None:
        super().__init__(obs_dim, action_dim, config, device, dist)
        if amp_obs_dim <= 0:
            raise MimicError("agent.name=amp needs AMP observations from the env: set env.amp_obs_steps (e.g. 2)")
        acfg = self.config.amp
        self.amp_obs_dim = amp_obs_dim
        self.expert = expert
        with torch.random.fork_rng(devices=[]):
            self.disc = Discriminator(amp_obs_dim, acfg.disc_hidden, self.init_generator,
                                      resolve_precision(acfg.disc_precision, self.device), acfg.vdb_dim
                                      ).to(self.device)
        self.vdb_beta = acfg.vdb_beta  # the bottleneck's multiplier (agent.amp.vdb_dim > 0), moved each step
        self.amp_norm = RunningNormalizer(amp_obs_dim, acfg.normalizer_samples, self.config.normalizer_clip
                                          ).to(self.device)
        self.disc_optimizer = make_optimizer(acfg.disc_optimizer, list(self.disc.parameters()), acfg.disc_lr,
                                             self.config.momentum, acfg.disc_weight_decay,
                                             self.config.fused_optimizer)
        self.replay = torch.zeros(acfg.replay_size, amp_obs_dim, device=self.device)
        self.replay_count = 0  # samples written so far (the ring's head is replay_count % replay_size)
        self.has_discriminator = True  # False once loaded from a policy-only file (its discriminator is random)
        if self.dist.enabled:
            self.dist.broadcast_module(self.disc)

    # ------------------------------------------------------------------------------------ the seam
    def rollout_fields(self) -> dict[str, tuple[int, ...]]:
        return {**super().rollout_fields(), "amp_obs": (self.amp_obs_dim,)}

    def sync_modules(self) -> list[nn.Module]:
        return [*super().sync_modules(), self.disc, self.amp_norm]

    def dims(self) -> dict[str, int]:
        return {**super().dims(), "amp_obs_dim": self.amp_obs_dim}

    @torch.no_grad()
    def disc_logits(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """(N,) the discriminator's logits of raw AMP observations (N, amp_obs_dim): > 0 reads as the clips'."""
        if not self.has_discriminator:
            raise MimicError("this AMP agent was loaded from a policy-only file: it has no trained discriminator")
        return self.disc(self.amp_norm(amp_obs.to(self.device, torch.float32))).flatten().float()

    @torch.no_grad()
    def shape_rewards(self, buffer: RolloutBuffer) -> dict[str, float]:
        """Replace the rollout's rewards by ``task_weight * task + style_weight * style``."""
        acfg = self.config.amp
        amp_obs = buffer.extras["amp_obs"].flatten(0, 1)
        logits = self.disc(self.amp_norm(amp_obs)).view_as(buffer.rewards)
        style = style_reward(logits, acfg.reward_scale, acfg.objective)
        task = buffer.rewards.clone()
        buffer.rewards.copy_(acfg.task_weight * task + acfg.style_weight * style)
        valid = buffer.valid
        stats = torch.stack((masked_sum(style, valid), masked_sum(task, valid), valid.sum().double()))
        stats = self.dist.sum_(stats.double())
        count = float(stats[2].clamp_min(1))
        return {"amp_style_reward": float(stats[0]) / count, "amp_task_reward": float(stats[1]) / count}

    # ------------------------------------------------------------------------------------ learning
    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        metrics = super()._update(buffer)  # style rewards from the current discriminator, then PPO
        metrics.update(self._update_discriminator(buffer))
        metrics["skipped_minibatches"] = float(self.step_guard.skipped)  # the discriminator's too
        return metrics

    def _update_discriminator(self, buffer: RolloutBuffer) -> dict[str, float]:
        if self.expert is None:
            raise MimicError("this AMP agent was built without expert data (for acting only); it cannot train")
        acfg = self.config.amp
        # every sample enters the minibatches (the same number on every rank); invalid ones are masked out
        valid = buffer.valid.flatten()
        agent_obs = buffer.extras["amp_obs"].flatten(0, 1)
        batch = acfg.disc_batch_size * buffer.num_envs
        per_epoch = -(-len(agent_obs) // batch)
        expert_all = self.expert(acfg.disc_epochs * per_epoch * batch, self.generator).to(self.device)
        # the normalizer sees both sides, one expert sample per agent sample (see the module docstring)
        self.amp_norm.record(agent_obs[valid])
        self.amp_norm.record(expert_all[:len(agent_obs)])
        means = MinibatchMeans()
        used = 0
        for _ in range(acfg.disc_epochs):
            perm = torch.randperm(len(agent_obs), generator=self.generator, device=self.device)
            for start in range(0, len(agent_obs), batch):
                idx = perm[start:start + batch]
                agent, mask = self._with_replay(agent_obs[idx], valid[idx])
                expert = expert_all[used:used + len(agent)]
                used += len(agent)
                means.add(self._disc_step(expert, agent, mask))
        self._store_replay(agent_obs[valid])
        merge_normalizer(self.dist, self.amp_norm)
        out = means.means()
        if self.dist.enabled and out:
            vec = self.dist.mean_(torch.tensor(list(out.values()), dtype=torch.float64))
            out = dict(zip(out, vec.tolist(), strict=True))
        return out

    def _with_replay(self, agent: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatch's agent samples (M, D) and their validity (M,): half from this rollout, half from the
        replay buffer of past rollouts (all from the rollout while the buffer is empty)."""
        stored = min(self.replay_count, len(self.replay))
        if stored == 0:
            return agent, mask
        half = len(agent) // 2
        pick = torch.randint(stored, (len(agent) - half,), generator=self.generator, device=self.device)
        return torch.cat((agent[:half], self.replay[pick])), torch.cat((mask[:half], torch.ones_like(mask[half:])))

    def _store_replay(self, agent_obs: torch.Tensor) -> None:
        size = len(self.replay)
        if size == 0:
            return
        obs = agent_obs[-size:]
        idx = (self.replay_count + torch.arange(len(obs), device=self.device)) % size
        self.replay[idx] = obs
        self.replay_count += len(obs)

    def _disc_step(self, expert: torch.Tensor, agent: torch.Tensor,
                   agent_mask: torch.Tensor) -> dict[str, torch.Tensor | float]:
        """One discriminator minibatch of expert (M, D) and agent (M, D) samples (``agent_mask`` (M,): valid
        ones); returns its diagnostics (0-dim tensors, read back once per update; the bottleneck's KL is read
        at once, as its weight adapts to it)."""
        acfg = self.config.amp

        def mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # over every rank's samples
            return global_masked_mean(self.dist, x, mask)

        ones_e = torch.ones(len(expert), dtype=torch.bool, device=self.device)
        noise_e, noise_a = self._code_noise(len(expert)), self._code_noise(len(agent))
        expert_logits, grad_sq, kl_e = penalty_and_kl_terms(self.disc, self.amp_norm(expert), noise_e)
        if acfg.objective == "bce":  # MimicKit: the penalty on both sides, weighted by grad_penalty
            agent_logits, grad_sq_agent, kl_a = penalty_and_kl_terms(self.disc, self.amp_norm(agent), noise_a)
            penalty = 0.5 * (mean(grad_sq, ones_e) + mean(grad_sq_agent, agent_mask))
            penalty_weight = acfg.grad_penalty
        else:  # the AMP paper: on expert samples, weighted by grad_penalty / 2
            agent_logits, kl_a = self.disc.logits_and_kl(self.amp_norm(agent), noise_a)
            penalty = mean(grad_sq, ones_e)
            penalty_weight = 0.5 * acfg.grad_penalty
        err_e, err_a = objective_terms(acfg.objective, expert_logits, agent_logits)
        objective = 0.5 * (mean(err_e, ones_e) + mean(err_a, agent_mask))
        logit_reg = self.disc.head.weight.square().sum()
        loss = objective + penalty_weight * penalty + acfg.logit_reg * logit_reg
        extra: dict[str, float] = {}
        if kl_e is not None:  # the bottleneck: KL over both sides' samples, held near vdb_info by beta
            kl = 0.5 * (mean(kl_e, ones_e) + mean(kl_a, agent_mask))
            loss = loss + self.vdb_beta * kl
            extra = {"amp_kl": kl.item(), "amp_vdb_beta": self.vdb_beta}
            self.vdb_beta = max(0.0, self.vdb_beta + acfg.vdb_beta_lr * (extra["amp_kl"] - acfg.vdb_info))
        self.step_guard(self.disc_optimizer, self.disc, loss)
        with torch.no_grad():
            return {"amp_disc_loss": objective.detach(), "amp_grad_penalty": penalty.detach(),
                    "amp_acc_expert": (expert_logits > 0).float().mean(),
                    "amp_acc_agent": masked_mean((agent_logits < 0).float(), agent_mask),
                    "amp_logit_expert": expert_logits.mean(),
                    "amp_logit_agent": masked_mean(agent_logits, agent_mask), **extra}

    def _code_noise(self, n: int) -> torch.Tensor | None:
        """Standard normal noise (n, vdb_dim) for the bottleneck's codes, from the agent's generator; None
        without a bottleneck."""
        k = self.disc.bottleneck
        return torch.randn(n, k, generator=self.generator, device=self.device) if k else None

    # ------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**super().state_dict(), "disc": self.disc.state_dict(), "amp_norm": self.amp_norm.state_dict(),
                "disc_optimizer": self.disc_optimizer.state_dict(), "replay": self.replay.clone(),
                "replay_count": self.replay_count, "vdb_beta": self.vdb_beta}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.has_discriminator = "disc" in state
        if self.has_discriminator:  # a policy-only file has none: acting needs no discriminator
            self.disc.load_state_dict(state["disc"])
            self.amp_norm.load_state_dict(state["amp_norm"])
            load_optimizer_state(self.disc_optimizer, state["disc_optimizer"])
            self.replay.copy_(state["replay"])
            self.replay_count = int(state["replay_count"])
            self.vdb_beta = float(state.get("vdb_beta", self.config.amp.vdb_beta))


def discriminator_of(agent: PPOAgent) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``agent``'s :meth:`AMPAgent.disc_logits` when it has a trained discriminator (an AMP agent that was not
    loaded from a policy-only file), else None."""
    return agent.disc_logits if isinstance(agent, AMPAgent) and agent.has_discriminator else None


def masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of ``x`` over ``mask`` (same shapes)."""
    return (x * mask).sum()
