"""Clip file formats, chosen by extension: ``.txt`` (DeepMimic JSON) and ``.npz`` (Mimic)."""

from __future__ import annotations

from pathlib import Path

from mimic.character.model import CharacterModel
from mimic.errors import MimicError
from mimic.motion.clip import Clip
from mimic.motion.formats.deepmimic_txt import read_deepmimic_txt, write_deepmimic_txt
from mimic.motion.formats.npz import read_npz, write_npz

READERS = {".txt": read_deepmimic_txt, ".json": read_deepmimic_txt, ".npz": read_npz}
WRITERS = {".txt": write_deepmimic_txt, ".json": write_deepmimic_txt, ".npz": write_npz}


def read_clip_file(path: str | Path, model: CharacterModel) -> Clip:
    """Read a clip file, the format chosen by its extension."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise MimicError(f"{path}: unknown clip format {path.suffix!r}; use one of {', '.join(READERS)}")
    return reader(path, model)


def write_clip_file(clip: Clip, path: str | Path, model: CharacterModel) -> None:
    """Write a clip file, the format chosen by its extension."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise MimicError(f"{path}: unknown clip format {path.suffix!r}; use one of {', '.join(WRITERS)}")
    if not path.parent.exists():
        raise MimicError(f"{path}: folder {path.parent} does not exist")
    writer(clip, path, model)
