"""Batched physics engines: the :class:`Engine` interface and its MuJoCo CPU implementation."""

from __future__ import annotations

from mimic.engine.base import PD_DAMPING_MODES, Engine, EngineConfig
from mimic.engine.mujoco_cpu import MujocoCpuEngine

__all__ = ["PD_DAMPING_MODES", "Engine", "EngineConfig", "MujocoCpuEngine"]
