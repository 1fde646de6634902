"""`mimic check-character`: each kind of broken model gets the right message; a good one passes with a spec."""

from __future__ import annotations

import pytest

from mimic.character.check import check_model
from mimic.character.spec import load_spec
from mimic.cli import main

GROUND = "<geom type='plane' size='0 0 1'/>"
ARM = ("<body name='arm'><joint type='hinge' stiffness='10' damping='1'/><geom size='.05' pos='0 0 -.2'/></body>")


def _model(tmp_path, body: str, name: str = "m.xml", world: str = GROUND, extra: str = "") -> str:
    path = tmp_path / name
    path.write_text(f"<mujoco><worldbody>{world}{body}</worldbody>{extra}</mujoco>")
    return str(path)


def test_the_humanoid_passes_and_a_good_model_gets_a_starting_spec(tmp_path, capsys):
    assert check_model(load_spec().mjcf_path).ok
    path = tmp_path / "arm.xml"
    path.write_text(f"<mujoco><worldbody>{GROUND}<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/>"
                    "<body name='arm'><joint name='j' type='hinge' stiffness='10' damping='1'/>"
                    "<geom size='.05' pos='0 0 -.2'/></body></body></worldbody>"
                    "<actuator><motor joint='j' ctrlrange='-5 5'/></actuator></mujoco>")
    assert main(["check-character", str(path)]) == 0
    out = capsys.readouterr().out
    assert "joints         0 ball, 1 hinge, 0 fixed" in out and "contact_bodies:\n  default: [arm]" in out
    # the printed spec works as it is
    report = check_model(path)
    (tmp_path / "character.yaml").write_text(report.spec)
    assert load_spec(tmp_path).contact_bodies_for("any") == ("arm",)


@pytest.mark.parametrize("body, world, extra, message", [
    (f"<body name='base' pos='0 0 1'><geom size='.1'/>{ARM}</body>", GROUND, "", "is not free-floating"),
    ("<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/><body name='s'><joint type='slide' stiffness='1'/>"
     "<geom size='.05'/></body></body>", GROUND, "", "slide joint"),
    ("<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/><body name='a'><joint type='hinge' pos='0 0 .1' "
     "stiffness='1'/><geom size='.05'/></body></body>", GROUND, "", "offset from the body origin"),
    ("<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/><body name='a'><joint type='hinge'/>"
     "<geom size='.05'/></body></body>", GROUND, "", "joints without PD gains: ['a']"),
    ("<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/><body name='a'><joint type='hinge' stiffness='1'/>"
     "<geom type='cylinder' size='.05 .1'/></body></body>", GROUND, "", "collision geoms the engine cannot use"),
    (f"<body name='base' pos='0 0 1'><freejoint/><geom size='.1'/>{ARM}</body>", "", "", "flat ground"),
    ("<body name='base' pos='0 0 1'><freejoint/><geom size='.1' mass='0'/>"
     "<body name='a'><joint type='hinge' stiffness='1'/><geom size='.05'/></body></body>", GROUND,
     "<compiler inertiafromgeom='true'/>", None),
])
def test_broken_models_name_the_problem(tmp_path, body, world, extra, message):
    report = check_model(_model(tmp_path, body, world=world, extra=extra))
    if message is None:  # a massless root: MuJoCo itself refuses a free body without mass, or we report it
        assert not report.ok
        return
    assert not report.ok and any(message in p for p in report.problems), report.problems


def test_urdf_goes_through_mujocos_compiler(tmp_path, capsys):
    urdf = tmp_path / "bot.urdf"
    urdf.write_text("<robot name='bot'><link name='base'><inertial><mass value='1'/><inertia ixx='1' ixy='0' "
                    "ixz='0' iyy='1' iyz='0' izz='1'/></inertial></link>"
                    "<link name='leg'><inertial><mass value='1'/><inertia ixx='1' ixy='0' ixz='0' iyy='1' iyz='0' "
                    "izz='1'/></inertial></link><joint name='hip' type='revolute'><parent link='base'/>"
                    "<child link='leg'/><axis xyz='0 1 0'/><limit lower='-1' upper='1' effort='10' velocity='1'/>"
                    "</joint></robot>")
    report = check_model(urdf)
    assert not report.ok and "give the base link a body with a <freejoint/>" in report.problems[0]
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot name='x'><link name='a'></robot>")
    assert main(["check-character", str(broken)]) == 2
    captured = capsys.readouterr()
    assert "MuJoCo cannot compile it" in captured.out and captured.err.startswith("mimic: error:")
