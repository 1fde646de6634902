"""Clip file formats, chosen by extension: ``.txt`` (DeepMimic JSON), ``.npz`` (Mimic), ``.bvh`` (written only).

A BVH file is read with ``mimic import`` (:func:`mimic.motion.retarget.import_bvh`), which needs a
joint map and reports its guesses; clips are written to BVH on the character's own skeleton.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mimic.character.model import CharacterModel
from mimic.errors import MimicError
from mimic.motion.clip import Clip
from mimic.motion.formats.deepmimic_txt import read_deepmimic_txt, write_deepmimic_txt
from mimic.motion.formats.npz import read_npz, write_npz


def _write_bvh(clip: Clip, path: Path, model: CharacterModel) -> None:
    from mimic.motion.retarget.export import write_bvh_clip  # late: mimic.motion.retarget imports this package

    write_bvh_clip(clip, path, model)


READERS = {".txt": read_deepmimic_txt, ".json": read_deepmimic_txt, ".npz": read_npz}
WRITERS = {".txt": write_deepmimic_txt, ".json": write_deepmimic_txt, ".npz": write_npz, ".bvh": _write_bvh}


def read_clip_file(path: str | Path, model: CharacterModel) -> Clip:
    """Read a clip file, the format chosen by its extension."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        hint = "; turn a BVH into a clip with `mimic import FILE.bvh OUT.npz`" if path.suffix.lower() == ".bvh" else ""
        raise MimicError(f"{path}: unknown clip format {path.suffix!r}; use one of {', '.join(READERS)}{hint}")
    return reader(path, model)


def clip_writer(path: str | Path) -> Callable[[Clip, Path, CharacterModel], None]:
    """The writer for ``path``'s extension; a :class:`MimicError` if there is none or its folder is missing.

    Commands call it before long work, so a bad output path fails at once.
    """
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise MimicError(f"{path}: unknown clip format {path.suffix!r}; use one of {', '.join(WRITERS)}")
    if not path.parent.exists():
        raise MimicError(f"{path}: folder {path.parent} does not exist")
    return writer


def write_clip_file(clip: Clip, path: str | Path, model: CharacterModel) -> None:
    """Write a clip file, the format chosen by its extension."""
    clip_writer(path)(clip, Path(path), model)
