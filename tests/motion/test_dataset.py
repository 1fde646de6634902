"""Motion datasets: YAML lists of clips with weights, bundled or the user's, and their errors."""

from __future__ import annotations

import pytest

from mimic.cli import main
from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError
from mimic.motion.dataset import dataset_names, load_dataset


def test_the_locomotion_dataset_loads_into_an_env():
    assert "humanoid_locomotion" in dataset_names()
    data = load_dataset("humanoid_locomotion")
    clips, weights = data.clips, data.weights
    assert data.env_rates is None
    assert clips[:2] == ["walk", "run"] and clips[3] == "pybullet_data:data/motions/walker/turn_left0.txt"
    assert weights == [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    env = ImitationEnv(EnvConfig(clips=clips, clip_weights=weights), num_envs=2)
    assert [c.name for c in env.clips][2:4] == ["0walk_forward", "turn_left0"]
    assert env.motion.weights.sum() == pytest.approx(1.0) and float(env.motion.weights[0]) == pytest.approx(0.25)


def test_a_users_dataset_resolves_paths_relative_to_it(tmp_path):
    from mimic.motion import load_clip, save_clip

    (tmp_path / "clips").mkdir()
    save_clip(load_clip("jump"), tmp_path / "clips" / "hop.npz")
    (tmp_path / "set.yaml").write_text("motions:\n  - {file: clips/hop.npz, weight: 3}\n  - {file: walk}\n"
                                       "  - {file: walk, rate: 1.4}\n")
    data = load_dataset(tmp_path / "set.yaml")
    assert data.clips == [str(tmp_path / "clips" / "hop.npz"), "walk", "walk"] and data.weights == [3.0, 1.0, 1.0]
    assert data.rates == data.env_rates == [1.0, 1.0, 1.4]


@pytest.mark.parametrize("text, match", [
    ("motions: []\n", r"set.yaml: motions: the dataset lists no clips"),
    ("motions:\n  - {file: walk, weight: 0}\n", r"set.yaml: motions\[0\].weight: must be positive"),
    ("motions:\n  - {file: walk, rate: -1}\n", r"set.yaml: motions\[0\].rate: must be positive"),
    ("motions:\n  - {file: nope/missing.npz}\n", r"set.yaml: motions\[0\].file: .*missing.npz not found"),
    ("motions:\n  - {file: walk, speed: 2}\n", r"set.yaml: motions\[0\]\.speed: unknown key"),
    ("clips: [walk]\n", r"set.yaml: clips: unknown key"),
])
def test_bad_datasets_name_the_file_and_field(tmp_path, text, match):
    (tmp_path / "set.yaml").write_text(text)
    with pytest.raises(MimicError, match=match):
        load_dataset(tmp_path / "set.yaml")


def test_train_with_a_dataset(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "humanoid_locomotion", "--out", str(out), "--num-envs", "2",
                 "--max-samples", "16", "--no-progress", "agent.steps_per_iter=8", "agent.actor_hidden=[16]",
                 "agent.critic_hidden=[16]", "run.test_every=1000"]) == 0
    assert "turn_left0.txt" in (out / "config.yaml").read_text()
    assert main(["train", "walk", "--dataset", "humanoid_locomotion", "--out", str(tmp_path / "r2")]) == 2
    assert "the clip 'walk' and --dataset humanoid_locomotion both choose" in capsys.readouterr().err
    assert main(["train", "--dataset", "nope", "--out", str(tmp_path / "r3")]) == 2
    assert "nope: dataset file not found; bundled datasets are: humanoid_locomotion" in capsys.readouterr().err


def test_a_clip_played_faster_moves_faster_in_the_env():
    """``env.clip_rates``: the same keyframes in less time, so the root speed scales with the rate."""
    import torch

    from mimic.motion import load_clip

    walk = load_clip("walk")
    fast = walk.retimed(1.5)
    assert fast.duration == pytest.approx(walk.duration / 1.5) and fast.num_frames == walk.num_frames
    assert walk.duration == pytest.approx(load_clip("walk").duration)  # the original is untouched
    env = ImitationEnv(EnvConfig(clips=["walk", "walk"], clip_rates=[1.0, 1.5]), num_envs=1)
    assert float(env.motion.durations[1]) == pytest.approx(float(env.motion.durations[0]) / 1.5)
    ids = torch.tensor([0, 1])
    times = env.motion.durations[ids] * 0.3
    speed = env.motion.state(ids, times).root_vel[:, :2].norm(dim=-1)
    assert float(speed[1]) == pytest.approx(1.5 * float(speed[0]), rel=1e-3)
    with pytest.raises(MimicError, match="env.clip_rates: give one rate per clip"):
        EnvConfig(clips=["walk", "run"], clip_rates=[1.5])
    with pytest.raises(MimicError, match="env.clip_rates: rates must be positive"):
        EnvConfig(clips=["walk"], clip_rates=[0.0])


def test_clip_labels_tell_a_retimed_clip_apart():
    from mimic.motion.bundled import clip_labels

    clips = ["walk", "pybullet_data:data/motions/walker/turn_left0.txt", "walk"]
    assert clip_labels(clips) == ["walk", "turn_left0", "walk"]
    assert clip_labels(clips, [1.0, 1.0, 1.5]) == ["walk", "turn_left0", "walk@1.5x"]
