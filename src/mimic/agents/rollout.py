"""On-policy rollout storage, TD(lambda) returns, and batched collection from an env.

Every tensor is time first then env: (T, N, ...) with T = steps per iteration, N = num_envs.
Row ``t`` holds the observation the agent acted on, what it did, and what the env answered.

How an episode end is valued (:class:`~mimic.envs.terminations.DoneReason`):

- ``FAIL`` and ``SUCCESS``: the next value is 0 (DeepMimic and MimicKit; for SUCCESS it keeps the
  policy from stalling until a clip ends).
- ``TIMEOUT``: the episode was cut, not finished, so the next value is V(terminal obs), the
  observation before the env's reset (``info["terminal_obs"]``).
- ``INVALID`` (the simulation blew up): masked out. Its terminal observation may hold NaN or huge
  numbers, so it is never fed to the critic (a rollout passes zeros for every end but a time-out);
  the step's own return is set to its own value V(s_t)
  (s_t is the last sane state), which makes the step before it bootstrap from V(s_t), and the step
  itself is left out of the losses and the advantage statistics (``valid`` is False).
- The last step of the rollout (no end): the next value is V(next obs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from mimic.envs.terminations import DoneReason
from mimic.errors import MimicError

if TYPE_CHECKING:  # avoid an import cycle: ppo imports rollout
    from mimic.agents.ppo import PPOAgent


def td_lambda_returns(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, dones: torch.Tensor,
                      gamma: float, lam: float) -> torch.Tensor:
    """TD(lambda) returns (T, N) with lambda cut at every episode end.

    ``G_t = r_t + gamma * ((1 - lam) * V_next_t + lam * G_{t+1})`` inside an episode, and
    ``G_t = r_t + gamma * V_next_t`` at an end and at the rollout's last step, where
    ``V_next_t = next_values[t]`` is zeroed for FAIL and SUCCESS. INVALID steps return ``values[t]``.

    Args:
        rewards: (T, N) rewards.
        values: (T, N) V(obs_t) (only read at INVALID steps).
        next_values: (T, N) value of the state after step t: V(obs_{t+1}) inside an episode,
            V(terminal obs) at a TIMEOUT, V(next obs) at the last step (anything at FAIL/SUCCESS/INVALID).
        dones: (T, N) long DoneReason.
        gamma: discount; lam: TD(lambda) lambda (1: Monte Carlo to the bootstrap, 0: one-step TD).
    """
    num_steps = rewards.shape[0]
    returns = torch.empty_like(rewards)
    terminal = (dones == DoneReason.FAIL) | (dones == DoneReason.SUCCESS)
    ended = dones != DoneReason.NONE
    next_v = torch.where(terminal, torch.zeros_like(next_values), next_values)
    next_return = next_v[-1]  # unused at t = T-1: the last step has no later return to blend
    for t in reversed(range(num_steps)):
        if t == num_steps - 1:
            blend = next_v[t]
        else:
            blend = torch.where(ended[t], next_v[t], (1 - lam) * next_v[t] + lam * next_return)
        g = rewards[t] + gamma * blend
        g = torch.where(dones[t] == DoneReason.INVALID, values[t], g)
        returns[t] = next_return = g
    return returns


class RolloutBuffer:
    """Storage of one rollout of ``num_steps`` x ``num_envs`` samples, plus the env state between rollouts.

    Fields, all (T, N, ...): ``obs`` (raw, unnormalized: the update normalizes with the same
    statistics the rollout used), ``actions`` (the unclipped sample, or the mean on non-exploring
    steps), ``log_probs``, ``values``, ``rewards``, ``dones`` (long DoneReason), ``rand_mask`` (bool,
    the action was sampled), ``bootstrap_values`` (V(terminal obs) at TIMEOUT ends, else 0).
    ``last_values`` (N,) is V(next obs) after the last step. ``extras``: the agent's own named fields
    (``extra_fields``: name -> per-sample shape), each (T, N, ...), filled from the env's ``info[name]``
    every step (AMP's ``amp_obs``).

    Between rollouts the buffer keeps ``next_obs`` (N, D) (None: the next :func:`collect` resets the
    env) and each env's running episode return and length.
    """

    def __init__(self, num_steps: int, num_envs: int, obs_dim: int, action_dim: int,
                 device: torch.device | str = "cpu", extra_fields: dict[str, tuple[int, ...]] | None = None) -> None:
        self.num_steps, self.num_envs, self.device = num_steps, num_envs, torch.device(device)
        t, n = num_steps, num_envs
        f32 = dict(dtype=torch.float32, device=self.device)
        self.obs = torch.zeros(t, n, obs_dim, **f32)
        self.actions = torch.zeros(t, n, action_dim, **f32)
        self.log_probs = torch.zeros(t, n, **f32)
        self.values = torch.zeros(t, n, **f32)
        self.rewards = torch.zeros(t, n, **f32)
        self.bootstrap_values = torch.zeros(t, n, **f32)
        self.dones = torch.zeros(t, n, dtype=torch.long, device=self.device)
        self.rand_mask = torch.zeros(t, n, dtype=torch.bool, device=self.device)
        self.last_values = torch.zeros(n, **f32)
        self.extras = {name: torch.zeros(t, n, *shape, **f32) for name, shape in (extra_fields or {}).items()}
        self.next_obs: torch.Tensor | None = None
        self.episode_return = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.episode_length = torch.zeros(n, dtype=torch.long, device=self.device)

    @property
    def valid(self) -> torch.Tensor:
        """(T, N) bool: samples to learn from (all but INVALID steps)."""
        return self.dones != DoneReason.INVALID

    def next_values(self) -> torch.Tensor:
        """(T, N) value of each step's successor state (see :func:`td_lambda_returns`)."""
        nxt = torch.cat((self.values[1:], self.last_values[None]), dim=0)
        return torch.where(self.dones == DoneReason.TIMEOUT, self.bootstrap_values, nxt)

    def returns(self, gamma: float, lam: float) -> torch.Tensor:
        """(T, N) TD(lambda) returns of the stored rollout."""
        return td_lambda_returns(self.rewards, self.values, self.next_values(), self.dones, gamma, lam)


@torch.no_grad()
def collect(env: Any, agent: PPOAgent, buffer: RolloutBuffer) -> dict[str, float]:
    """Fill ``buffer`` with ``buffer.num_steps`` batched steps of ``env`` driven by ``agent``.

    ``env`` is an :class:`~mimic.envs.tracking.ImitationEnv` (or anything with its ``reset``/``step``
    contract). Observations are recorded into the agent's normalizer and merged at the end of
    :meth:`PPOAgent.update`, so the first rollout sees raw observations (the normalizer starts as
    the identity, as in MimicKit; seeding it from the reset batch alone underestimates the spread of
    features that barely vary at reset and made the first update unstable on the humanoid). The
    agent's sample counter advances by T x N on every rank (T x N x ranks: it counts the group's samples).
    An env whose ``info`` lists the ended envs (``ended_ids``) lets a step here run with no host-device
    sync of its own; without it they are found with ``nonzero`` (one sync per step on a GPU).

    Returns statistics of the episodes that ended in this rollout: ``train_return`` (mean
    undiscounted return), ``train_episode_length`` (mean steps), ``num_episodes``, ``num_falls`` (those
    that ended in a fall), and ``reward_mean`` (mean reward per step over the rollout).
    """
    if getattr(env, "num_envs", buffer.num_envs) != buffer.num_envs:
        raise MimicError(f"rollout buffer holds {buffer.num_envs} envs but the env has {env.num_envs}")
    obs = buffer.next_obs
    if obs is None:
        obs = env.reset().to(buffer.device)
        buffer.episode_return.zero_()
        buffer.episode_length.zero_()
    ended_returns, ended_lengths = [], []
    endings: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (step, envs, terminal obs, time-out)
    for t in range(buffer.num_steps):
        agent.obs_norm.record(obs)
        out = agent.act(obs, value=False)  # the values: one batched pass after the rollout
        # Store before stepping: the env may reuse the memory of the observation it returned.
        buffer.obs[t] = obs
        buffer.actions[t] = out.action
        buffer.log_probs[t] = out.log_prob
        buffer.rand_mask[t] = out.rand_mask

        next_obs, reward, env_done, info = env.step(out.env_action)
        next_obs, reward, done = next_obs.to(buffer.device), reward.to(buffer.device), env_done.to(buffer.device)
        buffer.rewards[t] = reward
        buffer.dones[t] = done
        for name, field in buffer.extras.items():
            if name not in info:
                raise MimicError(f"the agent stores {name!r} each step but the env does not give it (AMP's amp_obs: "
                                 "set env.amp_obs_steps; agent.teacher_weight's labels: set env.teacher.policy)")
            field[t] = info[name].to(buffer.device)
        # The envs that ended: the env lists them (ids whose count is known on the host), so nothing here waits
        # for a GPU; boolean masks or nonzero() would each be a host-device sync per step.
        ended_in_env = info.get("ended_ids")  # on the env's device (which may not be the agent's)
        if ended_in_env is None:
            ended_in_env = torch.nonzero(env_done != DoneReason.NONE).squeeze(-1)
        ended = ended_in_env.to(buffer.device)
        buffer.episode_return += reward
        buffer.episode_length += 1
        if len(ended):  # the critic's pass after the rollout values the time-outs' pre-reset observations
            timeout = done[ended] == DoneReason.TIMEOUT
            terminal = info["terminal_obs"][ended_in_env].to(buffer.device)
            endings.append((t, ended, torch.where(timeout[:, None], terminal, torch.zeros_like(terminal)), timeout))
            ended_returns.append(buffer.episode_return[ended])  # indexing by ids copies
            ended_lengths.append(buffer.episode_length[ended])
            buffer.episode_return[ended] = 0.0
            buffer.episode_length[ended] = 0
        obs = next_obs

    _evaluate_values(agent, buffer, obs, endings)
    buffer.next_obs = obs
    agent.samples += buffer.num_steps * buffer.num_envs * agent.dist.world_size  # every rank collected as many
    stats = {"num_episodes": 0.0, "num_falls": float((buffer.dones == DoneReason.FAIL).sum()),
             "reward_mean": float(buffer.rewards.mean())}
    if ended_returns:
        rets, lens = torch.cat(ended_returns), torch.cat(ended_lengths)
        stats.update(num_episodes=float(len(rets)), train_return=float(rets.mean()),
                     train_episode_length=float(lens.float().mean()))
    return stats


def _evaluate_values(agent: PPOAgent, buffer: RolloutBuffer, last_obs: torch.Tensor,
                     endings: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]]) -> None:
    """Fill ``values``, ``bootstrap_values`` and ``last_values`` with one critic pass over the rollout.

    The critic and the normalizer do not change during a rollout, so this equals evaluating each step's
    observations as they come; batched, it runs on every core while MuJoCo is idle.
    """
    t, n = buffer.num_steps, buffer.num_envs
    parts = [buffer.obs.flatten(0, 1), last_obs] + [o for _, _, o, _ in endings]
    values = agent.values(torch.cat(parts))
    buffer.values.copy_(values[:t * n].view(t, n))
    buffer.last_values.copy_(values[t * n:(t + 1) * n])
    buffer.bootstrap_values.zero_()
    start = (t + 1) * n
    for step, envs, _, timeout in endings:
        value = values[start:start + len(envs)]
        buffer.bootstrap_values[step, envs] = torch.where(timeout, value, torch.zeros_like(value))
        start += len(envs)
