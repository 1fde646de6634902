"""EnvConfig.with_overrides: the `--set env.KEY=VALUE` of `mimic eval` and the benchmarks."""

from __future__ import annotations

import pytest

from mimic.envs.config import EnvConfig
from mimic.errors import MimicError


def test_overrides_set_fields_and_nested_fields_with_types_checked():
    cfg = EnvConfig(clips=["walk", "run"]).with_overrides(
        ["env.episode_seconds=60", "env.steering.speed_max=4", "env.ref_velocities=central"])
    assert cfg.episode_seconds == 60.0 and cfg.steering.speed_max == 4.0 and cfg.ref_velocities == "central"
    assert cfg.clips == ["walk", "run"]


@pytest.mark.parametrize("override, message", [("agent.actor_lr=1", "only the env config can change"),
                                               ("env.no_such_field=1", "env.no_such_field"),
                                               ("env.ref_velocities=spline", "env.ref_velocities")])
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(MimicError, match=message):
        EnvConfig().with_overrides([override])
