"""Atomic file writes: a temporary file beside the target, renamed onto it when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temporary_beside(path: str | Path, suffix: str = ".tmp", prefix: str | None = None) -> tuple[int, str]:
    """Create a temporary file in ``path``'s folder (so ``os.replace`` onto ``path`` is atomic); returns
    ``(fd, name)`` like :func:`tempfile.mkstemp`.

    The file gets the permissions a plain ``open()`` would give (``0o666`` less the umask), not mkstemp's
    ``0o600``, which would make a checkpoint, clip or video private to whoever wrote it.
    """
    path = Path(path)
    prefix = prefix if prefix is not None else f".{path.name}."
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, name
