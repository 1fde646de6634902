"""The papers' measures: DeepMimic's normalized return on hand-made episodes, the AMP paper's MPJPE."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from mimic.envs.config import EnvConfig
from mimic.envs.terminations import DoneReason
from mimic.envs.track_reward import ref_track_state, tracking_errors
from mimic.envs.tracking import ImitationEnv
from mimic.eval.evaluator import evaluate


class ScriptedEnv:
    """Two characters on a looping clip, reward 1 every step: env 0 falls after ``fall_steps``, env 1
    lasts the 20 s time limit. Only what the evaluator reads."""

    def __init__(self, fall_steps: int, loop: bool = True, clip_seconds: float = 1.0, start: float = 0.0) -> None:
        self.num_envs, self.dt, self.fall_steps = 2, 1 / 30, fall_steps
        self.episode_seconds = 20.0
        self.end_hold_seconds = torch.zeros(1, dtype=torch.float64)
        self.reward_weights = {"pose": 0.5, "vel": 0.05, "end_eff": 0.15, "root": 0.2, "com": 0.1}
        self.motion = SimpleNamespace(durations=torch.tensor([clip_seconds]), wrap=torch.tensor([loop]))
        self.clip_ids = torch.zeros(2, dtype=torch.long)
        self.motion_time = torch.full((2,), start, dtype=torch.float64)
        self.test_mode = False
        self.t = 0

    @property
    def start_time(self) -> torch.Tensor:
        return self.motion_time.clone()  # the clocks stand still: only the starts count here

    def reset(self):
        return torch.zeros(2, 1)

    def step(self, action):
        self.t += 1
        done = torch.zeros(2, dtype=torch.long)
        if self.t % self.fall_steps == 0:  # every episode of env 0 falls after fall_steps
            done[0] = DoneReason.FAIL
        if self.t % 600 == 0:
            done[1] = DoneReason.TIMEOUT
        zeros = torch.zeros(2)
        return torch.zeros(2, 1), torch.ones(2), done, {"mpjpe": zeros, "body_pos_error": zeros,
                                                         "root_pos_error": zeros}


def test_a_fall_at_one_second_scores_a_twentieth_of_a_full_episode():
    res = evaluate(ScriptedEnv(fall_steps=30), lambda obs: obs, episodes=2)
    # (30 / 600 + 600 / 600) / 2; reward per step ignores when the episode ended
    assert res["normalized_return"] == pytest.approx((1 / 20 + 1.0) / 2, abs=1e-4)
    assert res["reward_per_step"] == 1.0 and res["fall_rate"] == 0.5 and res["episodes"] == 2
    assert res["mean_episode_seconds"] == pytest.approx((1.0 + 20.0) / 2, abs=1e-3)


def test_each_character_plays_its_share_of_the_episodes_so_quick_falls_are_not_over_counted():
    # env 0 falls every second, env 1 plays 20 s episodes: the first 8 episodes to end would all be
    # env 0's falls; each character's first 4 give the true fall rate of a start, 1/2
    res = evaluate(ScriptedEnv(fall_steps=30), lambda obs: obs, episodes=8)
    assert res["fall_rate"] == 0.5 and res["episodes"] == 8
    assert res["mean_episode_seconds"] == pytest.approx((1.0 + 20.0) / 2, abs=1e-3)


def test_each_fall_is_reported_with_the_time_its_episode_started_at():
    class RestartingEnv(ScriptedEnv):
        def step(self, action):  # each of env 0's episodes starts 0.1 s later in the clip than its last
            out = super().step(action)
            if out[2][0]:
                self.motion_time[0] += 0.1
            return out

    res = evaluate(RestartingEnv(fall_steps=30, start=0.25), lambda obs: obs, episodes=6)
    assert res["fall_starts"] == [[0.25, 1.0], [0.35, 1.0], [0.45, 1.0]]
    assert res["fall_seconds"] == [1.0, 1.0, 1.0]


def test_a_non_looping_clip_is_measured_to_its_end():
    # a 2 s clip started at 0.5 s: the full episode is 45 steps, not the 600 of the time limit
    env = ScriptedEnv(fall_steps=45, loop=False, clip_seconds=2.0, start=0.5)
    res = evaluate(env, lambda obs: obs, episodes=1)
    assert res["normalized_return"] == pytest.approx(1.0)


def test_mpjpe_is_zero_at_the_reference_and_ignores_a_shift_of_the_whole_character():
    env = ImitationEnv(replace(EnvConfig(), clips=["walk"]), num_envs=4, seed=0)
    env.reset()
    ref = env.ref
    sim = ref_track_state(ref)
    errors = tracking_errors(sim, ref)
    assert torch.allclose(errors["mpjpe"], torch.zeros(4), atol=1e-6)
    shift = torch.tensor([0.3, -0.2, 0.1])
    moved = replace(sim, root_pos=sim.root_pos + shift, body_pos=sim.body_pos + shift)
    errors = tracking_errors(moved, ref)
    assert torch.allclose(errors["mpjpe"], torch.zeros(4), atol=1e-6)
    assert torch.allclose(errors["body_pos_error"], torch.full((4,), float(shift.norm())), atol=1e-5)
    bent = sim.body_pos.clone()
    bent[:, 5, 2] += 0.14  # one of the 14 non-root bodies 14 cm off
    errors = tracking_errors(replace(sim, body_pos=bent), ref)
    assert torch.allclose(errors["mpjpe"], torch.full((4,), 0.01), atol=1e-5)


class ScriptedAMPEnv(ScriptedEnv):
    """ScriptedEnv with AMP observations whose first number is the logit a stand-in discriminator returns:
    +2 for env 0 (it looks like the clips), -1 for env 1."""

    amp = object()

    def step(self, action):
        obs, reward, done, info = super().step(action)
        return obs, reward, done, {**info, "amp_obs": torch.tensor([[2.0, 0.0], [-1.0, 0.0]])}


def test_a_discriminator_scores_the_test_transitions_per_episode():
    res = evaluate(ScriptedAMPEnv(fall_steps=30), lambda obs: obs, episodes=2, disc_logits=lambda x: x[:, 0])
    assert res["disc_agent_acc"] == pytest.approx(0.5)  # env 0 fools it every step, env 1 never
    assert res["disc_agent_logit"] == pytest.approx((2.0 - 1.0) / 2)
    assert "disc_agent_acc" not in evaluate(ScriptedAMPEnv(fall_steps=30), lambda obs: obs, episodes=2)


class ScriptedTermsEnv(ScriptedEnv):
    """ScriptedEnv whose reward has two terms: pose 0.8 (weight 0.5) and vel 0.4 (weight 0.05), every step."""

    def step(self, action):
        obs, reward, done, info = super().step(action)
        terms = {"pose": torch.full((2,), 0.8), "vel": torch.full((2,), 0.4)}
        return obs, reward, done, {**info, "reward_terms": terms}


def test_each_reward_term_and_the_reward_it_costs_are_reported():
    res = evaluate(ScriptedTermsEnv(fall_steps=30), lambda obs: obs, episodes=2)
    assert res["reward_terms"] == pytest.approx({"pose": 0.8, "vel": 0.4})
    assert res["reward_lost"] == pytest.approx({"pose": 0.5 * 0.2, "vel": 0.05 * 0.6})
    assert "reward_terms" not in evaluate(ScriptedEnv(fall_steps=30), lambda obs: obs, episodes=2)


def test_the_reward_lost_per_term_adds_up_to_the_reward_missed_on_a_real_env():
    # zero actions fall; a fall's last step scores 0 whatever its terms unless reward_fail_zero is off
    env = ImitationEnv(replace(EnvConfig(), clips=["walk"], reward_fail_zero=False), num_envs=2, seed=0)
    zero = torch.zeros(2, env.action_dim)
    res = evaluate(env, lambda obs: zero, episodes=2)
    assert sum(res["reward_lost"].values()) == pytest.approx(1.0 - res["reward_per_step"], abs=2e-3)


def test_the_time_warped_error_is_optional_and_changes_nothing_else():
    # training's test rounds leave it out (the log does not keep it); mimic eval reports it
    def run(time_warp: bool) -> dict:
        env = ImitationEnv(replace(EnvConfig(), clips=["walk"], episode_seconds=1.0), num_envs=2, seed=0)
        return evaluate(env, lambda obs: torch.zeros(len(obs), env.action_dim), episodes=2, time_warp=time_warp)

    with_warp, without = run(True), run(False)
    assert "mpjpe_dtw_m" not in without
    assert 0.0 < with_warp.pop("mpjpe_dtw_m") <= with_warp["mpjpe_m"] + 1e-4
    assert with_warp == without


def test_pool_weighs_each_result_by_its_episodes():
    """Two evaluations pooled as one: means weighted by episodes, fall lists merged, per-term means too."""
    from mimic.eval.evaluator import pool

    a = {"normalized_return": 0.9, "fall_rate": 0.0, "episodes": 3, "fall_seconds": [], "fall_starts": [],
         "reward_terms": {"pose": 0.8}, "reward_lost": {"pose": 0.1}}
    b = {"normalized_return": 0.5, "fall_rate": 1.0, "episodes": 1, "fall_seconds": [1.5], "fall_starts": [[0.2, 1.5]],
         "reward_terms": {"pose": 0.4}, "reward_lost": {"pose": 0.3}}
    pooled = pool([a, b])
    assert pooled["normalized_return"] == pytest.approx(0.8)  # (3 * 0.9 + 0.5) / 4
    assert pooled["fall_rate"] == pytest.approx(0.25) and pooled["episodes"] == 4
    assert pooled["fall_seconds"] == [1.5] and pooled["fall_starts"] == [[0.2, 1.5]]
    assert pooled["reward_terms"]["pose"] == pytest.approx(0.7) and pooled["reward_lost"]["pose"] == pytest.approx(0.15)
    assert pool([a]) == a
