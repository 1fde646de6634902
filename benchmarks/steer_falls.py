"""When does a steering policy fall while under way? Its falls against the target changes before them.

Every character plays one deterministic episode of ``--seconds`` (the policy's mean action, starts drawn as
``mimic eval`` draws them: uniform over the policy's clips by their weights); the task changes each one's
target at random every few seconds. Each fall is put with the last target change before it: how long
before, how far the new target turned from the character's heading then, and the speeds asked before and
after, next to how often each kind of change happened. Falls within ``--start-seconds`` of the start with
no change since are counted apart (start falls: ``benchmarks/start_falls.py`` breaks those down).

Run: ``python benchmarks/steer_falls.py amp_steer [MORE_POLICIES...] [--episodes 512] [--seconds 30]
[--after 3] [--set env.KEY=VALUE] [--seed S [--seed S2 ...]] [--mirror off|image|mean] [--json]``. A change
"leads to" a fall when the fall comes within ``--after`` seconds of it, before the next change.

Picking among checkpoints: falls this rare move by several from one set of episodes to the next, so give
several policies (a run's ``checkpoints/*.pt``) and two seeds; a last table counts every policy's falls on
each seed and in all, on the same episodes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

from mimic.character import rotations as rot
from mimic.envs.mirror import Mirror, mirrored_policy
from mimic.envs.terminations import DoneReason
from mimic.errors import MimicError
from mimic.policies import load_policy

TURN_BINS = (0, 45, 90, 135, 180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("policies", nargs="+", metavar="policy",
                        help="a shipped steering controller's name, a run directory or a checkpoint (several: each "
                             "on the same episodes)")
    parser.add_argument("--episodes", type=int, default=512, help="episodes, all at once (default 512)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per episode (default 30)")
    parser.add_argument("--after", type=float, default=3.0,
                        help="a fall within this many seconds of a target change is put with it (default 3)")
    parser.add_argument("--start-seconds", type=float, default=2.5,
                        help="a fall this soon after the start, with no change since, is a start fall (default 2.5)")
    parser.add_argument("--set", dest="env_overrides", metavar="env.KEY=VALUE", action="append", default=[],
                        help="change a field of the policy's env config (repeatable), as `mimic eval --set` does")
    parser.add_argument("--seed", dest="seeds", type=int, action="append", default=None,
                        help="seed of the starts and targets (default: the run's seed + 20000, as `mimic eval`); "
                             "another seed gives fresh episodes, to confirm a checkpoint picked on the default ones; "
                             "repeat it to measure on each")
    parser.add_argument("--mirror", choices=("off", "image", "mean"), default="off",
                        help="act as the policy's left-right mirror image (image) or the mean of its action and "
                             "its image's (mean) instead of the policy itself (off, default): does it fall where "
                             "its mirror image does not? (mimic.envs.mirror)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per policy and seed")
    args = parser.parse_args()
    seeds = args.seeds or [None]
    summary = []
    for name in args.policies:
        for seed in seeds:
            result = measure(name, seed, args)
            summary.append(result)
            if args.json:
                print(json.dumps(result))
    if len(summary) > 1:
        _print_summary(summary, seeds)


def _print_summary(results: list[dict], seeds: list[int | None]) -> None:
    """One row per policy: its falls on each seed and in all, with the start falls and those after a change."""
    label = [("default" if s is None else str(s)) for s in seeds]
    width = max(len(r["policy"]) for r in results)
    print(f"\n{'policy':<{width}}  " + "  ".join(f"seed {x:>7}" for x in label) + "    all  start  after change")
    for i in range(0, len(results), len(seeds)):
        rows = results[i:i + len(seeds)]
        print(f"{rows[0]['policy']:<{width}}  " + "  ".join(f"{r['falls']:12d}" for r in rows)
              + f"  {sum(r['falls'] for r in rows):5d}  {sum(len(r['start_falls']) for r in rows):5d}"
              + f"  {sum(r['after_change'] for r in rows):12d}")


def measure(name: str, seed: int | None, args: argparse.Namespace) -> dict:
    """Play ``args.episodes`` episodes of policy ``name`` on the episodes of ``seed``; print the breakdown and
    return it (the JSON line's fields)."""
    overrides = [*args.env_overrides, f"env.episode_seconds={args.seconds}"]
    agent, env, _ = load_policy(name, args.episodes, env_change=lambda cfg: cfg.with_overrides(overrides), seed=seed)
    if env.task is None:
        raise MimicError(f"{name} has no steering task (env.task: none)")
    policy = mirrored_policy(agent.policy(), Mirror.of(env), args.mirror) if args.mirror != "off" else agent.policy()
    obs = env.reset()
    n = args.episodes
    task = env.task
    alive = torch.ones(n, dtype=torch.bool)
    fall_time = torch.full((n,), math.nan)
    # every change while up: its time, turn from the heading then (deg), asked speeds, own speed
    changes: list[dict] = []
    change_of = torch.full((n,), -1, dtype=torch.long)  # each character's last change (index in changes)
    steps = round(args.seconds / env.dt)
    for k in range(steps):
        angle, speed = task.angle.cpu().clone(), task.speed.cpu().clone()
        with torch.no_grad():
            obs, _, done, _ = env.step(policy(obs))
        done = done.cpu()
        t = (k + 1) * env.dt
        fell = (done == DoneReason.FAIL) & alive
        fall_time[fell] = t
        alive &= done == 0
        changed = alive & ((task.angle.cpu() != angle) | (task.speed.cpu() != speed))
        if bool(changed.any()):
            heading = rot.calc_heading(env.engine.root_rot).cpu().double()
            rel = torch.remainder(task.angle.cpu().double() - heading + math.pi, 2 * math.pi) - math.pi
            own = env.engine.root_vel[:, :2].norm(dim=-1).cpu()
            for i in torch.nonzero(changed).squeeze(-1).tolist():
                change_of[i] = len(changes)
                changes.append({"time": t, "turn_deg": abs(math.degrees(float(rel[i]))), "from_mps": float(speed[i]),
                                "to_mps": float(task.speed[i]), "own_mps": float(own[i]), "fall_after": None})
        if not bool(alive.any()):
            break
    falls = torch.nonzero(~torch.isnan(fall_time)).squeeze(-1).tolist()
    start_falls, steady, led = [], [], 0
    for i in falls:
        t = float(fall_time[i])
        c = int(change_of[i])
        if c < 0:
            (start_falls if t <= args.start_seconds else steady).append(round(t, 2))
            continue
        since = t - changes[c]["time"]
        if since <= args.after:
            changes[c]["fall_after"] = round(since, 2)
            led += 1
        else:
            steady.append(round(t, 2))
    on = "" if seed is None else f" (seed {seed})"
    print(f"{name}{on}: {len(falls)} of {n} episodes of {args.seconds:g} s fall; {len(changes)} target changes "
          f"while up")
    print(f"  start falls (within {args.start_seconds:g} s, no change yet): {len(start_falls)} {sorted(start_falls)}")
    print(f"  within {args.after:g} s of a target change: {led}")
    print(f"  later, under a steady target: {len(steady)} {sorted(steady)}")
    table = []
    print(f"{'turn (deg)':>11} {'changes':>8} {'falls':>6}  seconds after the change; asked speed before -> after"
          f" (own speed)")
    for lo, hi in zip(TURN_BINS[:-1], TURN_BINS[1:], strict=True):
        rows = [c for c in changes if lo <= c["turn_deg"] < hi or (hi == 180 and c["turn_deg"] == 180)]
        hit = [c for c in rows if c["fall_after"] is not None]
        table.append({"turn_deg": [lo, hi], "changes": len(rows), "falls": len(hit)})
        detail = ", ".join(f"{c['fall_after']:.2f} s: {c['from_mps']:.1f}->{c['to_mps']:.1f} ({c['own_mps']:.1f})"
                           for c in hit)
        print(f"{lo:5d}-{hi:<5d} {len(rows):8d} {len(hit):6d}  {detail}")
    by_to = []
    for lo, hi in ((0.5, 1.0), (1.0, 1.5), (1.5, 2.0), (2.0, 2.5), (2.5, 3.01)):
        rows = [c for c in changes if lo <= c["to_mps"] < hi]
        by_to.append({"to_mps": [lo, min(hi, 3.0)], "changes": len(rows),
                      "falls": sum(c["fall_after"] is not None for c in rows)})
    print("by the new target's speed: " + ", ".join(
        f"{r['to_mps'][0]:.1f}-{r['to_mps'][1]:.1f} m/s {r['falls']}/{r['changes']}" for r in by_to))
    return {"policy": name, "seed": seed, "episodes": n, "seconds": args.seconds, "falls": len(falls),
            "start_falls": sorted(start_falls), "after_change": led, "steady": sorted(steady),
            "changes": len(changes), "by_turn": table, "by_new_speed": by_to}


if __name__ == "__main__":
    try:
        main()
    except MimicError as exc:
        print(f"steer_falls: error: {exc}", file=sys.stderr)
        sys.exit(2)
