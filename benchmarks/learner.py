"""Training speed: the PPO update alone and the full training loop, old settings against the new defaults.

One process, one run, both settings measured side by side (interleaved rounds, so machine noise hits
both alike) on the walk clip with the same environment:

- ``baseline``: the learner as it was before the time-to-quality work: fp32, 1024-512 actor and
  critic, the update on one torch thread, optimizers stepped parameter by parameter, 256 characters
  of 32 steps per iteration and minibatches of 1,024 samples, MuJoCo's default solver options and
  contact detection (``agent.precision=fp32 agent.actor_hidden=[1024,512] agent.critic_hidden=[1024,512]
  agent.update_threads=1 agent.fused_optimizer=false run.num_envs=256 agent.steps_per_iter=32
  agent.actor_batch_size=4 agent.critic_batch_size=4 env.engine.fast_solver=false
  env.engine.ground_pairs=false env.compile=false``). The env's own code is today's for both (its earlier speed-ups have
  no switch), so the baseline is faster than the loop was before the time-to-quality work;
- ``new``: the preset as shipped (``fast`` by default), with its own number of characters.

For each: samples/s of ``PPOAgent.update`` alone (rollout samples per second of update time), and
samples/s of the full loop (``collect`` + ``update``), with the loop's time split into physics
(inside MuJoCo's step), env math (the rest of ``env.step``: reference poses, observations, reward,
terminations, resets), inference (``agent.act``), update, and other (the rollout's own bookkeeping).
Test rounds are not part of the loop.

Run: ``python benchmarks/learner.py [--config fast] [--num-envs N] [--iters 4] [--rounds 2] [--json]
[--also NAME KEY=VALUE ...]`` (``--also`` measures more settings in the same run, e.g.
``--also small "agent.actor_hidden=[512, 256]" "agent.critic_hidden=[512, 256]"``).
``--json`` prints one JSON line last with ``baseline_samples_per_s``, ``samples_per_s``, ``ratio``,
``physics_share``, ``update_share`` (the new settings' loop), ``round_ratios`` (each round's loop ratio: the
two settings' rounds run seconds apart, so a host whose speed drifts moves both alike) with their
``median_round_ratio``, and the details of both settings (``first_iteration_s``: the untimed first
iteration, which with ``env.compile`` includes compiling the env's math).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import time

import torch

from mimic.agents.ppo import PPOAgent
from mimic.agents.rollout import RolloutBuffer, collect
from mimic.envs.tracking import ImitationEnv
from mimic.training.config import TrainConfig, load_train_config

BASELINE = ["agent.precision=fp32", "agent.actor_hidden=[1024, 512]", "agent.critic_hidden=[1024, 512]",
            "agent.update_threads=1", "agent.fused_optimizer=false", "run.num_envs=256", "agent.steps_per_iter=32",
            "agent.actor_batch_size=4", "agent.critic_batch_size=4", "env.engine.fast_solver=false",
            "env.engine.ground_pairs=false", "env.compile=false"]


class Setting:
    """An env, agent and buffer for one configuration, with timers around the loop's parts."""

    def __init__(self, name: str, cfg: TrainConfig, num_envs: int) -> None:
        self.name = name
        self.env = ImitationEnv(cfg.env, num_envs=num_envs, seed=0)
        self.agent = PPOAgent(self.env.obs_dim, self.env.action_dim, cfg.agent)
        self.buffer = RolloutBuffer(cfg.agent.steps_per_iter, num_envs, self.env.obs_dim, self.env.action_dim)
        self.times: collections.Counter[str] = collections.Counter()
        self.loop_samples = 0
        self.update_time = 0.0
        self.update_samples = 0
        self._timing = False
        self._wrap(self.env.engine, "step", "physics")
        self._wrap(self.env, "step", "env_step")
        self._wrap(self.agent, "act", "inference")
        self._wrap(self.agent, "update", "update")

    def _wrap(self, obj, method: str, key: str) -> None:
        inner = getattr(obj, method)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            out = inner(*args, **kwargs)
            if self._timing:
                self.times[key] += time.perf_counter() - start
            return out

        setattr(obj, method, timed)

    def iterate(self, timed: bool) -> None:
        """One training iteration (collect + update), counted when ``timed``."""
        self._timing = timed
        start = time.perf_counter()
        collect(self.env, self.agent, self.buffer)
        self.agent.update(self.buffer)
        if timed:
            self.times["total"] += time.perf_counter() - start
            self.loop_samples += self.buffer.num_steps * self.buffer.num_envs
        self._timing = False

    def time_update(self, repeats: int) -> None:
        """The update alone, ``repeats`` times on the last rollout."""
        for _ in range(repeats):
            start = time.perf_counter()
            self.agent.update(self.buffer)
            self.update_time += time.perf_counter() - start
            self.update_samples += self.buffer.num_steps * self.buffer.num_envs

    def result(self) -> dict:
        t = self.times
        total = t["total"]
        env_math = t["env_step"] - t["physics"]
        cfg = self.agent.config
        return {
            "precision": self.agent.precision, "actor_hidden": cfg.actor_hidden, "critic_hidden": cfg.critic_hidden,
            "update_threads": self.agent.update_threads, "num_envs": self.buffer.num_envs,
            "steps_per_iter": self.buffer.num_steps,
            "samples_per_s": self.loop_samples / total,
            "update_samples_per_s": self.update_samples / self.update_time,
            "physics_share": t["physics"] / total, "env_math_share": env_math / total,
            "inference_share": t["inference"] / total, "update_share": t["update"] / total,
            "other_share": (total - t["env_step"] - t["inference"] - t["update"]) / total,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="fast", help="preset of the new settings (default fast)")
    parser.add_argument("--num-envs", type=int, default=None,
                        help="characters of every setting (default: each setting's run.num_envs)")
    parser.add_argument("--iters", type=int, default=4, help="timed loop iterations per round and setting (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--also", nargs="+", action="append", default=[], metavar="NAME [KEY=VALUE]",
                        help="another setting to measure alongside: a name, then overrides of the preset")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the trainer: env math and acting on one thread

    settings = []
    for name, *overrides in [("baseline", *BASELINE), ("new",), *args.also]:
        cfg = load_train_config(args.config, overrides)
        cfg.env.clips = ["walk"]
        settings.append(Setting(name, cfg, args.num_envs or cfg.run.num_envs))
    first_iteration_s = {}  # the untimed first iteration: with env.compile, the compilation
    for s in settings:  # warm-up: first rollouts, allocator, oneDNN kernels, env.compile
        start = time.perf_counter()
        s.iterate(timed=False)
        first_iteration_s[s.name] = time.perf_counter() - start
        s.iterate(timed=False)
    round_rates: dict[str, list[float]] = {s.name: [] for s in settings}  # loop samples/s of each round
    for _ in range(args.rounds):
        for s in settings:
            time0, samples0 = s.times["total"], s.loop_samples
            for _ in range(args.iters):
                s.iterate(timed=True)
            round_rates[s.name].append((s.loop_samples - samples0) / (s.times["total"] - time0))
            s.time_update(args.iters)

    results = {s.name: {**s.result(), "first_iteration_s": first_iteration_s[s.name]} for s in settings}
    base, new = results["baseline"], results["new"]
    print(f"{'setting':>9} {'precision':>9} {'actor':>10} {'critic':>10} {'thr':>3} {'envs x T':>8} {'update/s':>9} "
          f"{'loop/s':>8} {'physics':>8} {'env math':>8} {'infer':>6} {'update':>7} {'other':>6} {'ratio':>6}")
    for name, r in results.items():
        print(f"{name:>9} {r['precision']:>9} {'-'.join(map(str, r['actor_hidden'])):>10} "
              f"{'-'.join(map(str, r['critic_hidden'])):>10} {r['update_threads']:>3} "
              f"{str(r['num_envs']) + ' x ' + str(r['steps_per_iter']):>8} {r['update_samples_per_s']:>9,.0f} "
              f"{r['samples_per_s']:>8,.0f} {r['physics_share']:>8.0%} "
              f"{r['env_math_share']:>8.0%} {r['inference_share']:>6.0%} {r['update_share']:>7.0%} "
              f"{r['other_share']:>6.0%} {r['samples_per_s'] / base['samples_per_s']:>5.2f}x")
    ratio = new["samples_per_s"] / base["samples_per_s"]
    update_ratio = new["update_samples_per_s"] / base["update_samples_per_s"]
    # each round's ratio pairs rounds run a few seconds apart: a host whose speed drifts moves both alike
    round_ratios = [n / b for n, b in zip(round_rates["new"], round_rates["baseline"], strict=True)]
    print(f"full loop: {ratio:.2f}x, update alone: {update_ratio:.2f}x (one process; characters: "
          + ", ".join(f"{s.name} {s.buffer.num_envs}" for s in settings) + ")")
    print(f"full loop per round: {', '.join(f'{r:.2f}x' for r in round_ratios)} "
          f"(median {statistics.median(round_ratios):.2f}x)")
    print("first iteration (untimed; with env.compile it compiles): "
          + ", ".join(f"{name} {t:.1f} s" for name, t in first_iteration_s.items()))
    if args.json:
        print(json.dumps({"baseline_samples_per_s": round(base["samples_per_s"]),
                          "samples_per_s": round(new["samples_per_s"]), "ratio": round(ratio, 3),
                          "physics_share": round(new["physics_share"], 3),
                          "update_share": round(new["update_share"], 3),
                          "update_ratio": round(update_ratio, 3),
                          "round_ratios": [round(r, 3) for r in round_ratios],
                          "median_round_ratio": round(statistics.median(round_ratios), 3),
                          **results}))


if __name__ == "__main__":
    main()
