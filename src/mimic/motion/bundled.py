"""DeepMimic's humanoid clips bundled in the ``pybullet`` wheel (``pybullet_data/data/motions``)."""

from __future__ import annotations

from pathlib import Path

from mimic.errors import MimicError

BUNDLED_CLIPS: tuple[str, ...] = (
    "walk", "run", "jump", "backflip", "spinkick", "cartwheel", "crawl", "dance_a", "dance_b",
    "getup_facedown", "getup_faceup", "kick", "punch", "roll", "spin",
)
_PREFIX = "humanoid3d_"


def motions_dir() -> Path:
    """Folder holding the bundled DeepMimic clips."""
    try:
        import pybullet_data
    except ImportError:
        raise MimicError("the bundled clips come with the 'pybullet' package: pip install pybullet") from None
    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def clip_short_name(path: str | Path) -> str:
    """``walk`` for ``.../humanoid3d_walk.txt``; the file stem otherwise."""
    stem = Path(path).stem
    return stem[len(_PREFIX):] if stem.startswith(_PREFIX) else stem


def resolve_clip_path(name_or_path: str | Path) -> Path:
    """The file for a bundled clip name (``walk``) or an existing path.

    Raises :class:`MimicError` listing the bundled names when it is neither.
    """
    text = str(name_or_path)
    if text in BUNDLED_CLIPS:
        return motions_dir() / f"{_PREFIX}{text}.txt"
    path = Path(text).expanduser()
    if path.exists():
        return path
    looks_like_path = path.suffix or "/" in text
    what = "clip file not found" if looks_like_path else "unknown clip name"
    raise MimicError(f"{text}: {what}; bundled clips are: {', '.join(BUNDLED_CLIPS)}")
