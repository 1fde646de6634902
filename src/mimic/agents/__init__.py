"""Learning agents, built by name (``agent.name``): PPO (DeepMimic / MimicKit flavour) and AMP (PPO plus a
discriminator); their networks, normalizer, rollouts and checkpoints."""

from __future__ import annotations

from mimic.agents.amp import AMPAgent
from mimic.agents.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mimic.agents.config import PPOConfig
from mimic.agents.losses import action_bound_violation
from mimic.agents.networks import Actor, Critic
from mimic.agents.normalizer import RunningNormalizer
from mimic.agents.ppo import ActOutput, PPOAgent
from mimic.agents.registry import build_agent
from mimic.agents.rollout import RolloutBuffer, collect, td_lambda_returns

__all__ = [
    "AMPAgent", "ActOutput", "Actor", "Critic", "PPOAgent", "PPOConfig", "RolloutBuffer", "RunningNormalizer",
    "action_bound_violation", "build_agent", "collect", "load_checkpoint", "read_checkpoint", "save_checkpoint",
    "td_lambda_returns",
]
