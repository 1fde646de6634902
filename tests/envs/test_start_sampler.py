"""Start times: uniform by default; the adaptive sampler starts more episodes shortly before where falls were."""

from __future__ import annotations

import pytest
import torch

from mimic.envs.config import EnvConfig
from mimic.envs.start_sampler import StartTimeSampler
from mimic.errors import MimicError
from mimic.motion import MotionLibrary, load_clip


def library(humanoid, *names) -> MotionLibrary:
    return MotionLibrary([load_clip(n, humanoid) for n in names], humanoid)


def test_uniform_until_falls_are_recorded(humanoid):
    motion = library(humanoid, "walk")
    sampler = StartTimeSampler(motion, mode="adaptive")
    g = torch.Generator().manual_seed(0)
    times = sampler.sample(torch.zeros(4000, dtype=torch.long), g)
    hist = torch.histc(times.float(), bins=4, min=0, max=float(motion.durations[0]))
    assert float(hist.min()) > 850  # about 1000 per quarter


def test_adaptive_starts_concentrate_before_the_falls(humanoid):
    motion = library(humanoid, "walk", "kick")  # a cyclic clip and a non-looping one
    dur = motion.durations.double()
    sampler = StartTimeSampler(motion, mode="adaptive", bins=10, lead_seconds=0.2, uniform_share=0.0)
    fall_at = 0.75 * dur  # every fall three quarters into each clip
    for _ in range(50):
        sampler.record_falls(torch.tensor([0, 1]), fall_at)
    g = torch.Generator().manual_seed(1)
    for clip in (0, 1):
        times = sampler.sample(torch.full((2000,), clip, dtype=torch.long), g).double()
        # the fall's bin [0.7, 0.8) of the clip, moved 0.2 s earlier
        lo, hi = 0.7 * dur[clip] - 0.2, 0.8 * dur[clip] - 0.2
        inside = ((times >= lo - 1e-9) & (times < hi + 1e-9)).double().mean()
        assert inside > 0.95, (clip, float(inside))
    assert StartTimeSampler(motion).sample(torch.zeros(3, dtype=torch.long), g).shape == (3,)


def test_falls_fade_and_the_state_round_trips(humanoid):
    motion = library(humanoid, "walk")
    sampler = StartTimeSampler(motion, mode="adaptive", decay=0.5)
    sampler.record_falls(torch.tensor([0]), torch.tensor([0.1], dtype=torch.float64))
    sampler.record_falls(torch.tensor([0, 0]), torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert float(sampler.falls.sum()) == 0.25 + 2.0
    copy = StartTimeSampler(motion, mode="adaptive")
    copy.load_state_dict(sampler.state_dict())
    assert torch.equal(copy.falls, sampler.falls)


def test_the_env_records_falls_for_adaptive_starts():
    from mimic.envs.config import EnvConfig
    from mimic.envs.tracking import ImitationEnv

    torch.set_num_threads(1)
    env = ImitationEnv(EnvConfig(clips=["walk"], start_times="adaptive"), num_envs=8, seed=0)
    env.reset()
    falls = 0
    for _ in range(60):  # absolute action 0: knees bent, the characters fall
        _, _, done, _ = env.step(torch.zeros(8, env.action_dim))
        falls += int((done == 1).sum())
    assert falls > 0 and float(env.starts.falls.sum()) > 0.9 * falls * 0.999 ** falls


def test_failed_starts_concentrate_on_the_starts_that_fell(humanoid):
    motion = library(humanoid, "run")
    dur = float(motion.durations[0])
    sampler = StartTimeSampler(motion, mode="failed_starts", bins=10, lead_seconds=0.3, uniform_share=0.0)
    starts = torch.full((1,), 0.45 * dur, dtype=torch.float64)  # episodes started in bin [0.4, 0.5) ...
    for _ in range(50):
        sampler.record_falls(torch.tensor([0]), starts + 0.4, starts)  # ... and fell 0.4 s later
    times = sampler.sample(torch.zeros(2000, dtype=torch.long), torch.Generator().manual_seed(2)).double()
    inside = ((times >= 0.4 * dur - 1e-9) & (times < 0.5 * dur + 1e-9)).double().mean()
    assert inside > 0.95, float(inside)  # the start bin itself, no lead
    with pytest.raises(ValueError, match="start times"):
        sampler.record_falls(torch.tensor([0]), starts)
    with pytest.raises(ValueError, match="failed_starts"):
        StartTimeSampler(motion, mode="sometimes")


def test_across_clips_the_failed_starts_draw_the_clip_that_fell(humanoid):
    motion = MotionLibrary([load_clip(n, humanoid) for n in ("walk", "run")], humanoid, weights=[99.0, 1.0])
    dur = float(motion.durations[1])
    starts = torch.full((1,), 0.45 * dur, dtype=torch.float64)
    per_clip, across = (StartTimeSampler(motion, mode="failed_starts", bins=10, across_clips=a) for a in (False, True))
    for sampler in (per_clip, across):
        for _ in range(50):  # every fall: the run started in its bin [0.4, 0.5)
            sampler.record_falls(torch.tensor([1]), starts + 0.4, starts)
    # by clip weight 1 % of the starts are on the run (0.55 % in the bin); across clips the failed half goes there
    for sampler, lo, hi in ((per_clip, 0.0, 0.02), (across, 0.47, 0.53)):
        clips, times = sampler.draw(4000, torch.Generator().manual_seed(3))
        fatal = (clips == 1) & (times >= 0.4 * dur - 1e-9) & (times < 0.5 * dur + 1e-9)
        assert lo < float(fatal.double().mean()) < hi
    with pytest.raises(MimicError, match="start_clips_by_falls"):
        EnvConfig(clips=["walk"], start_clips_by_falls=True)  # uniform starts: nothing to draw by
    assert not EnvConfig(clips=["walk"], start_times="failed_starts",
                         start_clips_by_falls=True).for_evaluation().start_clips_by_falls


def test_the_env_records_the_start_of_each_fallen_episode():
    from mimic.envs.config import EnvConfig
    from mimic.envs.tracking import ImitationEnv

    torch.set_num_threads(1)
    env = ImitationEnv(EnvConfig(clips=["walk"], start_times="failed_starts"), num_envs=8, seed=0)
    env.reset()
    first_starts = env.start_time.clone()
    assert torch.allclose(first_starts, env.motion_time)
    recorded = []
    env.starts.record_falls = lambda clips, fall_times, start_times: recorded.append((fall_times, start_times))
    for _ in range(60):
        env.step(torch.zeros(8, env.action_dim))
    assert recorded, "absolute action 0 (knees bent) makes the characters fall"
    fall_times, start_times = recorded[0]
    assert bool((fall_times > start_times).all())
    assert any(bool(torch.isclose(s, first_starts).any()) for s in start_times)


def test_test_rounds_and_evaluations_drop_the_training_only_env_settings(tmp_path):
    """Test rounds, ``mimic eval`` and ``mimic play`` measure the plain task: uniform starts (an adaptive sampler
    fed by the test episodes' own falls would bias the measurement toward them), the fixed time limit and
    no teacher."""
    from mimic.policies import load_policy
    from mimic.training.config import load_train_config
    from mimic.training.runner import Trainer

    cfg = load_train_config(None, ["run.num_envs=4", "agent.steps_per_iter=4", "agent.actor_hidden=[16]",
                                   "agent.critic_hidden=[16]", "run.test_every=1000", "run.test_episodes=1",
                                   "run.test_envs=1", "run.checkpoint_every=1", "env.start_times=failed_starts",
                                   "env.episode_seconds_min=1", "env.clips=[run]", "env.teacher.policy=run",
                                   "agent.teacher_weight=1"])
    cfg.run.max_samples = 16
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    assert trainer.env.starts.mode == "failed_starts" and trainer.env.teacher is not None
    test = trainer.test_env
    assert test.starts.mode == "uniform" and test.config.episode_seconds_min is None and test.teacher is None
    trainer.train()
    assert "losses/teacher" in (tmp_path / "run" / "log.csv").read_text().splitlines()[0]
    _, env, _ = load_policy(str(tmp_path / "run"), 2)
    assert env.starts.mode == "uniform" and env.config.episode_seconds_min is None and env.teacher is None
    torch.set_num_threads(1)
