"""``env.compile``: the compiled per-step math gives the eager env's observations, rewards and ends."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mimic.envs.config import EnvConfig
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError

DEEPMIMIC = dict(obs="deepmimic", reward="deepmimic")
MIMICKIT = dict(obs="mimickit", reward="mimickit", action_mode="residual")
STEERING = dict(task="steering", amp_obs_steps=2, action_mode="rest")


@pytest.mark.slow  # compiling takes about a minute on 2 cores
@pytest.mark.parametrize(("layout", "resets"), [(DEEPMIMIC, False), (DEEPMIMIC, True), (MIMICKIT, False),
                                                (STEERING, True)])
def test_compiled_env_steps_as_the_eager_one(layout, resets):
    """With ``resets`` (``env.compile_resets``) the resets of 1, 2, ... envs run one compilation for any number."""
    config = replace(EnvConfig(), clips=["walk"], **layout)
    envs = [ImitationEnv(replace(config, compile=c, compile_resets=c and resets), num_envs=8, seed=3)
            for c in (False, True)]
    obs = [env.reset() for env in envs]
    torch.testing.assert_close(obs[1], obs[0])
    gen = torch.Generator().manual_seed(0)
    ended, sizes = 0, set()
    for _ in range(40):  # zero-ish actions: characters fall, so resets of some envs happen too
        action = 0.3 * torch.randn(8, envs[0].action_dim, generator=gen)
        out = [env.step(action) for env in envs]
        (o0, r0, d0, i0), (o1, r1, d1, i1) = out
        torch.testing.assert_close(o1, o0, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(r1, r0, rtol=1e-4, atol=1e-4)
        assert torch.equal(d1, d0)
        if "amp_obs" in i0:
            torch.testing.assert_close(i1["amp_obs"], i0["amp_obs"], rtol=1e-4, atol=1e-4)
        ended += int((d0 != 0).sum())
        sizes.add(int((d0 != 0).sum()))
    assert ended > 0 and len(sizes - {0}) >= 2 - (not resets)  # resets of several sizes when they compile
    assert not envs[1]._compile_status.failed  # compiled indeed, not fallen back to the eager math


def test_a_failed_compilation_falls_back_to_the_eager_math(monkeypatch):
    """No C++ compiler (or an op Inductor cannot handle): one warning, then the eager env's results."""
    import mimic.envs.compiled as compiled

    def failing_compile(fn, **kwargs):
        def run(*args):
            raise torch._dynamo.exc.TorchDynamoException("InvalidCxxCompiler: No working C++ compiler found")
        return run

    monkeypatch.setattr(compiled.torch, "compile", failing_compile)
    config = replace(EnvConfig(), clips=["walk"])
    eager, fallback = (ImitationEnv(replace(config, compile=c), num_envs=4, seed=3) for c in (False, True))
    torch.testing.assert_close(fallback.reset(), eager.reset())
    action = 0.1 * torch.ones(4, eager.action_dim)
    with pytest.warns(RuntimeWarning, match="No working C.. compiler.*runs uncompiled") as caught:
        out = fallback.step(action)
    assert len(caught) == 1  # one warning, not one per compiled function
    ref = eager.step(action)
    for got, want in zip(out[:3], ref[:3], strict=True):
        torch.testing.assert_close(got, want)
    assert fallback._compile_status.failed


def test_compiling_the_resets_needs_the_step_compiled():
    with pytest.raises(MimicError, match="env.compile_resets.*env.compile=true"):
        EnvConfig(compile_resets=True)


@pytest.mark.slow  # compiling takes about a minute on 2 cores
def test_bench_env_compiles_the_resets_before_timing(capsys):
    """``mimic bench env ... compile=true compile_resets=true``: the warm-up compiles the resets' math, so the
    timed rounds run compiled (not one fallback) and print the usual keys."""
    import json
    import warnings

    from mimic.cli import main

    args = ["bench", "env", "--num-envs", "4", "--seconds", "0.5", "--json", "engine.num_threads=1"]
    assert main(args) == 0
    eager = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*args, "compile=true", "compile_resets=true"]) == 0
    compiled = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert compiled.keys() == eager.keys() and compiled["env_steps_per_s"] > 0
    assert not [w for w in caught if "uncompiled" in str(w.message)]  # no fallback to the eager math
