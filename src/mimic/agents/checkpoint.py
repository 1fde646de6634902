"""Checkpoints: one ``.pt`` file with everything needed to resume or replay an agent.

Contents: a format tag, the agent's name (``ppo``, ``amp``; files without one are PPO's), the agent
config (a plain dict), the env sizes, the agent's state
(networks, normalizer, optimizers, ``iteration`` and ``samples`` counters, its generator state),
the env's generator state when an env is given, and any ``extra`` dict the caller adds (e.g. the
env config). The file is written to a temporary file in the same folder and moved into place
with ``os.replace``, so a crash mid-write never leaves a truncated checkpoint under the real name (a
killed writer can leave its temporary file, which the next run in that folder removes); a failed write
(a full disk) is a MimicError and leaves the previous file intact. It is read with
``torch.load(weights_only=True)``: only tensors and plain containers, no pickled code.

:func:`export_policy` writes a policy-only copy (actor, normalizer, counters and configs; no
critic or optimizer states, about a fifth of the size) for shipping a trained controller: it
plays and evaluates like the original but cannot resume training.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mimic import config as config_lib
from mimic.agents.config import PPOConfig
from mimic.agents.ppo import PPOAgent
from mimic.errors import MimicError, input_error
from mimic.fileio import temporary_beside

FORMAT = "mimic-ppo/1"


def save_checkpoint(path: str | Path, agent: PPOAgent, env: Any = None, extra: dict | None = None) -> Path:
    """Write ``agent`` (and ``env.generator``'s state, if given) to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "agent_name": agent.name,
        "config": dataclasses.asdict(agent.config),
        **agent.dims(),
        "agent": agent.state_dict(),
        "env_generator": env.generator.get_state() if env is not None else None,
        "extra": extra or {},
    }
    return _write_atomic(data, path)


def _write_atomic(data: dict, path: Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, synced, then renamed onto it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = temporary_beside(path)
    except OSError as exc:
        raise MimicError(f"{path}: cannot write the checkpoint: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota, a vanished folder: the previous file is untouched
        Path(tmp).unlink(missing_ok=True)
        raise MimicError(f"{path}: cannot write the checkpoint ({exc.strerror or exc}); the previous one, if any, "
                         "is intact") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete temporary files a killed process left beside its checkpoints in ``folder``; returns how many."""
    count = 0
    for tmp in Path(folder).glob(".*.pt.*.tmp"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict; a :class:`MimicError` names the file if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise MimicError(f"{path}: checkpoint not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle and EOF errors all mean the same thing to a user
        raise MimicError(f"{path}: not a readable checkpoint (corrupt or truncated?): {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MimicError(f"{path}: not a Mimic PPO checkpoint (expected format {FORMAT!r})")
    expected = {"config": dict, "obs_dim": int, "action_dim": int, "agent": dict, "extra": dict}
    for key, kind in expected.items():
        if not isinstance(data.get(key), kind):
            raise input_error(path, f"damaged checkpoint: expected {kind.__name__}, got {type(data.get(key)).__name__}",
                              key)
    return data


def with_clock_input(agent_state: dict) -> dict:
    """A copy of a stored agent state (a checkpoint's ``agent``) whose actor and observation normalizer take one
    more observation feature, last (``env.clock_obs_seconds``'s): the actor's first layer gets a zero weight
    column for it, so the actor's output is unchanged. The normalizer gets mean 1 and standard deviation 0.25
    for it: the clock reads 0 once it has run out (most states) and -4 at a reset, so the weights the actor
    learns for it change the first moments after a reset only (a plain mean 0 would make them a bias on
    every state)."""
    actor = dict(agent_state["actor"])
    first = "body.0.weight" if "body.0.weight" in actor else "mean_head.weight"
    weight = actor[first]
    actor[first] = torch.cat((weight, weight.new_zeros(weight.shape[0], 1)), dim=1)
    norm = dict(agent_state["obs_norm"])
    norm["mean"] = torch.cat((norm["mean"], norm["mean"].new_ones(1)))
    norm["var"] = torch.cat((norm["var"], norm["var"].new_full((1,), 0.25 ** 2)))
    return {**agent_state, "actor": actor, "obs_norm": norm}


def load_checkpoint(path: str | Path, agent: PPOAgent | None = None, env: Any = None,
                    device: torch.device | str = "cpu") -> PPOAgent:
    """Restore a checkpoint into ``agent`` (or a new agent built from the stored config) and return it.

    With ``env``, its generator state is restored too (when the checkpoint holds one). A file that does not
    fit (another agent's sizes, a damaged state) is a MimicError naming it.
    """
    data = read_checkpoint(path)
    try:
        return _restore(path, data, agent, env, device)
    except MimicError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # a bit flip can leave a file that unpickles into something else than what was saved
        raise MimicError(f"{path}: checkpoint does not fit the agent (damaged or another kind): "
                         f"{type(exc).__name__}: {exc}") from None


def _restore(path: Path, data: dict, agent: PPOAgent | None, env: Any, device: torch.device | str) -> PPOAgent:
    if agent is None:
        # Checkpoints from before the precision option were trained, and are replayed, in fp32.
        stored = {"precision": "fp32", **data["config"], "name": data.get("agent_name", "ppo")}
        cfg = config_lib.build(PPOConfig, stored, source=f"{path} (config)")
        from mimic.agents.registry import build_agent

        dims = {k: int(data[k]) for k in ("obs_dim", "action_dim", "amp_obs_dim") if k in data}
        agent = build_agent(cfg, dims, device=device)
    else:
        name = data.get("agent_name", "ppo")
        if name != agent.name:
            raise MimicError(f"{path}: checkpoint written by agent {name!r}; this run's agent is {agent.name!r}")
        mine = agent.dims()
        stored = {k: data.get(k) for k in mine}
        if stored != mine:
            raise MimicError(f"{path}: checkpoint is for {stored}; the agent has {mine}")
    agent.load_state_dict(data["agent"])
    if env is not None and data.get("env_generator") is not None:
        env.generator.set_state(data["env_generator"])
    return agent


def export_policy(src: str | Path, dst: str | Path, overrides: Sequence[str] = ()) -> Path:
    """Write a policy-only copy of checkpoint ``src`` to ``dst`` (atomically); returns ``dst``.

    ``overrides`` (``KEY=VALUE``, dotted and YAML-valued as on ``mimic train``'s command line, e.g.
    ``env.steering.reverse_prob=0``) change the stored run configuration, which ``mimic play`` and ``mimic
    eval`` rebuild the environment from. The changed configuration must load as a run configuration (known
    fields, right types, settings that go together), else a MimicError names the override and nothing is
    written.
    """
    data = read_checkpoint(src)
    if overrides:
        from mimic.training.config import TrainConfig, override_error

        stored = data.get("extra", {}).get("train_config")
        if stored is None:
            raise MimicError(f"{src}: the checkpoint holds no run configuration to change")
        changed = config_lib.apply_overrides(stored, overrides, source=str(src))
        try:
            config_lib.build(TrainConfig, changed, source=src)
        except MimicError as exc:
            raise override_error(str(exc).removeprefix(f"{src}: "), list(overrides)) from None
        data["extra"]["train_config"] = changed
    agent = {k: v for k, v in data["agent"].items()
             if k not in ("critic", "actor_optimizer", "critic_optimizer", "generator", "disc", "amp_norm",
                          "disc_optimizer", "replay", "replay_count")}
    extra = {k: v for k, v in data.get("extra", {}).items() if k != "rank_rng"}
    out = {**data, "agent": agent, "env_generator": None, "extra": {**extra, "policy_only": True}}
    return _write_atomic(out, Path(dst))
