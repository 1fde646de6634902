"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mimic.character.model import CharacterModel
from mimic.motion import default_character

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def humanoid() -> CharacterModel:
    return default_character()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip("DeepMimic's original data files are not here (developers keep them beside the repository); "
                    "the clips and arg files bundled with pybullet are tested instead")
    return REFERENCE_DIR


class ScriptedEnv:
    """A stand-in env with the ImitationEnv contract and a scripted done pattern (no physics).

    obs (N, 3) random from its generator; reward = 1 - mean(action^2); ``dones`` is a (T, N) long
    DoneReason schedule repeated over time. ``terminal_obs`` is what ``obs`` was before the reset,
    and ended envs get a fresh random obs, as in ImitationEnv.
    """

    obs_dim, action_dim = 3, 2

    def __init__(self, num_envs: int, dones: torch.Tensor | None = None, seed: int = 0) -> None:
        self.num_envs = num_envs
        self.generator = torch.Generator().manual_seed(seed)
        self.dones = dones if dones is not None else torch.zeros(1, num_envs, dtype=torch.long)
        self.t = 0

    def reset(self) -> torch.Tensor:
        self.t = 0
        return torch.randn(self.num_envs, self.obs_dim, generator=self.generator)

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        obs = torch.randn(self.num_envs, self.obs_dim, generator=self.generator) + 2.0
        reward = 1.0 - action.square().mean(-1)
        done = self.dones[self.t % len(self.dones)].clone()
        self.t += 1
        terminal_obs = obs.clone()
        ended = done != 0
        obs[ended] = torch.randn(int(ended.sum()), self.obs_dim, generator=self.generator)
        return obs, reward, done, {"terminal_obs": terminal_obs}


@pytest.fixture()
def scripted_env() -> type[ScriptedEnv]:
    return ScriptedEnv
