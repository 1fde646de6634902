"""MuJoCo Warp engine on Warp's CPU device against the MuJoCo CPU engine: same model, same numbers.

Skipped where ``mujoco_warp`` is not installed (CI installs the CPU dependencies only). Warp compiles its
kernels on first use (about 30 s for the humanoid on a 2-core CPU, a few more for the dog) and caches them on
disk (~/.cache/warp), so later runs take about 7 s in all. ``MIMIC_WARP_DEVICE=cuda:0`` runs them on a GPU.
"""

from __future__ import annotations

import os

import pytest
import torch

pytest.importorskip("mujoco_warp", exc_type=ImportError,
                    reason="the MuJoCo Warp engine needs the gpu extra: pip install '.[gpu]'")

from mimic.character import rotations as rot  # noqa: E402
from mimic.character.spec import load_spec  # noqa: E402
from mimic.engine import EngineConfig, MujocoCpuEngine, build_engine  # noqa: E402
from mimic.engine.mujoco_warp import MujocoWarpEngine, contact_capacity  # noqa: E402
from mimic.envs.config import EnvConfig  # noqa: E402
from mimic.envs.tracking import ImitationEnv  # noqa: E402
from mimic.errors import MimicError  # noqa: E402
from mimic.motion import MotionLibrary, load_clip  # noqa: E402

DEVICE = os.environ.get("MIMIC_WARP_DEVICE", "cpu")
# Body positions (m) after one control step from the same reference state and targets: measured up to
# 3e-7 (humanoid) and 1e-6 (dog3d) on Warp's CPU device (float32 against float64).
STEP_TOL = 1e-4


def engines(character: str, n: int, **config) -> tuple[MujocoCpuEngine, MujocoWarpEngine]:
    path = load_spec(character).mjcf_path
    cpu = MujocoCpuEngine(path, n, EngineConfig(num_threads=1, **config))
    warp = build_engine(path, n, EngineConfig(name="mujoco_warp", device=DEVICE, **config))
    assert isinstance(warp, MujocoWarpEngine)
    return cpu, warp


def reference_states(character: str, clip: str, n: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """n states spread over a clip, and the PD targets of the clip one control step later."""
    spec = load_spec(character)
    c = load_clip(clip, character=spec)
    lib = MotionLibrary([c], spec.model)
    times = torch.linspace(0.0, 0.9 * c.duration, n, dtype=torch.float64)
    ids = torch.zeros(n, dtype=torch.long)
    s = lib.state(ids, times)
    state = {k: getattr(s, k) for k in ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_pos", "dof_vel")}
    return state, lib.state(ids, times + 1 / 30).joint_pos


def assert_same_state(cpu, warp, atol: float) -> None:
    for name in ("root_pos", "root_vel", "root_ang_vel", "body_pos", "body_vel", "body_ang_vel"):
        got = getattr(warp, name).cpu()
        torch.testing.assert_close(got, getattr(cpu, name), atol=atol * (100 if "vel" in name else 1), rtol=0,
                                   msg=name)
    dot = (warp.body_rot.cpu() * cpu.body_rot).sum(-1).abs()
    assert float((dot - 1).abs().max()) < 10 * atol
    assert torch.equal(warp.ground_contact.cpu(), cpu.ground_contact)


@pytest.mark.parametrize(("character", "clip"), [("humanoid3d", "walk"), ("dog3d", "canter")])
def test_one_control_step_matches_the_cpu_engine(character, clip):
    cpu, warp = engines(character, 6)
    state, targets = reference_states(character, clip, 6)
    for e in (cpu, warp):
        e.set_state(None, **state)
    assert_same_state(cpu, warp, atol=1e-5)  # same kinematics, contacts included
    for e in (cpu, warp):
        e.set_pd_targets(targets)
        e.step()
    assert_same_state(cpu, warp, atol=STEP_TOL)
    torch.testing.assert_close(warp.dof_torque.cpu(), cpu.dof_torque, atol=0.05 * float(cpu.dof_torque.abs().max()),
                               rtol=0)
    torch.testing.assert_close(warp.pd_targets.cpu(), cpu.pd_targets, atol=1e-5, rtol=0)
    assert not warp.invalid.any() and not cpu.invalid.any()


def test_random_states_in_the_air_match_and_state_round_trips():
    cpu, warp = engines("humanoid3d", 4)
    g = torch.Generator().manual_seed(0)
    ch = cpu.character
    limits = torch.as_tensor(ch.dof_limits, dtype=torch.float32).clamp(-1.0, 1.0)
    state = {
        "root_pos": torch.rand(4, 3, generator=g) + torch.tensor([0.0, 0.0, 1.5]),
        "root_rot": rot.quat_normalize(torch.randn(4, 4, generator=g)),
        "root_vel": torch.randn(4, 3, generator=g), "root_ang_vel": torch.randn(4, 3, generator=g) * 2,
        "joint_pos": ch.dof_exp_to_joint_pos(limits[:, 0] + torch.rand(4, ch.num_dofs, generator=g)
                                             * (limits[:, 1] - limits[:, 0])),
        "dof_vel": torch.randn(4, ch.num_dofs, generator=g) * 2,
    }
    for e in (cpu, warp):
        e.set_state(None, **state)
    torch.testing.assert_close(warp.root_ang_vel.cpu(), state["root_ang_vel"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(warp.dof_vel.cpu(), state["dof_vel"], atol=1e-6, rtol=0)
    targets = torch.randn(4, ch.num_dofs, generator=g) * 0.5
    for e in (cpu, warp):
        e.set_pd_targets_exp(targets)
        e.step()
    assert_same_state(cpu, warp, atol=1e-5)
    assert warp.root_pos.device == warp.device == torch.device(DEVICE)


def test_welded_root_matches():
    cpu, warp = engines("humanoid3d", 2, fix_root=True)
    state = cpu.rest_state(2)
    state["root_pos"][:, 2] = 1.5
    targets = torch.randn(2, cpu.character.num_dofs, generator=torch.Generator().manual_seed(2)) * 0.5
    for e in (cpu, warp):
        e.set_state(None, **state)
        e.set_pd_targets_exp(targets)
        for _ in range(3):
            e.step()
    assert_same_state(cpu, warp, atol=1e-5)
    assert float(warp.root_vel.abs().max()) == 0.0


def test_subset_reset_leaves_the_other_envs_alone():
    cpu, warp = engines("humanoid3d", 5)
    state, targets = reference_states("humanoid3d", "walk", 5)
    for e in (cpu, warp):
        e.set_state(None, **state)
        e.set_pd_targets(targets)
        e.step()
    before = warp.body_pos.clone()
    ids = torch.tensor([3, 0])
    rest = cpu.rest_state(2)
    for e in (cpu, warp):
        e.set_state(ids, **rest)
    assert_same_state(cpu, warp, atol=STEP_TOL)
    torch.testing.assert_close(warp.body_pos[[1, 2, 4]], before[[1, 2, 4]], atol=0, rtol=0)
    torch.testing.assert_close(warp.root_pos[[3, 0]].cpu(), rest["root_pos"])
    with pytest.raises(MimicError, match="distinct"):
        warp.set_state(torch.tensor([1, 1]), **warp.rest_state(2))
    with pytest.raises(MimicError, match="rows"):
        warp.set_state(ids, **warp.rest_state(3))


def test_invalid_envs_are_flagged_until_reset():
    _, warp = engines("humanoid3d", 4)
    state = warp.rest_state(2)
    hand = warp.character.dof_offsets[warp.character.body_index("right_elbow")]
    state["dof_vel"][0, hand] = 500.0  # a body angular velocity above DeepMimic's 100
    state["dof_vel"][1, 0] = float("nan")
    warp.set_state(torch.tensor([1, 2]), **state)
    assert warp.invalid.tolist() == [False, True, True, False]
    warp.step()  # must not raise; the NaN env stays bad, the others are fine
    assert warp.invalid.tolist() == [False, True, True, False]
    warp.set_state(torch.tensor([1, 2]), **warp.rest_state(2))
    assert not warp.invalid.any()


def test_contact_capacity_covers_the_worst_case():
    _, warp = engines("humanoid3d", 1)
    nconmax, njmax = contact_capacity(warp.mj_model)
    # 5 spheres (1 contact each), 8 capsules (2), 2 boxes (4) against the floor; 4 rows each; 4 limited hinges
    assert (nconmax, njmax) == (29, 29 * 4 + 2 * 4)


def test_env_on_either_engine_gives_the_same_observations_and_rewards():
    def make(name: str) -> ImitationEnv:
        engine = EngineConfig(name=name, num_threads=1, device=DEVICE if name == "mujoco_warp" else "")
        return ImitationEnv(EnvConfig(engine=engine), num_envs=4, seed=3)

    cpu, warp = make("mujoco_cpu"), make("mujoco_warp")
    assert warp.device == torch.device(DEVICE) and warp.motion_time.device == warp.device
    obs_c, obs_w = cpu.reset(), warp.reset()
    torch.testing.assert_close(obs_w.cpu(), obs_c, atol=1e-4, rtol=0)
    for _ in range(2):  # PD toward the reference pose, from the reference state
        a_c = cpu.targets_to_action(cpu.ref.joint_pos)
        a_w = warp.targets_to_action(warp.ref.joint_pos)
        torch.testing.assert_close(a_w.cpu(), a_c, atol=1e-5, rtol=0)
        obs_c, rew_c, done_c, info_c = cpu.step(a_c)
        obs_w, rew_w, done_w, info_w = warp.step(a_w)
        torch.testing.assert_close(obs_w.cpu(), obs_c, atol=5e-4, rtol=0)  # measured 1e-5
        torch.testing.assert_close(rew_w.cpu(), rew_c, atol=1e-4, rtol=0)  # measured 4e-7
        assert torch.equal(done_w.cpu(), done_c)
        for term, value in info_c["reward_terms"].items():
            torch.testing.assert_close(info_w["reward_terms"][term].cpu(), value, atol=1e-4, rtol=0, msg=term)
    assert float(rew_w.min()) > 0.5  # tracking the reference, not fallen
    for env in (cpu, warp):  # a caller's reset ids are checked (the env's own, from nonzero, skip it on Warp)
        with pytest.raises(MimicError, match="distinct"):
            env.reset(torch.tensor([1, 1], device=env.device))


def test_steering_and_amp_observations_run_on_the_engines_device():
    # The steering task's targets and the AMP history live on the engine's device; the random draws stay
    # on the CPU generator, so both engines see the same targets and the same AMP observations.
    def make(name: str) -> ImitationEnv:
        engine = EngineConfig(name=name, num_threads=1, device=DEVICE if name == "mujoco_warp" else "")
        return ImitationEnv(EnvConfig(engine=engine, task="steering", amp_obs_steps=2), num_envs=4, seed=3)

    cpu, warp = make("mujoco_cpu"), make("mujoco_warp")
    assert warp.task.angle.device == warp.device and warp.amp.history.device == warp.device
    obs_c, obs_w = cpu.reset(), warp.reset()
    torch.testing.assert_close(obs_w.cpu(), obs_c, atol=1e-4, rtol=0)
    a = torch.zeros(4, cpu.action_dim)
    _, rew_c, _, info_c = cpu.step(a)
    _, rew_w, _, info_w = warp.step(a.to(warp.device))
    torch.testing.assert_close(rew_w.cpu(), rew_c, atol=1e-4, rtol=0)
    torch.testing.assert_close(info_w["amp_obs"].cpu(), info_c["amp_obs"], atol=5e-4, rtol=0)
    gen = torch.Generator(device=warp.device).manual_seed(0)
    expert = warp.amp.sample_expert(8, gen)
    assert expert.shape == (8, warp.amp.obs_dim) and expert.device == warp.device


def test_bench_env_on_the_warp_engine_prints_the_same_keys(capsys):
    import json

    from mimic.cli import main

    args = ["bench", "env", "--num-envs", "2", "--seconds", "0.5", "--json", "engine.num_threads=1"]
    assert main(args) == 0
    cpu = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*args, "--engine", "mujoco_warp", f"engine.device={DEVICE}"]) == 0
    warp = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert warp.keys() == cpu.keys() and warp["env_steps_per_s"] > 0 and warp["raw_steps_per_s"] > 0
    assert 0 < warp["physics_time_fraction"] <= 1


@pytest.mark.slow  # compiling takes about a minute on 2 cores
def test_compiled_env_on_the_warp_engine_steps_as_the_eager_one():
    """``env.compile`` and ``env.compile_resets`` on the Warp engine: the same ends and rewards as uncompiled.

    The compiled reference state differs from the eager one in the last float32 bit, and the Warp engine's
    float32 physics grows such a difference to about 1e-4 within a few steps (measured: an eager env started one
    bit apart grows the same way; the CPU engine's float64 physics keeps it at 1e-6), so observations are
    compared at 2e-2 (measured up to 3.6e-3 over these 40 steps)."""
    engine = EngineConfig(name="mujoco_warp", device=DEVICE, num_threads=1)
    envs = [ImitationEnv(EnvConfig(engine=engine, compile=c, compile_resets=c), num_envs=8, seed=3)
            for c in (False, True)]
    obs = [env.reset() for env in envs]
    torch.testing.assert_close(obs[1], obs[0], atol=1e-5, rtol=0)
    gen = torch.Generator().manual_seed(0)
    ended = 0
    for _ in range(40):  # zero-ish actions: characters fall, so envs reset too
        action = (0.3 * torch.randn(8, envs[0].action_dim, generator=gen)).to(envs[0].device)
        (o0, r0, d0, _), (o1, r1, d1, _) = (env.step(action) for env in envs)
        torch.testing.assert_close(o1, o0, atol=2e-2, rtol=0)
        torch.testing.assert_close(r1, r0, atol=1e-3, rtol=0)  # measured 1.5e-5
        assert torch.equal(d1, d0)
        ended += int((d0 != 0).sum())
    assert ended > 0
    assert not envs[1]._compile_status.failed  # compiled indeed, not fallen back to the eager math
