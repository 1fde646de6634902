"""The imitation environment: shapes, rewards with known answers, terminations, RSI, determinism."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
import torch

from mimic.character import rotations as R
from mimic.engine.base import EngineConfig
from mimic.envs.config import EnvConfig
from mimic.envs.terminations import DoneReason
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError

LAYOUTS = {
    "deepmimic": (dict(obs="deepmimic", reward="deepmimic"), 197),
    "deepmimic_no_phase": (dict(obs="deepmimic", reward="deepmimic", phase_obs=False), 196),
    "deepmimic_tan_norm": (dict(obs="deepmimic", body_rot_obs="tan_norm"), 227),
    "mimickit": (dict(obs="mimickit", reward="mimickit", pose_termination=True), 464),
}


# every clip at an unreachable distance: no pose termination (holding the reference pose does not get a
# character up, so a get-up held that way drifts far from its reference)
NO_POSE_TERMINATION = {"pose_termination": True, "pose_termination_dist": math.inf}


def make(num_envs=8, seed=0, **kw) -> ImitationEnv:
    return ImitationEnv(EnvConfig(**kw), num_envs=num_envs, seed=seed)


def hold_reference(env: ImitationEnv) -> torch.Tensor:
    """Actions whose PD targets are the current reference pose."""
    return env.targets_to_action(env.ref.joint_pos)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_env_builds_resets_and_steps_without_nan(layout):
    kw, dim = LAYOUTS[layout]
    env = make(num_envs=6, clips=["walk", "kick"], **kw)
    obs = env.reset()
    assert obs.shape == (6, dim) and env.obs_dim == dim and env.action_dim == 28
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        action = torch.rand(6, 28, generator=g) * 2 - 1
        obs, reward, done, info = env.step(action)
        assert obs.shape == (6, dim) and reward.shape == (6,) and done.shape == (6,)
        assert torch.isfinite(obs).all() and torch.isfinite(reward).all()
        assert ((reward >= 0) & (reward <= 1 + 1e-6)).all()
        assert set(info["reward_terms"]) == set(env.reward_weights)
        assert info["terminal_obs"].shape == (6, dim)
        assert torch.equal(info["ended_ids"], torch.nonzero(done).squeeze(-1))
    env.close()


@pytest.mark.parametrize("reward", ["deepmimic", "mimickit"])
def test_reward_is_one_at_the_reference(reward):
    env = make(num_envs=16, reward=reward)
    env.reset()  # RSI copies the reference state into the simulation
    total, terms = env.track_reward(env.sim_track_state(env.engine), env.ref)
    for name, term in terms.items():
        assert torch.allclose(term, torch.ones_like(term), atol=2e-3), name
    assert torch.allclose(total, torch.ones_like(total), atol=2e-3)


@pytest.mark.parametrize("reward", ["deepmimic", "mimickit"])
def test_reward_drops_monotonically_as_a_joint_turns_away(reward):
    env = make(num_envs=1, reward=reward, rand_reset=False)
    env.reset()
    ref = env.ref
    hip = env.model.body_index("right_hip")
    off = env.model.joint_pos_offsets[hip]
    rewards = []
    for angle in np.linspace(0.0, 1.5, 7):
        joint_pos = ref.joint_pos.clone()
        twist = R.quat_from_axis_angle(torch.tensor([1.0, 0.0, 0.0]), torch.tensor(float(angle)))
        joint_pos[0, off:off + 4] = R.quat_mul(joint_pos[0, off:off + 4], twist)
        env.engine.set_state(None, ref.root_pos, ref.root_rot, ref.root_vel, ref.root_ang_vel, joint_pos, ref.dof_vel)
        total, terms = env.track_reward(env.sim_track_state(env.engine), ref)
        rewards.append(total.item())
    assert rewards[0] == pytest.approx(1.0, abs=2e-3)
    assert all(b < a for a, b in zip(rewards, rewards[1:], strict=False)), rewards


def _lying_state(env: ImitationEnv):
    """The rest pose rotated face-down, just above the ground: it falls onto head and chest."""
    state = env.engine.rest_state(env.num_envs)
    pitch = R.quat_from_axis_angle(torch.tensor([0.0, 1.0, 0.0]), torch.tensor(math.pi / 2))
    state["root_rot"] = pitch.expand(env.num_envs, 4).clone()
    state["root_pos"][:, 2] = 0.12
    return state


def _step_until_done(env: ImitationEnv, steps: int = 10) -> torch.Tensor:
    for _ in range(steps):
        _, reward, done, _ = env.step(hold_reference(env))
        if (done != DoneReason.NONE).all():
            break
    return done, reward


@pytest.mark.parametrize(("clip", "task", "explicit", "ends"), [
    ("canter", "track", False, True), ("trot", "track", False, False),
    # an AMP task tracks no reference: the per-clip distance is a tracking setting and does not apply ...
    ("canter", "none", False, False), ("canter", "steering", False, False),
    # ... unless the config asks for pose termination itself
    ("trot", "none", True, True)])
def test_per_clip_pose_termination_from_the_character_spec(clip, task, explicit, ends):
    # dog3d's spec ends a canter episode when a body is 1 m from the reference; the trot has no such limit
    env = ImitationEnv(EnvConfig(character="dog3d", clips=[clip], rand_reset=False, task=task,
                                 pose_termination=explicit), num_envs=2)
    env.reset()
    state = {k: getattr(env.engine, k).clone() for k in
             ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_pos", "dof_vel")}
    state["root_pos"][:, 1] += 1.5  # beside the reference, on the same ground
    env.engine.set_state(None, **state)
    _, _, done, _ = env.step(hold_reference(env))
    assert bool((done == DoneReason.FAIL).all()) == ends and bool((done == DoneReason.NONE).all()) != ends


def test_head_contact_fails_and_foot_contact_does_not():
    env = make(num_envs=2, rand_reset=False)
    env.reset()
    # standing: feet on the ground, nothing else
    obs, reward, done, info = env.step(hold_reference(env))
    assert (done == DoneReason.NONE).all()
    contact = env.engine.ground_contact
    feet = env.model.body_indices(["right_ankle", "left_ankle"])
    assert contact[:, feet].any(dim=-1).all() and not contact[:, env.model.body_index("neck")].any()
    # planted face-down: head/chest contact ends the episode as a failure with zero reward
    env.engine.set_state(None, **_lying_state(env))
    done, reward = _step_until_done(env)
    assert (done == DoneReason.FAIL).all()
    assert (reward == 0).all()
    # the same planted pose is allowed when the clip family lets every body touch (roll)
    env2 = make(num_envs=2, rand_reset=False, clips=["roll"], engine=EngineConfig(pd_backend="native"),
                **NO_POSE_TERMINATION)
    env2.reset()
    env2.engine.set_state(None, **_lying_state(env2))
    for _ in range(10):
        _, _, done, _ = env2.step(hold_reference(env2))
        assert (done != DoneReason.FAIL).all()
    assert env2.engine.ground_contact[:, env2.model.body_index("neck")].all()


def test_rsi_starts_envs_at_different_times():
    env = make(num_envs=32)
    env.reset()
    times = env.motion_time
    assert len(torch.unique(times)) == 32
    assert (times >= 0).all() and (times < env.motion.durations[0]).all()
    # the simulated pose is the reference pose at that time
    assert torch.allclose(env.engine.body_pos, env.ref.body_pos, atol=1e-4)


def test_reset_lifts_the_character_out_of_the_ground_only_vertically():
    """The run clip sinks its feet up to 6.7 cm into the ground; ``lift_at_reset`` raises the simulated
    character at RSI until its lowest geom is on the ground, without moving it sideways or the reference."""
    from mimic.engine.geoms import lowest_points

    sunk, env = make(num_envs=64, clips=["run"]), make(num_envs=64, clips=["run"], lift_at_reset=True)
    sunk.reset()
    env.reset()
    geoms = env.geoms
    low = lowest_points(geoms, sunk.engine.body_pos, sunk.engine.body_rot).min(-1).values
    assert float(low.min()) < -0.03  # some starts begin 3+ cm inside the ground
    assert torch.equal(env.motion_time, sunk.motion_time)  # the same starts
    low_after = lowest_points(geoms, env.engine.body_pos, env.engine.body_rot).min(-1).values
    assert float(low_after.min()) > -1e-5
    lift = env.engine.body_pos - sunk.engine.body_pos
    assert lift[..., :2].abs().max() < 1e-5
    assert torch.allclose(lift[..., 2], (-low).clamp_min(0)[:, None].expand_as(lift[..., 2]), atol=1e-5)
    assert torch.allclose(env.ref.body_pos, sunk.ref.body_pos)


def test_lift_at_reset_is_a_per_clip_setting_the_config_overrides():
    """The humanoid's spec lifts the punch's starts (its clip sinks 2+ cm at 68 % of start times) and no
    other clip's; in a dataset only the punch's envs are lifted; ``env.lift_at_reset`` overrides both ways."""
    from mimic.engine.geoms import lowest_points

    def lowest(env):
        return lowest_points(env.geoms, env.engine.body_pos, env.engine.body_rot).min(-1).values

    mixed = make(num_envs=128, clips=["run", "punch"], seed=1)
    mixed.reset()
    assert mixed.lift_clip.tolist() == [False, True]
    punch_envs = mixed.clip_ids == 1
    low = lowest(mixed)
    assert 0 < int(punch_envs.sum()) < 128
    assert float(low[punch_envs].min()) > -1e-5  # every punch start on or above the ground
    assert float(low[~punch_envs].min()) < -0.02  # some run starts still sunk, as trained
    assert make(num_envs=2, clips=["run"]).geoms is None  # nothing to lift: no geometry built
    off = make(num_envs=64, clips=["punch"], lift_at_reset=False)
    off.reset()
    assert off.geoms is None and not off.lift_clip.any()
    assert make(num_envs=2, clips=["run"], lift_at_reset=True).lift_clip.all()


def test_timeout_success_and_failure_flags():
    env = make(num_envs=4, episode_seconds=0.2, rand_reset=False)
    env.reset()
    steps = round(0.2 * 30)
    for i in range(steps):
        obs, reward, done, info = env.step(hold_reference(env))
        if i < steps - 1:
            assert (done == DoneReason.NONE).all()
    assert (done == DoneReason.TIMEOUT).all()
    assert (env.episode_time == 0).all()  # reset right away
    # a non-cyclic clip that reaches its end (and its end hold) is a success (a get-up, its pose termination
    # turned off: it would end this episode as a fall, the character still lying in the start pose)
    env = make(num_envs=2, clips=["getup_faceup"], rand_reset=False, **NO_POSE_TERMINATION)
    env.reset()
    env.motion_time[:] = env.motion.durations[0] + env.end_hold_seconds - 0.5 * env.dt
    _, _, done, _ = env.step(hold_reference(env))
    assert (done == DoneReason.SUCCESS).all()


def test_episode_seconds_min_draws_each_episode_a_time_limit_between_the_bounds():
    env = make(num_envs=16, episode_seconds=0.5, episode_seconds_min=0.2, early_termination=False)
    env.reset()
    limits = env.episode_limit.clone()
    assert bool(((limits >= 0.2) & (limits <= 0.5)).all()) and float(limits.std()) > 0.03
    lengths: list[float] = []
    for _ in range(round(0.5 * 30) + 1):
        before = env.episode_time.clone()
        _, _, done, _ = env.step(hold_reference(env))
        ended = done == DoneReason.TIMEOUT
        lengths += (before[ended] + env.dt).tolist()
        # each env times out at the first step that reaches its own limit
        assert torch.equal(ended, before + env.dt >= limits - 1e-9)
        limits = torch.where(ended, env.episode_limit, limits)
    assert len(lengths) >= 16 and min(lengths) >= 0.2 - 1e-9 and max(lengths) <= 0.5 + env.dt
    with pytest.raises(MimicError, match="episode_seconds_min"):
        EnvConfig(clips=["walk"], episode_seconds=1.0, episode_seconds_min=2.0)
    with pytest.raises(MimicError, match="episode_seconds_min"):
        EnvConfig(clips=["walk"], episode_seconds_min=0.0)
    with pytest.raises(MimicError, match="episode_seconds_min"):
        make(num_envs=1, clips=["kick"], episode_seconds_min=5.0)  # above the kick's own 4-s limit


def test_cycle_sync_moves_reference_root_onto_character():
    env = make(num_envs=1, rand_reset=False)
    env.reset()
    dur = env.motion.durations[0].item()
    env.motion_time[:] = dur - 0.5 * env.dt
    env.engine.set_state(None, **{**env.engine.rest_state(1), "root_pos": torch.tensor([[0.3, -0.2, 0.88]])})
    env.step(hold_reference(env))
    assert env.cycle.item() == 1
    assert torch.allclose(env.ref.root_pos[0, :2], env.engine.root_pos[0, :2], atol=0.05)


def test_seeded_determinism():
    def run(seed):
        env = make(num_envs=4, seed=seed)
        out = [env.reset()]
        g = torch.Generator().manual_seed(1)
        for _ in range(15):
            out.append(env.step(torch.rand(4, 28, generator=g) * 2 - 1)[0])
        return torch.stack(out)

    a, b, c = run(3), run(3), run(4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_gymnasium_env_checker_and_vector_env():
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("mimic/Imitate-v0", clip="walk")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (197,) and obs.dtype == np.float32
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert 0.0 <= reward <= 1.0 and set(info["reward_terms"]) == {"pose", "vel", "end_eff", "root", "com"}
    env.close()
    venv = gymnasium.make_vec("mimic/Imitate-v0", num_envs=4, vectorization_mode="vector_entry_point", clip="run")
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 197)
    obs, reward, terminated, truncated, info = venv.step(venv.action_space.sample())
    assert reward.shape == (4,) and terminated.dtype == bool and info["final_obs"].shape == (4, 197)
    venv.close()


def test_bad_config_and_actions_are_clear_errors():
    from mimic.errors import MimicError

    with pytest.raises(MimicError, match="reward_weights.foo: unknown deepmimic reward term"):
        EnvConfig(reward_weights={"foo": 1.0})
    env = make(num_envs=2)
    env.reset()
    with pytest.raises(MimicError, match=r"action must have shape \(2, 28\)"):
        env.step(torch.zeros(2, 27))


def test_blown_up_env_is_reset_and_counted_without_crashing_the_batch():
    env = make(num_envs=4)
    env.reset()
    state = {k: v.clone() for k, v in env.engine.rest_state(1).items()}
    state["dof_vel"][:] = 1e3  # far beyond DeepMimic's 100 rad/s validity bound
    env.engine.set_state(torch.tensor([2]), **state)
    obs, reward, done, info = env.step(hold_reference(env))
    assert done[2] == DoneReason.INVALID and info["num_invalid"] == 1
    assert reward[2] == 0 and torch.isfinite(obs).all() and torch.isfinite(reward).all()
    assert not env.engine.invalid.any()  # reset by RSI in the same step
    obs, reward, done, info = env.step(hold_reference(env))
    assert info["num_invalid"] == 0 and torch.isfinite(obs).all()


def test_test_mode_reports_tracking_errors():
    env = make(num_envs=3)
    env.reset()
    _, _, _, info = env.step(hold_reference(env))
    assert "body_pos_error" not in info
    env.test_mode = True
    _, _, _, info = env.step(hold_reference(env))
    for key in ("body_pos_error", "root_pos_error", "joint_rot_error"):
        assert info[key].shape == (3,) and (info[key] >= 0).all()
    assert (info["body_pos_error"] < 0.2).all()  # holding the reference keeps close to it


def test_rgb_array_render_shows_character_and_reference():
    from mimic.render import rendering_available

    if not rendering_available():
        pytest.skip("no OpenGL backend for headless rendering")
    env = gymnasium.make("mimic/Imitate-v0", clip="walk", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # not a blank image
    env.close()


def test_a_character_folder_drives_the_env_and_body_terms_need_bodies(tmp_path):
    """A user's own character is a folder (MJCF + character.yaml); a model file alone is refused with a pointer
    to the spec, and a body-based reward term over no bodies is an error, not a silent constant."""
    from mimic.errors import MimicError

    folder = tmp_path / "arm"
    folder.mkdir()
    xml = folder / "arm.xml"
    xml.write_text("<mujoco><worldbody><geom type='plane' size='0 0 1'/><body name='base' pos='0 0 1'><freejoint/>"
                   "<geom size='.1'/>"
                   "<body name='arm'><joint type='hinge' stiffness='10' damping='1'/><geom size='.05' pos='0 0 -.2'/>"
                   "</body></body></worldbody></mujoco>")
    (folder / "character.yaml").write_text("mjcf: arm.xml\ncontact_bodies: {default: [arm]}\n")
    from mimic.character.spec import load_spec
    from mimic.motion import Clip, LoopMode, save_clip

    model = load_spec(folder).model
    clip = Clip(name="swing", loop=LoopMode.WRAP, frame_dt=np.array([0.5, 0.0]),
                root_pos=np.array([[0, 0, 1.0]] * 2), root_rot=np.array([[1.0, 0, 0, 0]] * 2),
                joint_pos=np.array([[0.0], [0.5]]), body_names=model.body_names)
    save_clip(clip, tmp_path / "swing.npz", model)
    with pytest.raises(MimicError, match=r"arm.xml: a model file is not a character yet.*character.yaml"):
        ImitationEnv(EnvConfig(character=str(xml), clips=[str(tmp_path / "swing.npz")]))
    config = dict(character=str(folder), clips=[str(tmp_path / "swing.npz")])
    with pytest.raises(MimicError, match=r"env.end_effectors: character 'arm' has none \(its spec lists no end_"):
        ImitationEnv(EnvConfig(**config))
    env = ImitationEnv(EnvConfig(**config, end_effectors=["arm"]))  # naming its bodies fixes it
    assert env.reset().shape == (1, env.obs_dim)


def test_residual_zero_action_tracks_the_reference_like_absolute_targets():
    """A residual action of 0 sets the PD targets to the next reference pose: the same physics as
    the absolute action that names that pose, and clearly better tracking than an absolute 0."""
    ret = {}
    for mode in ("absolute", "residual", "absolute_zero"):
        env = make(num_envs=4, seed=3, action_mode="residual" if mode == "residual" else "absolute")
        env.reset()
        total = torch.zeros(4)
        for _ in range(20):
            if mode == "absolute":
                ref = env.motion.state(env.clip_ids, env.motion_time + env.dt)
                action = env.targets_to_action(ref.joint_pos)
            else:
                action = torch.zeros(4, env.action_dim)
            total += env.step(action)[1]
        ret[mode] = total / 20
    assert torch.allclose(ret["absolute"], ret["residual"], atol=1e-4)
    print({k: round(float(v.mean()), 3) for k, v in ret.items()})
    assert float(ret["residual"].mean()) > float(ret["absolute_zero"].mean()) + 0.1
    env = make(num_envs=2, action_mode="residual")
    env.reset()
    ref = env.motion.state(env.clip_ids, env.motion_time + env.dt)
    assert torch.allclose(env.targets_to_action(ref.joint_pos), torch.zeros(2, 28), atol=1e-5)


def test_rest_mode_zero_action_targets_the_zero_pose_and_keeps_the_absolute_scale():
    """``action_mode: rest`` (for AMP policies, which have no reference to add to): action 0 is the MJCF's
    zero pose, the identity rotation of every ball joint; the scale is the absolute mode's."""
    absolute, rest = make(num_envs=2, action_mode="absolute"), make(num_envs=2, action_mode="rest")
    assert torch.equal(rest.action_scale, absolute.action_scale)
    assert torch.equal(rest.action_offset, torch.zeros(28)) and bool((absolute.action_offset != 0).any())
    rest.reset()
    rest.step(torch.zeros(2, 28))
    identity = torch.tensor([1.0, 0, 0, 0])
    targets = rest.engine.pd_targets  # (2, num_joint_pos): 4 numbers per ball joint, 1 per hinge
    model = rest.model
    for b in range(1, model.num_bodies):
        start = int(model.joint_pos_offsets[b])
        if int(model.joint_types[b]) == 2:  # ball
            assert torch.allclose(targets[:, start:start + 4].abs(), identity.abs().expand(2, 4), atol=1e-6)
        elif int(model.joint_types[b]) == 3:  # hinge
            assert torch.allclose(targets[:, start], torch.zeros(2), atol=1e-6)
    assert torch.allclose(rest.targets_to_action(targets), torch.zeros(2, 28), atol=1e-5)


def test_per_clip_settings_from_deepmimic_arg_files_load_for_every_bundled_clip():
    """`mimic train CLIP` needs no flags: contact set, time limit and end hold follow DeepMimic's arg file."""
    from mimic.motion import bundled_clips

    expected_limits = {"kick": 4.0, "punch": 4.0}
    expected_holds = {"getup_facedown": 0.3, "getup_faceup": 0.3}
    # how the shipped controllers were trained
    pose_termination = {c: 1.0 for c in ("run", "jump", "spinkick", "backflip", "cartwheel", "kick", "punch", "crawl",
                                         "getup_faceup", "roll", "getup_facedown", "dance_a", "dance_b", "spin")}
    # DeepMimic's limited PD torque
    python_pd = {"run", "jump", "spinkick", "backflip", "cartwheel", "kick", "punch", "roll", "dance_a", "dance_b",
                 "spin"}
    for name in bundled_clips():
        env = make(num_envs=1, clips=[name])
        assert env.episode_seconds == expected_limits.get(name, 20.0), name
        assert float(env.end_hold_seconds[0]) == expected_holds.get(name, 0.0), name
        assert float(env.pose_termination_dist[0]) == pose_termination.get(name, math.inf), name
        assert env.engine.config.backend == ("python" if name in python_pd else "native"), name
        allowed = {b for b, ok in zip(env.model.body_names, env.allowed_contact.tolist(), strict=True) if ok}
        if name in ("getup_facedown", "getup_faceup", "roll"):
            assert allowed == set(env.model.body_names), name
        elif name == "cartwheel":
            assert allowed == {"right_ankle", "left_ankle", "right_wrist", "left_wrist"}
        elif name == "crawl":
            assert allowed == set(env.model.body_names) - {"root", "chest", "neck"}
        else:
            assert allowed == {"right_ankle", "left_ankle"}, name
        env.close()
    assert make(num_envs=1, clips=["kick"], episode_seconds=7.0).episode_seconds == 7.0  # config wins
    native = make(num_envs=1, clips=["jump"], engine=EngineConfig(pd_backend="native"))
    assert native.engine.config.backend == "native"


def test_the_cartwheel_closes_its_loop_in_its_last_half_second_unless_the_config_says_otherwise():
    from mimic.motion import MotionLibrary

    def landing_foot_height(motion):  # the right foot's height as the cartwheel lands (70 % of the clip)
        t = torch.tensor([0.7 * float(motion.durations[0])])
        foot = motion.model.body_names.index("right_ankle")
        return float(motion.state(torch.zeros(1, dtype=torch.long), t).body_pos[0, foot, 2])

    env = make(num_envs=1, clips=["cartwheel"])
    raw_height = landing_foot_height(MotionLibrary(env.clips, env.model, close_loops=False))
    assert landing_foot_height(env.motion) == pytest.approx(raw_height, abs=1e-5)  # the spec's 0.5 s window
    whole = make(num_envs=1, clips=["cartwheel"], loop_blend_seconds=100.0)  # a window longer than the clip
    assert landing_foot_height(whole.motion) > raw_height + 0.03
    with pytest.raises(MimicError, match="env.loop_blend_seconds"):
        make(num_envs=1, clips=["cartwheel"], loop_blend_seconds=0.0)


def test_a_getup_succeeds_after_holding_its_last_pose():
    env = make(num_envs=1, clips=["getup_faceup"], rand_reset=False, **NO_POSE_TERMINATION)
    env.reset()
    end = float(env.motion.durations[0]) + 0.3
    steps = 0
    while True:
        _, _, done, _ = env.step(hold_reference(env))
        steps += 1
        if int(done[0]) != DoneReason.NONE:
            break
    assert int(done[0]) == DoneReason.SUCCESS
    assert steps == math.ceil(end / env.dt - 1e-6)


def test_observe_reads_a_state_moved_into_the_engine():
    """``observe`` gives the observation of whatever state the engine holds (start_falls.py --handover)."""
    torch.set_num_threads(1)
    cfg = EnvConfig(clips=["run"], phase_obs=False, task="steering")
    a, b = ImitationEnv(cfg, num_envs=3, seed=1), ImitationEnv(cfg, num_envs=3, seed=2)
    obs_a, obs_b = a.reset(), b.reset()
    assert torch.equal(a.observe(), obs_a)
    b.task.angle.copy_(a.task.angle)
    b.task.speed.copy_(a.task.speed)
    e = a.engine
    b.engine.set_state(None, e.root_pos, e.root_rot, e.root_vel, e.root_ang_vel, e.joint_pos, e.dof_vel)
    assert not torch.allclose(obs_b, obs_a, atol=1e-3)
    assert torch.allclose(b.observe(), obs_a, atol=1e-5)
