"""The agents' settings: :class:`PPOConfig` (every PPO hyperparameter, with where its default comes from, plus
the algorithm's name and AMP's discriminator settings), loaded from the ``agent`` section of a config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mimic.agents.discriminator import AMPConfig
from mimic.errors import MimicError


@dataclass
class PPOConfig:
    """PPO hyperparameters. Defaults are MimicKit's ``deepmimic_humanoid_ppo_agent.yaml`` except ``actor_lr``.

    Attributes:
        actor_hidden: actor MLP hidden sizes, ReLU (both sources: 1024 -> 512).
        critic_hidden: critic MLP hidden sizes, ReLU (1024 -> 512).
        actor_init_output_scale: the mean head's weights start uniform in +-this (both: 0.01).
        action_std: std of the Gaussian in the normalized action space (both: 0.05, i.e. about
            0.06-0.17 rad of PD target on the humanoid). With ``fixed``, a resume (``--resume
            agent.action_std=X``) and ``run.init`` explore with this run's value, not the checkpoint's.
        action_std_end / action_std_anneal_samples: with a ``fixed`` std, the std moves linearly (in log
            space) from ``action_std`` to ``action_std_end`` between the first and second sample counts of
            ``action_std_anneal_samples`` and stays there (the run's total samples, so a resume continues
            the anneal where it stopped). 0 (default): no anneal. Neither source anneals it; DeepMimic
            anneals the probability of exploring instead (``exp_prob_*``).
        std_type: ``fixed`` (both sources) or ``learned`` (a trainable log-std vector, starting at
            ``action_std``; MimicKit's CONSTANT).
        actor_optimizer / critic_optimizer: ``sgd`` (momentum ``momentum``; both sources) or ``adam``
            (AdamW, as MimicKit's "Adam"; its weight decay is decoupled).
        actor_lr / critic_lr: learning rates. MimicKit uses 1e-4 / 1e-4 with 4096 envs (actor
            minibatches of 16384 samples); DeepMimic 2e-6 / 5e-4 (256-sample minibatches). With the
            fixed std of 0.05 over 28 DoF, a mean shift of 0.01 already moves most importance ratios
            outside 1 +- 0.2, so the actor's rate must shrink with the minibatch's gradient noise:
            measured on the humanoid walk with 256 envs (minibatches of 1024), 1e-4 clips 36-52% of
            the samples per update, 2.5e-5 clips 12-19%. The default actor rate is therefore 2.5e-5
            (about 1e-4 x sqrt(256 / 4096)); use 1e-4 at MimicKit's scale.
        actor_lr_schedule: ``fixed`` (both sources), or ``kl``: after every update the actor's rate is
            divided by 1.5 when the update's KL divergence from the rollout's policy (``approx_kl``: the
            mean over the actor's minibatches, each measured before its step with Schulman's k3 estimate
            over the exploring samples) was above twice ``kl_target``, and multiplied by 1.5 when below
            half of it, within ``actor_lr_bounds`` (rsl_rl's adaptive schedule, once per update instead
            of per minibatch). The rate is logged (``actor_lr``) and resumes with the optimizer.
        kl_target: the KL per update the ``kl`` schedule steers toward.
        actor_lr_bounds: [lowest, highest] actor rate of the ``kl`` schedule.
        momentum: SGD momentum (both: 0.9).
        actor_weight_decay / critic_weight_decay: weight decay (MimicKit 0 / 0; DeepMimic's actor 5e-4).
            With SGD it equals DeepMimic's ``wd * l2_loss(w)`` term (gradient ``wd * w``), applied
            here to biases too.
        discount: gamma (MimicKit 0.99; DeepMimic 0.95).
        td_lambda: lambda of the TD(lambda) returns (both: 0.95).
        steps_per_iter: env steps per env per iteration, T (MimicKit: 32).
        critic_epochs / actor_epochs: passes over the rollout per iteration (MimicKit: 2 / 5).
        actor_warmup_iters: the first iterations of a run update the critic (and an AMP discriminator) but
            not the actor: for a run started from a trained policy (``run.init``), whose fresh critic
            would otherwise steer the actor with meaningless advantages (default 0).
        critic_batch_size / actor_batch_size: minibatch size in units of ``num_envs`` samples
            (MimicKit's convention: 2 / 4, i.e. 16 and 8 minibatches per epoch at T = 32).
        ppo_clip_ratio: epsilon of the clipped surrogate (both: 0.2).
        norm_adv_clip: standardized advantages are clipped to +-this (both: 4).
        action_bound_weight: weight of the squared excess of the action mean beyond +-1 (both: 10).
        teacher_weight: weight of a behaviour-cloning term in the actor loss: the mean over the labelled
            samples of the squared distance (mean over DoFs) between the action mean and the teacher's action
            for the same state, which the env gives with ``env.teacher`` (:mod:`mimic.envs.teacher`;
            logged as ``teacher_loss``). 0: off (default; neither source has one).
        mirror_weight: weight of a left-right symmetry term in the actor loss (Yu et al. 2018): the mean over
            the rollout of the squared distance (mean over DoFs) between the action mean and the mirror image of
            the action mean for the mirrored state (:mod:`mimic.envs.mirror`; logged as ``mirror_loss``). It
            needs a character with ``left_``/``right_`` halves and the ``deepmimic`` observation without the
            phase. 0: off (default; neither source has one).
        exp_prob_begin / exp_prob_end: probability that a step samples an action instead of taking
            the mean, annealed linearly from begin to end over ``exp_anneal_samples`` samples
            (MimicKit: 1 / 1, always sample; DeepMimic: 1 / 0.2 over 64M samples).
        exp_anneal_samples: samples over which the exploration probability is annealed.
        grad_clip: max global gradient norm per network; 0 turns clipping off (MimicKit's default).
        normalizer_samples: the observation normalizer stops updating after this many samples
            (MimicKit: 1e8; DeepMimic: 1e6).
        normalizer_clip: normalized observations are clipped to +-this (both: 10).
        value_norm: the critic learns standardized returns, ``(return - mean) / std`` with running
            statistics of every update's TD(lambda) returns (merged over ranks, never frozen), and its
            output is mapped back for the advantages (rl_games' ``normalize_value``). Off in both sources.
        seed: seed of the agent's generator (weights, exploration, minibatch order).
        precision: arithmetic of the networks' hidden layers (:mod:`mimic.agents.compute`): ``bf16``
            (autocast; heads, losses, parameters, optimizer state and normalizer stay fp32), ``fp32``,
            or ``auto`` (bf16 where the hardware has native bf16, else fp32).
        update_threads: torch threads during the PPO update (MuJoCo is idle then); 0 = the cores
            this process owns (all cores over the processes on this machine). Acting and env math
            always run on one thread.
        fused_optimizer: step each network's optimizer (and an AMP discriminator's) with torch's fused
            kernel, one pass over all parameters, instead of parameter by parameter: the same result to
            float rounding, about a tenth of the update's time on a CPU (README, "Training speed").
        name: the algorithm: ``ppo``, or ``amp`` (PPO plus a discriminator whose style reward replaces or
            mixes with the env's reward, :mod:`mimic.agents.amp`; it needs ``env.amp_obs_steps``).
        amp: the discriminator's settings (:class:`~mimic.agents.discriminator.AMPConfig`), used by ``amp``.
    """

    actor_hidden: list[int] = field(default_factory=lambda: [1024, 512])
    critic_hidden: list[int] = field(default_factory=lambda: [1024, 512])
    actor_init_output_scale: float = 0.01
    action_std: float = 0.05
    action_std_end: float = 0.0
    action_std_anneal_samples: list[int] = field(default_factory=lambda: [0, 0])
    std_type: Literal["fixed", "learned"] = "fixed"
    actor_optimizer: Literal["sgd", "adam"] = "sgd"
    critic_optimizer: Literal["sgd", "adam"] = "sgd"
    actor_lr: float = 2.5e-5
    critic_lr: float = 1e-4
    actor_lr_schedule: Literal["fixed", "kl"] = "fixed"
    kl_target: float = 0.01
    actor_lr_bounds: list[float] = field(default_factory=lambda: [1e-6, 1e-3])
    momentum: float = 0.9
    actor_weight_decay: float = 0.0
    critic_weight_decay: float = 0.0
    discount: float = 0.99
    td_lambda: float = 0.95
    steps_per_iter: int = 32
    critic_epochs: int = 2
    critic_batch_size: int = 2
    actor_epochs: int = 5
    actor_warmup_iters: int = 0
    actor_batch_size: int = 4
    ppo_clip_ratio: float = 0.2
    norm_adv_clip: float = 4.0
    action_bound_weight: float = 10.0
    teacher_weight: float = 0.0
    mirror_weight: float = 0.0
    exp_prob_begin: float = 1.0
    exp_prob_end: float = 1.0
    exp_anneal_samples: int = 64_000_000
    grad_clip: float = 0.0
    normalizer_samples: int = 100_000_000
    normalizer_clip: float = 10.0
    value_norm: bool = False
    seed: int = 0
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    update_threads: int = 0
    fused_optimizer: bool = True
    name: Literal["ppo", "amp"] = "ppo"
    amp: AMPConfig = field(default_factory=AMPConfig)

    def __post_init__(self) -> None:
        checks = {
            "action_std": self.action_std > 0, "actor_lr": self.actor_lr > 0, "critic_lr": self.critic_lr > 0,
            "discount": 0 <= self.discount <= 1, "td_lambda": 0 <= self.td_lambda <= 1,
            "steps_per_iter": self.steps_per_iter > 0, "critic_epochs": self.critic_epochs >= 0,
            "actor_epochs": self.actor_epochs >= 0, "actor_warmup_iters": self.actor_warmup_iters >= 0,
            "critic_batch_size": self.critic_batch_size > 0,
            "actor_batch_size": self.actor_batch_size > 0, "ppo_clip_ratio": self.ppo_clip_ratio > 0,
            "norm_adv_clip": self.norm_adv_clip > 0, "grad_clip": self.grad_clip >= 0,
            "exp_prob_begin": 0 <= self.exp_prob_begin <= 1, "exp_prob_end": 0 <= self.exp_prob_end <= 1,
            "exp_anneal_samples": self.exp_anneal_samples >= 0, "normalizer_samples": self.normalizer_samples >= 0,
            "update_threads": self.update_threads >= 0, "kl_target": self.kl_target > 0,
            "teacher_weight": self.teacher_weight >= 0, "mirror_weight": self.mirror_weight >= 0,
            "action_std_end": self.action_std_end >= 0,
            "action_std_anneal_samples": len(self.action_std_anneal_samples) == 2
            and 0 <= self.action_std_anneal_samples[0] <= self.action_std_anneal_samples[1],
            "actor_lr_bounds": len(self.actor_lr_bounds) == 2
            and 0 < self.actor_lr_bounds[0] <= self.actor_lr_bounds[1],
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise MimicError(f"agent: out-of-range value for {', '.join(bad)}")
        if self.action_std_end > 0 and self.std_type != "fixed":
            raise MimicError("agent.action_std_end: anneals a fixed exploration std; with std_type learned the "
                             "actor learns its own (set agent.action_std_end=0 or agent.std_type=fixed)")
