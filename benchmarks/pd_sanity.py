"""PD sanity checks of the engine, for both PD backends (issue #3).

1. Stability: 256 envs x 400 control steps (102,400 env-steps) of fresh uniformly random PD targets
   every step, fallen envs reset to the rest pose; prints the count of invalid env-steps
   (NaN, a body velocity component > 100, or a MuJoCo divergence warning).
2. Tracking: the root welded 1.5 m up, PD targets set to the walk clip's joint angles for three
   cycles; prints the RMS and max joint angle error against the clip and the RMS over the 28 DoF
   (exp-map components of each joint's error, hinge angles), with the target taken at the
   start (t) or the end (t + dt) of each control step, and with the reference velocity fed forward
   as a lead of kd/kp seconds (PD with a target velocity).

Run: ``python benchmarks/pd_sanity.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import time

import torch

from mimic.character import rotations as rot
from mimic.character.humanoid3d import MJCF_PATH
from mimic.engine import EngineConfig, MujocoCpuEngine
from mimic.engine.bench import count_blowups
from mimic.motion import MotionLibrary, default_character, load_clip


def tracking_error(backend: str, lead_steps: int, feed_forward: bool) -> tuple[float, float, float]:
    """Errors in rad over three walk cycles with the root welded: RMS of the joint rotation angles,
    their max, and RMS over the 28 DoF (each joint's rotation error as an exp map, hinge angle)."""
    ch = default_character()
    clip = load_clip("walk", ch)
    lib = MotionLibrary([clip], ch, dtype=torch.float64)
    cid = torch.zeros(1, dtype=torch.long)
    moving = [b - 1 for b in list(ch.ball_bodies) + list(ch.hinge_bodies)]
    engine = MujocoCpuEngine(MJCF_PATH, 1, EngineConfig(pd_backend=backend, fix_root=True))
    start = lib.state(cid, torch.zeros(1, dtype=torch.float64))
    state = engine.rest_state()
    state["root_pos"][:, 2] = 1.5
    state["joint_pos"], state["dof_vel"] = start.joint_pos.float(), start.dof_vel.float()
    engine.set_state(None, **state)
    lead = float(ch.dof_kd[0] / ch.dof_kp[0])
    errors, dof_errors = [], []
    for k in range(int(round(3 * clip.duration / engine.control_dt))):
        target = lib.state(cid, torch.tensor([(k + lead_steps) * engine.control_dt], dtype=torch.float64))
        exp = ch.joint_rot_to_dof_exp(target.joint_rot)
        if feed_forward:
            exp = exp + lead * target.dof_vel
        engine.set_pd_targets_exp(exp)
        engine.step()
        ref = lib.state(cid, torch.tensor([(k + 1) * engine.control_dt], dtype=torch.float64))
        joint_rot = ch.joint_pos_to_rot(engine.joint_pos.double())
        errors.append(rot.quat_diff_angle(joint_rot, ref.joint_rot)[0, moving])
        dof_errors.append(ch.joint_rot_to_dof_exp(rot.quat_mul(rot.quat_conj(ref.joint_rot), joint_rot))[0])
    err, dof_err = torch.stack(errors), torch.stack(dof_errors)
    return float(err.square().mean().sqrt()), float(err.max()), float(dof_err.square().mean().sqrt())


def main() -> None:
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
            rms, worst, dof_rms = tracking_error(backend, lead_steps, ff)
            print(f"  {backend:6s} {label:38s} {rms:.3f} / {worst:.3f}   {dof_rms:.3f}")


if __name__ == "__main__":
    main()
