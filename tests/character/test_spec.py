"""Character folders: the spec loader, its errors, and the humanoid's spec against DeepMimic's facts."""

from __future__ import annotations

import pytest

from mimic.character.spec import bundled_characters, load_spec
from mimic.cli import main
from mimic.errors import MimicError

ARM = ("<mujoco><worldbody><geom type='plane' size='0 0 1'/><body name='base' pos='0 0 1'><freejoint/>"
       "<geom size='.1'/><body name='arm'><joint type='hinge' stiffness='10' damping='1'/>"
       "<geom size='.05' pos='0 0 -.2'/></body></body></worldbody></mujoco>")


def _folder(tmp_path, spec: str | None, name: str = "arm"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "arm.xml").write_text(ARM)
    if spec is not None:
        (folder / "character.yaml").write_text(spec)
    return folder


def test_humanoid_spec_holds_deepmimic_numbers():
    spec = load_spec()  # the default character
    assert spec.name == "humanoid3d" and "humanoid3d" in bundled_characters()
    m = spec.model
    assert m.num_bodies == 15 and m.num_dofs == 28 and abs(m.total_mass - 45.0) < 1e-6
    assert m.clip_joint_order[:4] == ("root", "chest", "neck", "right_hip")
    assert spec.contact_bodies_for("walk") == ("right_ankle", "left_ankle")
    assert spec.contact_bodies_for("roll") == m.body_names  # no contact termination
    assert set(spec.contact_bodies_for("cartwheel")) == {"right_ankle", "left_ankle", "right_wrist", "left_wrist"}
    assert spec.episode_seconds_for("kick") == 4.0 and spec.episode_seconds_for("walk") == 20.0
    assert spec.end_hold_seconds_for("getup_faceup") == 0.3 and spec.end_hold_seconds_for("walk") == 0.0
    weights = dict(zip(m.body_names, spec.deepmimic_joint_weights, strict=True))
    assert weights["root"] == 1.0 and weights["chest"] == 0.5 and weights["right_wrist"] == 0.0
    assert len(spec.mimickit_joint_weights) == m.num_bodies - 1
    assert len(spec.clip_names) == 15 and spec.clip_short_name("x/humanoid3d_walk.txt") == "walk"
    # the fast clips' PD backend; a dataset mixing backends gets the default
    assert spec.pd_backend_for(["jump"]) == "python" and spec.pd_backend_for(["walk"]) == "native"
    assert spec.pd_backend_for(["walk", "jump"]) == "native" and spec.pd_backend_for(["jump", "backflip"]) == "python"
    assert spec.loop_blend_seconds_for("cartwheel") == 0.5 and spec.loop_blend_seconds_for("walk") is None


def test_a_minimal_spec_gives_defaults(tmp_path):
    spec = load_spec(_folder(tmp_path, "mjcf: arm.xml\n"))
    assert spec.name == "arm" and spec.model.clip_joint_order is None
    assert spec.contact_bodies_for("anything") == () and spec.end_effectors == ()
    assert spec.deepmimic_joint_weights == (1.0, 1.0) and spec.clip_names == ()
    assert load_spec(spec.spec_path) is spec  # the yaml path itself names the same character


@pytest.mark.parametrize("spec, match", [
    (None, r"arm: a character folder needs a character.yaml"),
    ("name: arm\n", r"character.yaml: mjcf: a character spec needs at least 'mjcf: FILE.xml'"),
    ("mjcf: missing.xml\n", r"character.yaml: mjcf: .*missing.xml not found"),
    ("mjcf: arm.xml\nend_effectors: [hand]\n", r"character.yaml: end_effectors: unknown bodies \['hand'\]"),
    ("mjcf: arm.xml\ncontact_bodies: {default: [foot]}\n", r"contact_bodies.default: unknown bodies \['foot'\]"),
    ("mjcf: arm.xml\nclip_joint_order: [arm]\n", r"clip_joint_order: must list every body once; missing \['base'\]"),
    ("mjcf: arm.xml\ndeepmimic_joint_weights: {arm: -1}\n", r"deepmimic_joint_weights.arm: weights must be"),
    ("mjcf: arm.xml\nepisode_seconds: {default: -2}\n", r"episode_seconds.default: must be a non-negative"),
    ("mjcf: arm.xml\npose_termination_dist: {walk: 0}\n", r"pose_termination_dist.walk: must be a positive"),
    ("mjcf: arm.xml\npd_backend: {walk: fast}\n", r"pd_backend.walk: must be one of native, python, got 'fast'"),
    ("mjcf: arm.xml\nloop_blend_seconds: {walk: -1}\n", r"loop_blend_seconds.walk: must be a positive"),
    ("mjcf: arm.xml\ncolour: red\n", r"character.yaml: colour: unknown key"),
    ("mjcf: [arm.xml\n", r"character.yaml: not valid YAML"),
])
def test_bad_specs_name_the_file_and_field(tmp_path, spec, match):
    with pytest.raises(MimicError, match=match):
        load_spec(_folder(tmp_path, spec))


def test_a_model_file_or_unknown_name_is_not_a_character(tmp_path):
    folder = _folder(tmp_path, None)
    with pytest.raises(MimicError, match=r"arm.xml: a model file is not a character yet"):
        load_spec(folder / "arm.xml")
    with pytest.raises(MimicError, match=r"robot: unknown character; bundled characters are: .*humanoid3d"):
        load_spec("robot")


def test_cli_lists_characters_and_rejects_a_folder_without_spec(tmp_path, capsys):
    assert main(["characters"]) == 0
    out = capsys.readouterr().out
    assert "humanoid3d  15" in out and "45.00" in out
    assert main(["clips", "--character", str(_folder(tmp_path, None))]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("mimic: error:") and "needs a character.yaml" in err[0]
