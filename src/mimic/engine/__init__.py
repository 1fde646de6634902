"""Batched physics engines: the :class:`Engine` interface, :func:`build_engine` (by ``EngineConfig.name``),
the MuJoCo CPU engine, and (with the ``gpu`` extra) the MuJoCo Warp engine in :mod:`mimic.engine.mujoco_warp`."""

from __future__ import annotations

from mimic.engine.base import ENGINE_NAMES, PD_DAMPING_MODES, Engine, EngineConfig
from mimic.engine.mujoco_cpu import MujocoCpuEngine
from mimic.engine.registry import build_engine

__all__ = ["ENGINE_NAMES", "PD_DAMPING_MODES", "Engine", "EngineConfig", "MujocoCpuEngine", "build_engine"]
