"""BVH import with retargeting: every bundled clip survives a trip through a foreign skeleton (T-pose,
centimetres, other names and channel orders), hand-built poses give exact joint angles, presets are
told apart, YAML maps work and fail clearly, feet go on the ground, timing options resample."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch
from foreign_skeleton import PREFIX, foreign_bvh_text, write_foreign_bvh

from mimic.character import rotations as rot
from mimic.cli import main
from mimic.errors import MimicError
from mimic.motion import LoopMode, MotionLibrary, bundled_clips, load_clip
from mimic.motion.retarget import ImportOptions, import_bvh, uniform_clip
from mimic.motion.retarget.solve import source_world

TOLERANCE_M = 0.02


def clip_or_skip(name: str, model):
    try:
        return load_clip(name, model)
    except MimicError as exc:  # the clips come with the pybullet wheel
        pytest.skip(f"bundled clip {name!r} unavailable: {exc}")


def reference_body_pos(clip, model, times: np.ndarray) -> np.ndarray:
    """(T, B, 3) body positions of ``clip`` at ``times``, by the motion library's own interpolation."""
    once = dataclasses.replace(clip, loop=LoopMode.NONE)
    lib = MotionLibrary([once], model, dtype=torch.float64, close_loops=False, exact_fk=True)
    return lib.state(torch.zeros(len(times), dtype=torch.long), torch.as_tensor(times)).body_pos.numpy()


@pytest.mark.parametrize("name", bundled_clips())
def test_every_clip_survives_a_foreign_skeleton(name, humanoid, tmp_path):
    """T-pose, cm, y-up facing +z, mixamo names and extra joints, mixed Euler orders -> the same motion."""
    clip = clip_or_skip(name, humanoid)
    path = write_foreign_bvh(uniform_clip(clip, humanoid), humanoid, tmp_path / f"{name}.bvh")
    result = import_bvh(path, humanoid, ImportOptions(map="mixamo", ground="none"))
    got = result.clip.body_pos(humanoid)
    want = reference_body_pos(clip, humanoid, result.clip.frame_times)
    err = np.linalg.norm(got - want, axis=-1)
    worst = humanoid.body_names[err.max(0).argmax()]
    assert err.max() < TOLERANCE_M, f"{name}: {100 * err.max():.2f} cm at body {worst}"
    assert result.clip.duration == pytest.approx(clip.duration, abs=1e-6)


@pytest.mark.parametrize("options", [dict(arm_stretch=1.3, leg_stretch=1.15), dict(limb_twist_deg=40.0),
                                     dict(arm_stretch=0.8, leg_stretch=0.9, limb_twist_deg=-60.0)])
def test_other_proportions_and_rest_twists_give_the_same_poses(options, humanoid, tmp_path):
    """Longer limbs change no joint angle (the root scales by leg length); a zero pose twisted about the
    bones is measured from the bent frames and removed."""
    for name in ("walk", "punch", "cartwheel"):
        clip = uniform_clip(clip_or_skip(name, humanoid), humanoid)
        path = write_foreign_bvh(clip, humanoid, tmp_path / "f.bvh", **options)
        result = import_bvh(path, humanoid, ImportOptions(ground="none"))
        err = np.linalg.norm(result.clip.body_pos(humanoid) - clip.body_pos(humanoid), axis=-1)
        assert err.max() < TOLERANCE_M, f"{name} {options}: {100 * err.max():.2f} cm"


HAND_BUILT = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine1
  {
    OFFSET 0 24 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Neck
    {
      OFFSET 0 22 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 20 0
      }
    }
SIDE_ARMS
  }
SIDE_LEGS
}
MOTION
Frames: 3
Frame Time: 0.1
"""
ARM = """    JOINT {S}Arm
    {{
      OFFSET 0 24 {z}18
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT {S}ForeArm
      {{
        OFFSET 0 0 {z}28
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT {S}Hand
        {{
          OFFSET 0 0 {z}26
          CHANNELS 3 Zrotation Xrotation Yrotation
          End Site
          {{
            OFFSET 0 0 {z}8
          }}
        }}
      }}
    }}"""
LEG = """  JOINT {S}UpLeg
  {{
    OFFSET 0 0 {z}9
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT {S}Leg
    {{
      OFFSET 0 -42 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT {S}Foot
      {{
        OFFSET 0 -41 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {{
          OFFSET 12 -5 0
        }}
      }}
    }}
  }}"""
# file order of the joints (depth first) and their channels
JOINTS = ["Hips", "Spine1", "Neck", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand",
          "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot"]


def hand_built_bvh(frames: list[dict[str, float]]) -> str:
    """A T-pose skeleton in cm, y-up, facing +x with its left at -z (so Mimic's axes need no turn).

    ``frames``: per frame, ``"Joint Channel": value`` for the non-zero channels (``"Hips Yposition"``).
    """
    sides = (("Left", "-"), ("Right", ""))
    text = HAND_BUILT.replace("SIDE_ARMS", "\n".join(ARM.format(S=s, z=z) for s, z in sides))
    text = text.replace("SIDE_LEGS", "\n".join(LEG.format(S=s, z=z) for s, z in sides))
    columns = [("Hips", c) for c in ("Xposition", "Yposition", "Zposition")]
    columns += [(j, c) for j in JOINTS for c in ("Zrotation", "Xrotation", "Yrotation")]
    rows = [" ".join(str(f.get(f"{j} {c}", 0.0)) for j, c in columns) for f in frames]
    return text.replace("Frames: 3", f"Frames: {len(frames)}") + "\n".join(rows) + "\n"


def quat(axis: str, degrees: float) -> np.ndarray:
    v = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}[axis]
    half = math.radians(degrees) / 2
    return np.array([math.cos(half), *(math.sin(half) * np.array(v))])


def same_rotation(a: np.ndarray, b: np.ndarray) -> bool:
    return abs(abs(float(np.dot(a, b))) - 1.0) < 1e-12


def test_hand_built_poses_give_exact_joint_angles(humanoid, tmp_path):
    frames = [
        {"Hips Yposition": 90.0},  # the T-pose
        {"Hips Yposition": 90.0, "Hips Yrotation": 30.0,  # turned 30 degrees left
         "LeftLeg Zrotation": -90.0,  # left knee bent 90 degrees (the shin swings back)
         "RightArm Yrotation": 90.0},  # right arm from the side to the front, still horizontal
        {"Hips Yposition": 90.0, "LeftForeArm Yrotation": -90.0},  # left elbow bent 90 degrees, forearm forward
    ]
    (tmp_path / "pose.bvh").write_text(hand_built_bvh(frames))
    clip = import_bvh(tmp_path / "pose.bvh", humanoid, ImportOptions(map="mixamo", ground="none")).clip
    m = humanoid
    rots = clip.joint_rot(m)

    def joint(f: int, body: str) -> np.ndarray:
        return rots[f, m.body_index(body) - 1]

    def hinge(f: int, body: str) -> float:
        return float(clip.joint_pos[f, m.joint_pos_offsets[m.body_index(body)]])

    # T-pose: the arms raised 90 degrees to the sides, everything else at rest
    assert same_rotation(clip.root_rot[0], quat("x", 0))
    assert same_rotation(joint(0, "left_shoulder"), quat("x", 90))
    assert same_rotation(joint(0, "right_shoulder"), quat("x", -90))
    for body in ("chest", "neck", "left_hip", "right_hip", "left_ankle", "right_ankle"):
        assert same_rotation(joint(0, body), quat("x", 0)), body
    for body in ("left_knee", "right_knee", "left_elbow", "right_elbow"):
        assert hinge(0, body) == pytest.approx(0.0, abs=1e-12)
    # the pelvis 90 cm up, scaled by leg length (character 0.8314 m, source 83 units)
    legs = float(np.linalg.norm(m.local_pos[m.body_index("left_knee")]) + np.linalg.norm(
        m.local_pos[m.body_index("left_ankle")]))
    np.testing.assert_allclose(clip.root_pos[0], [0, 0, 90 * legs / 83], atol=1e-12)

    # turned, knee bent (DeepMimic's knee flexion is negative), the hip still straight
    assert same_rotation(clip.root_rot[1], quat("z", 30))
    assert hinge(1, "left_knee") == pytest.approx(-math.pi / 2, abs=1e-12)
    assert same_rotation(joint(1, "left_hip"), quat("x", 0))
    # the right arm points forward: a 90 degree turn about the vertical after the T-pose's -90 about x
    assert same_rotation(joint(1, "right_shoulder"),
                         rot.quat_mul(torch.as_tensor(quat("z", 90)), torch.as_tensor(quat("x", -90))).numpy())
    body_pos = clip.body_pos(m)
    arm = body_pos[1, m.body_index("right_elbow")] - body_pos[1, m.body_index("right_shoulder")]
    np.testing.assert_allclose(arm / np.linalg.norm(arm), [math.cos(math.radians(30)), math.sin(math.radians(30)), 0],
                               atol=1e-12)

    # elbow bent 90 degrees (positive), the upper arm still in the T-pose
    assert hinge(2, "left_elbow") == pytest.approx(math.pi / 2, abs=1e-12)
    assert same_rotation(joint(2, "left_shoulder"), quat("x", 90))


def renamed(text: str, names: dict[str, str]) -> str:
    """``text`` with the foreign skeleton's joints renamed (``names``: name without prefix -> new name)."""
    def new(match: re.Match) -> str:
        name = match.group(2).removeprefix(PREFIX)
        return f"{match.group(1)} {names.get(name, name)}"

    return re.sub(r"(ROOT|JOINT) (\S+)", new, text)


def test_auto_tells_the_presets_apart(humanoid, tmp_path):
    text = foreign_bvh_text(uniform_clip(clip_or_skip("walk", humanoid), humanoid), humanoid)
    renames = {
        "mixamo": None,
        "lafan": {"LeftToeBase": "LeftToe", "RightToeBase": "RightToe"},
        "cmu": {"Spine": "LowerBack", "Spine1": "Spine", "Spine2": "Spine1", "Head": "Neck1"},
    }
    for preset, names in renames.items():
        (tmp_path / f"{preset}.bvh").write_text(text if names is None else renamed(text, names))
        result = import_bvh(tmp_path / f"{preset}.bvh", humanoid)
        assert result.joint_map.name == preset
        assert result.notes[0].startswith(f"map: {preset} (auto: all 15 joints found")


def test_yaml_map_for_other_names(humanoid, tmp_path, capsys):
    """Unreal-style names: auto gives up with a pointer to a YAML map, which then works exactly."""
    clip = uniform_clip(clip_or_skip("walk", humanoid), humanoid)
    names = {"Hips": "pelvis", "Spine1": "spine_02", "Spine2": "spine_03", "Spine": "spine_01", "Neck": "neck_01",
             "Head": "head"}
    for side, s in (("Left", "l"), ("Right", "r")):
        names.update({f"{side}UpLeg": f"thigh_{s}", f"{side}Leg": f"calf_{s}", f"{side}Foot": f"foot_{s}",
                      f"{side}ToeBase": f"ball_{s}", f"{side}Shoulder": f"clavicle_{s}", f"{side}Arm": f"upperarm_{s}",
                      f"{side}ForeArm": f"lowerarm_{s}", f"{side}Hand": f"hand_{s}"})
    bvh = tmp_path / "unreal.bvh"
    bvh.write_text(renamed(foreign_bvh_text(clip, humanoid), names))
    with pytest.raises(MimicError, match=r"unreal.bvh: HIERARCHY: --map auto: no preset fits these joints .* write a "
                                         r"YAML map"):
        import_bvh(bvh, humanoid)
    mapping = {"root": "pelvis", "chest": "spine_02", "neck": "neck_01"}
    for side, s in (("left", "l"), ("right", "r")):
        mapping.update({f"{side}_hip": f"thigh_{s}", f"{side}_knee": f"calf_{s}", f"{side}_ankle": f"foot_{s}",
                        f"{side}_shoulder": f"upperarm_{s}", f"{side}_elbow": f"lowerarm_{s}",
                        f"{side}_wrist": f"hand_{s}"})
    yaml_map = tmp_path / "unreal.yaml"
    yaml_map.write_text("".join(f"{body}: {joint}\n" for body, joint in mapping.items()))
    result = import_bvh(bvh, humanoid, ImportOptions(map=str(yaml_map), ground="none"))
    assert "spine_01" in result.joint_map.folded and "ball_l" in result.joint_map.folded
    err = np.linalg.norm(result.clip.body_pos(humanoid) - clip.body_pos(humanoid), axis=-1)
    assert err.max() < TOLERANCE_M

    bad_maps = {
        "unknown joint": ("left_knee: calf_left\n", r"unknown.yaml: left_knee: no joint 'calf_left' in .*unreal.bvh"),
        "unknown body": ("left_shin: calf_l\n", r"unknown.yaml: left_shin: not a body of character 'humanoid3d'"),
        "not below": ("left_knee: clavicle_l\n", r"left_knee: joint 'clavicle_l' is not below 'thigh_l'"),
        "twice": ("left_knee: thigh_l\n", r"map: joint 'thigh_l' is given to both 'left_hip' and 'left_knee'"),
        "no root": (None, r"map: the map must name the bodies root"),
        "not a mapping": ("- pelvis\n", r"expected a mapping 'character body: source joint'"),
    }
    base = {k: v for k, v in mapping.items() if k != "left_knee"}
    for case, (extra, pattern) in bad_maps.items():
        lines = {k: v for k, v in base.items() if not (extra is None and k == "root")}
        text = extra if case == "not a mapping" else "".join(f"{b}: {j}\n" for b, j in lines.items()) + (extra or "")
        path = tmp_path / "unknown.yaml"
        path.write_text(text)
        with pytest.raises(MimicError, match=pattern):
            import_bvh(bvh, humanoid, ImportOptions(map=str(path)))
        assert main(["import", str(bvh), str(tmp_path / "out.npz"), "--map", str(path)]) == 2, case
        err = capsys.readouterr().err
        assert err.startswith("mimic: error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_preset_names_the_joints_it_misses(humanoid, tmp_path):
    path = write_foreign_bvh(uniform_clip(clip_or_skip("walk", humanoid), humanoid), humanoid, tmp_path / "m.bvh")
    with pytest.raises(MimicError, match=r"m.bvh: HIERARCHY: --map mimic needs joints this file does not have: "
                                         r"root, chest, right_shoulder"):
        import_bvh(path, humanoid, ImportOptions(map="mimic"))
    with pytest.raises(MimicError, match=r"--map mixamo.txt: expected a preset \(auto, mimic, mixamo, lafan, cmu\)"):
        import_bvh(path, humanoid, ImportOptions(map="mixamo.txt"))


def test_feet_go_on_the_ground(humanoid, tmp_path):
    run = uniform_clip(clip_or_skip("run", humanoid), humanoid)  # its lowest ankle is 0.7 cm below the floor
    path = write_foreign_bvh(run, humanoid, tmp_path / "run.bvh", leg_stretch=1.2)
    result = import_bvh(path, humanoid)
    feet = humanoid.body_indices(["left_ankle", "right_ankle"])
    got = result.clip.body_pos(humanoid)
    m = humanoid
    standing = m.local_pos[0, 2] + m.local_pos[m.body_index("left_knee"), 2] + m.local_pos[feet[0], 2]
    assert got[:, feet, 2].min() == pytest.approx(standing, abs=1e-9)
    # the same motion otherwise: one vertical shift
    shift = got - run.body_pos(humanoid)
    np.testing.assert_allclose(shift[..., :2], 0.0, atol=1e-5)
    assert np.ptp(shift[..., 2]) < 1e-5
    assert any(n.startswith("ground: lowest foot moved +5.6 cm") for n in result.notes)


def test_fps_start_end_and_scale(humanoid, tmp_path):
    walk = clip_or_skip("walk", humanoid)
    path = write_foreign_bvh(walk, humanoid, tmp_path / "walk.bvh", leg_stretch=1.1)
    result = import_bvh(path, humanoid, ImportOptions(fps=60, start=0.2, end=1.0, ground="none", loop=LoopMode.WRAP))
    clip = result.clip
    assert clip.num_frames == 49 and clip.fps == pytest.approx(60) and clip.loop == LoopMode.WRAP
    want = reference_body_pos(walk, humanoid, 0.2 + clip.frame_times)
    assert np.linalg.norm(clip.body_pos(humanoid) - want, axis=-1).max() < TOLERANCE_M
    # --scale keeps the actor's stride: this actor's legs are 1.1 times longer, so is the root's path
    scaled = import_bvh(path, humanoid, ImportOptions(scale=0.01, ground="none")).clip
    np.testing.assert_allclose(scaled.root_pos, 1.1 * walk.root_pos, atol=1e-6)
    with pytest.raises(MimicError, match=r"--start 2 s must be at least 0 and before the end \(1.267 s; the clip "
                                         r"lasts 1.267 s\)"):
        import_bvh(path, humanoid, ImportOptions(start=2.0))


def test_units_are_guessed_from_the_legs(humanoid, tmp_path):
    path = write_foreign_bvh(uniform_clip(clip_or_skip("walk", humanoid), humanoid), humanoid, tmp_path / "w.bvh")
    notes = import_bvh(path, humanoid).notes
    assert any("source legs 83.14 units long: looks like centimetres (0.83 m)" in n for n in notes)


def test_up_axis(humanoid, tmp_path):
    (tmp_path / "pose.bvh").write_text(hand_built_bvh([{"Hips Yposition": 90.0}, {"Hips Yposition": 90.0}]))
    from mimic.motion.formats.bvh import read_bvh

    motion = read_bvh(tmp_path / "pose.bvh")
    y_up, _, _ = source_world(motion, "y")
    z_up, _, _ = source_world(motion, "z")
    np.testing.assert_allclose(y_up[0, 0].numpy(), [0, 0, 90])
    np.testing.assert_allclose(z_up[0, 0].numpy(), [0, 90, 0])


def test_a_character_without_the_aligning_bodies(tmp_path):
    from mimic.character.spec import load_spec

    dog = load_spec("dog3d").model
    (tmp_path / "pose.bvh").write_text(hand_built_bvh([{}, {}]))
    with pytest.raises(MimicError, match=r"character 'dog3d' has no bodies .*which retargeting aligns"):
        import_bvh(tmp_path / "pose.bvh", dog)
