"""The flight check (mimic.motion.flight_check): known answers on made-up clips, and the spin's flight."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mimic.character.spec import load_spec
from mimic.motion import load_clip
from mimic.motion.clip import LoopMode
from mimic.motion.flight_check import GRAVITY, flights


@pytest.fixture(scope="module")
def spec():
    return load_spec("humanoid3d")


def _thrown(spec, fall_g: float, vz: float, seconds: float = 0.5, lift: float = 0.3):
    """The walk's first pose held rigid, its root thrown up at ``vz`` m/s and falling at ``fall_g`` g for
    ``seconds``, ``lift`` m above where the walk stands (so every geom is in the air throughout)."""
    walk = load_clip("walk", spec.model, character=spec)
    n = int(round(seconds * 30)) + 1
    t = np.arange(n) / 30.0
    root_pos = np.repeat(walk.root_pos[:1], n, axis=0).copy()
    root_pos[:, 2] += lift + vz * t - 0.5 * fall_g * GRAVITY * t * t
    return replace(walk, name="thrown", loop=LoopMode.NONE, frame_dt=np.full(n, 1 / 30.0), root_pos=root_pos,
                   root_rot=np.repeat(walk.root_rot[:1], n, axis=0), joint_pos=np.repeat(walk.joint_pos[:1], n, axis=0))


@pytest.mark.parametrize("fall_g", [1.0, 0.5])
def test_a_thrown_rigid_pose_falls_at_the_clips_own_rate(spec, fall_g):
    """A rigid pose's COM moves with its root: one flight over the whole clip, whose fitted fall is the
    clip's (1 g ballistic, 0.5 g as the spin), take-off velocity 2 m/s, and the velocity a ballistic
    flight to the same landing would need (2 m/s for the ballistic one, more for the slow one)."""
    clip = _thrown(spec, fall_g, vz=2.0)
    (f,) = flights(spec, clip)
    assert f.start == pytest.approx(0.0) and f.end == pytest.approx(clip.duration)
    # (to 0.1 %: the motion library interpolates the root linearly between the 30 Hz keyframes)
    assert f.com_fall_g == pytest.approx(fall_g, abs=1e-3)
    assert f.takeoff_vz == pytest.approx(2.0, abs=1e-2)
    expected = 2.0 + 0.5 * (1.0 - fall_g) * GRAVITY * clip.duration
    assert f.ballistic_vz == pytest.approx(expected, abs=1e-2)


def test_the_walk_never_leaves_the_ground(spec):
    assert flights(spec, load_clip("walk", spec.model, character=spec)) == []


def test_the_spins_flight_falls_at_about_half_g_and_the_backflips_at_g(spec):
    """DeepMimic's spin is in the air for 0.50 s from 1.62 s falling at 0.6 g, taking off at 1.4 m/s where
    a ballistic flight would need 2.3 (docs/skills.md, the spin); the backflip's flight is ballistic."""
    spin = flights(spec, load_clip("spin", spec.model, character=spec))
    first = max(spin, key=lambda f: f.seconds)
    assert first.start == pytest.approx(1.62, abs=0.02) and first.seconds == pytest.approx(0.50, abs=0.02)
    assert 0.5 < first.com_fall_g < 0.7
    assert first.ballistic_vz - first.takeoff_vz > 0.8
    (flip,) = flights(spec, load_clip("backflip", spec.model, character=spec))
    assert flip.com_fall_g == pytest.approx(1.0, abs=0.1)


def test_the_shipped_spin_falls_from_its_take_off_and_not_around_it():
    """``benchmarks/start_falls.py --start-at``: started in the spin's take-off (1.60 s) with the reference's
    velocities the shipped controller comes down early and falls; from 1.45 s (before it) it takes off by
    itself and from 1.80 s (in the air) it lands; both stay up (docs/skills.md, the spin)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "benchmarks" / "start_falls.py"
    args = [sys.executable, str(script), "spin", "--clip", "spin", "--episodes", "3", "--seconds", "1"]
    run = subprocess.run(args + ["--start-at", "1.45", "1.60", "1.80", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout.splitlines()[-1])["by_start"]
    assert [(r["start"], r["starts"], r["falls"]) for r in rows] == [(1.45, 1, 0), (1.6, 1, 1), (1.8, 1, 0)]
    refused = subprocess.run(args + ["--start-at", "1.6", "--handover", "spin:2"], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "--start-at and --handover" in refused.stderr
