"""Character model read from MJCF and batched FK, checked against MuJoCo itself."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from mimic.character import rotations as R
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import JointType, load_character
from mimic.character.spec import load_spec
from mimic.errors import MimicError


def random_qpos(mj: mujoco.MjModel, rng: np.random.Generator) -> np.ndarray:
    qpos = rng.normal(size=mj.nq)
    for j in range(mj.njnt):
        adr = mj.jnt_qposadr[j]
        if mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            qpos[adr + 3:adr + 7] /= np.linalg.norm(qpos[adr + 3:adr + 7])
        elif mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            qpos[adr:adr + 4] /= np.linalg.norm(qpos[adr:adr + 4])
    return qpos


def test_humanoid_layout(humanoid):
    assert humanoid.num_bodies == 15
    assert set(humanoid.body_names) == set(load_spec().model.clip_joint_order)
    assert humanoid.num_dofs == 28 and humanoid.num_joint_pos == 36
    assert humanoid.total_mass == pytest.approx(45.0)
    assert humanoid.joint_types[0] == JointType.FREE
    assert len(humanoid.ball_bodies) == 8 and len(humanoid.hinge_bodies) == 4
    knee = humanoid.body_index("right_knee")
    assert humanoid.joint_torque_limit[knee] == 150
    assert humanoid.joint_torque_limit[humanoid.body_index("chest")] == 200
    chest_dof = humanoid.dof_offsets[humanoid.body_index("chest")]
    assert humanoid.dof_kp[chest_dof] == 1000 and humanoid.dof_kd[chest_dof] == 100


def test_rest_pose_matches_deepmimic_proportions(humanoid):
    fk = ForwardKinematics(humanoid, dtype=torch.float64)
    root_pos = torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64)
    joint_rot = R.quat_identity((humanoid.num_joints,), dtype=torch.float64)
    pos, _ = fk(root_pos, R.quat_identity((), dtype=torch.float64), joint_rot)
    ankle = pos[humanoid.body_index("right_ankle")]
    assert ankle[2].item() == pytest.approx(-(0.421546 + 0.409870))  # ankle 0.8314 m below the root
    assert ankle[1].item() == pytest.approx(-0.084887)  # right is -y
    wrist = pos[humanoid.body_index("left_wrist")]
    assert wrist[2].item() < pos[humanoid.body_index("left_shoulder")][2].item()  # arms hang down


def test_fk_matches_mujoco_on_random_poses(humanoid):
    mj = mujoco.MjModel.from_xml_path(str(load_spec().mjcf_path))
    data = mujoco.MjData(mj)
    rng = np.random.default_rng(0)
    qpos = np.stack([random_qpos(mj, rng) for _ in range(64)])
    xpos, xquat = [], []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(mj, data)
        xpos.append(data.xpos[1:].copy())
        xquat.append(data.xquat[1:].copy())
    q = torch.as_tensor(qpos)
    fk = ForwardKinematics(humanoid, dtype=torch.float64)
    pos, rot = fk(q[:, :3], q[:, 3:7], humanoid.joint_pos_to_rot(q[:, 7:]))
    assert pos.shape == (64, 15, 3) and rot.shape == (64, 15, 4)
    np.testing.assert_allclose(pos.numpy(), np.stack(xpos), atol=1e-6)
    expected_rot = R.quat_canonical(torch.as_tensor(np.stack(xquat))).numpy()
    np.testing.assert_allclose(R.quat_canonical(rot).numpy(), expected_rot, atol=1e-6)


def test_joint_layout_conversions_round_trip(humanoid):
    g = torch.Generator().manual_seed(1)
    dof_exp = (torch.rand(32, humanoid.num_dofs, generator=g, dtype=torch.float64) - 0.5) * 4
    joint_pos = humanoid.dof_exp_to_joint_pos(dof_exp)
    joint_rot = humanoid.joint_pos_to_rot(joint_pos)
    assert torch.allclose(humanoid.joint_rot_to_dof_exp(joint_rot), dof_exp, atol=1e-9)
    assert torch.allclose(humanoid.joint_rot_to_pos(joint_rot), joint_pos, atol=1e-12)
    vel = torch.randn(32, humanoid.num_dofs, generator=g, dtype=torch.float64)
    assert torch.allclose(humanoid.joint_ang_vel_to_dof_vel(humanoid.dof_vel_to_joint_ang_vel(vel)), vel)


SMALL_CHAIN = """
<mujoco>
  <worldbody>
    <body name="base" pos="0 0 1">
      <body name="upper" pos="0 0 -0.1" quat="0.9238795 0 0.3826834 0">
        <joint name="shoulder" type="ball"/>
        <geom type="capsule" size="0.05 0.2" pos="0 0 -0.2"/>
        <body name="lower" pos="0 0 -0.4">
          <joint name="elbow" type="hinge" axis="0.6 0 0.8"/>
          <geom type="sphere" size="0.05"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def test_any_mjcf_with_fixed_root_and_rest_rotations(tmp_path):
    path = tmp_path / "chain.xml"
    path.write_text(SMALL_CHAIN)
    model = load_character(path)
    assert model.body_names == ("base", "upper", "lower")
    assert model.joint_types == (JointType.FIXED, JointType.BALL, JointType.HINGE)
    mj = mujoco.MjModel.from_xml_path(str(path))
    data = mujoco.MjData(mj)
    rng = np.random.default_rng(2)
    qpos = random_qpos(mj, rng)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(mj, data)
    fk = ForwardKinematics(model, dtype=torch.float64)
    pos, rot = fk(torch.as_tensor(model.local_pos[0]), torch.as_tensor(model.local_rot[0]),
                  model.joint_pos_to_rot(torch.as_tensor(qpos)))
    np.testing.assert_allclose(pos.numpy(), data.xpos[1:], atol=1e-6)
    np.testing.assert_allclose(R.quat_canonical(rot).numpy(), R.quat_canonical(torch.as_tensor(data.xquat[1:])).numpy(),
                               atol=1e-6)


@pytest.mark.parametrize(
    "xml, message",
    [
        ("<mujoco><worldbody><body name='a'><joint type='slide'/><geom size='.1'/></body></worldbody></mujoco>",
         "slide joint"),
        ("<mujoco><worldbody><body name='a'><joint type='hinge'/><joint type='hinge'/><geom size='.1'/></body>"
         "</worldbody></mujoco>", "2 joints"),
        ("<mujoco><worldbody><body name='a'><geom size='.1'/></body><body name='b'><geom size='.1'/></body>"
         "</worldbody></mujoco>", "one character tree"),
        ("<mujoco><worldbody><body name='a'><geom size='.1'/><body name='b'><joint type='hinge' pos='0 0 .1'/>"
         "<geom size='.1'/></body></body></worldbody></mujoco>", "offset from the body origin"),
        ("<mujoco><worldbody><body name='a'><bad/></body></worldbody></mujoco>", "does not compile"),
    ],
)
def test_unsupported_mjcf_gives_clear_error(tmp_path, xml, message):
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(MimicError, match=message) as info:
        load_character(path)
    assert str(path) in str(info.value)


def test_missing_mjcf_and_unknown_body(tmp_path, humanoid):
    with pytest.raises(MimicError, match="not found"):
        load_character(tmp_path / "nope.xml")
    with pytest.raises(MimicError, match="unknown body 'head'.*right_knee"):
        humanoid.body_index("head")
