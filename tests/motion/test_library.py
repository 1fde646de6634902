"""Motion library: interpolation, looping, velocities, sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mimic.character import rotations as R
from mimic.errors import MimicError
from mimic.motion import MotionLibrary, load_clip

D = torch.float64


@pytest.fixture(scope="module")
def walk_lib(humanoid):
    return MotionLibrary([load_clip("walk", humanoid)], humanoid, dtype=D, close_loops=False)


def test_keyframes_are_reproduced_exactly(walk_lib, humanoid):
    clip = walk_lib.clips[0]
    # a wrap clip at t = duration is already at the start of its next cycle, so stop one frame short
    times = torch.as_tensor(clip.frame_times[:-1])
    s = walk_lib.state(torch.zeros(len(times), dtype=torch.long), times)
    np.testing.assert_allclose(s.root_pos.numpy(), clip.root_pos[:-1], atol=1e-9)
    np.testing.assert_allclose(s.body_pos.numpy(), clip.body_pos(humanoid)[:-1], atol=1e-9)


def test_midpoint_interpolation(walk_lib):
    clip = walk_lib.clips[0]
    t = torch.tensor([0.5 * (clip.frame_times[3] + clip.frame_times[4])], dtype=D)
    s = walk_lib.state(torch.zeros(1, dtype=torch.long), t)
    np.testing.assert_allclose(s.root_pos[0].numpy(), 0.5 * (clip.root_pos[3] + clip.root_pos[4]), atol=1e-9)
    q3 = R.quat_normalize(torch.as_tensor(clip.root_rot[3]))
    q4 = R.quat_normalize(torch.as_tensor(clip.root_rot[4]))
    assert R.quat_diff_angle(s.root_rot[0], q3).item() == pytest.approx(R.quat_diff_angle(s.root_rot[0], q4).item(),
                                                                           abs=1e-9)


def _max_step(lib, clip_id, t0, t1, n):
    times = torch.linspace(t0, t1, n, dtype=D)
    s = lib.state(torch.full((n,), clip_id, dtype=torch.long), times)
    body_step = (s.body_pos[1:] - s.body_pos[:-1]).norm(dim=-1).max().item()
    rot_step = R.quat_diff_angle(s.joint_rot[1:], s.joint_rot[:-1]).max().item()
    return body_step, rot_step


@pytest.mark.parametrize("name", ["walk", "run", "backflip", "cartwheel", "jump", "spinkick", "crawl"])
def test_continuous_across_frames_and_cycle_boundary(name, humanoid):
    lib = MotionLibrary([load_clip(name, humanoid)], humanoid, dtype=D)
    clip = lib.clips[0]
    dur = clip.duration
    # the largest motion between consecutive keyframes of the raw clip (bodies in m, joints in rad)
    body_pos = clip.body_pos(humanoid)
    frame_body = np.linalg.norm(np.diff(body_pos, axis=0), axis=-1).max()
    jr = torch.as_tensor(clip.joint_rot(humanoid))
    frame_rot = R.quat_diff_angle(jr[1:], jr[:-1]).max().item()
    # dense sampling through two cycles: no step larger than one keyframe interval's motion
    body_step, rot_step = _max_step(lib, 0, 0.0, 2 * dur, 4000)
    assert body_step <= frame_body + 1e-6
    assert rot_step <= frame_rot + 1e-6
    # across the wrap point itself: poses just before and after the end of a cycle are close
    eps = 1e-4
    s = lib.state(torch.zeros(2, dtype=torch.long), torch.tensor([dur - eps, dur + eps], dtype=D))
    assert (s.body_pos[1] - s.body_pos[0]).norm(dim=-1).max().item() < 0.01


def test_loop_closing_changes_clips_by_little(humanoid):
    clip = load_clip("cartwheel", humanoid)
    raw = MotionLibrary([clip], humanoid, dtype=D, close_loops=False)
    closed = MotionLibrary([clip], humanoid, dtype=D)
    dur = clip.duration
    t = torch.tensor([0.0, 0.5 * dur, dur - 1e-6], dtype=D)
    ids = torch.zeros(3, dtype=torch.long)
    gap = (closed.state(ids, t).body_pos - raw.state(ids, t).body_pos).norm(dim=-1).max(dim=-1).values
    assert gap[0].item() < 1e-9  # the start is untouched
    assert gap[1].item() < 0.25  # midway, half the end mismatch at most
    s = closed.state(torch.zeros(2, dtype=torch.long), torch.tensor([dur - 1e-6, dur + 1e-6], dtype=D))
    assert (s.body_pos[1] - s.body_pos[0]).norm(dim=-1).max().item() < 1e-3


def test_loop_closing_over_the_last_seconds_keeps_the_rest_of_the_clip(humanoid):
    """The cartwheel's landing stays as recorded; the mismatch is closed in the last 0.5 s, still continuously."""
    clip = load_clip("cartwheel", humanoid)
    raw = MotionLibrary([clip], humanoid, dtype=D, close_loops=False)
    windowed = MotionLibrary([clip], humanoid, dtype=D, loop_blend_seconds=[0.5])
    whole = MotionLibrary([clip], humanoid, dtype=D, loop_blend_seconds=[None])
    dur = clip.duration
    ids = torch.zeros(4, dtype=torch.long)
    before = torch.tensor([0.0, 0.3 * dur, 0.7 * dur, dur - 0.55], dtype=D)
    gap = (windowed.state(ids, before).body_pos - raw.state(ids, before).body_pos).norm(dim=-1).max()
    assert gap.item() < 1e-9  # untouched before the window
    landing = torch.tensor([0.7 * dur], dtype=D)
    foot = humanoid.body_names.index("right_ankle")
    lift = whole.state(ids[:1], landing).body_pos[0, foot, 2] - raw.state(ids[:1], landing).body_pos[0, foot, 2]
    assert lift.item() > 0.03  # what the whole-cycle closing does to the landing foot
    s = windowed.state(torch.zeros(2, dtype=torch.long), torch.tensor([dur - 1e-6, dur + 1e-6], dtype=D))
    assert (s.body_pos[1] - s.body_pos[0]).norm(dim=-1).max().item() < 1e-3  # still closed
    with pytest.raises(MimicError, match="loop_blend_seconds"):
        MotionLibrary([clip], humanoid, dtype=D, loop_blend_seconds=[0.0])


@pytest.mark.parametrize("name", ["run", "jump", "crawl"])
def test_the_characters_loop_windows_keep_contacts_near_the_ground_as_recorded(name, humanoid):
    """Whole-cycle closing moves these clips' feet and hands on the ground by 2-5 cm on average (the
    run's stance foot into the floor, the jump's landing feet up to 8 cm into it); the humanoid's
    per-clip windows (benchmarks/loop_closure.py) leave them as recorded but for a few millimetres."""
    from mimic.character.spec import load_spec
    from mimic.motion.loop_check import contact_shift

    spec = load_spec("humanoid3d")
    window = spec.loop_blend_seconds_for(name)
    assert window is not None
    # the crawl's closing frames (its last 0.1 s) excepted
    shifts = contact_shift(load_clip(name, humanoid), humanoid, spec.end_effectors, [None, window], samples=400,
                           end_margin=0.1)

    assert shifts[None].mean_m > 0.015
    assert shifts[window].mean_m < 0.3 * shifts[None].mean_m


def test_wrap_accumulates_horizontal_root_displacement(walk_lib):
    clip = walk_lib.clips[0]
    delta = clip.root_pos[-1] - clip.root_pos[0]
    s = walk_lib.state(torch.zeros(3, dtype=torch.long), torch.tensor([0.2, 0.2 + clip.duration,
                                                                      0.2 + 3 * clip.duration], dtype=D))
    np.testing.assert_allclose((s.root_pos[1] - s.root_pos[0]).numpy(), [delta[0], delta[1], 0.0], atol=1e-9)
    np.testing.assert_allclose((s.root_pos[2] - s.root_pos[0]).numpy(), [3 * delta[0], 3 * delta[1], 0.0], atol=1e-9)
    assert walk_lib.cycle_count(torch.zeros(1, dtype=torch.long), torch.tensor([2.5 * clip.duration])).item() == 2


def test_none_clips_clamp(humanoid):
    lib = MotionLibrary([load_clip("kick", humanoid)], humanoid, dtype=D)
    dur = lib.clips[0].duration
    s = lib.state(torch.zeros(3, dtype=torch.long), torch.tensor([dur, dur + 1.0, dur + 10.0], dtype=D))
    assert torch.allclose(s.root_pos[0], s.root_pos[1]) and torch.allclose(s.root_pos[0], s.root_pos[2])
    assert lib.phase(torch.zeros(1, dtype=torch.long), torch.tensor([dur + 1.0])).item() == 1.0


@pytest.mark.parametrize("name", ["walk", "spinkick", "roll"])
def test_velocities_match_finite_differences(name, humanoid):
    lib = MotionLibrary([load_clip(name, humanoid)], humanoid, dtype=D)
    g = torch.Generator().manual_seed(0)
    n = 200
    ids = torch.zeros(n, dtype=torch.long)
    t = lib.sample_times(ids, generator=g) * 0.98
    h = 1e-5
    a, b = lib.state(ids, t), lib.state(ids, t + h)
    assert torch.allclose(a.root_vel, (b.root_pos - a.root_pos) / h, atol=1e-4)
    assert torch.allclose(a.root_ang_vel, R.angular_velocity(a.root_rot, b.root_rot, h), atol=1e-4)
    fd_joint = humanoid.joint_ang_vel_to_dof_vel(R.angular_velocity(a.joint_rot, b.joint_rot, h, local=True))
    assert torch.allclose(a.dof_vel, fd_joint, atol=1e-4)
    # body velocities are chord velocities between keyframes: close to the derivative, not equal
    fd_body = (b.body_pos - a.body_pos) / h
    assert (a.body_vel - fd_body).norm(dim=-1).mean().item() < 0.1


def test_sampling_by_weight_and_times_in_range(humanoid):
    clips = [load_clip("walk", humanoid), load_clip("run", humanoid)]
    lib = MotionLibrary(clips, humanoid, weights=[3.0, 1.0])
    g = torch.Generator().manual_seed(0)
    ids = lib.sample_clips(4000, generator=g)
    assert 0.72 < (ids == 0).float().mean().item() < 0.78
    times = lib.sample_times(ids, generator=g)
    assert (times >= 0).all() and (times < lib.durations[ids]).all()
    s = lib.state(ids, times)
    assert s.body_pos.shape == (4000, 15, 3) and s.dof_vel.shape == (4000, 28) and s.joint_pos.shape == (4000, 36)
    assert torch.isfinite(s.body_pos).all()
    # the same time in different clips gives different poses
    two = lib.state(torch.tensor([0, 1]), torch.tensor([0.3, 0.3]))
    assert not torch.allclose(two.joint_rot[0], two.joint_rot[1])


@pytest.mark.parametrize("name", ["walk", "run", "backflip", "spinkick", "cartwheel", "roll", "dance_b"])
def test_interpolated_body_positions_stay_close_to_exact_fk(name, humanoid):
    clip = load_clip(name, humanoid)
    fast = MotionLibrary([clip], humanoid, dtype=D)
    exact = MotionLibrary([clip], humanoid, dtype=D, exact_fk=True)
    ids = torch.zeros(2000, dtype=torch.long)
    t = torch.linspace(0, 2 * clip.duration, 2000, dtype=D)
    gap = (fast.state(ids, t).body_pos - exact.state(ids, t).body_pos).norm(dim=-1).max().item()
    assert gap < 0.005


def _hinge_jump_clip(humanoid, loop):
    """The walk with its root moving as x = t^2 and its first hinge (the right elbow) jumping 0.6 rad between
    keyframes 5 and 6."""
    from dataclasses import replace

    from mimic.motion.clip import LoopMode
    clip = load_clip("walk", humanoid)
    t = np.asarray(clip.frame_times)
    root = clip.root_pos.copy()
    root[:, 0] = t ** 2
    joints = clip.joint_pos.copy()
    hinge = int(humanoid.layout()["hinge_pos"][0])
    joints[:, hinge] = 0.0
    joints[6:, hinge] = 0.6
    return replace(clip, loop=LoopMode(loop), root_pos=root, joint_pos=joints), hinge


def test_reference_velocity_estimates(humanoid):
    clip, hinge = _hinge_jump_clip(humanoid, "none")
    dt = float(clip.frame_dt[0])
    dof = int(humanoid.layout()["hinge_dof"][0])
    libs = {v: MotionLibrary([clip], humanoid, dtype=D, close_loops=False, velocities=v)
            for v in ("frame", "lerp", "central")}
    keys = torch.tensor(clip.frame_times[1:-2], dtype=D)  # inner keyframes
    ids = torch.zeros(len(keys), dtype=torch.long)
    # central differences of x = t^2 are the exact derivative 2t at the keyframes, and stay linear between
    central = libs["central"].state(ids, keys)
    np.testing.assert_allclose(central.root_vel[:, 0].numpy(), 2 * keys.numpy(), atol=1e-9)
    mid = libs["central"].state(ids, keys + dt / 2)
    np.testing.assert_allclose(mid.root_vel[:, 0].numpy(), 2 * (keys + dt / 2).numpy(), atol=1e-9)
    # frame: the interval's forward difference, held; lerp: the keyframes' forward differences blended
    quarter = keys + dt / 4
    frame = libs["frame"].state(ids, quarter)
    np.testing.assert_allclose(frame.root_vel[:, 0].numpy(), (2 * keys + dt).numpy(), atol=1e-9)
    lerp = libs["lerp"].state(ids, quarter)
    np.testing.assert_allclose(lerp.root_vel[:, 0].numpy(), (2 * keys + dt + 2 * dt / 4).numpy(), atol=1e-9)
    # the one-frame elbow jump: the whole spike over one interval, or half of it over two
    spike = 0.6 / dt
    at = torch.tensor([5.5 * dt, 6.0 * dt, 6.5 * dt], dtype=D)
    three = torch.zeros(3, dtype=torch.long)
    np.testing.assert_allclose(libs["frame"].state(three, at).dof_vel[:, dof].numpy(), [spike, 0, 0], atol=1e-6)
    np.testing.assert_allclose(libs["central"].state(three, at).dof_vel[:, dof].numpy(),
                               [spike / 2, spike / 2, spike / 4], atol=1e-6)


def test_central_velocities_wrap_around_cyclic_clips(humanoid):
    clip, hinge = _hinge_jump_clip(humanoid, "wrap")
    joints = clip.joint_pos.copy()
    joints[:, hinge] = 0.0
    joints[1:-1, hinge] = 0.3  # up at the first interval, down at the last
    from dataclasses import replace
    clip = replace(clip, joint_pos=joints)
    dof = int(humanoid.layout()["hinge_dof"][0])
    lib = MotionLibrary([clip], humanoid, dtype=D, close_loops=False, velocities="central")
    dt = float(clip.frame_dt[0])
    s = lib.state(torch.zeros(2, dtype=torch.long), torch.tensor([0.0, clip.duration - 1e-9], dtype=D))
    # keyframe 0 averages the last interval (-0.3/dt) and the first (+0.3/dt); the cycle's end equals its start
    np.testing.assert_allclose(s.dof_vel[:, dof].numpy(), [0.0, 0.0], atol=1e-5)
    k1 = lib.state(torch.zeros(1, dtype=torch.long), torch.tensor([dt], dtype=D))
    np.testing.assert_allclose(k1.dof_vel[0, dof].item(), 0.3 / dt / 2, atol=1e-6)


def test_unknown_velocity_estimate_is_refused(humanoid):
    with pytest.raises(MimicError, match="velocities must be one of frame, lerp, central"):
        MotionLibrary([load_clip("walk", humanoid)], humanoid, velocities="spline")
