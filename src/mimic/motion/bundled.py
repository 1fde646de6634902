"""Clips bundled with a character, by short name (``walk``): DeepMimic's humanoid clips come with the
``pybullet`` wheel (``pybullet_data/data/motions``), other characters' with their folder (see
:mod:`mimic.character.spec`)."""

from __future__ import annotations

from pathlib import Path

from mimic.character.spec import CharacterSpec, bundled_characters, load_spec
from mimic.errors import MimicError


def bundled_clips(character: CharacterSpec | None = None) -> tuple[str, ...]:
    """Short names of ``character``'s bundled clips (DeepMimic's humanoid by default)."""
    return (character or load_spec()).clip_names


def motions_dir(character: CharacterSpec | None = None) -> Path:
    """Folder holding ``character``'s bundled clips."""
    spec = character or load_spec()
    if spec.clips_dir is None:
        raise MimicError(f"character {spec.name!r} has no bundled clips")
    return spec.clips_dir


def clip_short_name(path: str | Path) -> str:
    """``walk`` for ``.../humanoid3d_walk.txt`` (a bundled character's clip prefix removed); the stem otherwise."""
    stem = Path(path).stem
    for name in bundled_characters():
        prefix = load_spec(name).clip_prefix
        if prefix and stem.startswith(prefix):
            return stem[len(prefix):]
    return stem


def clip_labels(clips: list[str], rates: list[float] | None = None) -> list[str]:
    """A label per clip of a mix: its short name, with ``@1.5x`` where ``env.clip_rates`` plays it at
    another rate (so a clip played at two rates is told apart)."""
    rates = rates or [1.0] * len(clips)
    return [clip_short_name(c) + (f"@{r:g}x" if r != 1 else "") for c, r in zip(clips, rates, strict=True)]


def pybullet_data_path(reference: str) -> Path:
    """The file a ``pybullet_data:SUBPATH`` reference names in the ``pybullet`` wheel."""
    try:
        import pybullet_data
    except ImportError:
        raise MimicError(f"{reference}: this file comes with the 'pybullet' package: pip install pybullet") from None
    return Path(pybullet_data.getDataPath()) / reference.removeprefix("pybullet_data:")


def resolve_clip_path(name_or_path: str | Path, character: CharacterSpec | None = None) -> Path:
    """The file for one of ``character``'s bundled clip names (``walk``), a ``pybullet_data:SUBPATH`` reference
    (a file in the pybullet wheel) or an existing path.

    Raises :class:`MimicError` listing the bundled names when it is neither.
    """
    spec = character or load_spec()
    text = str(name_or_path)
    if text in spec.clip_names:
        return spec.clip_path(text)
    path = pybullet_data_path(text) if text.startswith("pybullet_data:") else Path(text).expanduser()
    if path.exists():
        return path
    looks_like_path = path.suffix or "/" in text
    what = "clip file not found" if looks_like_path else f"unknown clip name for character {spec.name!r}"
    raise MimicError(f"{text}: {what}; bundled clips are: {', '.join(spec.clip_names)}")
