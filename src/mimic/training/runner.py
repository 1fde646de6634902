"""A training run: PPO on the imitation environment, with test rounds, logs and checkpoints.

A run directory holds ``config.yaml`` (the resolved configuration), ``log.csv`` and TensorBoard
events (``tb/``), ``latest.pt`` (written atomically every ``run.checkpoint_every`` iterations, on
Ctrl-C and at the end) and ``best.pt`` (the best test return so far). ``resume=True`` continues
from ``latest.pt`` with the same iteration and sample counters, normalizer and RNG states.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import yaml

from mimic import config as config_lib
from mimic.agents.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mimic.agents.ppo import PPOAgent
from mimic.agents.rollout import RolloutBuffer, collect
from mimic.envs.tracking import ImitationEnv
from mimic.errors import MimicError
from mimic.eval.evaluator import evaluate
from mimic.training.config import TrainConfig
from mimic.training.logger import RunLogger


class Trainer:
    """Owns the env, test env, agent, buffer and logger of one run.

    Args:
        config: the run's :class:`TrainConfig`.
        out_dir: the run directory (created).
        resume: continue from ``out_dir/latest.pt``.
        progress: show a progress bar.
    """

    def __init__(self, config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True) -> None:
        self.config = config
        self.out_dir = Path(out_dir)
        self.progress = progress
        # Env math runs between MuJoCo calls; torch worker threads would spin on MuJoCo's cores.
        torch.set_num_threads(1)
        run = config.run
        config.agent.seed = run.seed
        if resume and not (self.out_dir / "latest.pt").is_file():
            raise MimicError(f"{self.out_dir}: nothing to resume (no latest.pt)")
        if not resume and (self.out_dir / "latest.pt").is_file():
            raise MimicError(f"{self.out_dir}: holds a run already; pass --resume to continue it or choose "
                             "another --out")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.env = ImitationEnv(config.env, num_envs=run.num_envs, seed=run.seed)
        self.test_env = ImitationEnv(config.env, num_envs=run.test_envs, seed=run.seed + 10_000)
        self.agent = PPOAgent(self.env.obs_dim, self.env.action_dim, config.agent, device=run.device)
        self.buffer = RolloutBuffer(config.agent.steps_per_iter, run.num_envs, self.env.obs_dim, self.env.action_dim,
                                    device=run.device)
        self.best_test_return = -math.inf
        self.wall_offset = 0.0  # minutes trained before a resume
        if resume:
            extra = read_checkpoint(self.out_dir / "latest.pt").get("extra", {})
            load_checkpoint(self.out_dir / "latest.pt", self.agent, self.env, device=run.device)
            self.best_test_return = float(extra.get("best_test_return", -math.inf))
            self.wall_offset = float(extra.get("wall_time_min", 0.0))
        (self.out_dir / "config.yaml").write_text(yaml.safe_dump(config_lib.to_dict(config), sort_keys=False))
        self.logger = RunLogger(self.out_dir, echo=not progress)

    # ------------------------------------------------------------------------------------------------
    def train(self) -> dict[str, float]:
        """Train until ``run.max_samples`` or ``run.max_minutes``; returns the last logged row."""
        run = self.config.run
        start = time.perf_counter()
        last: dict[str, float] = {}
        bar = self._progress_bar()
        try:
            while not self._done(start):
                t0 = time.perf_counter()
                stats = collect(self.env, self.agent, self.buffer)
                metrics = self.agent.update(self.buffer)
                it = self.agent.iteration
                row = {
                    "iteration": float(it), "samples": float(self.agent.samples),
                    "wall_time_min": self.wall_offset + (time.perf_counter() - start) / 60.0,
                    "charts/samples_per_s": self.buffer.num_steps * self.env.num_envs / (time.perf_counter() - t0),
                    # normalized like the test return: reward per step of the episodes that ended
                    "charts/train_return": stats.get("train_return", math.nan)
                    / stats.get("train_episode_length", math.nan),
                    "charts/episode_length_s": stats.get("train_episode_length", math.nan) * self.env.dt,
                    "charts/reward_per_step": stats["reward_mean"],
                    **{f"losses/{k.removesuffix('_loss')}": float(v) for k, v in metrics.items()
                       if k.endswith("_loss") or k in ("clip_frac", "imp_ratio")},
                    **{f"charts/{k}": float(v) for k, v in metrics.items() if k.startswith(("adv_", "exp_prob"))},
                }
                if it % run.test_every == 0:
                    test = self.test()
                    row.update({"charts/test_return": test["normalized_return"],
                                "charts/body_pos_error_m": test["body_pos_error_m"],
                                "charts/test_fall_rate": test["fall_rate"],
                                "charts/test_episode_length_s": test["mean_episode_seconds"]})
                    if test["normalized_return"] > self.best_test_return:
                        self.best_test_return = test["normalized_return"]
                        self.save("best.pt", row)
                self.logger.log(row)
                last = row
                if it % run.checkpoint_every == 0:
                    self.save("latest.pt", row)
                if bar is not None:
                    bar.update(int(self.agent.samples) - bar.n)
                    bar.set_postfix(sps=f"{row['charts/samples_per_s']:.0f}",
                                    test=f"{self.best_test_return:.3f}" if self.best_test_return > -math.inf else "-")
        except KeyboardInterrupt:
            print(f"\ninterrupted: saving {self.out_dir / 'latest.pt'}", flush=True)
        finally:
            if last:
                self.save("latest.pt", last)
            if bar is not None:
                bar.close()
            self.logger.close()
        return last

    def test(self) -> dict[str, float]:
        """Deterministic test episodes of the current policy on the test env."""
        return evaluate(self.test_env, lambda obs: self.agent.act(obs, deterministic=True).env_action,
                        episodes=self.config.run.test_episodes)

    def save(self, name: str, row: dict[str, float]) -> Path:
        extra = {"best_test_return": self.best_test_return, "wall_time_min": row.get("wall_time_min", 0.0),
                 "train_config": config_lib.to_dict(self.config)}
        return save_checkpoint(self.out_dir / name, self.agent, self.env, extra=extra)

    def _done(self, start: float) -> bool:
        run = self.config.run
        if run.max_samples and self.agent.samples >= run.max_samples:
            return True
        return bool(run.max_minutes) and self.wall_offset + (time.perf_counter() - start) / 60.0 >= run.max_minutes

    def _progress_bar(self):
        if not self.progress:
            return None
        from tqdm import tqdm

        total = self.config.run.max_samples or None
        return tqdm(total=total, initial=int(self.agent.samples), unit="samples", unit_scale=True, dynamic_ncols=True)
