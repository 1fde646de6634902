"""MuJoCo CPU engine: state getters/setters, kinematics, contacts, invalid envs, determinism."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
import torch

from mimic.character import rotations as rot
from mimic.character.kinematics import ForwardKinematics
from mimic.character.spec import load_spec
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups, random_targets_for, standing_min_height
from mimic.errors import MimicError

MJCF_PATH = load_spec("humanoid3d").mjcf_path


def make_engine(num_envs: int = 4, **config) -> MujocoCpuEngine:
    return MujocoCpuEngine(MJCF_PATH, num_envs, EngineConfig(num_threads=1, **config))


def random_state(engine: MujocoCpuEngine, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ch = engine.character
    limits = torch.as_tensor(ch.dof_limits, dtype=torch.float32).clamp(-1.0, 1.0)
    exp = limits[:, 0] + torch.rand(n, ch.num_dofs, generator=g) * (limits[:, 1] - limits[:, 0])
    return {
        "root_pos": torch.rand(n, 3, generator=g) + torch.tensor([0.0, 0.0, 1.0]),
        "root_rot": rot.quat_normalize(torch.randn(n, 4, generator=g)),
        "root_vel": torch.randn(n, 3, generator=g),
        "root_ang_vel": torch.randn(n, 3, generator=g) * 2,
        "joint_pos": ch.dof_exp_to_joint_pos(exp),
        "dof_vel": torch.randn(n, ch.num_dofs, generator=g) * 2,
    }


def same_rotation(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    return bool(((a * b).sum(-1).abs() - 1).abs().max() < atol)


def test_blas_products_are_split_but_exact():
    from mimic.engine.body_state import _mm

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(9, 16)), rng.normal(size=(16, 5000))  # above the single-thread size
    np.testing.assert_allclose(_mm(a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_config_is_validated():
    with pytest.raises(MimicError, match="multiple"):
        EngineConfig(physics_hz=100, control_hz=30)
    with pytest.raises(MimicError, match="pd_damping"):
        EngineConfig(pd_damping="magic")
    assert EngineConfig().substeps == EngineConfig().physics_hz // 30


def test_shapes_and_dtypes():
    e = make_engine(3)
    ch = e.character
    shapes = {
        "root_pos": (3, 3), "root_rot": (3, 4), "root_vel": (3, 3), "root_ang_vel": (3, 3),
        "joint_pos": (3, ch.num_joint_pos), "dof_vel": (3, ch.num_dofs), "body_pos": (3, ch.num_bodies, 3),
        "body_rot": (3, ch.num_bodies, 4), "body_vel": (3, ch.num_bodies, 3), "body_ang_vel": (3, ch.num_bodies, 3),
        "dof_torque": (3, ch.num_dofs), "pd_targets": (3, ch.num_joint_pos),
    }
    for name, shape in shapes.items():
        x = getattr(e, name)
        assert x.shape == shape and x.dtype == torch.float32, name
    assert e.ground_contact.shape == (3, ch.num_bodies) and e.ground_contact.dtype == torch.bool
    assert e.invalid.shape == (3,) and e.invalid.dtype == torch.bool
    with pytest.raises(MimicError, match="shape"):
        e.set_pd_targets(torch.zeros(2, ch.num_joint_pos))
    with pytest.raises(MimicError, match="distinct"):
        e.set_state(torch.tensor([1, 1]), **e.rest_state(2))


def test_set_state_round_trip():
    e = make_engine(6)
    ids = torch.tensor([4, 1, 3])  # unsorted on purpose
    state = random_state(e, 3)
    e.set_state(ids, **state)
    for name, value in state.items():
        got = getattr(e, name)[ids]
        if name == "root_rot":
            assert same_rotation(got, value), name
        elif name == "joint_pos":
            lay = e.character.layout()
            assert same_rotation(got[:, lay["ball_pos"]], value[:, lay["ball_pos"]])
            torch.testing.assert_close(got[:, lay["hinge_pos"]], value[:, lay["hinge_pos"]])
        else:
            torch.testing.assert_close(got, value, rtol=1e-5, atol=1e-5, msg=name)
    # Untouched envs keep the rest pose.
    rest = e.rest_state(1)
    torch.testing.assert_close(e.root_pos[[0, 2, 5]], rest["root_pos"].expand(3, 3))
    # MuJoCo stores the free joint's angular velocity in the root frame.
    qvel = torch.from_numpy(e.batch.bind("qvel")[ids.sort().values.numpy()])
    order = torch.argsort(ids)
    expected = rot.quat_rotate_inv(state["root_rot"][order].double(), state["root_ang_vel"][order].double())
    torch.testing.assert_close(qvel[:, 3:6], expected, rtol=1e-5, atol=1e-5)


def test_body_velocities_match_the_joint_velocities():
    e = make_engine(3)
    e.set_state(None, **random_state(e, 3, seed=1))
    ch, lay = e.character, e.character.layout()
    torch.testing.assert_close(e.body_vel[:, 0], e.root_vel, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(e.body_ang_vel[:, 0], e.root_ang_vel, atol=1e-5, rtol=1e-5)
    # A child's world angular velocity = its parent's + its joint's velocity in the child frame.
    local = ch.dof_vel_to_joint_ang_vel(e.dof_vel)  # (N, num_joints, 3)
    for b in range(1, ch.num_bodies):
        p = int(ch.parent_indices[b])
        expected = e.body_ang_vel[:, p] + rot.quat_rotate(e.body_rot[:, b], local[:, b - 1])
        torch.testing.assert_close(e.body_ang_vel[:, b], expected, atol=1e-4, rtol=1e-4)
    assert len(lay["ball_dof"]) == 8
    # Linear velocity of each body origin = finite difference of the kinematics along qvel.
    m = e.mj_model
    h = 1e-6
    fk = ForwardKinematics(ch, dtype=torch.float64)
    qpos, qvel = e.batch.bind("qpos"), e.batch.bind("qvel")
    for i in range(3):
        q1 = qpos[i].copy()
        mujoco.mj_integratePos(m, q1, qvel[i], h)
        q0 = torch.from_numpy(qpos[i].copy())[None]
        q1 = torch.from_numpy(q1)[None]
        p0, _ = fk(q0[:, :3], q0[:, 3:7], ch.joint_pos_to_rot(q0[:, 7:]))
        p1, _ = fk(q1[:, :3], q1[:, 3:7], ch.joint_pos_to_rot(q1[:, 7:]))
        torch.testing.assert_close(((p1 - p0) / h)[0].float(), e.body_vel[i], atol=2e-3, rtol=1e-3)


def test_body_pose_matches_forward_kinematics():
    e = make_engine(4)
    g = torch.Generator().manual_seed(3)
    for _ in range(5):  # a dynamic state, not just a set one
        e.set_pd_targets(random_targets_for(e, g))
        e.step()
    fk = ForwardKinematics(e.character)
    pos, quat = fk(e.root_pos, e.root_rot, e.character.joint_pos_to_rot(e.joint_pos))
    torch.testing.assert_close(e.body_pos, pos, atol=1e-5, rtol=1e-5)
    assert same_rotation(e.body_rot, quat)


def test_ground_contact_standing_and_lying():
    e = make_engine(2)
    ch = e.character
    feet = ch.body_indices(["right_ankle", "left_ankle"])
    head = ch.body_index("neck")
    assert e.ground_contact[:, feet].all()
    assert not e.ground_contact[:, head].any()
    # Lying on the back (the body's forward axis x points up, its up axis z along -x), the head
    # tipped back onto the ground (the head sphere is smaller than the chest's).
    state = e.rest_state(1)
    state["root_pos"] = torch.tensor([[0.0, 0.0, 0.11]])
    state["root_rot"] = rot.quat_from_axis_angle(torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([-math.pi / 2]))
    neck = ch.joint_pos_offsets[head]
    state["joint_pos"][0, neck:neck + 4] = rot.exp_map_to_quat(torch.tensor([0.0, -0.3, 0.0]))
    e.set_state(torch.tensor([1]), **state)
    assert e.ground_contact[1, head] and not e.ground_contact[0, head]
    e.set_pd_targets(e.joint_pos.clone())
    for _ in range(10):
        e.step()
    assert e.ground_contact[1, head] and int(e.ground_contact[1].sum()) >= 3  # head, torso or feet
    assert e.ground_contact[0, feet].all() and not e.ground_contact[0, head]


def test_ground_contact_matches_mujoco_collisions():
    e = make_engine(32)
    g = torch.Generator().manual_seed(5)
    m = e.mj_model
    data = mujoco.MjData(m)
    checked = 0
    for _ in range(25):  # random targets: standing, stumbling, falling, lying
        e.set_pd_targets(random_targets_for(e, g))
        e.step()
        qpos, qvel = e.batch.bind("qpos"), e.batch.bind("qvel")
        for i in range(e.num_envs):
            data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_forward(m, data)
            touching = np.zeros(e.character.num_bodies, dtype=bool)
            for c in data.contact[:data.ncon]:
                body = m.geom_bodyid[c.geom1] + m.geom_bodyid[c.geom2]  # the other one is the world (0)
                touching[body - 1] = True
            assert touching.tolist() == e.ground_contact[i].tolist()
            checked += int(touching.sum())
    assert checked > 100


def test_lowest_geom_points_match_mujoco_penetration_depths():
    """mimic.engine.geoms.lowest_points: wherever MuJoCo reports a geom in the ground, its deepest contact
    is the geom's lowest point below the ground (random poses pushed 0-15 cm into the ground)."""
    from mimic.engine.geoms import collision_geoms, lowest_points

    e = make_engine(64)
    st = random_state(e, 64, seed=3)
    e.set_state(None, **st)
    geoms = collision_geoms(e.character, e.mj_model)
    low = lowest_points(geoms, e.body_pos.double(), e.body_rot.double()).min(-1).values  # (N,)
    st["root_pos"][:, 2] -= low.float() + torch.rand(64, generator=torch.Generator().manual_seed(1)) * 0.15
    e.set_state(None, **st)
    low = lowest_points(geoms, e.body_pos.double(), e.body_rot.double())  # (N, G)
    m, data = e.mj_model, mujoco.MjData(e.mj_model)
    qpos = e.batch.bind("qpos")
    for i in range(e.num_envs):
        data.qpos[:] = qpos[i]
        mujoco.mj_kinematics(m, data)
        mujoco.mj_collision(m, data)
        deepest = min(float(c.dist) for c in data.contact[:data.ncon])
        assert deepest == pytest.approx(float(low[i].min()) - geoms.ground_height, abs=2e-5)


def test_invalid_envs_are_flagged_not_reset():
    e = make_engine(4)
    state = e.rest_state(2)
    hand = e.character.dof_offsets[e.character.body_index("right_elbow")]
    state["dof_vel"][0, hand] = 500.0  # a body angular velocity above DeepMimic's 100
    state["dof_vel"][1, 0] = float("nan")
    e.set_state(torch.tensor([1, 2]), **state)
    assert e.invalid.tolist() == [False, True, True, False]
    e.step()  # must not raise
    assert e.invalid.tolist() == [False, True, True, False]  # sticky until set_state
    assert torch.isfinite(e.root_pos[[0, 3]]).all()
    e.set_state(torch.tensor([2]), **e.rest_state(1))
    assert e.invalid.tolist() == [False, True, False, False]
    e.step()
    assert e.invalid.tolist() == [False, True, False, False]


def test_same_actions_give_identical_states():
    runs = []
    for threads in (1, 2):
        e = MujocoCpuEngine(MJCF_PATH, 5, EngineConfig(num_threads=threads))
        g = torch.Generator().manual_seed(7)
        rest = e.rest_state()
        for _ in range(20):
            e.set_pd_targets(random_targets_for(e, g))
            e.step()
            fallen = torch.nonzero(e.root_pos[:, 2] < 0.6).flatten()
            if len(fallen):
                e.set_state(fallen, **{k: v[fallen] for k, v in rest.items()})
        runs.append(torch.cat([e.root_pos, e.root_rot, e.joint_pos, e.dof_vel, e.body_vel.flatten(1)], dim=1))
    assert torch.equal(runs[0], runs[1])


def test_random_targets_do_not_blow_up():
    e = make_engine(16)
    stats = count_blowups(e, steps=40, seed=1)
    assert stats["invalid"] == 0 and stats["nonfinite"] == 0, stats


def test_rest_targets_keep_the_character_standing():
    e = make_engine(1)
    assert standing_min_height(e, seconds=3.0) > 0.8
    up = rot.quat_rotate(e.root_rot, torch.tensor([[0.0, 0.0, 1.0]]))
    assert float(up[0, 2]) > 0.99
    assert np.isfinite(float(e.root_pos.sum()))


@pytest.mark.parametrize("backend", ["native", "python"])
def test_fast_solver_gives_the_same_motion(backend):
    # States with ground contacts (characters fallen under random targets), then the same targets for both
    # solvers; set_state clears the warm start, so later steps also compare the warm-started default.
    source = make_engine(8, pd_backend=backend)
    g = torch.Generator().manual_seed(3)
    for _ in range(90):
        source.set_pd_targets(random_targets_for(source, g))
        source.step()
    assert int(source.ground_contact.sum()) >= 3  # bodies on the ground, not all in the air
    keys = ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_pos", "dof_vel")
    state = {k: getattr(source, k).clone() for k in keys}
    targets = [random_targets_for(source, g) for _ in range(3)]
    ends = []
    for fast in (False, True):
        e = make_engine(8, pd_backend=backend, fast_solver=fast)
        assert (e.mj_model.opt.jacobian == mujoco.mjtJacobian.mjJAC_SPARSE) == fast
        e.set_state(None, **state)
        for t in targets:
            e.set_pd_targets(t)
            e.step()
        ends.append(e.body_pos.clone())
    assert float((ends[0] - ends[1]).abs().max()) < 1e-5


@pytest.mark.parametrize("character", ["humanoid3d", "dog3d", "laikago"])
def test_explicit_ground_pairs_give_the_same_contacts(character):
    # ground_pairs replaces the broad phase by one explicit pair per character geom and the ground: from the
    # same states, MuJoCo finds the same contacts with the same parameters and steps to the same state.
    from dataclasses import replace as dc_replace

    from mimic.engine.mujoco_cpu import compile_engine_model
    from mimic.engine.pd import PDController

    ch = load_spec(character).model
    cfg = EngineConfig()
    pd = PDController(ch, cfg.pd_damping, cfg.physics_dt)
    auto = compile_engine_model(ch, dc_replace(cfg, ground_pairs=False), pd)
    pairs = compile_engine_model(ch, cfg, pd)
    ground = [g for g in range(auto.ngeom) if auto.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    assert auto.npair == 0 and pairs.npair == auto.ngeom - len(ground)
    assert not pairs.geom_contype.any() and not pairs.geom_conaffinity.any()
    rng = np.random.default_rng(0)
    da, dp = mujoco.MjData(auto), mujoco.MjData(pairs)
    touched = 0
    for _ in range(12):  # drop the character from a random pose near the ground, 60 physics steps
        mujoco.mj_resetData(auto, da)
        da.qpos[2] = 0.25 + 0.2 * rng.random()
        da.qpos[3:7] = rng.normal(size=4)
        da.qpos[3:7] /= np.linalg.norm(da.qpos[3:7])
        da.qvel[:] = rng.normal(size=auto.nv)
        dp.qpos[:], dp.qvel[:] = da.qpos, da.qvel
        for _ in range(60):
            mujoco.mj_step(auto, da)
            mujoco.mj_step(pairs, dp)
            np.testing.assert_allclose(dp.qpos, da.qpos, atol=1e-9)  # the same motion (contact order aside)
            # the same contacts with the same parameters from the same state
            dp.qpos[:], dp.qvel[:] = da.qpos, da.qvel
            mujoco.mj_forward(auto, da)
            mujoco.mj_forward(pairs, dp)
            assert da.ncon == dp.ncon
            order_a = sorted(range(da.ncon), key=lambda c: (int(da.contact.geom[c, 1]), tuple(da.contact.pos[c])))
            order_p = sorted(range(dp.ncon), key=lambda c: (int(dp.contact.geom[c, 1]), tuple(dp.contact.pos[c])))
            for ca, cp in zip(order_a, order_p, strict=True):
                a, p = da.contact[ca], dp.contact[cp]
                assert tuple(a.geom) == tuple(p.geom) and a.dim == p.dim and a.includemargin == p.includemargin
                for field in ("pos", "frame", "dist", "friction", "solref", "solimp", "solreffriction"):
                    np.testing.assert_array_equal(getattr(a, field), getattr(p, field))
            touched += da.ncon
    assert touched > 100  # the drops do reach the ground
