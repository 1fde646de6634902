"""Clip files: every bundled clip loads and round-trips through .txt and .npz; walk is physically right."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mimic.motion import LoopMode, bundled_clips, load_clip, save_clip
from mimic.motion.bundled import motions_dir, resolve_clip_path

# (frames, duration s, loop) from DeepMimic's clip files
EXPECTED = {
    "backflip": (29, 1.75, "wrap"), "cartwheel": (164, 2.717, "wrap"), "crawl": (177, 2.933, "wrap"),
    "dance_a": (98, 1.617, "wrap"), "dance_b": (153, 2.533, "wrap"), "getup_facedown": (183, 3.033, "none"),
    "getup_faceup": (227, 3.767, "none"), "jump": (107, 1.767, "wrap"), "kick": (47, 1.533, "none"),
    "punch": (65, 2.133, "none"), "roll": (121, 2.016, "wrap"), "run": (25, 0.80, "wrap"),
    "spin": (107, 4.417, "wrap"), "spinkick": (78, 1.283, "wrap"), "walk": (39, 1.267, "wrap"),
}


def test_bundled_names_cover_the_fifteen_clips():
    assert sorted(bundled_clips()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_clip_loads_and_round_trips(name, humanoid, tmp_path):
    clip = load_clip(name, humanoid)
    frames, duration, loop = EXPECTED[name]
    assert clip.num_frames == frames
    assert clip.duration == pytest.approx(duration, abs=2e-3)
    assert clip.loop == LoopMode(loop)
    assert clip.name == name

    # .txt: the numbers written are exactly the numbers read from the original file
    original = np.array(json.loads(resolve_clip_path(name).read_text())["Frames"])
    save_clip(clip, tmp_path / "c.txt", humanoid)
    written = np.array(json.loads((tmp_path / "c.txt").read_text())["Frames"])
    np.testing.assert_array_equal(written, original)
    again = load_clip(tmp_path / "c.txt", humanoid)

    # .npz: exact arrays back
    save_clip(again, tmp_path / "c.npz", humanoid)
    back = load_clip(tmp_path / "c.npz", humanoid)
    for key in ("frame_dt", "root_pos", "root_rot", "joint_pos"):
        np.testing.assert_array_equal(getattr(back, key), getattr(clip, key))
    assert back.loop == clip.loop and back.body_names == clip.body_names


def test_npz_contents_documented_keys(humanoid, tmp_path):
    clip = load_clip("walk", humanoid)
    save_clip(clip, tmp_path / "walk.npz", humanoid)
    with np.load(tmp_path / "walk.npz") as data:
        assert float(data["fps"]) == pytest.approx(30.0, rel=1e-3)
        assert str(data["loop"]) == "wrap"
        assert data["root_pos"].shape == (39, 3) and data["root_rot"].shape == (39, 4)
        assert data["joint_pos"].shape == (39, 36) and data["joint_rot"].shape == (39, 14, 4)
        assert tuple(data["body_names"]) == humanoid.body_names
        assert data["body_pos"].shape == (39, 15, 3)


def test_walk_body_positions_are_physically_right(humanoid, tmp_path):
    """World joint positions of the walk: pelvis height, ankle height in stance, stride."""
    save_clip(load_clip("walk", humanoid), tmp_path / "walk.npz", humanoid)
    with np.load(tmp_path / "walk.npz") as data:
        pos = data["body_pos"]
        names = list(data["body_names"])
    pelvis = pos[:, names.index("root")]
    right, left = pos[:, names.index("right_ankle")], pos[:, names.index("left_ankle")]
    assert 0.84 < pelvis[:, 2].min() and pelvis[:, 2].max() < 0.9
    # in stance the ankle sits ~0.05 m up (foot box bottom 0.05 m below the ankle joint)
    stance = np.minimum(right[:, 2], left[:, 2])
    assert 0.04 < stance.min() < 0.06 and stance.max() < 0.1
    # ankles: hip width apart (~0.17 m) at the crossing, a stride (~0.5-0.7 m) at most
    gap = np.linalg.norm(right - left, axis=-1)
    assert 0.1 < gap.min() < 0.25 and 0.45 < gap.max() < 0.75
    # the character walks forward (+x) at roughly walking speed
    speed = (pelvis[-1, 0] - pelvis[0, 0]) / 1.267
    assert 0.8 < speed < 1.6


def test_bundled_clips_load_by_path(humanoid):
    paths = sorted(motions_dir().glob("humanoid3d_*.txt"))
    assert len(paths) == 15
    for path in paths:
        assert load_clip(path, humanoid).num_frames >= 25


def test_deepmimic_reference_clips_load_by_path(humanoid, reference_dir):
    paths = sorted(reference_dir.glob("deepmimic_motion_humanoid3d_*.txt"))
    assert len(paths) == 20
    for path in paths:
        clip = load_clip(path, humanoid)
        assert clip.num_frames >= 25
