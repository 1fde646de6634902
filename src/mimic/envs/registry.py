"""Registration of Mimic's environments with Gymnasium (cheap: entry points are strings)."""

from __future__ import annotations

ENV_ID = "mimic/Imitate-v0"


def register_envs() -> None:
    """Register ``mimic/Imitate-v0`` and its vector entry point (idempotent)."""
    import gymnasium

    if ENV_ID in gymnasium.registry:
        return
    gymnasium.register(
        id=ENV_ID,
        entry_point="mimic.envs.gymnasium:ImitateEnv",
        vector_entry_point="mimic.envs.gymnasium:ImitateVectorEnv",
        disable_env_checker=False,
    )
