"""DeepMimic-format clip files in another world: the spec's ``clip_format`` (up axis, quaternion order)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mimic.character.spec import load_spec
from mimic.errors import MimicError
from mimic.motion.formats.deepmimic_txt import read_deepmimic_txt, write_deepmimic_txt

ARM = ("<mujoco><worldbody><geom type='plane' size='0 0 1'/><body name='base' pos='0 0 1'><freejoint/>"
       "<geom size='.1'/><body name='arm'><joint type='ball' stiffness='10' damping='1'/>"
       "<geom size='.05' pos='0 0 -.2'/></body></body></worldbody></mujoco>")


@pytest.fixture(scope="module")
def dog():
    """DeepMimic's dog (its clips are bundled with Mimic) and its trot, read the default way (y-up, w first)."""
    spec = load_spec("dog3d")
    return spec.model, spec.clip_path("trot")


def frames(path) -> np.ndarray:
    return np.array(json.loads(path.read_text())["Frames"])


def test_the_default_is_deepmimics(dog):
    model, _ = dog
    assert model.clip_format == ("y", "wxyz")
    assert load_spec("humanoid3d").model.clip_format == ("y", "wxyz")


def test_a_zup_xyzw_file_keeps_positions_and_moves_the_scalar_last(dog, tmp_path):
    model, path = dog
    clip = read_deepmimic_txt(path, model)
    zup = dataclasses.replace(model, clip_format=("z", "xyzw"))
    write_deepmimic_txt(clip, tmp_path / "z.txt", zup)
    written = frames(tmp_path / "z.txt")
    np.testing.assert_array_equal(written[:, 1:4], clip.root_pos)
    np.testing.assert_array_equal(written[:, 4:8], clip.root_rot[:, [1, 2, 3, 0]])
    first = model.joint_pos_offsets[model.body_index("spine0")]  # the file's first joint, a ball joint
    np.testing.assert_array_equal(written[:, 8:12], clip.joint_pos[:, [first + 1, first + 2, first + 3, first]])
    # read back with the same format: the same clip, exactly; written the default way: the original file
    again = read_deepmimic_txt(tmp_path / "z.txt", zup)
    for key in ("frame_dt", "root_pos", "root_rot", "joint_pos"):
        np.testing.assert_array_equal(getattr(again, key), getattr(clip, key))
    write_deepmimic_txt(again, tmp_path / "y.txt", model)
    np.testing.assert_array_equal(frames(tmp_path / "y.txt"), frames(path))


@pytest.mark.parametrize("up, quat", [("y", "xyzw"), ("z", "wxyz")])
def test_each_setting_alone_round_trips(dog, tmp_path, up, quat):
    model, path = dog
    other = dataclasses.replace(model, clip_format=(up, quat))
    clip = read_deepmimic_txt(path, other)  # the dog's file read under another convention: other numbers
    write_deepmimic_txt(clip, tmp_path / "c.txt", other)
    np.testing.assert_array_equal(frames(tmp_path / "c.txt"), frames(path))


def test_a_bad_quaternion_is_reported_in_the_files_order(dog, tmp_path):
    model, path = dog
    data = json.loads(path.read_text())
    data["Frames"][3][4:8] = [0.0, 0.0, 0.0, 0.0]
    (tmp_path / "bad.txt").write_text(json.dumps(data))
    zup = dataclasses.replace(model, clip_format=("z", "xyzw"))
    with pytest.raises(MimicError, match=r"frame 3: joint 'root' .* unit quaternion \(x, y, z, w\)"):
        read_deepmimic_txt(tmp_path / "bad.txt", zup)


def _folder(tmp_path, name: str, spec: str):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "arm.xml").write_text(ARM)
    (folder / "character.yaml").write_text(spec)
    return folder


def test_the_spec_sets_and_checks_it(tmp_path):
    assert load_spec(_folder(tmp_path, "zup", "mjcf: arm.xml\nclip_format: {up: z, quat: xyzw}\n")).model.clip_format \
        == ("z", "xyzw")
    assert load_spec(_folder(tmp_path, "half", "mjcf: arm.xml\nclip_format: {quat: xyzw}\n")).model.clip_format \
        == ("y", "xyzw")
    bad = _folder(tmp_path, "bad", "mjcf: arm.xml\nclip_format: {up: x}\n")
    with pytest.raises(MimicError, match=r"character.yaml: clip_format.up: expected one of 'y', 'z', got 'x'"):
        load_spec(bad)
