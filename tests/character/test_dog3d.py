"""DeepMimic's dog (dog3d): its MJCF against DeepMimic's numbers, FK against MuJoCo, the engine, its clips."""

from __future__ import annotations

import json
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch
import yaml

import mimic.character
from mimic.character import rotations as R
from mimic.character.kinematics import ForwardKinematics
from mimic.character.model import CharacterModel, JointType, load_character
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups, random_targets_for

DOG_DIR = Path(mimic.character.__file__).parent / "assets" / "dog3d"
MJCF_PATH = DOG_DIR / "dog3d.xml"
CLIPS = ("canter", "pace", "spin", "trot")
PAWS = ("left_finger", "right_finger", "left_toe", "right_toe")
HINGES = ("left_forearm", "right_forearm", "left_leg", "right_leg")


@pytest.fixture(scope="module")
def dog() -> CharacterModel:
    return load_character(MJCF_PATH)


@pytest.fixture(scope="module")
def spec() -> dict:
    """``character.yaml`` as written (read directly: the spec loader is not what is tested here)."""
    return yaml.safe_load((DOG_DIR / "character.yaml").read_text())


def dog_engine(num_envs: int, **config) -> MujocoCpuEngine:
    return MujocoCpuEngine(MJCF_PATH, num_envs, EngineConfig(num_threads=1, **config))


def random_qpos(mj: mujoco.MjModel, rng: np.random.Generator) -> np.ndarray:
    qpos = rng.normal(size=mj.nq)
    for j in range(mj.njnt):
        adr = mj.jnt_qposadr[j]
        if mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            qpos[adr + 3:adr + 7] /= np.linalg.norm(qpos[adr + 3:adr + 7])
        elif mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            qpos[adr:adr + 4] /= np.linalg.norm(qpos[adr:adr + 4])
    return qpos


def test_dog_layout(dog):
    assert dog.num_bodies == 23
    assert dog.total_mass == pytest.approx(29.25, rel=1e-6)
    assert dog.has_free_root and dog.joint_types[0] == JointType.FREE
    assert len(dog.ball_bodies) == 18 and len(dog.hinge_bodies) == 4
    assert {dog.body_names[b] for b in dog.hinge_bodies} == set(HINGES)
    assert dog.num_joint_pos == 18 * 4 + 4 and dog.num_dofs == 18 * 3 + 4


@pytest.mark.parametrize("body, kp, kd, torque", [
    ("spine0", 500, 50, 200), ("neck", 100, 10, 80), ("head", 50, 5, 50), ("left_shoulder", 200, 20, 150),
    ("left_forearm", 200, 20, 100), ("right_leg", 200, 20, 150), ("right_upper_leg", 300, 30, 200),
    ("left_foot", 150, 15, 100), ("left_toe", 80, 8, 50), ("tail1", 10, 1, 25),
])
def test_gains_and_torque_limits_are_deepmimics(dog, body, kp, kd, torque):
    b = dog.body_index(body)
    dofs = slice(dog.dof_offsets[b], dog.dof_offsets[b] + (1 if b in dog.hinge_bodies else 3))
    assert (dog.dof_kp[dofs] == kp).all() and (dog.dof_kd[dofs] == kd).all()
    assert dog.joint_torque_limit[b] == torque


def test_joint_ranges(dog):
    for name, (lo, hi) in {"left_forearm": (0, 3.14), "right_forearm": (0, 3.14),
                           "left_leg": (-3.14, 0), "right_leg": (-3.14, 0)}.items():
        assert tuple(dog.dof_limits[dog.dof_offsets[dog.body_index(name)]]) == (lo, hi)
        np.testing.assert_array_equal(dog.hinge_axes[dog.body_index(name)], [0, -1, 0])  # DeepMimic's z
    ball_dofs = np.concatenate([dog.dof_offsets[b] + np.arange(3) for b in dog.ball_bodies])
    assert np.isinf(dog.dof_limits[ball_dofs]).all()  # DeepMimic gives the dog's spherical joints no limits


@pytest.mark.parametrize("body, kind, size, pos, axis", [
    ("spine1", "sphere", [0.11], [0.17, 0, -0.04], None),
    ("head", "box", [0.06, 0.05, 0.095], [0.08, 0, -0.04], None),  # DeepMimic extents (x, y, z) -> (x, z, y)
    ("left_upper_leg", "capsule", [0.045, 0.1], [0, 0, -0.055], [0, 0, 1]),
    ("neck", "capsule", [0.035, 0.04], [0.075, 0, 0], [1, 0, 0]),  # turned -90 deg about DeepMimic's z
    ("tail1", "capsule", [0.02, 0.085], [-0.11, 0, 0], [1, 0, 0]),
    ("right_toe", "box", [0.045, 0.025, 0.02], [0.015, 0, -0.02], None),
])
def test_collision_shapes_are_deepmimics(body, kind, size, pos, axis):
    mj = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
    geom = mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, body)
    assert mujoco.mjtGeom(mj.geom_type[geom]).name == f"mjGEOM_{kind.upper()}"
    np.testing.assert_allclose(mj.geom_size[geom][:len(size)], size)
    np.testing.assert_allclose(mj.geom_pos[geom], pos, atol=1e-12)
    if axis is not None:  # a capsule's axis is its local z
        z_axis = np.zeros(9)
        mujoco.mju_quat2Mat(z_axis, mj.geom_quat[geom])
        np.testing.assert_allclose(np.abs(z_axis.reshape(3, 3)[:, 2]), axis, atol=1e-9)


def test_rest_pose_matches_deepmimic_proportions(dog):
    fk = ForwardKinematics(dog, dtype=torch.float64)
    pos, _ = fk(torch.zeros(3, dtype=torch.float64), R.quat_identity((), dtype=torch.float64),
                R.quat_identity((dog.num_joints,), dtype=torch.float64))
    p = {name: pos[i].numpy() for i, name in enumerate(dog.body_names)}
    np.testing.assert_allclose(p["left_toe"], [-0.074803, 0.05986, -(0.095825 + 0.2 + 0.225 + 0.135)])
    np.testing.assert_allclose(p["right_finger"], [0.2375 + 0.304074, -0.106071, -(0.109983 + 0.19 + 0.2225 + 0.09)])
    np.testing.assert_allclose(p["head"], [0.2375 + 0.28135 + 0.175, 0, 0])  # the head is forward (+x)
    np.testing.assert_allclose(p["tail1"], [-0.286, 0, 0])


def test_fk_matches_mujoco_on_random_poses(dog):
    mj = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
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
    fk = ForwardKinematics(dog, dtype=torch.float64)
    pos, rot = fk(q[:, :3], q[:, 3:7], dog.joint_pos_to_rot(q[:, 7:]))
    assert pos.shape == (64, 23, 3) and rot.shape == (64, 23, 4)
    np.testing.assert_allclose(pos.numpy(), np.stack(xpos), atol=1e-6)
    expected_rot = R.quat_canonical(torch.as_tensor(np.stack(xquat))).numpy()
    np.testing.assert_allclose(R.quat_canonical(rot).numpy(), expected_rot, atol=1e-6)


@pytest.mark.parametrize("pd_backend", ["native", "python"])
def test_engine_drops_from_1m_and_stands_on_its_paws(dog, pd_backend):
    e = dog_engine(4, pd_backend=pd_backend)
    state = e.rest_state()
    state["root_pos"][:, 2] = 1.0
    e.set_state(None, **state)
    e.set_pd_targets(e.rest_state()["joint_pos"])
    for _ in range(60):  # 2 s
        e.step()
        assert not e.invalid.any() and torch.isfinite(e.body_pos).all()
    up = R.quat_rotate(e.root_rot, torch.tensor([[0.0, 0.0, 1.0]]).expand(4, 3))
    assert (up[:, 2] > 0.98).all()  # level but for the front legs being 4 cm shorter
    assert ((e.root_pos[:, 2] > 0.6) & (e.root_pos[:, 2] < 0.72)).all()
    touching = {dog.body_names[b] for b in torch.nonzero(e.ground_contact[0]).flatten().tolist()}
    assert touching == set(PAWS)


def test_engine_random_targets_do_not_blow_up():
    stats = count_blowups(dog_engine(16), steps=40, seed=1)
    assert stats["invalid"] == 0 and stats["nonfinite"] == 0, stats


def test_engine_ground_contact_matches_mujoco_collisions():
    """The neck and tail capsules are turned in their bodies: the engine's geometric contact must
    agree with MuJoCo's collisions for them too."""
    e = dog_engine(16)
    g = torch.Generator().manual_seed(5)
    m = e.mj_model
    data = mujoco.MjData(m)
    turned = [e.character.body_index(n) for n in ("neck", "tail0", "tail1")]
    checked = checked_turned = 0
    for _ in range(15):
        e.set_pd_targets(random_targets_for(e, g))
        e.step()
        qpos, qvel = e.batch.bind("qpos"), e.batch.bind("qvel")
        for i in range(e.num_envs):
            data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_forward(m, data)
            touching = np.zeros(e.character.num_bodies, dtype=bool)
            for c in data.contact[:data.ncon]:
                touching[m.geom_bodyid[c.geom1] + m.geom_bodyid[c.geom2] - 1] = True  # the other one is the world
            assert touching.tolist() == e.ground_contact[i].tolist()
            checked += int(touching.sum())
            checked_turned += int(touching[turned].sum())
    assert checked > 80 and checked_turned > 0


def test_spec_names_the_models_bodies(dog, spec):
    names = set(dog.body_names)
    assert spec["name"] == "dog3d" and spec["mjcf"] == "dog3d.xml"
    order = spec["clip_joint_order"]
    assert sorted(order) == sorted(dog.body_names) and order[0] == "root"
    assert tuple(order) == dog.body_names  # DeepMimic's IDs 0..22 are already depth-first
    assert spec["end_effectors"] == list(PAWS)
    assert set(spec["key_bodies"]) == {"head", *PAWS}
    # the canter also allows the hind feet (its reference grazes the ground with them)
    assert spec["contact_bodies"] == {"default": list(PAWS), "canter": [*PAWS, "left_foot", "right_foot"]}
    assert set(spec["deepmimic_joint_weights"]) == names
    assert set(spec["mimickit_joint_weights"]) == names - {"root"}
    w = spec["deepmimic_joint_weights"]
    picked = (w["root"], w["spine1"], w["head"], w["left_forearm"], w["right_toe"], w["tail1"])
    assert picked == (1.0, 0.5, 0.4, 0.3, 0.1, 0.05)
    assert spec["episode_seconds"] == {"default": 20.0} and spec["end_hold_seconds"] == {}
    assert spec["clips"] == {"dir": "motions", "prefix": "dog3d_"}


def clip_frames(name: str) -> tuple[dict, np.ndarray]:
    data = json.loads((DOG_DIR / "motions" / f"dog3d_{name}.txt").read_text())
    return data, np.array(data["Frames"], dtype=np.float64)


def test_clips_are_bundled_with_their_licence():
    files = {p.name for p in (DOG_DIR / "motions").iterdir()}
    assert files == {*(f"dog3d_{c}.txt" for c in CLIPS), "README.txt"}
    notice = (DOG_DIR / "motions" / "README.txt").read_text()
    assert "Copyright (c) 2018 Xue Bin Peng" in notice and "MIT License" in notice


@pytest.mark.parametrize("clip", CLIPS)
def test_clip_frames_fit_the_joint_layout(dog, spec, clip):
    data, frames = clip_frames(clip)
    assert data["Loop"] == "wrap" and frames.ndim == 2
    # duration + root position + root rotation + a quaternion per ball joint and an angle per hinge
    assert frames.shape[1] == 84 == 1 + 3 + 4 + dog.num_joint_pos
    sizes = [4 if dog.joint_types[dog.body_index(n)] == JointType.BALL else 1 for n in spec["clip_joint_order"][1:]]
    assert 1 + 3 + 4 + sum(sizes) == 84


def frames_to_qpos(dog: CharacterModel, order: list[str], frames: np.ndarray) -> np.ndarray:
    """MuJoCo qpos (F, 7 + num_joint_pos) of DeepMimic frames: y-up (x, y, z) -> z-up (x, -z, y)."""

    def zup(v: np.ndarray) -> np.ndarray:
        return np.stack((v[:, 0], -v[:, 2], v[:, 1]), axis=-1)

    qpos = np.zeros((len(frames), 7 + dog.num_joint_pos))
    qpos[:, 0:3] = zup(frames[:, 1:4])
    qpos[:, 3], qpos[:, 4:7] = frames[:, 4], zup(frames[:, 5:8])
    col = 8
    for name in order[1:]:
        b = dog.body_index(name)
        off = 7 + dog.joint_pos_offsets[b]
        if dog.joint_types[b] == JointType.BALL:
            qpos[:, off] = frames[:, col]
            qpos[:, off + 1:off + 4] = zup(frames[:, col + 1:col + 4])
            col += 4
        else:
            qpos[:, off] = frames[:, col]  # hinge angles are DeepMimic's (axis -y = its local z)
            col += 1
    return qpos


@pytest.mark.parametrize("clip", CLIPS)
def test_clip_poses_put_the_paws_on_the_ground(dog, spec, clip):
    """DeepMimic's frames posed on the MJCF (with the spec's joint order and the y-up -> z-up map): the
    quaternions are near unit, hinge angles lie in their ranges, and in every frame the lowest point of the
    dog is a paw within a few centimetres of the ground, which checks offsets, axes and joint order."""
    _, frames = clip_frames(clip)
    qpos = frames_to_qpos(dog, spec["clip_joint_order"], frames)
    # Some of DeepMimic's dog quaternions are up to 17 % off unit length (DeepMimic normalizes what it
    # reads); a column misplaced by the joint order would give norms far from 1.
    ball = dog.layout()["ball_pos"].numpy() + 7
    norms = np.linalg.norm(qpos[:, ball], axis=-1)
    assert ((norms > 0.8) & (norms < 1.2)).all()
    qpos[:, ball] /= norms[..., None]
    for name in HINGES:
        b = dog.body_index(name)
        lo, hi = dog.dof_limits[dog.dof_offsets[b]]
        angles = qpos[:, 7 + dog.joint_pos_offsets[b]]
        assert ((angles >= lo) & (angles <= hi)).all(), name
    mj = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
    data = mujoco.MjData(mj)
    lowest = []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(mj, data)
        bottom = {}
        for geom in range(1, mj.ngeom):  # geom 0 is the floor
            size, axes = mj.geom_size[geom], data.geom_xmat[geom].reshape(3, 3)
            z = data.geom_xpos[geom, 2]
            if mj.geom_type[geom] == mujoco.mjtGeom.mjGEOM_SPHERE:
                z -= size[0]
            elif mj.geom_type[geom] == mujoco.mjtGeom.mjGEOM_CAPSULE:
                z -= abs(axes[2, 2]) * size[1] + size[0]
            else:  # box
                z -= (np.abs(axes[2]) * size).sum()
            bottom[dog.body_names[mj.geom_bodyid[geom] - 1]] = z
        body = min(bottom, key=bottom.get)
        assert body in PAWS, (body, bottom[body])
        lowest.append(bottom[body])
    assert -0.04 < min(lowest) < 0.01 and max(lowest) < 0.04


@pytest.mark.parametrize("clip", ["canter", "pace", "spin", "trot"])
def test_clips_round_trip_through_txt_and_npz(clip, tmp_path):
    """Read with the spec's joint order, written as DeepMimic .txt (the file's numbers back) and as .npz."""
    import json

    from mimic.character.spec import load_spec
    from mimic.motion import load_clip, save_clip

    spec = load_spec("dog3d")
    original = load_clip(clip, character=spec)
    save_clip(original, tmp_path / "c.txt", spec.model)
    frames = json.loads((tmp_path / "c.txt").read_text())["Frames"]
    source = json.loads(spec.clip_path(clip).read_text())["Frames"]
    assert np.allclose(np.array(frames), np.array(source), atol=1e-12)
    save_clip(original, tmp_path / "c.npz", spec.model)
    again = load_clip(tmp_path / "c.npz", character=spec)
    assert np.array_equal(again.joint_pos, original.joint_pos) and np.array_equal(again.root_rot, original.root_rot)
