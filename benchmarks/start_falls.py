"""Which start phases of a clip end in a fall? Falls of a policy's deterministic episodes, by where they started.

For a policy trained on several clips (a dataset, e.g. ``amp_steer``) or on one, every character starts on
``--clip`` at a uniform random time (reference state initialization, as in training) and the policy acts
for ``--seconds``; the falls are counted per start-phase bin of the clip's cycle, with the time of each
fall, and, for the steering task, per angle between the first target and the start heading and per first
target speed.

Run: ``python benchmarks/start_falls.py amp_steer --clip run [--episodes 256] [--seconds 3] [--bins 20]
[--lift] [--handover TRACKER:STEPS] [--action-std S] [--mirror off|image|mean] [--start-at T ...]
[--set env.KEY=VALUE] [--json]`` (``--lift`` starts lifted
out of the floor, ``env.lift_at_reset=true``; ``--set env.ref_velocities=central`` changes a field of the env).
``--handover run:6`` lets a tracking controller of the clip (here the shipped ``run``) play the first 6
control steps from the same starts; the policy then takes over from the simulated state the tracker reached:
does the policy fail at the start itself, or at any point of the clip's motion? The bins stay those of the
start phase. The tracker must run under the policy's physics (PD backend, damping, rates), else it is an
error. Only the simulated state moves, not the policy's env's own reference clock, so this is for
policies that see no phase (AMP's). ``--action-std 0.1`` adds noise of that std to the mean actions at every
step, as exploration does in training: does any nearby action get through the starts the mean action falls
from (if none does, PPO has nothing to learn from)? ``--start-at 1.50 1.56 1.60`` starts the episodes at
these times of the clip (in turn) instead of uniform ones and counts the falls per start time: the spin's
take-off, ``docs/skills.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace

import torch

from mimic.character import rotations as rot
from mimic.envs.mirror import Mirror, mirrored_policy
from mimic.envs.terminations import DoneReason
from mimic.errors import MimicError
from mimic.motion.bundled import clip_labels, clip_short_name
from mimic.policies import load_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("policy", help="a shipped controller's name, a run directory or a checkpoint")
    parser.add_argument("--clip", required=True,
                        help="the start clip: one of the policy's clips, by name (a retimed one as run@0.8x)")
    parser.add_argument("--episodes", type=int, default=256, help="episodes, all at once (default 256)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per episode (default 3)")
    parser.add_argument("--bins", type=int, default=20, help="start-phase bins (default 20)")
    parser.add_argument("--lift", action="store_true", help="start lifted out of the floor (env.lift_at_reset)")
    parser.add_argument("--handover", metavar="TRACKER:STEPS",
                        help="a tracking controller of --clip plays the first STEPS control steps, then the policy")
    parser.add_argument("--action-std", type=float, default=0.0,
                        help="add Gaussian noise of this std to the policy's mean actions (normalized units), as "
                             "exploration does in training: does any nearby action get out? (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="the action noise's seed (default 0)")
    parser.add_argument("--set", dest="env_overrides", metavar="env.KEY=VALUE", action="append", default=[],
                        help="change a field of the policy's env config, e.g. env.ref_velocities=central "
                             "(repeatable), as `mimic eval --set` does")
    parser.add_argument("--mirror", choices=("off", "image", "mean"), default="off",
                        help="act as the policy's left-right mirror image (image) or the mean of its action and "
                             "its image's (mean) instead of the policy itself (off, default): does it fall where "
                             "its mirror image does not? (mimic.envs.mirror)")
    parser.add_argument("--start-at", type=float, nargs="+", metavar="T",
                        help="start the episodes at these times of the clip (s), in turn, instead of uniform "
                             "ones (reference state initialization) and count the falls per start time")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()

    def only_clip(cfg):  # the clip's weight alone non-zero, as `mimic eval --by-clip` does
        names = clip_labels(cfg.clips, cfg.clip_rates)
        if args.clip not in names:
            raise MimicError(f"--clip {args.clip!r} is not one of the policy's clips: {', '.join(names)}")
        weights = [float(name == args.clip) for name in names]
        cfg = replace(cfg, clip_weights=weights, lift_at_reset=True if args.lift else cfg.lift_at_reset)
        return cfg.with_overrides(args.env_overrides)

    agent, env, _ = load_policy(args.policy, args.episodes, env_change=only_clip)
    policy = mirrored_policy(agent.policy(), Mirror.of(env), args.mirror) if args.mirror != "off" else agent.policy()
    if args.start_at:
        if args.handover:
            raise MimicError("--start-at and --handover: the tracker starts at its own env's times; use one")
        env.starts = _FixedStarts(env.starts, args.start_at)
    obs = env.reset()
    n = args.episodes
    clip = int(env.clip_ids[0])
    phase = env.motion.phase(env.clip_ids, env.motion_time).cpu()
    t0, who = 0.0, ""  # seconds the tracker played before the policy took over
    if args.handover:
        tracker, steps = _parse_handover(args.handover)
        obs, phase = _handover(tracker, steps, env, args.clip)
        t0 = steps * env.dt
        who = f" after {tracker} played {t0:.2f} s"
    rel_deg = speed = None
    if env.task is not None:  # the steering task
        speed = env.task.speed.cpu().double()
        heading = rot.calc_heading(env.engine.root_rot).cpu().double()
        rel = torch.remainder(env.task.angle.cpu().double() - heading + math.pi, 2 * math.pi) - math.pi
        rel_deg = torch.rad2deg(rel).abs()
    fell = torch.zeros(n, dtype=torch.bool)
    when = torch.full((n,), math.nan)
    alive = torch.ones(n, dtype=torch.bool)
    steps = round(args.seconds / env.dt)
    noise = torch.Generator().manual_seed(args.seed)
    for k in range(steps):
        with torch.no_grad():
            action = policy(obs)
            if args.action_std > 0:
                action = action + args.action_std * torch.randn(action.shape, generator=noise).to(action)
            obs, _, done, _ = env.step(action)
        done = done.cpu()
        f = (done == DoneReason.FAIL) & alive
        fell |= f
        when[f] = t0 + (k + 1) * env.dt
        alive &= done == 0
    bins = (phase * args.bins).long().clamp(0, args.bins - 1)
    rows, by_start = [], []
    if args.action_std > 0:
        who += f", actions with noise of std {args.action_std:g}"
    print(f"{args.policy} starting on {args.clip} (duration {float(env.motion.durations[clip]):.3f} s){who}: "
          f"{int(fell.sum())} of {n} episodes fall within {args.seconds:g} s")
    if args.start_at:
        by_start = _by_start(args.start_at, fell, when)
    else:
        print(f"{'phase':>11} {'falls':>6} {'starts':>6}  fall times (s after the start)")
        for b in range(args.bins):
            m = bins == b
            times = sorted(round(float(t), 2) for t in when[m & fell])
            rows.append({"phase": [b / args.bins, (b + 1) / args.bins], "falls": int(fell[m].sum()),
                         "starts": int(m.sum()), "fall_seconds": times})
            print(f"{b / args.bins:5.2f}-{(b + 1) / args.bins:4.2f} {int(fell[m].sum()):6d} {int(m.sum()):6d}  {times}")
    by_turn = []
    if rel_deg is not None:
        for lo in range(0, 180, 45):
            m = (rel_deg >= lo) & (rel_deg < lo + 45)
            by_turn.append({"turn_deg": [lo, lo + 45], "falls": int(fell[m].sum()), "starts": int(m.sum())})
        print("first target's angle from the start heading: " + ", ".join(
            f"{r['turn_deg'][0]}-{r['turn_deg'][1]} deg {r['falls']}/{r['starts']}" for r in by_turn))
    by_speed = []
    if speed is not None:
        edges = torch.linspace(float(speed.min()), float(speed.max()) + 1e-6, 5).tolist()
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            m = (speed >= lo) & (speed < hi)
            by_speed.append({"speed_mps": [round(lo, 2), round(hi, 2)], "falls": int(fell[m].sum()),
                             "starts": int(m.sum())})
        print("first target's speed: " + ", ".join(
            f"{r['speed_mps'][0]:.1f}-{r['speed_mps'][1]:.1f} m/s {r['falls']}/{r['starts']}" for r in by_speed))
    if args.json:
        print(json.dumps({"policy": args.policy, "clip": args.clip, "falls": int(fell.sum()), "episodes": n,
                          "by_phase": rows, "by_start": by_start, "by_turn": by_turn, "by_speed": by_speed}))


class _FixedStarts:
    """Start times ``times`` (s) in turn for every reset env instead of the env's sampler's; clips by the
    clip weights as before. Falls are passed on to the env's own sampler."""

    def __init__(self, sampler, times: list[float]) -> None:
        self.sampler, self.times = sampler, torch.tensor(times, dtype=torch.float64)

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        clip_ids = self.sampler.motion.sample_clips(n, generator=generator)
        times = self.times[torch.arange(n) % len(self.times)]
        return clip_ids, times.to(self.sampler.motion.device)

    def __getattr__(self, name: str):
        return getattr(self.sampler, name)


def _by_start(start_at: list[float], fell: torch.Tensor, when: torch.Tensor) -> list[dict]:
    """Print and return the falls per ``--start-at`` time, from the first episodes' falls (N,) bool and fall
    times (N,) (env i started at ``start_at[i % len(start_at)]``)."""
    times = torch.tensor(start_at, dtype=torch.float64)[torch.arange(len(fell)) % len(start_at)]
    print(f"{'start (s)':>9} {'falls':>6} {'starts':>6}  fall times (s after the start)")
    rows = []
    for t in start_at:
        m = times == t
        fall_times = sorted(round(float(x), 2) for x in when[m & fell])
        rows.append({"start": t, "falls": int(fell[m].sum()), "starts": int(m.sum()), "fall_seconds": fall_times})
        print(f"{t:9.3f} {int(fell[m].sum()):6d} {int(m.sum()):6d}  {fall_times}")
    return rows


def _parse_handover(spec: str) -> tuple[str, int]:
    """(tracker, steps) of ``--handover TRACKER:STEPS``."""
    name, _, steps = spec.rpartition(":")
    if not name or not steps.isdigit():
        raise MimicError(f"--handover wants TRACKER:STEPS (e.g. run:6), got {spec!r}")
    return name, int(steps)


def _handover(name: str, steps: int, env, clip: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Let tracker ``name`` play ``steps`` control steps from ``env.num_envs`` starts on ``clip``, move ``env``
    to the state it reached; returns ``env``'s observation (N, D) and the start phases (N,)."""
    tracker, tenv, _ = load_policy(name, env.num_envs)
    tracked = [clip_short_name(c) for c in tenv.config.clips]
    if tracked != [clip]:
        raise MimicError(f"--handover: {name} tracks {', '.join(tracked)}, not {clip}")
    differ = tenv.engine.config.physics_differences(env.engine.config)
    if differ:  # the tracker's part would be simulated under physics the policy's env does not have
        raise MimicError(f"--handover: {name} runs under other physics than the policy's env ({'; '.join(differ)}); "
                         f"set the policy's with --set (e.g. env.engine.pd_backend=...)")
    tpolicy = tracker.policy()
    tobs = tenv.reset()
    phase = tenv.motion.phase(tenv.clip_ids, tenv.motion_time).cpu()
    for _ in range(steps):
        with torch.no_grad():
            tobs, _, done, _ = tenv.step(tpolicy(tobs))
        if bool((done == DoneReason.FAIL).any()):
            raise MimicError(f"--handover: {name} fell within its {steps} steps; take fewer")
    e = tenv.engine
    env.engine.set_state(None, e.root_pos, e.root_rot, e.root_vel, e.root_ang_vel, e.joint_pos, e.dof_vel)
    return env.observe(), phase


if __name__ == "__main__":
    try:
        main()
    except MimicError as exc:
        print(f"start_falls: error: {exc}", file=sys.stderr)
        sys.exit(2)
