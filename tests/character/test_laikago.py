"""The Laikago robot: its MJCF against pybullet's URDF and example, FK, the engine, and the walk clip's conventions.

The URDF and the clip come with the ``pybullet`` wheel (``pybullet_data``); without it these tests skip.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

from mimic.character import rotations as R
from mimic.character.check import check_model
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import JointType
from mimic.character.spec import load_spec
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups, random_targets_for
from mimic.motion.formats.deepmimic_txt import read_deepmimic_txt, write_deepmimic_txt

pybullet_data = pytest.importorskip("pybullet_data")
DATA = Path(pybullet_data.getDataPath())
URDF = DATA / "laikago" / "laikago_toes_limits.urdf"
CLIP = DATA / "data" / "motions" / "laikago_walk.txt"
if not (URDF.is_file() and CLIP.is_file()):
    pytest.skip("pybullet_data has no Laikago URDF or walk clip", allow_module_level=True)

TOES = ("toeFR", "toeFL", "toeRR", "toeRL")
# pybullet_envs/deep_mimic/env/testLaikago.py: URDF angle = direction * clip angle + offset, URDF joint order
DIRECTIONS = (-1, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1)
OFFSETS = (0.0, -0.7, 0.7) * 4


@pytest.fixture(scope="module")
def spec():
    return load_spec("laikago")


@pytest.fixture(scope="module")
def urdf() -> ET.Element:
    return ET.parse(URDF).getroot()


@pytest.fixture(scope="module")
def clip_frames() -> np.ndarray:
    return np.array(json.loads(CLIP.read_text())["Frames"])


def mj_model(spec) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(spec.mjcf_path))


def engine(spec, num_envs: int, **config) -> MujocoCpuEngine:
    return MujocoCpuEngine(spec.mjcf_path, num_envs, EngineConfig(num_threads=1, **config))


def revolute_joints(urdf: ET.Element) -> list[ET.Element]:
    return [j for j in urdf.findall("joint") if j.get("type") in ("revolute", "continuous")]


def test_layout(spec, urdf):
    m = spec.model
    assert m.num_bodies == 17 and m.has_free_root and m.body_names[0] == "chassis"
    assert [m.body_names[b] for b in m.hinge_bodies] == [j.find("child").get("link") for j in revolute_joints(urdf)]
    assert {m.body_names[b] for b in range(1, 17) if m.joint_types[b] == JointType.FIXED} == set(TOES)
    assert m.num_joint_pos == m.num_dofs == 12
    urdf_mass = sum(float(link.find("inertial/mass").get("value")) for link in urdf.findall("link"))
    assert m.total_mass == pytest.approx(urdf_mass, abs=1e-9) and urdf_mass == pytest.approx(25.567)
    assert m.clip_format == ("z", "xyzw") and m.clip_joint_order == m.body_names


def test_gains_torque_limits_and_ranges(spec, urdf):
    """Kp 220 and Kd 2 (Peng et al.), the URDF's effort limits, and its joint limits in the clip's angles."""
    m = spec.model
    np.testing.assert_array_equal(m.dof_kp, 220.0)
    np.testing.assert_array_equal(m.dof_kd, 2.0)
    for k, joint in enumerate(revolute_joints(urdf)):
        b = m.body_index(joint.find("child").get("link"))
        limit = joint.find("limit")
        assert m.joint_torque_limit[b] == float(limit.get("effort")) == 100.0
        d, o = DIRECTIONS[k], OFFSETS[k]
        ends = sorted(((float(limit.get("lower")) - o) * d, (float(limit.get("upper")) - o) * d))
        np.testing.assert_allclose(m.dof_limits[m.dof_offsets[b]], ends, atol=1e-12)
        urdf_axis = np.array([float(x) for x in joint.find("axis").get("xyz").split()])
        np.testing.assert_array_equal(m.hinge_axes[b], d * urdf_axis)


def test_no_mesh_and_only_primitives_touching_the_ground(spec):
    text = spec.mjcf_path.read_text()
    assert "mesh" not in text.split("-->", 1)[1]  # the header may name them; the model has none
    mj = mj_model(spec)
    assert mj.nmesh == 0
    kinds = {int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_CAPSULE), int(mujoco.mjtGeom.mjGEOM_BOX)}
    for g in range(mj.ngeom):
        if mj.geom_bodyid[g]:
            assert int(mj.geom_type[g]) in kinds and (mj.geom_contype[g], mj.geom_conaffinity[g]) == (1, 0)
    for toe in TOES:
        geom = mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, toe)
        assert mj.geom_type[geom] == mujoco.mjtGeom.mjGEOM_SPHERE and mj.geom_size[geom][0] == 0.03


def test_check_character_passes(spec):
    report = check_model(spec.mjcf_path)
    assert report.ok and not report.warnings, report.text()


def test_fk_matches_mujoco_on_random_poses(spec):
    m, mj = spec.model, mj_model(spec)
    data = mujoco.MjData(mj)
    rng = np.random.default_rng(0)
    qpos = rng.normal(size=(64, mj.nq))
    qpos[:, 3:7] /= np.linalg.norm(qpos[:, 3:7], axis=1, keepdims=True)
    xpos, xquat = [], []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(mj, data)
        xpos.append(data.xpos[1:].copy())
        xquat.append(data.xquat[1:].copy())
    q = torch.as_tensor(qpos)
    pos, rot = ForwardKinematics(m, dtype=torch.float64)(q[:, :3], q[:, 3:7], m.joint_pos_to_rot(q[:, 7:]))
    np.testing.assert_allclose(pos.numpy(), np.stack(xpos), atol=1e-9)
    expected_rot = R.quat_canonical(torch.as_tensor(np.stack(xquat))).numpy()
    np.testing.assert_allclose(R.quat_canonical(rot).numpy(), expected_rot, atol=1e-9)


def clip_qpos(spec) -> np.ndarray:
    clip = read_deepmimic_txt(CLIP, spec.model)
    return np.concatenate((clip.root_pos, clip.root_rot, clip.joint_pos), axis=1)


def test_clip_poses_equal_pybullets(spec, clip_frames):
    """Every frame posed by Mimic's reader on the MJCF and by pybullet's example on the URDF (base pose as
    pybullet's (x, y, z, w), joints through testLaikago.py's directions and offsets): the same body frames.
    This pins the quaternion order, the root frame (pybullet's base = the chassis' centre of mass), the joint
    order, the hinge directions and the offsets."""
    pybullet = pytest.importorskip("pybullet")
    m, mj = spec.model, mj_model(spec)
    data = mujoco.MjData(mj)
    client = pybullet.connect(pybullet.DIRECT)
    try:
        robot = pybullet.loadURDF(str(URDF), physicsClientId=client)
        link = {pybullet.getJointInfo(robot, j, physicsClientId=client)[12].decode(): j
                for j in range(pybullet.getNumJoints(robot, physicsClientId=client))}
        motors = [j for j in range(len(link))
                  if pybullet.getJointInfo(robot, j, physicsClientId=client)[2] == pybullet.JOINT_REVOLUTE]
        for frame, q in zip(clip_frames, clip_qpos(spec), strict=True):
            data.qpos[:] = q
            mujoco.mj_kinematics(mj, data)
            pybullet.resetBasePositionAndOrientation(robot, frame[1:4], frame[4:8], physicsClientId=client)
            for k, j in enumerate(motors):
                pybullet.resetJointState(robot, j, DIRECTIONS[k] * frame[8 + k] + OFFSETS[k], physicsClientId=client)
            for b, name in enumerate(m.body_names[1:], start=2):
                state = pybullet.getLinkState(robot, link[name], computeForwardKinematics=True, physicsClientId=client)
                np.testing.assert_allclose(data.xpos[b], state[4], atol=1e-6)
                np.testing.assert_allclose(data.xmat[b].reshape(3, 3),
                                           np.reshape(pybullet.getMatrixFromQuaternion(state[5]), (3, 3)), atol=1e-6)
    finally:
        pybullet.disconnect(client)


def geom_bottoms(mj: mujoco.MjModel, data: mujoco.MjData, names: tuple[str, ...]) -> dict[str, float]:
    """Lowest point (z) of each body's collision geom after ``mj_kinematics``."""
    bottom = {}
    for g in range(mj.ngeom):
        if not mj.geom_bodyid[g]:
            continue
        size, z_row, z = mj.geom_size[g], data.geom_xmat[g].reshape(3, 3)[2], data.geom_xpos[g, 2]
        if mj.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
            z -= size[0]
        elif mj.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE:
            z -= abs(z_row[2]) * size[1] + size[0]
        else:
            z -= (np.abs(z_row) * size).sum()
        bottom[names[mj.geom_bodyid[g] - 1]] = z
    return bottom


def test_clip_poses_stand_on_the_toes(spec):
    """Read with the spec's format, every frame of the walk stands the robot up on its toes: in each frame the
    lowest body is a toe, 0-2.1 cm into the ground (the clip's own numbers, no offset), every toe reaches the
    ground, the lower legs stay 2 cm clear, and the hinge angles lie in their ranges."""
    m, mj = spec.model, mj_model(spec)
    data = mujoco.MjData(mj)
    qpos = clip_qpos(spec)
    assert ((qpos[:, 7:] >= m.dof_limits[:, 0]) & (qpos[:, 7:] <= m.dof_limits[:, 1])).all()
    toe_low, other_low = np.full(4, np.inf), np.inf
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(mj, data)
        bottom = geom_bottoms(mj, data, m.body_names)
        lowest = min(bottom, key=bottom.get)
        assert lowest in TOES and -0.025 < bottom[lowest] < 0.0, (lowest, bottom[lowest])
        toe_low = np.minimum(toe_low, [bottom[t] for t in TOES])
        other_low = min(other_low, min(v for k, v in bottom.items() if k not in TOES))
    assert ((toe_low > -0.025) & (toe_low < -0.01)).all(), toe_low
    assert other_low > 0.015
    # upright (the chassis' y axis is its up), heading +y, at a walk
    up = R.quat_rotate(torch.as_tensor(qpos[:, 3:7]), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64))
    assert (up[:, 2] > 0.99).all()
    assert 0.3 < qpos[-1, 1] - qpos[0, 1] < 0.4 and ((qpos[:, 2] > 0.47) & (qpos[:, 2] < 0.49)).all()


@pytest.mark.parametrize("clip_format", [("z", "wxyz"), ("y", "wxyz")])
def test_other_conventions_do_not_stand_it_up(spec, clip_format):
    """The evidence for (z, xyzw): read w-first (DeepMimic's order), the chassis lies on its side."""
    import dataclasses

    clip = read_deepmimic_txt(CLIP, dataclasses.replace(spec.model, clip_format=clip_format))
    up = R.quat_rotate(torch.as_tensor(clip.root_rot), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64))
    assert (up[:, 2].abs() < 0.2).all()


def test_clip_round_trips_to_the_files_numbers(spec, tmp_path, clip_frames):
    clip = read_deepmimic_txt(CLIP, spec.model)
    assert clip.num_frames == 21 and clip.loop.value == "wrap" and clip.duration == pytest.approx(1.25)
    write_deepmimic_txt(clip, tmp_path / "walk.txt", spec.model)
    written = json.loads((tmp_path / "walk.txt").read_text())
    assert written["Loop"] == "wrap"
    np.testing.assert_array_equal(np.array(written["Frames"]), clip_frames)


def test_spec(spec):
    assert spec.clip_names == ("walk",) and spec.clip_path("walk") == CLIP
    assert spec.contact_bodies_for("walk") == TOES and spec.end_effectors == TOES and spec.key_bodies == TOES
    weights = dict(zip(spec.model.body_names, spec.deepmimic_joint_weights, strict=True))
    assert weights["chassis"] == 1.0 and weights["FL_lower_leg"] == 1.0 and weights["toeFL"] == 0.0
    assert spec.episode_seconds_for("walk") == 20.0


@pytest.mark.parametrize("pd_backend", ["native", "python"])
def test_engine_drops_from_60cm_and_stands_on_its_toes(spec, pd_backend):
    e = engine(spec, 4, pd_backend=pd_backend)
    state = e.rest_state()
    state["root_pos"][:, 2] = 0.6
    e.set_state(None, **state)
    e.set_pd_targets(e.rest_state()["joint_pos"])
    for _ in range(60):  # 2 s
        e.step()
        assert not e.invalid.any() and torch.isfinite(e.body_pos).all()
    up = R.quat_rotate(e.root_rot, torch.tensor([[0.0, 1.0, 0.0]]).expand(4, 3))
    assert (up[:, 2] > 0.99).all()
    assert ((e.root_pos[:, 2] > 0.5) & (e.root_pos[:, 2] < 0.57)).all()
    for i in range(4):
        touching = {spec.model.body_names[b] for b in torch.nonzero(e.ground_contact[i]).flatten().tolist()}
        assert touching == set(TOES)


def test_engine_random_targets_do_not_blow_up(spec):
    stats = count_blowups(engine(spec, 16), steps=60, seed=1, min_root_height=0.25)
    assert stats["invalid"] == 0 and stats["nonfinite"] == 0, stats


def test_engine_ground_contact_matches_mujoco_collisions(spec):
    """The legs' capsules are slanted in their bodies (fromto): the engine's contact must agree with MuJoCo's."""
    e = engine(spec, 16)
    g = torch.Generator().manual_seed(5)
    m, data = e.mj_model, mujoco.MjData(e.mj_model)
    checked = 0
    for _ in range(15):
        e.set_pd_targets(random_targets_for(e, g))
        e.step()
        qpos, qvel = e.batch.bind("qpos"), e.batch.bind("qvel")
        for i in range(e.num_envs):
            data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_forward(m, data)
            touching = np.zeros(e.character.num_bodies, dtype=bool)
            for c in data.contact[:data.ncon]:
                touching[m.geom_bodyid[c.geom1] + m.geom_bodyid[c.geom2] - 1] = True
            assert touching.tolist() == e.ground_contact[i].tolist()
            checked += int(touching.sum())
    assert checked > 80


def test_rest_pose_has_straight_legs(spec):
    """Clip angle 0 (the example's offsets folded into the bodies): each leg straight down, its toe under its hip."""
    m, mj = spec.model, mj_model(spec)
    data = mujoco.MjData(mj)
    mujoco.mj_kinematics(mj, data)
    for leg in ("FR", "FL", "RR", "RL"):
        hip, toe = data.xpos[m.body_index(f"{leg}_upper_leg") + 1], data.xpos[m.body_index(f"toe{leg}") + 1]
        assert math.hypot(*(toe - hip)[:2]) < 0.025 and 0.49 < hip[2] - toe[2] < 0.51
