"""BVH through the command line: `mimic import`, `mimic convert ... OUT.bvh`, `mimic play --export`, and a
training run on an imported clip."""

from __future__ import annotations

import numpy as np
import pytest
from foreign_skeleton import write_foreign_bvh

from mimic.cli import main
from mimic.errors import MimicError
from mimic.motion import load_clip
from mimic.motion.retarget import uniform_clip
from mimic.policies import POLICIES_DIR


@pytest.fixture
def walk(humanoid):
    try:
        return load_clip("walk", humanoid)
    except MimicError as exc:
        pytest.skip(f"bundled clips unavailable: {exc}")


def test_import_reports_its_choices_and_writes_a_clip(walk, humanoid, tmp_path, capsys):
    bvh = write_foreign_bvh(uniform_clip(walk, humanoid), humanoid, tmp_path / "walk.bvh")
    assert main(["import", str(bvh), str(tmp_path / "walk.npz"), "--fps", "60", "--loop", "wrap"]) == 0
    out = capsys.readouterr().out
    assert "map: mixamo (auto: all 15 joints found" in out
    assert "looks like centimetres (0.83 m)" in out and "frames: 39 at 30 fps -> 77 at 60 fps" in out
    assert f"wrote {tmp_path / 'walk.npz'} (77 frames at 60 fps, 1.267 s, loop wrap)" in out
    clip = load_clip(tmp_path / "walk.npz", humanoid)
    assert clip.num_frames == 77 and clip.loop.value == "wrap"
    # the DeepMimic format too
    assert main(["import", str(bvh), str(tmp_path / "walk.txt"), "--ground", "none"]) == 0
    np.testing.assert_allclose(load_clip(tmp_path / "walk.txt", humanoid).body_pos(humanoid),
                               walk.body_pos(humanoid), atol=1e-4)


def test_convert_to_bvh_and_back(walk, humanoid, tmp_path):
    assert main(["convert", "walk", str(tmp_path / "walk.bvh")]) == 0
    text = (tmp_path / "walk.bvh").read_text()
    assert text.startswith("HIERARCHY\nROOT root\n")
    assert main(["import", str(tmp_path / "walk.bvh"), str(tmp_path / "back.npz"), "--ground", "none"]) == 0
    back = load_clip(tmp_path / "back.npz", humanoid)
    np.testing.assert_allclose(back.body_pos(humanoid), walk.body_pos(humanoid), atol=1e-5)


@pytest.mark.skipif(not (POLICIES_DIR / "walk.pt").is_file(), reason="the shipped walk policy is not installed")
def test_play_export_reimports_to_the_same_motion(walk, humanoid, tmp_path, capsys):
    """The simulated walk written as BVH and as .npz (the same deterministic episode), the BVH imported
    back with Mimic's own skeleton: the same body positions."""
    assert main(["play", "walk", "--export", str(tmp_path / "sim.bvh"), "--seconds", "1"]) == 0
    assert main(["play", "walk", "--export", str(tmp_path / "sim.npz"), "--seconds", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "sim.bvh"), str(tmp_path / "back.npz"), "--map", "auto"]) == 0
    assert "map: mimic (auto" in capsys.readouterr().out
    sim, back = load_clip(tmp_path / "sim.npz", humanoid), load_clip(tmp_path / "back.npz", humanoid)
    assert sim.num_frames == back.num_frames == 31
    # the same motion, up to one vertical shift: the import puts the lowest ankle of the clip at the standing
    # ankle height, and a simulated ankle dips a little below it at a heel strike (the shipped walk: 1.5 cm)
    diff = back.body_pos(humanoid) - sim.body_pos(humanoid)
    shift = np.median(diff[..., 2])
    assert abs(shift) < 0.02
    diff[..., 2] -= shift
    assert np.linalg.norm(diff, axis=-1).max() < 1e-3
    # and it starts at the clip's first frame
    assert np.linalg.norm(sim.body_pos(humanoid)[0] - walk.body_pos(humanoid)[0], axis=-1).max() < 1e-4


def test_train_on_an_imported_clip(walk, humanoid, tmp_path):
    bvh = write_foreign_bvh(uniform_clip(walk, humanoid), humanoid, tmp_path / "mocap.bvh")
    assert main(["import", str(bvh), str(tmp_path / "mocap.npz"), "--loop", "wrap"]) == 0
    out = tmp_path / "run"
    small = ["--num-envs", "2", "--no-progress", "agent.steps_per_iter=4", "agent.actor_hidden=[8]",
             "agent.critic_hidden=[8]"]
    assert main(["train", str(tmp_path / "mocap.npz"), "--out", str(out), "--max-samples", "8", *small]) == 0
    assert (out / "latest.pt").is_file()
