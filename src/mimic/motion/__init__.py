"""Motion clips: file formats, the bundled DeepMimic clips, and the batched motion library."""

from __future__ import annotations

from pathlib import Path

from mimic.character import humanoid3d
from mimic.character.model import CharacterModel, load_character
from mimic.motion.bundled import BUNDLED_CLIPS, resolve_clip_path
from mimic.motion.clip import Clip, LoopMode, validate_clip
from mimic.motion.formats import read_clip_file, write_clip_file
from mimic.motion.library import MotionLibrary, MotionState

__all__ = [
    "BUNDLED_CLIPS", "Clip", "LoopMode", "MotionLibrary", "MotionState",
    "load_clip", "save_clip", "validate_clip", "default_character",
]


def default_character() -> CharacterModel:
    """DeepMimic's humanoid, the character bundled clips are made for."""
    return load_character(humanoid3d.MJCF_PATH)


def load_clip(name_or_path: str | Path, model: CharacterModel | None = None) -> Clip:
    """Load a bundled clip by name (``walk``) or any ``.txt`` / ``.npz`` clip file.

    Args:
        name_or_path: a name from ``BUNDLED_CLIPS`` or a path.
        model: the character the clip drives; DeepMimic's humanoid by default.
    """
    return read_clip_file(resolve_clip_path(name_or_path), model or default_character())


def save_clip(clip: Clip, path: str | Path, model: CharacterModel | None = None) -> None:
    """Write ``clip`` to ``path``; ``.txt`` is DeepMimic's format, ``.npz`` Mimic's."""
    write_clip_file(clip, path, model or default_character())
