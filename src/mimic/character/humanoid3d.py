"""DeepMimic's humanoid ("humanoid3d"): the MJCF file and the constants tasks need.

Numbers come from DeepMimic's character and controller files (see README, "The humanoid").
Body names are DeepMimic's joint names; a body's frame origin is its joint.
"""

from __future__ import annotations

from pathlib import Path

MJCF_PATH = Path(__file__).parent / "assets" / "humanoid3d" / "humanoid3d.xml"

# DeepMimic's joint order: the order of joints in its character file and of rotations in its
# motion files (MuJoCo's body order differs: the MJCF nests bodies depth-first).
DEEPMIMIC_JOINT_ORDER: tuple[str, ...] = (
    "root", "chest", "neck",
    "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow", "right_wrist",
    "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist",
)

# DeepMimic's end effectors (the end-effector reward term).
END_EFFECTORS: tuple[str, ...] = ("right_ankle", "left_ankle", "right_wrist", "left_wrist")

# MimicKit's key bodies (its observations and key-body reward): head, hands, feet.
KEY_BODIES: tuple[str, ...] = ("neck", "right_wrist", "left_wrist", "right_ankle", "left_ankle")

# DeepMimic's per-joint DiffWeight (pose and velocity reward); the reward normalizes them to sum 1.
DIFF_WEIGHTS: dict[str, float] = {
    "root": 1.0, "chest": 0.5, "neck": 0.3,
    "right_hip": 0.5, "right_knee": 0.3, "right_ankle": 0.2,
    "right_shoulder": 0.3, "right_elbow": 0.2, "right_wrist": 0.0,
    "left_hip": 0.5, "left_knee": 0.3, "left_ankle": 0.2,
    "left_shoulder": 0.3, "left_elbow": 0.2, "left_wrist": 0.0,
}

# MimicKit's joint_err_w (pose and DoF-velocity reward), mapped onto DeepMimic's body names.
MIMICKIT_JOINT_WEIGHTS: dict[str, float] = {
    "chest": 1.0, "neck": 0.6,
    "right_shoulder": 0.6, "right_elbow": 0.4, "right_wrist": 0.0,
    "left_shoulder": 0.6, "left_elbow": 0.4, "left_wrist": 0.0,
    "right_hip": 1.0, "right_knee": 0.6, "right_ankle": 0.4,
    "left_hip": 1.0, "left_knee": 0.6, "left_ankle": 0.4,
}

ALL_BODIES: tuple[str, ...] = DEEPMIMIC_JOINT_ORDER
FEET: tuple[str, ...] = ("right_ankle", "left_ankle")
HANDS: tuple[str, ...] = ("right_wrist", "left_wrist")

# Bodies allowed to touch the ground before the episode ends as a fall, per clip family
# (the complement of DeepMimic's --fall_contact_bodies). Clips not listed use DEFAULT_CONTACT_BODIES.
DEFAULT_CONTACT_BODIES: tuple[str, ...] = FEET
CONTACT_BODIES: dict[str, tuple[str, ...]] = {
    "cartwheel": FEET + HANDS,
    # Crawling: only the pelvis, chest and head end the episode.
    "crawl": tuple(b for b in ALL_BODIES if b not in ("root", "chest", "neck")),
    # No contact termination at all (DeepMimic's --enable_char_contact_fall false).
    "getup_facedown": ALL_BODIES,
    "getup_faceup": ALL_BODIES,
    "roll": ALL_BODIES,
}


def contact_bodies_for(clip_name: str) -> tuple[str, ...]:
    """Bodies allowed to touch the ground for a bundled clip name (feet for unknown clips)."""
    return CONTACT_BODIES.get(clip_name, DEFAULT_CONTACT_BODIES)


# DeepMimic's per-clip episode settings (pybullet_data/args/train_humanoid3d_*_args.txt): the time limit
# (--time_end_lim_max; 20 s unless listed) and how long the last pose of a non-looping clip is held
# before the episode ends as a success (--hold_end_frame; 0 unless listed).
DEFAULT_EPISODE_SECONDS = 20.0
EPISODE_SECONDS: dict[str, float] = {"kick": 4.0, "punch": 4.0}
END_HOLD_SECONDS: dict[str, float] = {"getup_facedown": 0.3, "getup_faceup": 0.3}


def episode_seconds_for(clip_name: str) -> float:
    """DeepMimic's time limit for a bundled clip name (20 s for unknown clips)."""
    return EPISODE_SECONDS.get(clip_name, DEFAULT_EPISODE_SECONDS)


def end_hold_seconds_for(clip_name: str) -> float:
    """Seconds the last pose of a bundled non-looping clip is held before the episode succeeds (0 if none)."""
    return END_HOLD_SECONDS.get(clip_name, 0.0)
