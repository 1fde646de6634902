"""BVH files: the parser (channel orders, root layouts, 3/6 channels, End Site, units, line ends),
Mimic's BVH export, and bad files: one clear error naming file and field, CLI exit status 2."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from mimic.cli import main
from mimic.errors import MimicError
from mimic.motion.formats.bvh import euler_to_quat, quat_to_euler, read_bvh
from mimic.motion.retarget.export import clip_to_bvh_values, mimic_skeleton, write_bvh_clip
from mimic.motion.retarget.solve import source_world


def clip_or_skip(name: str, model):
    from mimic.motion import load_clip

    try:
        return load_clip(name, model)
    except MimicError as exc:  # the clips come with the pybullet wheel
        pytest.skip(f"bundled clip {name!r} unavailable: {exc}")

TWO_BONES = """HIERARCHY
ROOT Hips
{
\tOFFSET 1 2 3
\tCHANNELS 6 ROOTCHANNELS
\tJOINT Knee
\t{
\t\tOFFSET 0 -40 0
\t\tCHANNELS JOINTCHANNELS
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 -40 0
\t\t}
\t}
}
MOTION
Frames: 2
Frame Time: 0.05
FRAMES
"""


def bvh_text(root: str = "Xposition Yposition Zposition Zrotation Xrotation Yrotation",
             joint: str = "3 Zrotation Xrotation Yrotation",
             frames: str = "0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0 0") -> str:
    return (TWO_BONES.replace("ROOTCHANNELS", root).replace("JOINTCHANNELS", joint).replace("FRAMES", frames))


def matrix(axis: str, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def quat_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("XYZ")])
def test_rotation_channels_compose_in_the_listed_order(order, tmp_path):
    angles = [30.0, -50.0, 70.0]
    joint = "3 " + " ".join(f"{a}rotation" for a in order)
    path = tmp_path / "a.bvh"
    path.write_text(bvh_text(joint=joint, frames="0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 " + " ".join(map(str, angles))))
    _, quat = read_bvh(path).local_pose()
    want = matrix(order[0], angles[0]) @ matrix(order[1], angles[1]) @ matrix(order[2], angles[2])
    np.testing.assert_allclose(quat_matrix(quat[1, 1]), want, atol=1e-12)
    # and back: the writer's Euler angles reproduce the rotation
    np.testing.assert_allclose(quat_to_euler(quat[1, 1], order), angles, atol=1e-9)


def test_euler_round_trip_every_order_and_gimbal_lock():
    rng = np.random.default_rng(0)
    for order in ("".join(p) for p in itertools.permutations("XYZ")):
        angles = rng.uniform([-180, -89, -180], [180, 89, 180], size=(50, 3))
        np.testing.assert_allclose(quat_to_euler(euler_to_quat(angles, order), order), angles, atol=1e-8)
        locked = np.array([[40.0, 90.0, 0.0], [-25.0, -90.0, 0.0]])
        q = euler_to_quat(locked, order)
        again = euler_to_quat(quat_to_euler(q, order), order)
        assert np.allclose(np.abs((q * again).sum(-1)), 1.0)


def test_root_channels_in_any_order_with_positions_replacing_the_offset(tmp_path):
    # rotations first, positions interleaved: each value goes to its named channel
    path = tmp_path / "r.bvh"
    path.write_text(bvh_text(root="Yrotation Xposition Zrotation Yposition Xrotation Zposition",
                             frames="0 0 0 0 0 0 0 0 0\n90 10 0 20 0 30 0 0 0"))
    pos, quat = read_bvh(path).local_pose()
    np.testing.assert_allclose(pos[0, 0], [0, 0, 0])  # the channels replace the root's OFFSET 1 2 3
    np.testing.assert_allclose(pos[1, 0], [10, 20, 30])
    np.testing.assert_allclose(quat_matrix(quat[1, 0]), matrix("Y", 90), atol=1e-12)


def test_a_joint_with_six_channels_takes_its_position_from_them(tmp_path):
    path = tmp_path / "j.bvh"
    path.write_text(bvh_text(root="Zrotation Xrotation Yrotation Xposition Yposition Zposition",
                             joint="6 Xposition Yposition Zposition Xrotation Yrotation Zrotation",
                             frames="0 0 0 1 2 3 0 -40 0 0 0 0\n0 0 0 1 2 3 5 -45 0 90 0 0"))
    motion = read_bvh(path)
    assert motion.skeleton.channels[1] == ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
    pos, _ = motion.local_pose()
    np.testing.assert_allclose(pos[:, 1], [[0, -40, 0], [5, -45, 0]])
    world_pos, _, rest = source_world(motion, "y")
    # the knee at the hips + its position, in Mimic's z-up axes: (x, y, z) -> (x, -z, y)
    np.testing.assert_allclose(world_pos[1, 1].numpy(), [6, -3, -43])
    np.testing.assert_allclose(rest[1].numpy(), [1, -3, -38])


def test_three_channel_root_end_site_and_skeleton(tmp_path):
    text = bvh_text(frames="0 0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0 0").replace(
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Xrotation "
        "Yrotation").replace("0 0 0 0 0 0 0 0 0", "0 0 0 0 0 0")
    (tmp_path / "e.bvh").write_text(text)
    motion = read_bvh(tmp_path / "e.bvh")
    sk = motion.skeleton
    assert sk.names == ("Hips", "Knee") and list(sk.parents) == [-1, 0]
    np.testing.assert_allclose(sk.offsets, [[1, 2, 3], [0, -40, 0]])
    assert np.isnan(sk.end_sites[0]).all()
    np.testing.assert_allclose(sk.end_sites[1], [0, -40, 0])
    assert motion.num_frames == 2 and motion.frame_time == 0.05
    pos, _ = motion.local_pose()
    np.testing.assert_allclose(pos[:, 0], [[1, 2, 3], [1, 2, 3]])


def test_crlf_tabs_and_extra_spaces_parse_the_same(tmp_path):
    text = bvh_text(frames="1 2 3 10 20 30 4 5 6\n0 0 0 0 0 0 0 0 0")
    (tmp_path / "unix.bvh").write_text(text)
    messy = text.replace("\t", " \t ").replace("\n", "\r\n").replace("Frame Time: 0.05", "Frame Time:\t0.05  ")
    (tmp_path / "dos.bvh").write_bytes(messy.encode())
    a, b = read_bvh(tmp_path / "unix.bvh"), read_bvh(tmp_path / "dos.bvh")
    assert a.skeleton.names == b.skeleton.names
    np.testing.assert_array_equal(a.values, b.values)


def test_mimic_export_writes_the_clip_in_metres_y_up(tmp_path, humanoid):
    clip = clip_or_skip("walk", humanoid)
    write_bvh_clip(clip, tmp_path / "walk.bvh", humanoid)
    text = (tmp_path / "walk.bvh").read_text()
    assert "ROOT root" in text and "JOINT left_knee" in text and "Frame Time: 0.0333" in text
    motion = read_bvh(tmp_path / "walk.bvh")
    sk = motion.skeleton
    assert sk.names == humanoid.body_names
    assert sk.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(c == ("Zrotation", "Xrotation", "Yrotation") for c in sk.channels[1:])
    # y-up, metres: the pelvis 0.85 m up the file's y axis
    assert 0.84 < motion.values[0, 1] < 0.86
    # the file's joints, by forward kinematics, are the clip's bodies
    world_pos, _, _ = source_world(motion, "y")
    np.testing.assert_allclose(world_pos.numpy(), clip.body_pos(humanoid), atol=2e-6)
    np.testing.assert_allclose(read_bvh(tmp_path / "walk.bvh").values, clip_to_bvh_values(clip, humanoid), atol=1e-6)
    assert not np.isnan(mimic_skeleton(humanoid).end_sites[humanoid.body_index("left_ankle")]).any()


def test_uneven_keyframes_are_resampled_evenly_over_the_same_duration(tmp_path, humanoid):
    roll = clip_or_skip("roll", humanoid)  # DeepMimic's roll has frames of 1/60 s and 1/30 s
    assert not np.allclose(roll.frame_dt[:-1], roll.frame_dt[0])
    write_bvh_clip(roll, tmp_path / "roll.bvh", humanoid)
    motion = read_bvh(tmp_path / "roll.bvh")
    assert motion.frame_time * (motion.num_frames - 1) == pytest.approx(roll.duration, abs=1e-6)


BAD = {
    "no motion": (lambda t: t.split("MOTION")[0], r"MOTION: no MOTION section"),
    "missing channels": (lambda t: t.replace("\t\tCHANNELS 3 Zrotation Xrotation Yrotation\n", ""),
                         r"HIERARCHY: line \d+: joint 'Knee' has no CHANNELS line"),
    "too few channel names": (lambda t: t.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation "
                                                  "Xrotation"), r"joint 'Knee': unknown channel 'End'"),
    "unknown channel": (lambda t: t.replace("Xrotation Yrotation\n\t\tEnd", "Xrotation Wrotation\n\t\tEnd"),
                        r"HIERARCHY: line 9: joint 'Knee': unknown channel 'Wrotation'"),
    "bad offset": (lambda t: t.replace("OFFSET 0 -40 0", "OFFSET 0 abc 0", 1),
                   r"HIERARCHY: line 8: joint 'Knee' OFFSET: 'abc' is not a number"),
    "unclosed": (lambda t: t.replace("}\nMOTION", "MOTION"), r"HIERARCHY: line \d+: the hierarchy ends early"),
    "zero frames": (lambda t: t.replace("Frames: 2", "Frames: 0"), r"Frames: line 17: the file has 0 frames"),
    "frames not a number": (lambda t: t.replace("Frames: 2", "Frames: two"), r"Frames: line 17: expected a whole"),
    "fewer frame lines": (lambda t: t.replace("Frames: 2", "Frames: 3"),
                          r"Frames: 'Frames: 3' but the file has 2 frame lines"),
    "more frame lines": (lambda t: t + "0 0 0 0 0 0 0 0 0\n", r"'Frames: 2' but the file has 3 frame lines"),
    "short frame": (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 0 0 0 0 0\n", 1),
                    r"MOTION: frame 0 \(line 19\): expected 9 numbers \(one per channel\), got 8"),
    "bad number": (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 0 x 0 0 0 0\n", 1),
                   r"MOTION: frame 0 \(line 19\): 'x' is not a number"),
    "nan": (lambda t: t[::-1].replace("0", "nan"[::-1], 1)[::-1],
            r"MOTION: frame 1 \(line 20\): 'Knee' Yrotation is not finite"),
    "bad frame time": (lambda t: t.replace("Frame Time: 0.05", "Frame Time: -1"),
                       r"Frame Time: line 18: must be a positive number of seconds"),
    "no frame time": (lambda t: t.replace("Frame Time: 0.05\n", ""), r"expected 'Frames:' and 'Frame Time:'"),
    "two roots": (lambda t: t.replace("MOTION", "ROOT B\n{\n}\nMOTION"), r"unexpected 'ROOT' after the root joint"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_bvh_is_one_clear_error(case, tmp_path, capsys):
    make, pattern = BAD[case]
    path = tmp_path / "bad.bvh"
    path.write_text(make(bvh_text()))
    with pytest.raises(MimicError, match=pattern) as info:
        read_bvh(path)
    assert str(info.value).startswith(f"{path}: ")
    assert main(["import", str(path), str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mimic: error: {path}: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_one_frame_is_not_a_clip(tmp_path, humanoid):
    from mimic.motion.retarget import import_bvh

    write_bvh_clip(clip_or_skip("walk", humanoid), tmp_path / "walk.bvh", humanoid)
    lines = (tmp_path / "walk.bvh").read_text().splitlines()
    motion_at = lines.index("MOTION")
    one = lines[:motion_at] + ["MOTION", "Frames: 1", lines[motion_at + 2], lines[motion_at + 3]]
    (tmp_path / "one.bvh").write_text("\n".join(one) + "\n")
    with pytest.raises(MimicError, match=r"one.bvh: Frames: the file has 1 frame; a clip needs at least 2"):
        import_bvh(tmp_path / "one.bvh", humanoid)


def test_missing_file(tmp_path, capsys):
    assert main(["import", str(tmp_path / "nope.bvh"), str(tmp_path / "out.npz")]) == 2
    assert capsys.readouterr().err.strip() == f"mimic: error: {tmp_path / 'nope.bvh'}: BVH file not found"
