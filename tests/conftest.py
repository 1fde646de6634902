"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimic.character.model import CharacterModel
from mimic.motion import default_character

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def humanoid() -> CharacterModel:
    return default_character()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip("DeepMimic's original data files are not here (developers keep them beside the repository); "
                    "the clips and arg files bundled with pybullet are tested instead")
    return REFERENCE_DIR
