"""Data-parallel PPO over torch.distributed (gloo, loopback, 2 spawned processes).

- One update from the same data split over two ranks equals the single-process update on the
  concatenated data (parameters within 1e-5), and so do the normalizer statistics.
- Ranks stay identical over several updates on different data; the checksum check catches a
  rank that drifts.
- A killed rank makes the others stop with a clear error instead of hanging.

Workers are module-level functions: spawned processes import this module by name.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch

from mimic.agents import PPOAgent, PPOConfig, RolloutBuffer
from mimic.agents.compute import threads_per_process
from mimic.distributed import DistContext, RankError
from mimic.envs.terminations import DoneReason
from mimic.errors import MimicError
from mimic.training.launch import run_workers

torch.set_num_threads(1)
T, N, OBS, ACT = 6, 8, 5, 3


def agent_config(**kw) -> PPOConfig:
    # One minibatch per epoch (batch = T x num_envs): the split run then sees the same minibatches.
    base = dict(actor_hidden=[32, 32], critic_hidden=[32, 32], steps_per_iter=T, critic_batch_size=T,
                actor_batch_size=T, critic_epochs=2, actor_epochs=3, actor_lr=1e-2, critic_lr=1e-2, seed=0,
                normalizer_samples=10_000, precision="fp32")
    return PPOConfig(**{**base, **kw})


def make_rollout(seed: int, num_envs: int = N) -> dict[str, torch.Tensor]:
    """A rollout of random data with every kind of end, acted by the seed-0 agent (ratios start at 1)."""
    g = torch.Generator().manual_seed(seed)
    agent = PPOAgent(OBS, ACT, agent_config())
    obs = torch.randn(T, num_envs, OBS, generator=g) * 3 + 1
    out = agent.act(obs.reshape(-1, OBS))
    dones = torch.multinomial(torch.tensor([0.8, 0.07, 0.05, 0.05, 0.03]), T * num_envs, replacement=True,
                              generator=g).reshape(T, num_envs)
    assert {int(d) for d in DoneReason} >= set(dones.unique().tolist())
    return {
        "obs": obs, "actions": out.action.reshape(T, num_envs, ACT), "log_probs": out.log_prob.reshape(T, num_envs),
        "values": out.value.reshape(T, num_envs), "rewards": torch.rand(T, num_envs, generator=g),
        "dones": dones, "rand_mask": torch.rand(T, num_envs, generator=g) < 0.8,
        "bootstrap_values": torch.randn(T, num_envs, generator=g), "last_values": torch.randn(num_envs, generator=g),
    }


def to_buffer(data: dict[str, torch.Tensor], envs: slice) -> RolloutBuffer:
    n = len(range(*envs.indices(data["obs"].shape[1])))
    buf = RolloutBuffer(T, n, OBS, ACT)
    for key, value in data.items():
        getattr(buf, key).copy_(value[..., envs] if key == "last_values" else value[:, envs])
    return buf


def train_once(agent: PPOAgent, buffer: RolloutBuffer) -> dict[str, float]:
    agent.obs_norm.record(buffer.obs)  # what collect() does during the rollout
    return agent.update(buffer)


def snapshot(agent: PPOAgent) -> dict[str, torch.Tensor]:
    out = {f"actor.{k}": v.clone() for k, v in agent.actor.state_dict().items()}
    out.update({f"critic.{k}": v.clone() for k, v in agent.critic.state_dict().items()})
    out.update({f"norm.{k}": v.clone() for k, v in agent.obs_norm.state_dict().items()})
    if agent.value_norm is not None:
        out.update({f"value_norm.{k}": v.clone() for k, v in agent.value_norm.state_dict().items()})
    return out


# ---------------------------------------------------------------------------------------------- workers
def update_worker(ctx: DistContext, data: dict, out_dir: str, optimizer: str, precision: str = "fp32",
                  value_norm: bool = False) -> None:
    agent = PPOAgent(OBS, ACT, agent_config(actor_optimizer=optimizer, critic_optimizer=optimizer,
                                            precision=precision, value_norm=value_norm), dist=ctx)
    half = N // ctx.world_size
    metrics = train_once(agent, to_buffer(data, slice(ctx.rank * half, (ctx.rank + 1) * half)))
    torch.save({"params": snapshot(agent), "metrics": metrics}, Path(out_dir) / f"rank{ctx.rank}.pt")


AMP_DIM, DISC_EPOCHS = 4, 2


def amp_config() -> PPOConfig:
    from mimic.agents.discriminator import AMPConfig

    # one discriminator minibatch per epoch (batch = T x num_envs), as the PPO minibatches above
    return agent_config(name="amp", amp=AMPConfig(disc_hidden=[16], disc_batch_size=T, disc_epochs=DISC_EPOCHS,
                                                  disc_lr=1e-2, replay_size=0, normalizer_samples=10_000))


def expert_pool() -> torch.Tensor:
    """The expert samples of one update: epoch e uses rows [e * T * N, (e + 1) * T * N)."""
    return torch.randn(DISC_EPOCHS * T * N, AMP_DIM, generator=torch.Generator().manual_seed(11)) + 1.0


def expert_share(rank: int, world: int):
    """Rank ``rank``'s part of every epoch's expert batch, so the ranks together see the pool."""
    pool, per = expert_pool().view(DISC_EPOCHS, T * N, AMP_DIM), T * N // world

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        assert n == DISC_EPOCHS * per
        return pool[:, rank * per:(rank + 1) * per].reshape(-1, AMP_DIM)

    return sample


def amp_buffer(data: dict, envs: slice) -> RolloutBuffer:
    from mimic.agents import AMPAgent

    buf = to_buffer({k: v for k, v in data.items() if k != "amp_obs"}, envs)
    amp = AMPAgent(OBS, ACT, amp_config(), amp_obs_dim=AMP_DIM).make_buffer(buf.num_envs)
    for name in ("obs", "actions", "log_probs", "values", "rewards", "dones", "rand_mask", "bootstrap_values",
                 "last_values"):
        getattr(amp, name).copy_(getattr(buf, name))
    amp.extras["amp_obs"].copy_(data["amp_obs"][:, envs])
    return amp


def amp_snapshot(agent) -> dict[str, torch.Tensor]:
    out = snapshot(agent)
    out.update({f"disc.{k}": v.clone() for k, v in agent.disc.state_dict().items()})
    out.update({f"amp_norm.{k}": v.clone() for k, v in agent.amp_norm.state_dict().items()})
    return out


def amp_update_worker(ctx: DistContext, data: dict, out_dir: str) -> None:
    from mimic.agents import AMPAgent

    agent = AMPAgent(OBS, ACT, amp_config(), dist=ctx, amp_obs_dim=AMP_DIM,
                     expert=expert_share(ctx.rank, ctx.world_size))
    half = N // ctx.world_size
    metrics = train_once(agent, amp_buffer(data, slice(ctx.rank * half, (ctx.rank + 1) * half)))
    torch.save({"params": amp_snapshot(agent), "metrics": metrics}, Path(out_dir) / f"rank{ctx.rank}.pt")


def sync_worker(ctx: DistContext, out_dir: str) -> None:
    agent = PPOAgent(OBS, ACT, agent_config(), dist=ctx)
    for it in range(4):  # different data on every rank and iteration
        train_once(agent, to_buffer(make_rollout(100 * it + ctx.rank, N // 2), slice(None)))
        ctx.check_in_sync([agent.actor, agent.critic, agent.obs_norm])
    torch.save(snapshot(agent), Path(out_dir) / f"rank{ctx.rank}.pt")
    if ctx.rank == 1:
        with torch.no_grad():
            next(agent.actor.parameters()).add_(1e-6)  # a rank drifts
    try:
        ctx.check_in_sync([agent.actor, agent.critic], "actor and critic")
    except RankError as exc:
        (Path(out_dir) / f"caught{ctx.rank}.txt").write_text(str(exc))


def dying_worker(ctx: DistContext) -> None:
    x = torch.ones(4)
    for i in range(1000):
        if ctx.rank == 1 and i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        ctx.sum_(x.clone())
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize(("optimizer", "precision", "atol", "value_norm"),
                         [("sgd", "fp32", 1e-5, False), ("adam", "fp32", 1e-5, False), ("adam", "bf16", 2e-3, False),
                          ("adam", "fp32", 1e-5, True)])
def test_two_process_update_equals_single_process_update_on_concatenated_data(tmp_path, optimizer, precision, atol,
                                                                              value_norm):
    """fp32: equal to 1e-5. bf16: the ranks' gradient sums round differently from the concatenated
    one, so the same update agrees to the stated looser tolerance. With ``value_norm`` the return
    statistics are merged over the ranks too."""
    data = make_rollout(seed=7)
    single = PPOAgent(OBS, ACT, agent_config(actor_optimizer=optimizer, critic_optimizer=optimizer,
                                             precision=precision, value_norm=value_norm))
    metrics = train_once(single, to_buffer(data, slice(None)))
    assert metrics["clip_frac"] > 0  # the update did move the policy
    run_workers(update_worker, (data, str(tmp_path), optimizer, precision, value_norm), nproc=2, timeout_s=60)
    expected = snapshot(single)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")["params"]
        for key, value in expected.items():
            assert torch.allclose(got[key].double(), value.double(), atol=atol, rtol=0), (rank, key)
    # the normalizer saw all 2 x (T x N / 2) samples
    got = torch.load(tmp_path / "rank0.pt")["params"]
    assert float(got["norm.count"]) == T * N
    assert torch.allclose(got["norm.mean"], data["obs"].reshape(-1, OBS).double().mean(0), atol=1e-9)
    assert torch.allclose(got["norm.var"], data["obs"].reshape(-1, OBS).double().var(0, unbiased=False), atol=1e-9)
    # the adavantage statistics were taken over both ranks' samples
    m0 = torch.load(tmp_path / "rank0.pt")["metrics"]
    assert m0["adv_mean"] == pytest.approx(metrics["adv_mean"], abs=1e-5)
    assert m0["adv_std"] == pytest.approx(metrics["adv_std"], abs=1e-5)


def test_two_process_amp_update_equals_single_process_update(tmp_path):
    """AMP: the style rewards, the PPO update and the discriminator's (its losses global means, its gradients
    averaged, its normalizer's sums reduced) on two ranks equal one process on the concatenated data."""
    from mimic.agents import AMPAgent

    data = make_rollout(seed=8)
    data["amp_obs"] = torch.randn(T, N, AMP_DIM, generator=torch.Generator().manual_seed(9))
    single = AMPAgent(OBS, ACT, amp_config(), amp_obs_dim=AMP_DIM, expert=expert_share(0, 1))
    metrics = train_once(single, amp_buffer(data, slice(None)))
    assert metrics["amp_disc_loss"] > 0
    run_workers(amp_update_worker, (data, str(tmp_path)), nproc=2, timeout_s=60)
    expected = amp_snapshot(single)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")["params"]
        for key, value in expected.items():
            assert torch.allclose(got[key].double(), value.double(), atol=1e-5, rtol=0), (rank, key)
    m0 = torch.load(tmp_path / "rank0.pt")["metrics"]
    assert m0["amp_style_reward"] == pytest.approx(metrics["amp_style_reward"], abs=1e-6)


def test_ranks_stay_in_sync_and_a_drifting_rank_is_caught(tmp_path):
    run_workers(sync_worker, (str(tmp_path),), nproc=2, timeout_s=60)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical after 4 updates on different data
    assert float(a["norm.count"]) == 4 * T * N
    for rank in (0, 1):
        assert "diverged" in (tmp_path / f"caught{rank}.txt").read_text()


def test_killed_rank_stops_the_others_with_a_clear_error():
    start = time.monotonic()
    with pytest.raises(MimicError, match=r"rank 1 was killed by signal 9 \(rank 0: stopped with an error\)"):
        run_workers(dying_worker, (), nproc=2, timeout_s=10, grace_s=20)
    assert time.monotonic() - start < 40


def test_threading_rule():
    assert threads_per_process(1, cores=2) == 2
    assert threads_per_process(2, cores=2) == 1
    assert threads_per_process(4, cores=2) == 1
    assert threads_per_process(2, cores=16) == 8


def test_two_process_train_cli_runs_and_resumes(tmp_path):
    from mimic.agents.checkpoint import read_checkpoint
    from mimic.cli import main
    from mimic.training.logger import read_csv

    small = ["--num-envs", "4", "--nproc", "2", "--no-progress", "run.test_every=2", "run.test_episodes=2",
             "run.test_envs=2", "run.checkpoint_every=1", "run.sync_check_every=1", "agent.steps_per_iter=8",
             "agent.actor_hidden=[32]", "agent.critic_hidden=[32]"]
    out = tmp_path / "walk2"
    assert main(["train", "walk", "--out", str(out), "--max-samples", "128", *small]) == 0
    rows = read_csv(out / "log.csv")[1]
    assert [r["samples"] for r in rows] == [64.0, 128.0]  # 2 ranks x 4 envs x 8 steps per iteration
    assert rows[1]["charts/test_return"] > 0
    extra = read_checkpoint(out / "latest.pt")["extra"]
    assert extra["world_size"] == 2 and len(extra["rank_rng"]) == 2
    assert extra["train_config"]["env"]["engine"]["num_threads"] == 0  # per-process threads are not saved
    assert not torch.equal(extra["rank_rng"][0]["agent"], extra["rank_rng"][1]["agent"])
    assert main(["train", "--out", str(out), "--resume", "--nproc", "2", "--max-samples", "192",
                 "--no-progress"]) == 0
    rows = read_csv(out / "log.csv")[1]
    assert [r["iteration"] for r in rows] == [1.0, 2.0, 3.0] and rows[-1]["samples"] == 192


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_device_without_cuda_is_a_clear_error(tmp_path, capsys):
    from mimic.cli import main

    for nproc in ("1", "2"):
        assert main(["train", "walk", "--device", "cuda", "--nproc", nproc, "--out", str(tmp_path / nproc)]) == 2
        assert "CUDA is not available on this machine" in capsys.readouterr().err
    assert main(["train", "walk", "--device", "tpu9", "--out", str(tmp_path / "x")]) == 2
    assert "not a device" in capsys.readouterr().err


def test_ctrl_c_stops_every_rank_and_saves(tmp_path):
    """SIGINT to the whole process group (a terminal's Ctrl-C): the ranks stop after the same
    iteration, rank 0 saves latest.pt with both ranks' generator states, nothing hangs."""
    import subprocess
    import sys

    from mimic.agents.checkpoint import read_checkpoint
    from mimic.training.logger import read_csv

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mimic.cli", "train", "walk", "--out", str(out), "--nproc", "2", "--num-envs", "4",
           "--max-samples", "100000000", "--no-progress", "run.test_every=1000", "run.checkpoint_every=1000",
           "agent.steps_per_iter=8", "agent.actor_hidden=[32]", "agent.critic_hidden=[32]"]
    # As from a terminal: SIGINT's default action, even when this suite runs in the background (`cmd &` in a
    # script), where the shell has its children ignore SIGINT and Python then leaves it ignored.
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not ((out / "log.csv").is_file() and len((out / "log.csv").read_text().splitlines()) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        text, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, text
    assert "stopping every rank after this iteration" in text
    rows = read_csv(out / "log.csv")[1]
    data = read_checkpoint(out / "latest.pt")
    assert data["agent"]["iteration"] == rows[-1]["iteration"]  # saved after the last logged iteration
    assert len(data["extra"]["rank_rng"]) == 2
