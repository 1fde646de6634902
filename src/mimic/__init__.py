"""Mimic: physics-based character animation by imitation of motion clips (DeepMimic in PyTorch + MuJoCo).

Importing the package registers the Gymnasium environment ``mimic/Imitate-v0``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def _register() -> None:
    try:
        from mimic.envs.registry import register_envs
    except ImportError:  # gymnasium missing: the rest of Mimic still works
        return
    register_envs()


_register()
