"""The steering task: its reward, observation and errors on known states, target changes, and the env."""

from __future__ import annotations

import math

import pytest
import torch

from mimic.character import rotations as rot
from mimic.envs.config import EnvConfig
from mimic.envs.steering import SteeringConfig, SteeringTask
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError


def yaw(deg: float, n: int = 1) -> torch.Tensor:
    return rot.quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(math.radians(deg))).expand(n, 4)


def task_towards(angle_deg: float, speed: float) -> SteeringTask:
    task = SteeringTask(SteeringConfig(), 1, torch.Generator().manual_seed(0))
    task.script([(0.0, angle_deg, speed)])
    return task


def test_reward_on_known_velocities():
    task = task_towards(90.0, 1.5)  # +y at 1.5 m/s
    along = torch.tensor([[0.0, 1.5, 0.0]])
    assert float(task.reward(along, yaw(90))) == pytest.approx(1.0)  # on target, facing it
    assert float(task.reward(along, yaw(0))) == pytest.approx(0.7)  # on target, facing 90 deg away
    slow = torch.tensor([[0.0, 0.5, 0.0]])
    assert float(task.reward(slow, yaw(90))) == pytest.approx(0.7 * math.exp(-0.5) + 0.3)
    away = torch.tensor([[0.0, -1.5, 0.0]])
    assert float(task.reward(away, yaw(-90))) == pytest.approx(0.0)  # moving and facing away: nothing
    errors = task.errors(torch.tensor([[1.0, 0.0, 0.0]]))
    assert float(errors["heading_error_deg"]) == pytest.approx(90.0)
    assert float(errors["speed_error_mps"]) == pytest.approx(1.5)


def test_observation_is_in_the_heading_frame():
    task = task_towards(120.0, 2.0)
    obs = task.observation(yaw(120))
    assert torch.allclose(obs, torch.tensor([[1.0, 0.0, 2.0]]), atol=1e-6)
    obs = task.observation(yaw(30))  # target 90 deg to the left of the heading
    assert torch.allclose(obs, torch.tensor([[0.0, 1.0, 2.0]]), atol=1e-6)


def test_targets_change_at_random_times_or_follow_a_script():
    task = SteeringTask(SteeringConfig(speed_min=1.0, speed_max=2.0, change_min_s=1.0, change_max_s=1.0), 64,
                        torch.Generator().manual_seed(3))
    task.reset(torch.arange(64))
    assert bool(((task.speed >= 1.0) & (task.speed <= 2.0)).all()) and task.angle.std() > 1.0
    before = task.angle.clone()
    task.advance(0.5)
    assert torch.equal(task.angle, before)
    task.advance(0.6)
    assert not torch.equal(task.angle, before)  # 1 s passed: every env drew a new target
    task.script([(0.0, 0.0, 1.0), (2.0, 180.0, 2.0)])
    task.advance(1.0)
    assert float(task.angle[0]) == 0.0
    task.advance(1.0)
    assert float(task.angle[5]) == pytest.approx(math.pi) and float(task.speed[5]) == 2.0
    with pytest.raises(MimicError, match="speed_min <= speed_max"):
        SteeringConfig(speed_min=2.0, speed_max=1.0)


def test_the_env_appends_the_target_and_rewards_steering():
    torch.set_num_threads(1)
    base = ImitationEnv(EnvConfig(clips=["walk"], phase_obs=False), num_envs=2)
    env = ImitationEnv(EnvConfig(clips=["walk"], phase_obs=False, task="steering"), num_envs=2)
    assert env.obs_dim == base.obs_dim + 3
    obs = env.reset()
    assert torch.allclose(obs[:, -1], env.task.speed)
    env.test_mode = True
    _, reward, _, info = env.step(torch.zeros(2, env.action_dim))
    assert set(info["reward_terms"]) == {"steering"} and torch.equal(info["reward_terms"]["steering"], reward)
    assert info["heading_error_deg"].shape == (2,) and info["speed_error_mps"].shape == (2,)


def test_takeover_rewards_tracking_the_start_clip_then_the_task():
    torch.set_num_threads(1)
    base = dict(clips=["run"], task="steering", action_mode="rest", obs="deepmimic", phase_obs=False)
    with_takeover = ImitationEnv(EnvConfig(**base, takeover_seconds=0.1), num_envs=4, seed=3)
    plain = ImitationEnv(EnvConfig(**base), num_envs=4, seed=3)
    with_takeover.reset(), plain.reset()
    assert torch.equal(with_takeover.motion_time, plain.motion_time)
    for k in range(5):  # 30 Hz: steps 1-3 end within 0.1 s of the reset
        ref = with_takeover.motion.state(with_takeover.clip_ids, with_takeover.motion_time + with_takeover.dt)
        action = with_takeover.targets_to_action(ref.joint_pos)  # follow the clip
        _, r_take, done_take, info = with_takeover.step(action)
        _, r_plain, done_plain, _ = plain.step(action)
        assert torch.equal(done_take, done_plain) and not bool(done_take.any())
        if k < 3:
            assert torch.equal(r_take, info["reward_terms"]["takeover"])
            assert float(r_take.min()) > 0.3 and not torch.allclose(r_take, r_plain)  # the clip's tracking reward
        else:
            assert torch.equal(r_take, r_plain) and float(info["reward_terms"]["takeover"].abs().max()) == 0.0


def test_takeover_needs_a_task_and_a_non_negative_time():
    with pytest.raises(MimicError, match="takeover_seconds"):
        EnvConfig(clips=["walk"], takeover_seconds=0.3)  # task track: its reward is the tracking reward already
    with pytest.raises(MimicError, match="takeover_seconds"):
        EnvConfig(clips=["walk"], task="steering", takeover_seconds=-1.0)


def test_clock_observation_counts_from_each_reset_and_saturates():
    torch.set_num_threads(1)
    base = dict(clips=["run"], task="steering", action_mode="rest", obs="deepmimic", phase_obs=False)
    clocked = ImitationEnv(EnvConfig(**base, clock_obs_seconds=0.1), num_envs=3, seed=3)
    plain = ImitationEnv(EnvConfig(**base), num_envs=3, seed=3)
    assert clocked.obs_dim == plain.obs_dim + 1
    obs, obs_plain = clocked.reset(), plain.reset()
    assert torch.equal(obs[:, :-1], obs_plain) and torch.equal(obs[:, -1], torch.zeros(3))  # last: the clock
    for k in range(1, 5):  # 30 Hz: 1/3, 2/3, then 1 from the third step on
        ref = clocked.motion.state(clocked.clip_ids, clocked.motion_time + clocked.dt)
        obs, _, done, info = clocked.step(clocked.targets_to_action(ref.joint_pos))
        assert not bool(done.any())
        assert torch.allclose(obs[:, -1], torch.full((3,), min(k / 3, 1.0)), atol=1e-6)
    obs = clocked.reset(torch.tensor([1]))
    assert obs[:, -1].tolist() == pytest.approx([1.0, 0.0, 1.0])  # a reset env's clock starts again
    with pytest.raises(MimicError, match="clock_obs_seconds"):
        EnvConfig(**base, clock_obs_seconds=-1.0)


def test_reverse_prob_turns_that_share_of_the_changes_around():
    def changed(**kw) -> torch.Tensor:
        cfg = SteeringConfig(change_min_s=1.0, change_max_s=1.0, **kw)
        task = SteeringTask(cfg, 4000, torch.Generator().manual_seed(5))
        task.reset(torch.arange(4000))
        before = task.angle.clone()
        task.advance(1.0)
        turn = torch.remainder(task.angle - before + math.pi, 2 * math.pi) - math.pi  # in [-pi, pi)
        return turn.abs()

    turn = changed(reverse_prob=1.0, reverse_spread_deg=0.0)
    assert torch.allclose(turn, torch.full_like(turn, math.pi), atol=1e-5)  # every change: the opposite way
    turn = changed(reverse_prob=1.0, reverse_spread_deg=30.0)
    assert float(turn.min()) >= math.radians(150) - 1e-5
    turn = changed(reverse_prob=0.5)
    # half turn within 45 deg of the opposite; of the uniform other half, a quarter lands there too
    share = float((turn >= math.radians(135)).float().mean())
    assert share == pytest.approx(0.5 + 0.5 * 0.25, abs=0.03)
    with pytest.raises(MimicError, match="reverse_prob"):
        SteeringConfig(reverse_prob=1.5)


def test_steer_falls_benchmark_measures_several_policies_on_several_seeds():
    """``benchmarks/steer_falls.py P1 P2 --seed A --seed B``: a breakdown per policy and seed, the same episodes
    for each policy, and a last table of every policy's falls per seed and in all."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "benchmarks" / "steer_falls.py"
    run = subprocess.run([sys.executable, str(script), "amp_steer", "amp_steer", "--episodes", "4", "--seconds", "1",
                          "--seed", "3", "--seed", "4", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    results = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(r["policy"], r["seed"]) for r in results] == [("amp_steer", 3), ("amp_steer", 4)] * 2
    assert results[0] == results[2] and results[1] == results[3]  # the same policy on the same episodes
    table = lines[lines.index(next(x for x in lines if x.startswith("policy"))):]
    assert table[0].split()[:5] == ["policy", "seed", "3", "seed", "4"] and len(table) == 3
    refused = subprocess.run([sys.executable, str(script), "walk", "--episodes", "2", "--seconds", "1"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "steer_falls: error: walk has no steering task" in refused.stderr


def test_start_falls_handover_runs_the_tracker_under_the_policys_physics_only():
    """``benchmarks/start_falls.py --handover``: the run tracker (python PD backend) hands over to amp_steer
    (trained on python too) only under the same physics: with the policy's env set to native it is refused."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "benchmarks" / "start_falls.py"
    args = [sys.executable, str(script), "amp_steer", "--clip", "run", "--episodes", "4", "--seconds", "0.5",
            "--handover", "run:3"]
    refused = subprocess.run(args + ["--set", "env.engine.pd_backend=native"], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "engine.pd_backend: python vs native" in refused.stderr
    same = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stderr
    assert "after run played 0.10 s" in same.stdout
