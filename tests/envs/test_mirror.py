"""Mirror images of observations and actions (:mod:`mimic.envs.mirror`), checked against the simulator: the
observation of the mirrored state is the mirrored observation, and the mirrored action from it leads to the
mirrored next state."""


import pytest
import torch

from mimic.character.model import JointType
from mimic.envs.config import EnvConfig
from mimic.envs.mirror import Mirror, amp_obs_mirror, body_partners, dof_mirror, mirrored_policy
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError
from mimic.motion import default_character

S = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)


def _mirror_quat(q: torch.Tensor) -> torch.Tensor:
    return q * torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=q.dtype)


def _mirrored_state(env: ImitationEnv) -> tuple[torch.Tensor, ...]:
    """The engine's state reflected across the world's x-z plane, left and right swapped (by hand, joint by
    joint: independent of the signed permutations under test)."""
    e, model = env.engine, env.model
    partners = body_partners(model.body_names)
    jpos = e.joint_pos.double()
    mirrored = jpos.clone()
    for i, p in enumerate(partners):
        a, b = model.joint_pos_offsets[i], model.joint_pos_offsets[p]
        if model.joint_types[i] == JointType.BALL:
            mirrored[:, b:b + 4] = _mirror_quat(jpos[:, a:a + 4])
        elif model.joint_types[i] == JointType.HINGE:  # the humanoid's hinges turn about the lateral axis
            mirrored[:, b] = jpos[:, a]
    dof_vel = dof_mirror(model).apply(e.dof_vel.float()).double()
    return (e.root_pos.double() * S, _mirror_quat(e.root_rot.double()), e.root_vel.double() * S,
            -e.root_ang_vel.double() * S, mirrored, dof_vel)


def _steering_env(seed: int) -> ImitationEnv:
    return ImitationEnv(EnvConfig(clips=["walk"], phase_obs=False, task="steering"), num_envs=4, seed=seed)


def test_dof_mirror_swaps_left_and_right_and_flips_the_exp_maps_lateral_pseudovector_rule():
    model = default_character()
    m = dof_mirror(model)
    x = torch.arange(model.num_dofs, dtype=torch.float32)[None] + 1
    y = m.apply(x)
    dof = {name: model.dof_offsets[i] for i, name in enumerate(model.body_names)}
    rh, lh = dof["right_hip"], dof["left_hip"]
    assert y[0, lh:lh + 3].tolist() == [-x[0, rh].item(), x[0, rh + 1].item(), -x[0, rh + 2].item()]
    rk, lk = dof["right_knee"], dof["left_knee"]
    assert y[0, lk].item() == x[0, rk].item()  # a knee bends the same way on both sides
    assert torch.equal(m.apply(y), x)


def test_the_observation_of_the_mirrored_state_is_the_mirrored_observation():
    torch.manual_seed(0)
    env, twin = _steering_env(1), _steering_env(2)
    env.reset()
    twin.reset()
    for _ in range(3):  # away from the clip's poses, with velocities of the policy's making
        env.step(0.3 * torch.randn(env.num_envs, env.action_dim))
    mirror = Mirror.of(env)
    twin.engine.set_state(None, *_mirrored_state(env))
    twin.task.angle.copy_(-env.task.angle)
    twin.task.speed.copy_(env.task.speed)
    expected = mirror.obs.apply(env.observe())
    assert torch.allclose(twin.observe(), expected, atol=1e-4)
    assert torch.equal(mirror.obs.apply(expected), env.observe())  # its own inverse

    # The physics is mirror-symmetric too: the mirrored action leads to the mirrored next observation.
    action = 0.3 * torch.randn(env.num_envs, env.action_dim)
    obs, _, done, _ = env.step(action)
    twin_obs, _, twin_done, _ = twin.step(mirror.action.apply(action))
    assert torch.equal(done, twin_done) and not bool(done.any())
    assert torch.allclose(twin_obs, mirror.obs.apply(obs), atol=1e-4)


def test_the_amp_frame_of_the_mirrored_state_is_the_mirrored_frame():
    torch.manual_seed(0)
    config = EnvConfig(clips=["walk"], phase_obs=False, amp_obs_steps=2, task="none")
    env, twin = ImitationEnv(config, num_envs=4, seed=1), ImitationEnv(config, num_envs=4, seed=2)
    env.reset()
    twin.reset()
    for _ in range(3):
        env.step(0.3 * torch.randn(env.num_envs, env.action_dim))
    twin.engine.set_state(None, *_mirrored_state(env))
    frame = env.amp_frame_of_sim(env.sim_track_state(env.engine))
    twin_frame = twin.amp_frame_of_sim(twin.sim_track_state(twin.engine))
    mirror = amp_obs_mirror(env.model, env.key_bodies.tolist(), steps=2)
    pair = torch.cat((frame, 2 * frame), dim=-1)  # two frames: each mirrors on its own
    assert torch.allclose(mirror.apply(pair), torch.cat((twin_frame, 2 * twin_frame), dim=-1), atol=1e-4)
    assert torch.equal(mirror.apply(mirror.apply(pair)), pair)
    with pytest.raises(MimicError, match="partner"):
        amp_obs_mirror(env.model, env.key_bodies.tolist()[:2], steps=2)  # neck and one wrist


@pytest.mark.parametrize("change", [dict(phase_obs=True), dict(obs="mimickit"), dict(action_mode="residual")])
def test_an_observation_or_action_that_does_not_mirror_is_refused(change):
    env = ImitationEnv(EnvConfig(clips=["walk"], **{"phase_obs": False, **change}), num_envs=1)
    with pytest.raises(MimicError, match="mirror"):
        Mirror.of(env)


def test_bodies_without_a_partner_are_refused():
    with pytest.raises(MimicError, match="no partner 'left_foot'"):
        body_partners(["root", "right_foot"])
    with pytest.raises(MimicError, match="no left_/right_ bodies"):
        body_partners(["root", "chest"])
    assert body_partners(["root", "left_a", "right_a"]) == [0, 2, 1]


def test_training_with_mirror_weight_logs_the_symmetry_term(tmp_path, capsys):
    """``mimic train ... agent.mirror_weight=W``: the agent gets the env's mirror images and the run logs
    ``losses/mirror``; an env whose observation does not mirror is refused with a clear error."""
    from mimic.agents.config import PPOConfig
    from mimic.agents.registry import build_agent, env_dims
    from mimic.cli import main
    from mimic.training.logger import read_csv

    env = _steering_env(0)
    assert build_agent(PPOConfig(mirror_weight=0.5), env_dims(env), env=env).mirror is not None
    assert build_agent(PPOConfig(), env_dims(env), env=env).mirror is None
    small = ["--num-envs", "4", "--no-progress", "--max-samples", "64", "run.test_every=100", "agent.steps_per_iter=8",
             "agent.actor_hidden=[32]", "agent.critic_hidden=[32]", "agent.mirror_weight=0.5"]
    out = tmp_path / "sym"
    assert main(["train", "walk", "--out", str(out), *small, "env.phase_obs=false", "env.task=steering"]) == 0
    rows = read_csv(out / "log.csv")[1]
    assert all(r["losses/mirror"] >= 0 for r in rows) and len(rows) == 2
    capsys.readouterr()
    assert main(["train", "walk", "--out", str(tmp_path / "phase"), *small]) == 2
    assert "mirror: only the deepmimic observation without the phase" in capsys.readouterr().err


def test_a_policys_mirror_image_and_mean():
    env = _steering_env(0)
    mirror = Mirror.of(env)
    weights = torch.randn(env.obs_dim, env.action_dim, generator=torch.Generator().manual_seed(0))

    def policy(obs):
        return obs @ weights

    obs = torch.randn(5, env.obs_dim)
    image = mirrored_policy(policy, mirror, "image")
    assert torch.allclose(mirrored_policy(image, mirror, "image")(obs), policy(obs), atol=1e-5)
    assert torch.allclose(mirrored_policy(policy, mirror, "mean")(obs), 0.5 * (policy(obs) + image(obs)))
    symmetric = mirrored_policy(policy, mirror, "mean")  # the mean is its own image
    assert torch.allclose(mirrored_policy(symmetric, mirror, "image")(obs), symmetric(obs), atol=1e-5)
    assert mirrored_policy(policy, mirror, "off") is policy
    with pytest.raises(MimicError, match="off, image or mean"):
        mirrored_policy(policy, mirror, "both")


def test_mirror_gap_benchmark_measures_a_shipped_policy_and_refuses_a_phase_observation(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from mimic.cli import main

    script = Path(__file__).parents[2] / "benchmarks" / "mirror_gap.py"
    run = subprocess.run([sys.executable, str(script), "amp_steer", "--episodes", "4", "--steps", "10", "--every",
                          "5", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["mirror_gap"] > 0 and out["turned_gap"] >= 0 and out["mean_sq_action"] > 0
    assert "discriminator" not in out  # a shipped policy-only file has none
    # a run's checkpoint has its discriminator: how it scores the clips, the policy and their mirror images
    assert main(["train", "--config", "amp_steer", "--out", str(tmp_path / "amp"), "--num-envs", "4", "--no-progress",
                 "--max-samples", "64", "run.test_every=100", "agent.steps_per_iter=8", "agent.actor_hidden=[32]",
                 "agent.critic_hidden=[32]", "agent.amp.disc_hidden=[32]"]) == 0
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "amp"), "--episodes", "4", "--steps", "10",
                          "--every", "5", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    view = json.loads(run.stdout.splitlines()[-1])["discriminator"]
    assert set(view) == {"clips", "mirrored clips", "policy", "mirrored policy"}
    assert all(0.0 <= v["called_clip"] <= 1.0 for v in view.values())
    refused = subprocess.run([sys.executable, str(script), "walk", "--episodes", "2", "--steps", "2"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "mirror_gap: error: mirror: only the deepmimic observation" in refused.stderr
