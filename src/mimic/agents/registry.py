"""Agents built by name: ``agent.name`` in a config, ``agent`` in a checkpoint."""

from __future__ import annotations

from typing import Any

import torch

from mimic.agents.amp import AMPAgent
from mimic.agents.config import PPOConfig
from mimic.agents.ppo import PPOAgent
from mimic.distributed import DistContext
from mimic.envs.mirror import Mirror

AGENTS: dict[str, type[PPOAgent]] = {"ppo": PPOAgent, "amp": AMPAgent}


def build_agent(config: PPOConfig, dims: dict[str, int], device: torch.device | str = "cpu",
                dist: DistContext | None = None, env: Any = None) -> PPOAgent:
    """The agent ``config.name`` for env sizes ``dims`` (``obs_dim``, ``action_dim``, and ``amp_obs_dim`` for
    AMP). ``env``: where an agent that trains on data from the env gets it (AMP's expert samples:
    ``env.amp.sample_expert``; ``agent.mirror_weight``'s mirror images, :class:`~mimic.envs.mirror.Mirror`); None
    builds an agent that only acts."""
    if config.name == "amp":
        expert = env.amp.sample_expert if env is not None and getattr(env, "amp", None) is not None else None
        agent = AMPAgent(dims["obs_dim"], dims["action_dim"], config, device, dist,
                         amp_obs_dim=int(dims.get("amp_obs_dim", 0)), expert=expert)
    else:
        agent = PPOAgent(dims["obs_dim"], dims["action_dim"], config, device, dist)
    if config.mirror_weight > 0 and env is not None:  # agent.mirror_weight's mirror images
        agent.mirror = Mirror.of(env)
    return agent


def env_dims(env: Any) -> dict[str, int]:
    """The sizes an agent needs from ``env``."""
    return {"obs_dim": env.obs_dim, "action_dim": env.action_dim, "amp_obs_dim": getattr(env, "amp_obs_dim", 0)}
