"""Gymnasium API: ``mimic/Imitate-v0`` (one character) and its vector form (N characters).

``import mimic`` registers the id. ``gymnasium.make("mimic/Imitate-v0", clip="walk")`` gives one
character; ``gymnasium.make_vec("mimic/Imitate-v0", num_envs=64, clip="walk")`` a batched vector
env (one MuJoCo batch, same-step autoreset). Keyword arguments: ``clip`` (a name or path, or a
list), ``config`` (an :class:`EnvConfig` or a dict of its fields, merged under ``clip``), ``seed``,
``render_mode`` (``"rgb_array"``: the simulated character beside a translucent reference).

Observations are float32 vectors; actions are normalized PD targets in [-1, 1]. ``terminated``
is a fall or the end of a non-cyclic clip; ``truncated`` a time-out (or a simulation blow-up).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from mimic import config as config_lib
from mimic.envs.config import EnvConfig
from mimic.envs.registry import ENV_ID  # noqa: F401  (re-exported)
from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv


def make_config(clip: str | list[str] | None = None, config: EnvConfig | dict | None = None) -> EnvConfig:
    """An :class:`EnvConfig` from Gymnasium keyword arguments."""
    if isinstance(config, EnvConfig):
        cfg = config
    else:
        cfg = config_lib.build(EnvConfig, dict(config or {}), source="gymnasium kwargs", prefix="config.")
    if clip is not None:
        cfg.clips = [clip] if isinstance(clip, str) else list(clip)
    return cfg


class _Renderer:
    """Draws env 0's simulated character beside its translucent reference."""

    def __init__(self, env: ImitationEnv, width: int = 640, height: int = 480) -> None:
        from mimic.render import scene

        self.env = env
        self.renderer = scene.CharacterRenderer(env.model.mjcf_path, width=width, height=height)

    def render(self) -> np.ndarray:
        e = self.env.engine
        qpos = torch.cat((e.root_pos[0], e.root_rot[0], e.joint_pos[0])).double().numpy()
        ref = self.env.ref
        ref_qpos = torch.cat((ref.root_pos[0], ref.root_rot[0], ref.joint_pos[0])).double().numpy()
        return self.renderer.render(qpos, ref_qpos=ref_qpos)

    def close(self) -> None:
        self.renderer.close()


def _render(wrapper: ImitateEnv | ImitateVectorEnv) -> np.ndarray | None:
    """(H, W, 3) frame of env 0 beside its reference, or None unless render_mode is rgb_array."""
    if wrapper.render_mode != "rgb_array":
        return None
    if wrapper._renderer is None:
        wrapper._renderer = _Renderer(wrapper.env)
    return wrapper._renderer.render()


class ImitateEnv(gymnasium.Env):
    """One character imitating a clip (a thin view of a 1-env :class:`ImitationEnv`)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, clip: str | list[str] | None = None, config: EnvConfig | dict | None = None,
                 render_mode: str | None = None, seed: int = 0) -> None:
        self.env = ImitationEnv(make_config(clip, config), num_envs=1, seed=seed)
        self.env.test_mode = True  # one character: the tracking errors cost nothing
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.env.obs_dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (self.env.action_dim,), np.float32)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.env.dt)}
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self._renderer: _Renderer | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.env.generator.manual_seed(seed)
        obs = self.env.reset()
        return obs[0].numpy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        act = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(1, -1)
        obs, reward, done, info = self.env.step(act)
        reason = int(done[0])
        terminated = reason in (DoneReason.FAIL, DoneReason.SUCCESS)
        truncated = reason in (DoneReason.TIMEOUT, DoneReason.INVALID)
        out_obs = info["terminal_obs"][0] if reason else obs[0]
        step_info = {"done_reason": DoneReason(reason).name.lower(),
                     "reward_terms": {k: float(v[0]) for k, v in info["reward_terms"].items()},
                     "body_pos_error": float(info["body_pos_error"][0])}
        return out_obs.numpy(), float(reward[0]), terminated, truncated, step_info

    def render(self) -> np.ndarray | None:
        return _render(self)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.env.close()


class ImitateVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` characters in one batched simulation; resets ended envs in the same step.

    ``info["final_obs"]`` (num_envs, D) holds the last observation of every env (valid where
    ``info["_final_obs"]`` is true, i.e. the env ended this step).
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, clip: str | list[str] | None = None, config: EnvConfig | dict | None = None,
                 render_mode: str | None = None, seed: int = 0) -> None:
        self.env = ImitationEnv(make_config(clip, config), num_envs=num_envs, seed=seed)
        self.num_envs = num_envs
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (self.env.obs_dim,), np.float32)
        self.single_action_space = spaces.Box(-1.0, 1.0, (self.env.action_dim,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = render_mode
        self._renderer: _Renderer | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.env.generator.manual_seed(seed)
        return self.env.reset().numpy(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        obs, reward, done, info = self.env.step(torch.as_tensor(np.asarray(actions, dtype=np.float32)))
        terminated = (done == DoneReason.FAIL) | (done == DoneReason.SUCCESS)
        truncated = (done == DoneReason.TIMEOUT) | (done == DoneReason.INVALID)
        ended = (done > 0).numpy()
        out_info = {"final_obs": info["terminal_obs"].numpy(), "_final_obs": ended, "done_reason": done.numpy()}
        return obs.numpy(), reward.numpy(), terminated.numpy(), truncated.numpy(), out_info

    def render(self) -> np.ndarray | None:
        return _render(self)

    def close_extras(self, **kwargs: Any) -> None:
        if self._renderer is not None:
            self._renderer.close()
        self.env.close()
