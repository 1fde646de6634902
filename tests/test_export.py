"""mimic export: the ONNX and TorchScript graphs compute the PyTorch policy; the JSON contract describes it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mimic.agents.checkpoint import load_checkpoint
from mimic.cli import main
from mimic.policies import resolve_checkpoint


def observations(n: int = 1000) -> torch.Tensor:
    """Observations around the shipped walk policy's normalizer statistics."""
    agent = load_checkpoint(resolve_checkpoint("walk"))
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, agent.obs_dim, generator=g, dtype=torch.float64) * 1.5
    return (z * agent.obs_norm.std + agent.obs_norm.mean).float()


def reference_actions(obs: torch.Tensor) -> np.ndarray:
    agent = load_checkpoint(resolve_checkpoint("walk"))
    agent.actor.precision = "fp32"  # the exported graph is fp32
    with torch.no_grad():
        return agent.policy()(obs).numpy()


def test_onnx_export_matches_the_pytorch_policy(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "walk.onnx"
    assert main(["export", "walk", str(out)]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    obs = observations()
    (got,) = session.run(["action"], {"obs": obs.numpy()})
    assert got.shape == (1000, 28)
    np.testing.assert_allclose(got, reference_actions(obs), atol=1e-5, rtol=0)
    assert np.abs(got).max() <= 1.0


def test_torchscript_export_matches_and_the_contract_describes_the_policy(tmp_path):
    out = tmp_path / "walk.pt"
    assert main(["export", "walk", str(out)]) == 0
    graph = torch.jit.load(str(out))
    obs = observations(200)
    np.testing.assert_allclose(graph(obs).detach().numpy(), reference_actions(obs), atol=1e-6, rtol=0)
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["format"] == "mimic-policy" and info["observation"]["size"] == 197
    layout = info["observation"]["layout"]
    assert [p["name"] for p in layout[:3]] == ["phase", "root_height", "root/pos_rot"]
    assert layout[-1]["start"] + layout[-1]["size"] == 197
    assert info["action"]["size"] == 28 and info["action"]["mode"] == "residual" and len(info["action"]["scale"]) == 28
    joints = info["joints"]
    assert len(joints) == 12 and sum(j["dof_size"] for j in joints) == 28
    knee = next(j for j in joints if j["name"] == "right_knee")
    assert knee["type"] == "hinge" and knee["kp"] == [500.0] and knee["torque_limit"] == 150.0
    assert info["rates"] == {"physics_hz": 120, "control_hz": 30}
    assert info["clips"] == [{"name": "walk", "duration_s": pytest.approx(1.2667, abs=1e-3), "loop": "wrap",
                              "end_hold_s": 0.0}]


def test_bad_export_targets(tmp_path, capsys):
    assert main(["export", "walk", str(tmp_path / "walk.tflite")]) == 2
    assert "unknown export format '.tflite'" in capsys.readouterr().err
    assert main(["export", "walk", str(tmp_path / "no" / "walk.onnx")]) == 2
    assert "output folder does not exist" in capsys.readouterr().err


def test_the_plain_mujoco_runner_reproduces_mimic_eval(tmp_path, capsys):
    """examples/run_onnx.py (onnxruntime + NumPy + mujoco, no torch, no Mimic) is the sim-to-sim check:
    the exported walk keeps DeepMimic's normalized return within 0.02 of `mimic eval walk` and never falls."""
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "walk.onnx"
    assert main(["export", "walk", str(out)]) == 0
    for suffix in (".json", ".xml", ".motion.npz"):
        assert out.with_suffix(suffix).is_file()
    assert main(["eval", "walk", "--episodes", "4", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out.splitlines()[-1])
    runner = Path(__file__).resolve().parents[1] / "examples" / "run_onnx.py"
    check = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
             "assert 'torch' not in sys.modules and not any(m == 'mimic' or m.startswith('mimic.') "
             "for m in sys.modules), 'the runner imported torch or mimic'")
    done = subprocess.run([sys.executable, "-c", check, str(runner), str(out), "--episodes", "4", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["episodes"] == 4 and got["fall_rate"] == 0.0
    assert abs(got["normalized_return"] - expected["normalized_return"]) < 0.02, (got, expected)


def test_the_contract_layout_covers_a_steering_policys_target(tmp_path):
    out = tmp_path / "amp_steer.pt"
    assert main(["export", "amp_steer", str(out)]) == 0
    info = json.loads(out.with_suffix(".json").read_text())
    layout = info["observation"]["layout"]
    target, clock = layout[-2], layout[-1]  # the task's target, then the clock it trained with (no phase)
    assert target["name"] == "steering_target" and (target["start"], target["size"]) == (196, 3)
    assert clock["name"] == "clock" and clock["start"] + clock["size"] == info["observation"]["size"] == 196 + 3 + 1
