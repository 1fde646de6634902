"""Engines built by name from the config (runs without the gpu extra)."""

from __future__ import annotations

import sys

import pytest

from mimic.character.spec import load_spec
from mimic.engine import EngineConfig, MujocoCpuEngine, build_engine
from mimic.errors import MimicError

MJCF_PATH = load_spec("humanoid3d").mjcf_path


def test_the_default_engine_is_mujoco_on_the_cpu():
    engine = build_engine(MJCF_PATH, 2, EngineConfig(num_threads=1))
    assert isinstance(engine, MujocoCpuEngine) and engine.device.type == "cpu"


def test_mujoco_warp_without_its_package_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco_warp", None)  # import fails as if it were not installed
    with pytest.raises(MimicError, match=r"pip install \"\.\[gpu\]\""):
        build_engine(MJCF_PATH, 2, EngineConfig(name="mujoco_warp"))


def test_engine_names_and_cpu_only_settings_are_checked():
    with pytest.raises(MimicError, match="not one of"):
        EngineConfig(name="bullet")  # type: ignore[arg-type]
    with pytest.raises(MimicError, match="cpu only"):
        EngineConfig(device="cuda:0")
    with pytest.raises(MimicError, match="pd_backend"):
        EngineConfig(name="mujoco_warp", pd_backend="python")
    assert EngineConfig(name="mujoco_warp", device="cpu").device == "cpu"
