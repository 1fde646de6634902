"""The env's teacher (``env.teacher``): labels that reproduce the teacher's own control, their window, and the
settings it refuses."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mimic import config as config_lib
from mimic.agents.checkpoint import read_checkpoint
from mimic.engine.base import EngineConfig
from mimic.envs.config import EnvConfig
from mimic.envs.teacher import TeacherConfig
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError
from mimic.policies import load_policy, resolve_checkpoint
from mimic.training.config import TrainConfig, load_train_config

STUDENT = dict(task="steering", action_mode="rest", phase_obs=False, amp_obs_steps=2)


def test_labels_drive_a_student_as_the_teacher_drives_its_own_env():
    """The shipped run tracker (residual actions, phase in its observation) and a steering student (rest
    actions, no phase) from the same starts: the student stepped with the labels follows the teacher's own
    rollout, up to the few labels the student's action bounds clip (1-6 % beyond them at the knees)."""
    torch.set_num_threads(1)
    stored = read_checkpoint(resolve_checkpoint("run"))["extra"]["train_config"]
    teacher_env = replace(config_lib.build(TrainConfig, stored).env, compile=False, start_times="uniform")
    agent, _, _ = load_policy("run", 1)
    own = ImitationEnv(teacher_env, num_envs=4, seed=5)
    student = ImitationEnv(EnvConfig(clips=["run"], teacher=TeacherConfig(policy="run", seconds=0.2), **STUDENT),
                           num_envs=4, seed=5)
    obs = own.reset()
    student.reset()
    assert torch.equal(own.motion_time, student.motion_time)
    for k in range(8):  # 30 Hz: the labels cover the steps that start within 0.2 s of the reset
        labels, mask = student.teacher.labels(student)
        assert float(mask.min()) == float(mask.max()) == (1.0 if k < 6 else 0.0)
        if k < 6:
            assert float((own.engine.body_pos - student.engine.body_pos).abs().max()) < 0.02
            with torch.no_grad():
                obs, _, done, _ = own.step(agent.policy()(obs))
            _, _, done_student, info = student.step(labels)
            assert torch.equal(info["teacher_action"], labels) and torch.equal(info["teacher_mask"], mask)
            assert not bool(done.any() or done_student.any())
        else:
            assert float(labels.abs().max()) == 0.0


def test_teacher_settings_it_refuses():
    with pytest.raises(MimicError, match="teacher.seconds"):
        TeacherConfig(policy="run", seconds=0.0)
    with pytest.raises(MimicError, match="none of which is among"):  # the teacher tracks the run
        ImitationEnv(EnvConfig(clips=["walk"], teacher=TeacherConfig(policy="run"), **STUDENT))
    with pytest.raises(MimicError, match="none of which is among"):  # the run at another rate is another motion
        ImitationEnv(EnvConfig(clips=["run"], clip_rates=[0.8], teacher=TeacherConfig(policy="run"), **STUDENT))
    with pytest.raises(MimicError, match="other physics.*engine.pd_backend: python vs native"):
        # a dataset whose clips name different PD backends gets the native one; the run tracker trained on python
        ImitationEnv(EnvConfig(clips=["walk", "run"], teacher=TeacherConfig(policy="run"), **STUDENT))
    with pytest.raises(MimicError, match="engine.control_hz: 30 vs 60"):
        ImitationEnv(EnvConfig(clips=["run"], engine=EngineConfig(control_hz=60), teacher=TeacherConfig(policy="run"),
                               **STUDENT))
    with pytest.raises(MimicError, match="tracking policy"):
        ImitationEnv(EnvConfig(clips=["run"], teacher=TeacherConfig(policy="amp_steer"), **STUDENT))
    with pytest.raises(MimicError, match="go together"):
        load_train_config(None, ["agent.teacher_weight=1"])
    with pytest.raises(MimicError, match="go together"):
        load_train_config(None, ["env.teacher.policy=run"])


def test_the_same_physics_set_by_hand_lets_a_dataset_have_the_teacher():
    """The dataset under the teacher's PD backend builds, and only the teacher's clip is labelled."""
    env = ImitationEnv(EnvConfig(clips=["walk", "run"], engine=EngineConfig(pd_backend="python"),
                                 teacher=TeacherConfig(policy="run"), **STUDENT), num_envs=2)
    assert env.teacher.clip_on.tolist() == [False, True]
    same = EngineConfig(pd_backend="native", num_threads=1, fast_solver=False, ground_pairs=False)
    assert EngineConfig().physics_differences(same) == []  # unset is native; solver options give the same solution
    assert EngineConfig(pd_damping="stable", physics_hz=240).physics_differences(EngineConfig()) == [
        "engine.pd_damping: stable vs implicit", "engine.physics_hz: 240 vs 120"]
