"""Atomic writes leave files with the permissions a plain open() gives, not mkstemp's 0600."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from mimic.agents.checkpoint import export_policy
from mimic.fileio import temporary_beside
from mimic.motion import load_clip, save_clip


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_temporary_beside_follows_the_umask(tmp_path, umask_022):
    fd, name = temporary_beside(tmp_path / "out.pt")
    os.close(fd)
    assert os.path.dirname(name) == str(tmp_path) and _mode(name) == 0o644


def test_clips_and_exported_policies_are_readable_by_others(tmp_path, umask_022):
    save_clip(load_clip("walk"), tmp_path / "walk.npz")
    assert _mode(tmp_path / "walk.npz") == 0o644
    from mimic.policies import resolve_checkpoint

    out = export_policy(resolve_checkpoint("walk"), tmp_path / "walk.pt")
    assert _mode(out) == 0o644 and torch.load(out, weights_only=False)
