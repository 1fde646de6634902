"""A training run: PPO on the imitation environment, with test rounds, logs and checkpoints.

A run directory holds ``config.yaml`` (the resolved configuration), ``log.csv`` and TensorBoard
events (``tb/``), ``latest.pt`` (written atomically every ``run.checkpoint_every`` iterations, on
Ctrl-C and at the end), ``best.pt`` (the best test round so far, by ``Trainer.best_key``) and, with
``run.keep_every``, ``checkpoints/iter_NNNNNN.pt``.
``resume=True`` continues from ``latest.pt`` with the same iteration and sample counters, normalizer
and RNG states.

With several processes (``dist``, see :mod:`mimic.training.launch`) every rank runs its own envs
(seeded ``seed + 1000 * rank``) and its share of the test episodes; the agent keeps the ranks'
networks identical (see :mod:`mimic.agents.ppo`), logged statistics are reduced over ranks, and
only rank 0 writes the run directory. Checkpoints hold every rank's random-generator states, so a
resume with the same number of processes restores each rank exactly.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from mimic import config as config_lib
from mimic.agents.amp import discriminator_of
from mimic.agents.checkpoint import (
    load_checkpoint,
    read_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
    with_clock_input,
)
from mimic.agents.compute import threads_per_process
from mimic.agents.registry import build_agent, env_dims
from mimic.agents.rollout import collect
from mimic.distributed import DistContext
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError
from mimic.eval.evaluator import DISC_METRICS, METRICS, TASK_METRICS, evaluate
from mimic.training.config import TrainConfig
from mimic.training.logger import RunLogger


def run_exists_error(out_dir: Path) -> MimicError:
    """The error for a new run into a directory that holds one: what is there, and the two ways on."""
    extra = read_checkpoint(out_dir / "latest.pt").get("extra", {})
    minutes = float(extra.get("wall_time_min", 0.0))
    return MimicError(f"{out_dir}: holds a run already ({minutes:.1f} min trained); to continue it, run "
                      f"`mimic train --out {out_dir} --resume` (with --max-time or --max-samples for the new "
                      "total); for a new run, choose another --out")


class Terminated(KeyboardInterrupt):
    """SIGTERM in a single process: handled as Ctrl-C (save ``latest.pt`` and stop)."""


def _terminated(signum, frame) -> None:
    raise Terminated


class Trainer:
    """Owns the env, test env, agent, buffer and logger of one run.

    Args:
        config: the run's :class:`TrainConfig`.
        out_dir: the run directory (created).
        resume: continue from ``out_dir/latest.pt``.
        progress: show a progress bar.
    """

    def __init__(self, config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True,
                 dist: DistContext | None = None) -> None:
        self.config = config
        self.out_dir = Path(out_dir)
        run = config.run
        self.dist = dist = dist or DistContext(device=torch.device(run.device))
        self.is_main = dist.is_main
        self.progress = progress and self.is_main
        # Env math runs between MuJoCo calls; torch worker threads would spin on MuJoCo's cores.
        # MuJoCo (and the PPO update, agent.update_threads) get this machine's cores shared among
        # the processes on it (see training/launch.py).
        torch.set_num_threads(1)
        env_config = config.env  # the saved config keeps num_threads 0 (auto) for later runs
        if config.env.engine.num_threads == 0 and dist.enabled:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", dist.world_size))
            env_config = replace(config.env, engine=replace(config.env.engine, num_threads=threads_per_process(local)))
        config.agent.seed = run.seed
        if resume and not (self.out_dir / "latest.pt").is_file():
            raise MimicError(f"{self.out_dir}: nothing to resume (no latest.pt)")
        if not resume and (self.out_dir / "latest.pt").is_file():
            raise run_exists_error(self.out_dir)
        rank_seed = run.seed + 1000 * dist.rank
        self.env = ImitationEnv(env_config, num_envs=run.num_envs, seed=rank_seed)
        self.test_episodes = math.ceil(run.test_episodes / dist.world_size)
        # the test env steps a few characters now and then, and measures the task without the training-only
        # settings (uniform starts, the fixed episode limit, no teacher)
        self.test_env = ImitationEnv(env_config.for_evaluation(), num_envs=min(run.test_envs, self.test_episodes),
                                     seed=rank_seed + 10_000)
        if env_config.compile and self.is_main:
            print("mimic: env.compile: the first iteration compiles the env's per-step math (about 30 s on 2 cores "
                  "with an empty cache, a few seconds from torch's cache after)", flush=True)
        self.agent = build_agent(config.agent, env_dims(self.env), device=dist.device, dist=dist, env=self.env)
        self.buffer = self.agent.make_buffer(run.num_envs)
        self.best_score = -math.inf  # the best test round's best_key() value (best.pt)
        self.wall_offset = 0.0  # minutes trained before a resume
        self.stop_requested = False  # multi-process Ctrl-C: stop together at the end of the iteration
        self.last_test: dict[str, float] = {}  # the latest test round's metrics
        self._disc_won = self._disc_flat = 0  # AMP: iterations in a row the discriminator won / learned nothing
        if resume:
            self._resume()
        elif run.init:
            self._init_from(run.init)
            if self.is_main and config.agent.actor_warmup_iters == 0:
                print("mimic: note: --init with agent.actor_warmup_iters=0: the fresh critic steers the trained actor "
                      "from the first update; --config finetune warms it up first (README, \"Fine-tuning a trained "
                      "controller\")", flush=True)
        self.logger = None
        if self.is_main:  # only now: a run that fails to start (a bad clip) leaves no empty directory
            self.out_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.out_dir)  # a run killed while saving
            (self.out_dir / "config.yaml").write_text(yaml.safe_dump(config_lib.to_dict(config), sort_keys=False))
            self.logger = RunLogger(self.out_dir, echo=not progress)

    def _init_from(self, policy: str) -> None:
        """Start from ``policy``'s actor and observation normalizer (``run.init``); the rest starts afresh."""
        from mimic.policies import resolve_checkpoint

        path = resolve_checkpoint(policy)
        data = read_checkpoint(path)
        mine = self.agent.dims()
        stored = {k: data.get(k) for k in ("obs_dim", "action_dim")}
        state = data["agent"]
        if self._adds_clock(data, stored["obs_dim"]):  # the new input starts with zero weights
            state = with_clock_input(state)
            stored["obs_dim"] += 1
        if stored != {k: mine[k] for k in stored}:
            raise MimicError(f"{path}: run.init: the policy is for {stored}; this run's environment has "
                             f"{ {k: mine[k] for k in stored} } (another clip set, task or observation?)")
        try:
            self.agent.actor.load_state_dict(state["actor"])
            self.agent.obs_norm.load_state_dict(state["obs_norm"])
        except (KeyError, RuntimeError) as exc:
            raise MimicError(f"{path}: run.init: its actor does not fit this run's agent.actor_hidden "
                             f"({type(exc).__name__}: {exc})") from None
        self.agent.reset_exploration_std()  # the exploration noise is this run's choice, not the policy's

    def _adds_clock(self, data: dict, obs_dim: int | None) -> bool:
        """True when this run adds ``env.clock_obs_seconds``'s input to an init policy trained without it."""
        stored_env = data.get("extra", {}).get("train_config", {}).get("env", {})
        return (self.config.env.clock_obs_seconds > 0 and not stored_env.get("clock_obs_seconds", 0.0)
                and obs_dim is not None and obs_dim + 1 == self.agent.dims()["obs_dim"])

    def _resume(self) -> None:
        path = self.out_dir / "latest.pt"
        extra = read_checkpoint(path).get("extra", {})
        if extra.get("policy_only"):
            raise MimicError(f"{path}: a policy-only checkpoint (exported for play/eval) cannot resume training")
        load_checkpoint(path, self.agent, self.env, device=self.dist.device)
        if extra.get("best_key") == self.best_key():  # a run that kept best.pt by another measure starts afresh
            self.best_score = float(extra["best_score"])
        if "start_sampler" in extra:
            self.env.starts.load_state_dict(extra["start_sampler"])
        self.wall_offset = float(extra.get("wall_time_min", 0.0))
        states = extra.get("rank_rng")
        if states is not None and len(states) == self.dist.world_size:
            mine = states[self.dist.rank]
            self.agent.generator.set_state(mine["agent"])
            self.env.generator.set_state(mine["env"])
        elif self.dist.rank > 0:  # saved with another number of processes: fresh streams for the new ranks
            self.agent.generator.manual_seed(self.config.run.seed + 1_000_003 * self.dist.rank + self.agent.iteration)
            self.env.generator.manual_seed(self.config.run.seed + 1000 * self.dist.rank + self.agent.iteration)

    # ------------------------------------------------------------------------------------------------
    def train(self) -> dict[str, float]:
        """Train until ``run.max_samples`` or ``run.max_minutes``; returns the last logged row."""
        run = self.config.run
        start = time.perf_counter()
        last: dict[str, float] = {}
        bar = self._progress_bar()
        previous_handlers = {}
        if threading.current_thread() is threading.main_thread():
            if self.dist.enabled:
                # A rank interrupted inside a collective would leave the others waiting until the timeout:
                # the first Ctrl-C or SIGTERM only asks every rank to stop after the current iteration and save.
                # A SIGINT the process inherited ignored (a job started with `&` from a script) stays ignored,
                # as in the launcher and in a single process; SIGTERM still stops the run.
                for sig in (signal.SIGINT, signal.SIGTERM):
                    if signal.getsignal(sig) is not signal.SIG_IGN:
                        previous_handlers[sig] = signal.signal(sig, self._request_stop)
            else:  # SIGTERM (a scheduler, `timeout`, a closed terminal) saves as Ctrl-C does
                previous_handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, _terminated)
        try:
            while not self._done(start):
                t0 = time.perf_counter()
                stats = self._reduce_rollout_stats(collect(self.env, self.agent, self.buffer))
                metrics = self.agent.update(self.buffer)
                it = self.agent.iteration
                if self.dist.enabled and it % run.sync_check_every == 0:
                    self.dist.check_in_sync(self.agent.sync_modules())
                row = {
                    "iteration": float(it), "samples": float(self.agent.samples),
                    "wall_time_min": self._elapsed_min(start),
                    "charts/samples_per_s": self.buffer.num_steps * self.env.num_envs * self.dist.world_size
                    / (time.perf_counter() - t0),
                    # normalized like the test return: reward per step of the episodes that ended
                    "charts/train_return": stats.get("train_return", math.nan)
                    / stats.get("train_episode_length", math.nan),
                    "charts/episode_length_s": stats.get("train_episode_length", math.nan) * self.env.dt,
                    "charts/train_fall_rate": stats["num_falls"] / stats["num_episodes"] if stats["num_episodes"]
                    else math.nan,
                    "charts/reward_per_step": stats["reward_mean"],
                    **{f"losses/{k.removesuffix('_loss')}": float(v) for k, v in metrics.items()
                       if k.endswith("_loss") or k in ("clip_frac", "imp_ratio", "approx_kl")},
                    **{f"charts/{k}": float(v) for k, v in metrics.items()
                       if k.startswith(("adv_", "exp_prob", "skipped_", "actor_lr", "action_std"))},
                    **{f"amp/{k.removeprefix('amp_')}": float(v) for k, v in metrics.items() if k.startswith("amp_")},
                }
                self._watch_discriminator(row)
                if it % run.test_every == 0:
                    test = self.last_test = self.test()
                    score = self.test_score(test)
                    row.update({"charts/test_return": score,
                                "charts/test_speed_mps": test["mean_speed_mps"],
                                **{f"charts/test_{k}": test[k] for k in TASK_METRICS if k in test},
                                **{f"amp/test_{k.removeprefix('disc_')}": test[k] for k in DISC_METRICS if k in test},
                                "charts/test_normalized_return": test["normalized_return"],
                                "charts/test_mpjpe_m": test["mpjpe_m"],
                                "charts/body_pos_error_m": test["body_pos_error_m"],
                                "charts/test_fall_rate": test["fall_rate"],
                                "charts/test_episode_length_s": test["mean_episode_seconds"]})
                    if (best := test[self.best_key()]) > self.best_score:
                        self.best_score = best
                        self.save("best.pt", row)
                if self.logger is not None:
                    self.logger.log(row)
                last = row
                if it % run.checkpoint_every == 0:
                    self.save("latest.pt", row)
                if run.keep_every and it % run.keep_every == 0:
                    self.save(f"checkpoints/iter_{it:06d}.pt", row)
                if bar is not None:
                    self._update_bar(bar, row, start)
            if bar is not None and self._time_bounded() and self._late(start):
                bar.update(bar.total - bar.n)  # the time budget is spent: 100 %
            if last:
                self.save("latest.pt", last)
        except KeyboardInterrupt as exc:
            # The ranks may stand at different points: rank 0 saves on its own.
            if self.is_main:
                why = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
                print(f"\n{why}: saving {self.out_dir / 'latest.pt'}", flush=True)
                if last:
                    self.save("latest.pt", last, collective=False)
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            if bar is not None:
                bar.close()
            if self.logger is not None:
                self.logger.close()
        return last

    def test_score(self, test: dict[str, float]) -> float:
        """The test return logged and used to keep ``best.pt``: the tracking reward per step, or for a policy
        with no task (AMP's style alone, whose env reward is 0) the evaluator's ``style_score``."""
        return test["style_score"] if self.env.config.task == "none" else test["reward_per_step"]

    def best_key(self) -> str:
        """The test measure that keeps ``best.pt``: DeepMimic's normalized return (an early fall lowers it, so a
        policy that tracks well for one second and falls does not win over one that stays up), or for a policy
        with no task the evaluator's ``style_score``."""
        return "style_score" if self.env.config.task == "none" else "normalized_return"

    def _watch_discriminator(self, row: dict[str, float]) -> None:
        """Warn once when AMP's discriminator has won (accuracy > 0.95 on both sides for 20 iterations in a row:
        the style reward no longer guides the policy) or learns nothing (both within 0.5 +- 0.05 for the first
        20 iterations)."""
        if "amp/acc_expert" not in row or not self.is_main:
            return
        acc = (row["amp/acc_expert"], row["amp/acc_agent"])
        self._disc_won = self._disc_won + 1 if min(acc) > 0.95 else 0
        flat = all(abs(a - 0.5) < 0.05 for a in acc)
        self._disc_flat = self._disc_flat + 1 if flat and self._disc_flat >= 0 else -1
        message = None
        if self._disc_won == 20:
            message = ("the AMP discriminator has won (accuracy > 0.95 on expert and agent samples for 20 iterations): "
                       "its style reward no longer guides the policy; give it a bottleneck (agent.amp.vdb_dim=64), "
                       "raise agent.amp.grad_penalty or lower agent.amp.disc_lr (with one clip it often stays there "
                       "while the policy improves: judge the test rounds; benchmarks/amp_probe.py tells a pipeline "
                       "mismatch from a real difference)")
        elif self._disc_flat == 20:
            message = ("the AMP discriminator is learning nothing (accuracy near 0.5 for the first 20 iterations); "
                       "check env.amp_obs_steps and raise agent.amp.disc_lr")
        if message:
            print(f"mimic: warning: {message}", flush=True)

    def test(self) -> dict[str, float]:
        """Deterministic test episodes of the current policy, split over the ranks' test envs."""
        # no time-warped error: the log does not keep it, and it would add a quarter to the round
        res = evaluate(self.test_env, self.agent.policy(), episodes=self.test_episodes,
                       disc_logits=discriminator_of(self.agent), time_warp=False)
        if not self.dist.enabled:
            return res
        keys = [k for k in (*METRICS, *TASK_METRICS, *DISC_METRICS) if k in res]
        n = res["episodes"]
        vec = torch.tensor([res[k] * n if n else 0.0 for k in keys] + [float(n)], dtype=torch.float64)
        self.dist.sum_(vec)
        total = float(vec[-1])
        out = {k: float(v) / total if total else math.nan for k, v in zip(keys, vec[:-1].tolist(), strict=True)}
        return {**out, "episodes": int(total)}

    def save(self, name: str, row: dict[str, float], collective: bool = True) -> Path | None:
        """Write checkpoint ``name`` (rank 0); with ``collective``, every rank must call this together
        (the ranks' generator states are gathered into the file)."""
        rank_rng = None
        if self.dist.enabled and collective:
            rank_rng = self.dist.gather_objects({"agent": self.agent.generator.get_state(),
                                                 "env": self.env.generator.get_state()})
        if not self.is_main:
            return None
        extra = {"best_score": self.best_score, "best_key": self.best_key(),
                 "wall_time_min": row.get("wall_time_min", 0.0), "train_config": config_lib.to_dict(self.config),
                 "world_size": self.dist.world_size,
                 "start_sampler": self.env.starts.state_dict()}  # rank 0's fall statistics (adaptive starts)
        if rank_rng is not None:
            extra["rank_rng"] = rank_rng
        return save_checkpoint(self.out_dir / name, self.agent, self.env, extra=extra)

    def _reduce_rollout_stats(self, stats: dict[str, float]) -> dict[str, float]:
        """Episode statistics of one rollout over all ranks (weighted by episodes)."""
        if not self.dist.enabled:
            return stats
        n = stats.get("num_episodes", 0.0)
        vec = torch.tensor([stats.get("train_return", 0.0) * n, stats.get("train_episode_length", 0.0) * n, n,
                            stats["reward_mean"], stats["num_falls"]], dtype=torch.float64)
        self.dist.sum_(vec)
        out = {"num_episodes": float(vec[2]), "reward_mean": float(vec[3]) / self.dist.world_size,
               "num_falls": float(vec[4])}
        if vec[2] > 0:
            out.update(train_return=float(vec[0] / vec[2]), train_episode_length=float(vec[1] / vec[2]))
        return out

    def _request_stop(self, signum, frame) -> None:
        if self.stop_requested and signum == signal.SIGINT:  # a second Ctrl-C: abort now
            raise KeyboardInterrupt
        first = not self.stop_requested
        self.stop_requested = True
        if self.is_main and first:
            why = "interrupted" if signum == signal.SIGINT else "terminated (SIGTERM)"
            print(f"\n{why}: stopping every rank after this iteration and saving latest.pt "
                  "(Ctrl-C again to abort)", flush=True)

    def _elapsed_min(self, start: float) -> float:
        """Minutes trained, including the time before a resume."""
        return self.wall_offset + (time.perf_counter() - start) / 60.0

    def _time_bounded(self) -> bool:
        run = self.config.run
        return bool(run.max_minutes) and not run.max_samples

    def _late(self, start: float) -> bool:
        run = self.config.run
        return bool(run.max_minutes) and self._elapsed_min(start) >= run.max_minutes

    def _done(self, start: float) -> bool:
        run = self.config.run
        if run.max_samples and self.agent.samples >= run.max_samples:
            return True  # the sample counter is the same on every rank
        return self.dist.any(self._late(start) or self.stop_requested)  # clocks and Ctrl-C differ: stop together

    def _progress_bar(self):
        """A tqdm bar over samples (``max_samples``) or over seconds (``max_minutes``: elapsed and remaining
        time, percentage), or None without progress."""
        if not self.progress:
            return None
        from tqdm import tqdm

        run = self.config.run
        if self._time_bounded():
            total = round(run.max_minutes * 60)
            return tqdm(total=total, initial=min(total, round(self.wall_offset * 60)), dynamic_ncols=True,
                        bar_format="{percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")
        return tqdm(total=run.max_samples or None, initial=int(self.agent.samples), unit="samples", unit_scale=True,
                    dynamic_ncols=True)

    def _update_bar(self, bar, row: dict[str, float], start: float) -> None:
        """Advance the bar (samples, or seconds when time-bounded) and show speed, samples and the last test."""
        if self._time_bounded():
            bar.update(max(0, min(bar.total, round(self._elapsed_min(start) * 60)) - bar.n))
        else:
            bar.update(int(self.agent.samples) - bar.n)
        post = {"sps": f"{row['charts/samples_per_s']:.0f}"}
        if self._time_bounded():
            post["samples"] = f"{self.agent.samples / 1e6:.2f}M"
        if self.last_test:
            post["test"] = f"{self.test_score(self.last_test):.3f}"
            post["fall"] = f"{self.last_test['fall_rate']:.0%}"
        if self.best_score > -math.inf:
            post["best"] = f"{self.best_score:.3f}"
        bar.set_postfix(post, refresh=False)
