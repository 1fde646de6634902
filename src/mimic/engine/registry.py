"""Engines built by name: ``EngineConfig.name`` -> an :class:`~mimic.engine.base.Engine`.

``mujoco_warp`` is imported only when asked for, so the CPU install never needs Warp.
"""

from __future__ import annotations

from pathlib import Path

from mimic.engine.base import ENGINE_NAMES, Engine, EngineConfig
from mimic.errors import MimicError


def build_engine(mjcf_path: str | Path, num_envs: int, config: EngineConfig | None = None) -> Engine:
    """The engine ``config.name`` simulating ``num_envs`` copies of the character in ``mjcf_path``.

    Args:
        mjcf_path: the character's MJCF.
        num_envs: number of characters ``N``.
        config: engine settings (default: :class:`EngineConfig`, the MuJoCo CPU engine).

    Raises:
        MimicError: an unknown engine name, or ``mujoco_warp`` without the ``mujoco-warp`` package.
    """
    config = config or EngineConfig()
    if config.name == "mujoco_cpu":
        from mimic.engine.mujoco_cpu import MujocoCpuEngine

        return MujocoCpuEngine(mjcf_path, num_envs, config)
    if config.name == "mujoco_warp":
        require_mujoco_warp()
        from mimic.engine.mujoco_warp import MujocoWarpEngine

        return MujocoWarpEngine(mjcf_path, num_envs, config)
    raise MimicError(f"engine: name {config.name!r} is not one of {', '.join(ENGINE_NAMES)}")


def require_mujoco_warp() -> None:
    """Raise a one-line :class:`MimicError` with the install command when ``mujoco_warp`` cannot be imported."""
    try:
        import mujoco_warp  # noqa: F401
        import warp  # noqa: F401
    except ImportError as exc:
        raise MimicError(f"engine.name=mujoco_warp needs the mujoco-warp package ({exc}); install the gpu extra: "
                         "pip install \".[gpu]\" (or pip install mujoco-warp)") from None
