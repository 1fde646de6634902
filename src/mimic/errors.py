"""User-facing errors.

Everything a user can get wrong (a missing file, a malformed clip, a bad config key) raises
:class:`MimicError` with a message that names the file and field; the CLI prints it on one line
and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations

from pathlib import Path


class MimicError(Exception):
    """An error caused by user input, reported without a traceback."""


def input_error(source: str | Path | None, message: str, field: str | None = None) -> MimicError:
    """A :class:`MimicError` whose message reads ``source: field: message``."""
    parts = [str(source)] if source is not None else []
    if field:
        parts.append(field)
    parts.append(message)
    return MimicError(": ".join(parts))
