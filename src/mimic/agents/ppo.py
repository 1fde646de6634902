"""PPO for motion imitation, as DeepMimic and MimicKit run it (ANCHORS 1.10 and 3.12).

Read top to bottom: :class:`PPOAgent`: ``act`` (exploration), ``update`` (returns and advantages, critic
epochs, actor epochs), and the small helpers they use; the loss terms are :mod:`mimic.agents.losses`.
The hyperparameters, with where each default comes from, are :class:`~mimic.agents.config.PPOConfig`.

What differs from textbook PPO, on purpose:

- the policy's std is fixed (0.05 in the normalized action space) instead of learned;
- "exploration rate": each step samples from the Gaussian only with probability ``exp_prob`` and
  otherwise takes the mean; only sampled steps (``rand_mask``) enter the surrogate loss and the
  advantage statistics, since a mean action carries no exploration signal;
- separate actor and critic networks with separate optimizers (SGD with momentum by default), and
  the critic is trained first, on all valid samples, then the actor (MimicKit's order);
- an action-bound loss pulls the mean back inside [-1, 1] instead of squashing it;
- no entropy bonus and no value clipping.

Data parallel (``dist`` with several ranks; :mod:`mimic.distributed`, :mod:`mimic.agents.data_parallel`):
rank 0's weights are broadcast at the start; every minibatch loss is a masked mean whose denominator is the
count over all ranks, and gradients are averaged over ranks, so one update on R ranks' rollouts equals one
update on their concatenation; advantage statistics and the normalizer's new sums are reduced
before use, and the sample counter counts every rank's samples.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from mimic.agents.compute import resolve_precision, threads_per_process, torch_threads
from mimic.agents.config import PPOConfig
from mimic.agents.data_parallel import GuardedStep, global_counts, global_masked_mean, merge_normalizer
from mimic.agents.losses import action_bound_violation, approx_kl, clipped_surrogate, masked_mean
from mimic.agents.metrics import MinibatchMeans
from mimic.agents.networks import Actor, Critic
from mimic.agents.normalizer import RunningNormalizer
from mimic.agents.optimizers import load_optimizer_state, make_optimizer
from mimic.agents.policy import Policy
from mimic.agents.rollout import RolloutBuffer
from mimic.distributed import DistContext
from mimic.errors import MimicError

if TYPE_CHECKING:
    from mimic.envs.mirror import Mirror


@dataclass
class ActOutput:
    """What :meth:`PPOAgent.act` returns for a batch of N observations.

    Attributes:
        env_action: (N, A) the action clipped to [-1, 1], for the env.
        action: (N, A) the unclipped sample (or the mean where ``rand_mask`` is False).
        log_prob: (N,) log-density of ``action`` under the policy.
        value: (N,) critic value, or None when :meth:`PPOAgent.act` was asked for no value.
        rand_mask: (N,) bool, the action was sampled (an exploration step).
    """

    env_action: torch.Tensor
    action: torch.Tensor
    log_prob: torch.Tensor
    value: torch.Tensor
    rand_mask: torch.Tensor


class PPOAgent:
    """Actor, critic, observation normalizer, optimizers and counters.

    The algorithm seam (README, "Agents"): an agent names itself (``name``, recorded in checkpoints), makes
    its own rollout storage (:meth:`make_buffer`, with :meth:`rollout_fields` for extra per-step data),
    may reshape the rollout's rewards before the returns (:meth:`shape_rewards`), and lists the modules
    that must stay identical over ranks (:meth:`sync_modules`). AMP is this class plus a discriminator.

    Args:
        obs_dim / action_dim: env sizes D and A.
        config: :class:`PPOConfig`.
        device: where the networks live.
        dist: the process group (default: a single process). Ranks other than 0 explore with their
            own random stream.

    Attributes:
        iteration: updates done; samples: env samples collected (both restored by checkpoints).
        generator: the agent's only random source (initial weights, exploration, minibatch order).
    """

    name = "ppo"

    def __init__(self, obs_dim: int, action_dim: int, config: PPOConfig | None = None,
                 device: torch.device | str = "cpu", dist: DistContext | None = None) -> None:
        self.config = cfg = config or PPOConfig()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.device = torch.device(device)
        self.dist = dist or DistContext(device=self.device)
        self.precision = resolve_precision(cfg.precision, self.device)
        local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", self.dist.world_size))
        self.update_threads = cfg.update_threads or threads_per_process(local_procs)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        # The networks are built on the CPU and then moved, so their initial weights come from a CPU
        # generator: self.generator itself on a CPU, a CPU one with the same seed on a GPU (the same weights).
        self.init_generator = (self.generator if self.device.type == "cpu"
                               else torch.Generator().manual_seed(cfg.seed))
        # nn.Linear draws its default init from the global RNG when built; fork it so building an
        # agent leaves the global state untouched. The weights themselves come from self.init_generator.
        with torch.random.fork_rng(devices=[]):
            self.actor = Actor(obs_dim, action_dim, cfg.actor_hidden, cfg.action_std, cfg.std_type == "learned",
                               cfg.actor_init_output_scale, self.init_generator, self.precision).to(self.device)
            self.critic = Critic(obs_dim, cfg.critic_hidden, self.init_generator, self.precision).to(self.device)
        self.obs_norm = RunningNormalizer(obs_dim, cfg.normalizer_samples, cfg.normalizer_clip).to(self.device)
        # agent.value_norm: statistics of the returns the critic learns in standardized form (never frozen,
        # never clipped); None when off.
        self.value_norm = (RunningNormalizer(1, max_samples=2**62, clip=float("inf")).to(self.device)
                           if cfg.value_norm else None)
        self.actor_optimizer = make_optimizer(cfg.actor_optimizer, list(self.actor.parameters()), cfg.actor_lr,
                                              cfg.momentum, cfg.actor_weight_decay, cfg.fused_optimizer)
        self.critic_optimizer = make_optimizer(cfg.critic_optimizer, list(self.critic.parameters()), cfg.critic_lr,
                                               cfg.momentum, cfg.critic_weight_decay, cfg.fused_optimizer)
        self.iteration = 0
        self.mirror: Mirror | None = None  # the env's mirror images, for agent.mirror_weight (set by build_agent)
        self.samples = 0
        # every optimizer step goes through this: gradients averaged over ranks, NaN and Inf skipped and counted
        self.step_guard = GuardedStep(self.dist, cfg.grad_clip)
        if self.dist.enabled:
            self.dist.broadcast_module(self.actor)
            self.dist.broadcast_module(self.critic)
            if self.dist.rank > 0:
                self.generator.manual_seed(cfg.seed + 1_000_003 * self.dist.rank)

    # ------------------------------------------------------------------------------------ the seam
    def rollout_fields(self) -> dict[str, tuple[int, ...]]:
        """Extra per-step data the agent stores (name -> per-sample shape), taken from the env's ``info``: the
        teacher's labels with ``teacher_weight``."""
        if self.config.teacher_weight > 0:
            return {"teacher_action": (self.action_dim,), "teacher_mask": ()}
        return {}

    def make_buffer(self, num_envs: int) -> RolloutBuffer:
        """Rollout storage for ``num_envs`` envs and ``steps_per_iter`` steps, with :meth:`rollout_fields`."""
        return RolloutBuffer(self.config.steps_per_iter, num_envs, self.obs_dim, self.action_dim, device=self.device,
                             extra_fields=self.rollout_fields())

    def shape_rewards(self, buffer: RolloutBuffer) -> dict[str, float]:
        """Change ``buffer.rewards`` in place before the returns are computed; returns metrics (PPO: none)."""
        return {}

    def sync_modules(self) -> list[nn.Module]:
        """The modules every rank must hold identically (checked every ``run.sync_check_every`` iterations)."""
        return [self.actor, self.critic, self.obs_norm, *([self.value_norm] if self.value_norm is not None else [])]

    def dims(self) -> dict[str, int]:
        """The sizes this agent was built for (stored in checkpoints)."""
        return {"obs_dim": self.obs_dim, "action_dim": self.action_dim}

    # ------------------------------------------------------------------------------------ acting
    def _anneal_fraction(self, begin: int, end: int) -> float:
        """How far the run's samples are from ``begin`` (0) to ``end`` (1), clamped; 1 from ``end`` on."""
        return 1.0 if self.samples >= end else max(self.samples - begin, 0) / max(end - begin, 1)

    @property
    def exp_prob(self) -> float:
        """Current probability that a step samples its action (linear anneal over samples)."""
        cfg = self.config
        return cfg.exp_prob_begin + (cfg.exp_prob_end - cfg.exp_prob_begin) * self._anneal_fraction(
            0, cfg.exp_anneal_samples)

    @property
    def action_std(self) -> float:
        """The exploration std a ``fixed`` actor uses now: ``action_std``, or on its way to ``action_std_end``
        (geometrically over ``action_std_anneal_samples``, by the run's samples)."""
        cfg = self.config
        if cfg.action_std_end <= 0:
            return cfg.action_std
        return cfg.action_std * (cfg.action_std_end / cfg.action_std) ** self._anneal_fraction(
            *cfg.action_std_anneal_samples)

    def reset_exploration_std(self) -> None:
        """Set a ``fixed`` actor's std to :attr:`action_std`: this run's setting, not a checkpoint's or an
        init policy's. A ``learned`` std is left as it is."""
        if self.config.std_type == "fixed":
            with torch.no_grad():
                self.actor.log_std.fill_(math.log(self.action_std))

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False, value: bool = True) -> ActOutput:
        """Actions for raw observations ``obs`` (N, D); ``deterministic`` takes the mean (test mode).

        ``value=False`` skips the critic (``ActOutput.value`` is None): :func:`~mimic.agents.rollout.collect`
        evaluates a whole rollout's values in one batched pass instead (:meth:`values`)."""
        obs = obs.to(self.device, torch.float32)
        norm_obs = self.obs_norm(obs)
        mean = self.actor(norm_obs)
        n = obs.shape[0]
        if deterministic:
            action, rand_mask = mean, torch.zeros(n, dtype=torch.bool, device=self.device)
        else:
            sample = self.actor.sample(mean, self.generator)
            rand_mask = torch.rand(n, generator=self.generator, device=self.device) < self.exp_prob
            action = torch.where(rand_mask[:, None], sample, mean)
        return ActOutput(env_action=action.clamp(-1.0, 1.0), action=action,
                         log_prob=self.actor.log_prob(mean, action),
                         value=self._critic_value(norm_obs) if value else None, rand_mask=rand_mask)

    def policy(self) -> Policy:
        """The deterministic policy (raw obs -> clamped mean action) sharing this agent's modules."""
        return Policy(self.obs_norm, self.actor)

    @torch.no_grad()
    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """Critic values (N,) of raw observations (N, D)."""
        return self._critic_value(self.obs_norm(obs.to(self.device, torch.float32)))

    def _critic_value(self, norm_obs: torch.Tensor) -> torch.Tensor:
        """(N,) values of normalized observations (N, D), in return units (undoing ``value_norm``)."""
        out = self.critic(norm_obs)
        return self.value_norm.unnormalize(out[:, None])[:, 0] if self.value_norm is not None else out

    @torch.no_grad()
    def values(self, obs: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
        """Critic values (M,) of many raw observations (M, D) at once, on ``update_threads`` threads.

        MuJoCo is idle between rollout and update, so one batched pass over a whole rollout runs on every
        core; evaluating the critic per step instead costs one single-threaded small-batch pass per step
        (``benchmarks/learner.py``: the inference share of the loop)."""
        with torch_threads(self.update_threads if self.device.type == "cpu" else 0):
            return torch.cat([self.value(part) for part in obs.split(chunk)]) if len(obs) else obs.new_zeros(0)

    # ------------------------------------------------------------------------------------ learning
    def update(self, buffer: RolloutBuffer) -> dict[str, float]:
        """One PPO update on a full rollout: critic epochs, then actor epochs, then the normalizer.

        Runs on ``update_threads`` torch threads and restores the caller's count afterwards.
        Returns metrics: ``critic_loss``, ``actor_loss`` (surrogate + bound loss), ``action_bound_loss``,
        ``clip_frac`` and ``imp_ratio`` (over sampled steps), ``adv_mean`` and ``adv_std`` (before
        standardization, over sampled steps), ``exp_prob``, ``return_mean``, ``value_mean``.
        """
        with torch_threads(self.update_threads if self.device.type == "cpu" else 0):
            return self._update(buffer)

    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        cfg = self.config
        self.step_guard.skipped = 0
        shaped = self.shape_rewards(buffer)
        returns = buffer.returns(cfg.discount, cfg.td_lambda)
        advantages = returns - buffer.values

        # Flatten (T, N, ...) to (T*N, ...): the minibatches mix steps and envs.
        obs = buffer.obs.flatten(0, 1)
        actions = buffer.actions.flatten(0, 1)
        old_log_probs = buffer.log_probs.flatten(0, 1)
        returns, advantages = returns.flatten(), advantages.flatten()
        valid = buffer.valid.flatten()
        explore = buffer.rand_mask.flatten() & valid
        norm_obs = self.obs_norm(obs)  # same statistics as during the rollout: merged below

        # Advantage statistics over the exploring samples only (a mean action explores nothing),
        # summed over ranks.
        adv_explore = advantages[explore].double()
        sums = self.dist.sum_(torch.stack((adv_explore.new_tensor(float(len(adv_explore))), adv_explore.sum(),
                                           adv_explore.square().sum())))
        count = sums[0]
        adv_mean = (sums[1] / count).float() if count > 0 else advantages.new_zeros(())
        adv_var = (sums[2] / count - (sums[1] / count) ** 2).clamp_min(0.0) if count > 1 else None
        adv_std = adv_var.sqrt().float() if adv_var is not None else advantages.new_ones(())
        norm_adv = ((advantages - adv_mean) / (adv_std + 1e-5)).clamp(-cfg.norm_adv_clip, cfg.norm_adv_clip)

        num_samples = obs.shape[0]
        targets = returns
        if self.value_norm is not None:  # this rollout's returns join the statistics before use
            self.value_norm.record(returns[valid][:, None])
            merge_normalizer(self.dist, self.value_norm)
            targets = self.value_norm(returns[:, None])[:, 0]
        critic_metrics = self._epochs(cfg.critic_epochs, cfg.critic_batch_size * buffer.num_envs, num_samples,
                                      lambda idx: self._critic_step(norm_obs[idx], targets[idx], valid[idx]))
        actor_epochs = 0 if self.iteration < cfg.actor_warmup_iters else cfg.actor_epochs  # a fresh critic first
        teacher = None
        if cfg.teacher_weight > 0:
            labelled = (buffer.extras["teacher_mask"].flatten() > 0) & valid
            teacher = (buffer.extras["teacher_action"].flatten(0, 1), labelled)
        mirrored = None
        if cfg.mirror_weight > 0:
            if self.mirror is None:
                raise MimicError("agent.mirror_weight needs the env's mirror images (an agent built with its env)")
            mirrored = self.obs_norm(self.mirror.obs.apply(obs))
        actor_metrics = self._epochs(actor_epochs, cfg.actor_batch_size * buffer.num_envs, num_samples,
                                     lambda idx: self._actor_step(
                                         norm_obs[idx], actions[idx], old_log_probs[idx], norm_adv[idx],
                                         explore[idx], valid[idx],
                                         None if teacher is None else (teacher[0][idx], teacher[1][idx]),
                                         None if mirrored is None else mirrored[idx]))
        if cfg.actor_lr_schedule == "kl" and "approx_kl" in actor_metrics:  # every rank steps on the same KL
            self._adapt_actor_lr(float(self.dist.mean_(torch.tensor(actor_metrics["approx_kl"], dtype=torch.float64))))
        actor_metrics["actor_lr"] = self.actor_optimizer.param_groups[0]["lr"]
        merge_normalizer(self.dist, self.obs_norm)
        self.iteration += 1
        self.reset_exploration_std()  # the next rollout and update explore with the std for these samples
        metrics = {**critic_metrics, **actor_metrics, "return_mean": float(returns[valid].mean()),
                   "value_mean": float(buffer.values.flatten()[valid].mean())}
        if self.dist.enabled:  # the logged losses and means: averages over ranks
            vec = self.dist.mean_(torch.tensor(list(metrics.values()), dtype=torch.float64))
            metrics = dict(zip(metrics, vec.tolist(), strict=True))
        return {**shaped, **metrics, "adv_mean": float(adv_mean), "adv_std": float(adv_std), "exp_prob": self.exp_prob,
                "action_std": float(self.actor.log_std.exp().mean()),
                "skipped_minibatches": float(self.step_guard.skipped)}

    def _epochs(self, epochs: int, batch_size: int, num_samples: int,
                step: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> dict[str, float]:
        """Run ``step(indices)`` over ``epochs`` shuffled passes; average the metrics it returns (0-dim tensors,
        read back once at the end)."""
        means = MinibatchMeans()
        for _ in range(epochs):
            perm = torch.randperm(num_samples, generator=self.generator, device=self.device)
            for start in range(0, num_samples, batch_size):
                means.add(step(perm[start:start + batch_size]))
        return means.means()

    def _critic_step(self, norm_obs: torch.Tensor, targets: torch.Tensor,
                     valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """One critic minibatch: mean squared error to the TD(lambda) returns (MimicKit: no 1/2), standardized
        with ``value_norm``."""
        loss = global_masked_mean(self.dist, (self.critic(norm_obs) - targets).square(), valid)
        self.step_guard(self.critic_optimizer, self.critic, loss)
        return {"critic_loss": loss.detach()}

    def _actor_step(self, norm_obs: torch.Tensor, actions: torch.Tensor, old_log_probs: torch.Tensor,
                    norm_adv: torch.Tensor, explore: torch.Tensor, valid: torch.Tensor,
                    teacher: tuple[torch.Tensor, torch.Tensor] | None = None,
                    mirrored_obs: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One actor minibatch: clipped surrogate on exploring samples plus the action-bound loss, and with
        ``teacher`` (its actions (M, A) and the mask (M,) of labelled samples) the behaviour-cloning term, with
        ``mirrored_obs`` (M, D), the mirrored states normalized, the symmetry term (``agent.mirror_weight``)."""
        cfg = self.config
        mean = self.actor(norm_obs)
        ratio = torch.exp(self.actor.log_prob(mean, actions) - old_log_probs)
        surrogate = clipped_surrogate(ratio, norm_adv, cfg.ppo_clip_ratio)
        counts = global_counts(self.dist, explore, valid)
        policy_loss = -global_masked_mean(self.dist, surrogate, explore, counts[0])
        bound_loss = global_masked_mean(self.dist, action_bound_violation(mean), valid, counts[1])
        loss = policy_loss + cfg.action_bound_weight * bound_loss
        teacher_loss = None
        if teacher is not None:
            teacher_loss = global_masked_mean(self.dist, (mean - teacher[0]).square().mean(-1), teacher[1])
            loss = loss + cfg.teacher_weight * teacher_loss
        mirror_loss = None
        if mirrored_obs is not None:
            image = self.mirror.action.apply(self.actor(mirrored_obs))
            mirror_loss = global_masked_mean(self.dist, (mean - image).square().mean(-1), valid, counts[1])
            loss = loss + cfg.mirror_weight * mirror_loss
        self.step_guard(self.actor_optimizer, self.actor, loss)
        with torch.no_grad():
            clipped = ((ratio - 1.0).abs() > cfg.ppo_clip_ratio).float()
            kl = approx_kl(ratio)  # KL(rollout || before this step)
            out = {"actor_loss": loss.detach(), "action_bound_loss": bound_loss.detach(),
                   "clip_frac": masked_mean(clipped, explore), "imp_ratio": masked_mean(ratio, explore),
                   "approx_kl": masked_mean(kl, explore)}
            if teacher_loss is not None:
                out["teacher_loss"] = teacher_loss.detach()
            if mirror_loss is not None:
                out["mirror_loss"] = mirror_loss.detach()
            return out

    def _adapt_actor_lr(self, kl: float) -> None:
        """The ``kl`` schedule (see :class:`PPOConfig`): one multiplicative step of the actor's rate toward
        ``kl_target`` after an update whose mean KL (averaged over ranks) was ``kl``."""
        cfg = self.config
        lr = self.actor_optimizer.param_groups[0]["lr"]
        if kl > 2.0 * cfg.kl_target:
            lr /= 1.5
        elif kl < 0.5 * cfg.kl_target:
            lr *= 1.5
        self._set_actor_lr(lr)

    def _set_actor_lr(self, lr: float) -> None:
        """Set the actor's rate to ``lr`` clamped to ``agent.actor_lr_bounds``."""
        lr = min(max(lr, self.config.actor_lr_bounds[0]), self.config.actor_lr_bounds[1])
        for group in self.actor_optimizer.param_groups:
            group["lr"] = lr

    # ------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything needed to resume: networks, normalizer, optimizers, counters, generator state."""
        return {
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "obs_norm": self.obs_norm.state_dict(),
            **({"value_norm": self.value_norm.state_dict()} if self.value_norm is not None else {}),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "iteration": self.iteration, "samples": self.samples,
            "generator": self.generator.get_state(), "generator_device": self.generator.device.type,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (shapes must match this agent's config).

        A policy-only state (no ``critic`` or optimizer entries, see
        :func:`~mimic.agents.checkpoint.export_policy`) restores the actor and normalizer only:
        enough to act, not to resume training.
        """
        if "critic" in state and (self.value_norm is not None) != ("value_norm" in state):
            raise MimicError(f"the checkpoint's critic learned {'standardized' if 'value_norm' in state else 'raw'}"
                             f" returns, this agent's agent.value_norm is {self.value_norm is not None}: "
                             "resume with the checkpoint's setting")
        self.actor.load_state_dict(state["actor"])
        self.obs_norm.load_state_dict(state["obs_norm"])
        self.iteration, self.samples = int(state["iteration"]), int(state["samples"])
        if "critic" in state:
            self.critic.load_state_dict(state["critic"])
            if self.value_norm is not None:
                self.value_norm.load_state_dict(state["value_norm"])
            load_optimizer_state(self.actor_optimizer, state["actor_optimizer"])
            if self.config.actor_lr_schedule == "kl":  # the schedule's rate is run state, within the bounds
                self._set_actor_lr(state["actor_optimizer"]["param_groups"][0]["lr"])
            load_optimizer_state(self.critic_optimizer, state["critic_optimizer"])
            self.reset_exploration_std()  # a fixed exploration noise is a setting (by samples), as the rates are
        if "generator" in state:
            if state.get("generator_device", "cpu") == self.generator.device.type:
                self.generator.set_state(state["generator"])
            else:
                # trained on another kind of device (a GPU's generator state does not fit a CPU's): the
                # random stream cannot carry over, so a fresh one from the seed and the iteration goes on
                self.generator.manual_seed(self.config.seed + self.iteration)

