"""Trained policies by name: run directories, checkpoint files, and the controllers shipped in this folder
(``walk.pt``; another character's as ``CHARACTER/CLIP.pt``, e.g. ``dog3d/trot.pt``)."""

from __future__ import annotations

from pathlib import Path

import torch

from mimic.errors import MimicError

POLICIES_DIR = Path(__file__).resolve().parent


def shipped_name(policy: str, character: str | None) -> str:
    """``policy`` as a shipped policy's name: ``CHARACTER/CLIP`` for a character other than the humanoid."""
    from mimic.character.spec import DEFAULT_CHARACTER

    if character and character != DEFAULT_CHARACTER and "/" not in policy and not Path(policy).exists():
        return f"{character}/{policy}"
    return policy


def resolve_checkpoint(policy: str) -> Path:
    """The checkpoint file of a run directory (best.pt, else latest.pt), a .pt path or a shipped policy's name
    (``walk``; ``dog3d/trot`` for another character's)."""
    path = Path(policy)
    if path.is_dir():
        for name in ("best.pt", "latest.pt"):
            if (path / name).is_file():
                return path / name
        raise MimicError(f"{path}: no best.pt or latest.pt in this run directory")
    if path.is_file():
        return path
    shipped = POLICIES_DIR / f"{policy}.pt"
    if shipped.is_file():
        return shipped
    from mimic.character.spec import bundled_characters, load_spec

    have = ", ".join(sorted(p.relative_to(POLICIES_DIR).with_suffix("").as_posix()
                            for p in POLICIES_DIR.rglob("*.pt"))) or "none"
    character, _, clip = policy.rpartition("/")
    if (character in bundled_characters() or not character) and clip in load_spec(character or None).clip_names:
        flag = f" --character {character}" if character else ""
        raise MimicError(f"{policy}: no controller is shipped for this clip yet (shipped: {have}); train one with "
                         f"`mimic train {clip}{flag} --config fast`")
    raise MimicError(f"{policy}: no such run directory or checkpoint (and no policy is shipped under that name; "
                     f"shipped: {have})")


def stored_train_config(ckpt: Path):
    """The :class:`~mimic.training.config.TrainConfig` a checkpoint file was trained with (a MimicError when it
    holds none)."""
    from mimic import config as config_lib
    from mimic.agents.checkpoint import read_checkpoint
    from mimic.training.config import TrainConfig

    stored = read_checkpoint(ckpt).get("extra", {}).get("train_config")
    if stored is None:
        raise MimicError(f"{ckpt}: the checkpoint holds no run configuration")
    return config_lib.build(TrainConfig, stored, source=f"{ckpt} (train_config)")


def load_policy(policy: str, num_envs: int, engine: str | None = None, env_change=None, seed: int | None = None):
    """(agent, env, checkpoint path) for a checkpoint, the env rebuilt from the run's stored configuration
    (with the physics engine ``engine`` on its default device instead of the stored one, when given, and
    passed through ``env_change``, a function ``EnvConfig -> EnvConfig``, when given), without its
    training-only settings (:meth:`~mimic.envs.config.EnvConfig.for_evaluation`: uniform starts, DeepMimic's).
    The env's seed is ``seed``, by default the run's seed + 20,000 (the same test episodes for every
    checkpoint of a run)."""
    from dataclasses import replace

    from mimic.agents.checkpoint import load_checkpoint
    from mimic.envs.tracking import ImitationEnv

    ckpt = resolve_checkpoint(policy)
    cfg = stored_train_config(ckpt)
    if engine is not None and engine != cfg.env.engine.name:
        cfg.env.engine = replace(cfg.env.engine, name=engine, device="")
    if env_change is not None:
        cfg.env = env_change(cfg.env)
    cfg.env = cfg.env.for_evaluation()
    torch.set_num_threads(1)
    env = ImitationEnv(cfg.env, num_envs=num_envs, seed=cfg.run.seed + 20_000 if seed is None else seed)
    agent = load_checkpoint(ckpt)
    return agent, env, ckpt
