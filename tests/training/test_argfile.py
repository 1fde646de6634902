"""DeepMimic arg files mapped onto Mimic's configuration."""

from __future__ import annotations

from pathlib import Path

import pybullet_data
import pytest

from mimic.errors import MimicError
from mimic.training.argfile import apply_arg_file
from mimic.training.config import TrainConfig

WALK_ARGS = """--scene imitate
--time_end_lim_max 20
--num_update_substeps 10
--fall_contact_bodies 0 1 2 3 4 6 7 8 9 10 12 13 14
--motion_file data/motions/humanoid3d_walk.txt
--sync_char_root_pos true
# --int_output_path output/intermediate
"""


def test_walk_args_map_clip_contacts_and_time(tmp_path):
    path = tmp_path / "args.txt"
    path.write_text(WALK_ARGS)
    cfg = TrainConfig()
    warnings = apply_arg_file(cfg, path)
    assert cfg.env.clips == ["walk"] and cfg.env.episode_seconds == 20.0 and cfg.env.sync_root_pos
    assert cfg.env.contact_bodies == ["right_ankle", "left_ankle"]
    assert any("--scene ignored" in w for w in warnings) and any("num_update_substeps" in w for w in warnings)


def test_deepmimic_arg_files_shipped_with_pybullet():
    """DeepMimic's own train_humanoid3d_*_args.txt, as the pybullet wheel ships them (pybullet_data/args)."""
    args = Path(pybullet_data.getDataPath()) / "args"
    cfg = TrainConfig()
    apply_arg_file(cfg, args / "train_humanoid3d_cartwheel_args.txt")
    assert cfg.env.clips == ["cartwheel"]
    assert set(cfg.env.contact_bodies) == {"right_ankle", "left_ankle", "right_wrist", "left_wrist"}
    cfg = TrainConfig()
    apply_arg_file(cfg, args / "train_humanoid3d_roll_args.txt")
    assert cfg.env.early_termination is False
    cfg = TrainConfig()
    apply_arg_file(cfg, args / "train_humanoid3d_kick_args.txt")
    assert cfg.env.episode_seconds == 4.0


def test_bad_arg_files(tmp_path):
    with pytest.raises(MimicError, match="arg file not found"):
        apply_arg_file(TrainConfig(), tmp_path / "none.txt")
    (tmp_path / "bad.txt").write_text("--fall_contact_bodies 0 99\n")
    with pytest.raises(MimicError, match="fall_contact_bodies: expected joint ids 0-14 of .humanoid3d."):
        apply_arg_file(TrainConfig(), tmp_path / "bad.txt")
