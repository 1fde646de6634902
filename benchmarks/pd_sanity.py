"""PD sanity checks of the engine, for both PD backends (issue #3).

1. Stability: 256 envs x 400 control steps (102,400 env-steps) of fresh uniformly random PD targets
   every step, fallen envs reset to the rest pose; prints the count of invalid env-steps
   (NaN, a body velocity component > 100, or a MuJoCo divergence warning).
2. Tracking: the root welded 1.5 m up, PD targets set to the walk clip's joint angles for three
   cycles; prints the RMS and max joint angle error against the clip and the RMS over the 28 DoF
   (exp-map components of each joint's error, hinge angles), with the target taken at the
   start (t) or the end (t + dt) of each control step, and with the reference velocity fed forward
   as a lead of kd/kp seconds (PD with a target velocity).
3. Fast clips: the same welded tracking, velocity fed forward, for one cycle of each clip in
   ``--clips`` (default: the walk, then DeepMimic's run, jump, spinkick, backflip, cartwheel). Their hips and knees
   turn at 10-25 rad/s. The ``native`` backend's joint damping (kd = 50 at the hips and knees) is
   not limited with the motor torque (150-200 N m), so it cannot push a knee past about
   limit / kd = 3 rad/s against its own damping; the ``python`` backend limits the whole PD torque
   as DeepMimic does (README, "Physics engine").

Run: ``python benchmarks/pd_sanity.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import time

import torch

from mimic.character.spec import load_spec
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups, track_clip_welded

MJCF_PATH = load_spec("humanoid3d").mjcf_path
FAST_CLIPS = ("walk", "run", "jump", "spinkick", "backflip", "cartwheel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", default=list(FAST_CLIPS),
                        help="clips for the fast-clip tracking check (none skips it)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("stability: invalid env-steps of 102,400 under random targets (120 Hz)")
    for backend in ("native", "python"):
        engine = MujocoCpuEngine(MJCF_PATH, 256, EngineConfig(pd_backend=backend))
        start = time.perf_counter()
        result = count_blowups(engine, 400, seed=0, min_root_height=0.3)
        print(f"  {backend:6s}: {result['invalid']} invalid, {result['resets']} falls reset "
              f"({time.perf_counter() - start:.1f} s)")
    print("tracking the walk clip with the root welded, rad: joint angle RMS / max, per-DoF RMS")
    for backend in ("native", "python"):
        for label, lead_steps, ff in (("target at t", 0, False), ("target at t+dt", 1, False),
                                      ("target at t+dt, velocity fed forward", 1, True)):
            r = track_clip_welded("walk", EngineConfig(pd_backend=backend), cycles=3, lead_steps=lead_steps,
                                  feed_forward=ff)
            print(f"  {backend:6s} {label:38s} {r['joint_angle_rms']:.3f} / {r['joint_angle_max']:.3f}   "
                  f"{r['dof_rms']:.3f}")
    if args.clips:
        print("tracking one cycle of each clip with the root welded, velocity fed forward: joint angle RMS, rad")
        print(f"  {'clip':10s} {'native':>7s} {'python':>7s} {'ratio':>6s}")
        for clip in args.clips:
            rms = {b: track_clip_welded(clip, EngineConfig(pd_backend=b), feed_forward=True)["joint_angle_rms"]
                   for b in ("native", "python")}
            print(f"  {clip:10s} {rms['native']:7.3f} {rms['python']:7.3f} {rms['native'] / rms['python']:6.2f}")


if __name__ == "__main__":
    main()
