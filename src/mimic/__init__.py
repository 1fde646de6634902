"""Mimic: physics-based character animation by imitation of motion clips (DeepMimic in PyTorch + MuJoCo)."""

from __future__ import annotations

__version__ = "0.1.0"
