"""Motion clips: file formats, the bundled clips, and the batched motion library."""

from __future__ import annotations

from pathlib import Path

from mimic.character.model import CharacterModel
from mimic.character.spec import CharacterSpec, load_spec
from mimic.motion.bundled import bundled_clips, resolve_clip_path
from mimic.motion.clip import Clip, LoopMode, validate_clip
from mimic.motion.formats import read_clip_file, write_clip_file
from mimic.motion.library import MotionLibrary, MotionState

__all__ = [
    "Clip", "LoopMode", "MotionLibrary", "MotionState", "bundled_clips",
    "load_clip", "save_clip", "validate_clip", "default_character",
]


def default_character() -> CharacterModel:
    """DeepMimic's humanoid, the character bundled clips are made for."""
    return load_spec().model


def load_clip(name_or_path: str | Path, model: CharacterModel | None = None,
              character: CharacterSpec | None = None) -> Clip:
    """Load one of a character's bundled clips by name (``walk``) or any ``.txt`` / ``.npz`` clip file.

    Args:
        name_or_path: a name from :func:`bundled_clips` of ``character``, or a path.
        model: the character model the clip drives; ``character``'s (DeepMimic's humanoid by default).
        character: the character whose bundled clips names refer to (DeepMimic's humanoid by default).
    """
    spec = character or load_spec()
    return read_clip_file(resolve_clip_path(name_or_path, spec), model or spec.model)


def save_clip(clip: Clip, path: str | Path, model: CharacterModel | None = None) -> None:
    """Write ``clip`` to ``path``; ``.txt`` is DeepMimic's format, ``.npz`` Mimic's."""
    write_clip_file(clip, path, model or default_character())
