"""Throughput measurements of the MuJoCo CPU engine against raw ``Batch`` stepping (``mimic bench``).

"Raw" means MuJoCo alone: the engine's own compiled model (same bodies, contacts, solver and
physics rate) stepped with ``Batch.step(nstep=substeps)`` and constant controls, no Python between
physics steps. With ``pose="stand"`` the MJCF's joint stiffness is kept as passive springs toward
the rest pose, so the character stands as it does under PD toward the rest pose (same contacts);
with ``pose="fallen"`` it has no springs and collapses to the ground first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import mujoco
import mujoco.batch
import numpy as np
import torch

from mimic.character.model import load_character
from mimic.engine.base import Engine, EngineConfig
from mimic.engine.mujoco_cpu import compile_engine_model
from mimic.engine.pd import PDController


def raw_batch(model_path: str | Path, num_envs: int, config: EngineConfig,
              pose: str = "stand") -> mujoco.batch.Batch:
    """A ``Batch`` of the engine's model, at rest in the rest pose (``pose`` as in the module doc)."""
    character = load_character(model_path)
    pd = PDController(character, config.pd_damping, config.physics_dt)
    model = compile_engine_model(character, config, pd, passive_springs=(pose == "stand"))
    batch = mujoco.batch.Batch(model, num_envs, config.num_threads)
    batch.bind("qpos")  # registered before stepping, as the engine's fields are
    if pose == "fallen":
        batch.step(nstep=2 * config.physics_hz)  # two seconds: collapsed and at rest on the ground
    return batch


def measure_raw_steps_per_s(model_path: str | Path, num_envs: int, physics_hz: int, seconds: float = 2.0,
                            num_threads: int = 0, control_hz: int = 30, pose: str = "stand") -> float:
    """Physics steps per second (all envs together) of raw ``Batch`` stepping of the engine's model.

    Args:
        model_path: the character MJCF.
        num_envs: simulations in the batch.
        physics_hz: physics rate; steps are issued ``physics_hz // control_hz`` at a time.
        seconds: measuring time (after one warm-up call).
        num_threads: batch threads, 0 for all cores.
        control_hz: control rate, which sets the steps per call.
        pose: ``"stand"`` or ``"fallen"`` (module doc).
    """
    config = EngineConfig(physics_hz=physics_hz, control_hz=control_hz, num_threads=num_threads)
    batch = raw_batch(model_path, num_envs, config, pose)
    batch.bind("ctrl")[:] = 0.0
    return calls_per_s(lambda: batch.step(nstep=config.substeps), seconds) * config.substeps * num_envs


def calls_per_s(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over ``seconds`` of repeated calls, after one warm-up call."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def measure_engine_steps_per_s(engine: Engine, seconds: float = 2.0, random_targets: bool = False,
                               seed: int = 0) -> float:
    """Policy steps per second (all envs together) of ``engine.step()``.

    Args:
        engine: the engine, in whatever state it is.
        seconds: measuring time (after one warm-up step).
        random_targets: new uniformly random PD targets every step (:func:`random_targets_for`) and
            resets of fallen or invalid envs to the rest pose, as a crude stand-in for a policy;
            otherwise the targets stay as they are.
        seed: seed of the random targets.
    """
    gen = torch.Generator().manual_seed(seed)
    rest = engine.rest_state()
    engine.step()
    steps, start = 0, time.perf_counter()
    while True:
        if random_targets:
            engine.set_pd_targets(random_targets_for(engine, gen))
            reset_fallen(engine, rest)
        engine.step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * engine.num_envs / elapsed


def random_targets_for(engine: Engine, gen: torch.Generator, ball_range: float = 1.2) -> torch.Tensor:
    """(N, num_joint_pos) uniformly random PD targets within the joint ranges: each DoF uniform in
    the character's ``dof_limits`` (a ball joint's exp-map components in +-its MJCF range, a hinge
    in its range), and in ``[-ball_range, ball_range]`` where the MJCF gives no range."""
    ch = engine.character
    lo = torch.full((ch.num_dofs,), -ball_range, dtype=torch.float64)
    hi = -lo
    limits = torch.as_tensor(ch.dof_limits)
    finite = torch.isfinite(limits).all(dim=1)
    lo[finite], hi[finite] = limits[finite, 0], limits[finite, 1]
    u = torch.rand(engine.num_envs, ch.num_dofs, generator=gen, dtype=torch.float64)
    return ch.dof_exp_to_joint_pos(lo + u * (hi - lo)).float()


def reset_fallen(engine: Engine, rest: dict[str, torch.Tensor], min_root_height: float = 0.5) -> torch.Tensor:
    """Reset to ``rest`` (from :meth:`Engine.rest_state`) every env that is invalid or whose root is
    below ``min_root_height``; returns the (N,) bool mask of reset envs."""
    mask = engine.invalid | (engine.root_pos[:, 2] < min_root_height)
    if bool(mask.any()):
        ids = torch.nonzero(mask).flatten()
        engine.set_state(ids, **{k: v[ids] for k, v in rest.items()})
    return mask


def count_blowups(engine: Engine, steps: int, seed: int = 0, ball_range: float = 1.2,
                  min_root_height: float = 0.5) -> dict[str, float]:
    """Random-target stress run: ``steps`` control steps of all envs with fresh random targets each
    step (:func:`random_targets_for`), resetting envs that are invalid or whose root is below
    ``min_root_height`` to the rest pose.

    Returns:
        ``invalid``: env-steps flagged invalid; ``nonfinite``: of those, with NaN/inf state;
        ``resets``: env resets (falls included); ``env_steps``: total env-steps; ``seconds``.
    """
    gen = torch.Generator().manual_seed(seed)
    rest = engine.rest_state()
    engine.set_state(None, **rest)
    invalid = nonfinite = resets = 0
    start = time.perf_counter()
    for _ in range(steps):
        engine.set_pd_targets(random_targets_for(engine, gen, ball_range))
        engine.step()
        bad = engine.invalid
        invalid += int(bad.sum())
        state = torch.cat([engine.joint_pos, engine.dof_vel, engine.root_pos, engine.root_vel], dim=1)
        nonfinite += int((~torch.isfinite(state).all(dim=1)).sum())
        resets += int(reset_fallen(engine, rest, min_root_height).sum())
    return {"invalid": invalid, "nonfinite": nonfinite, "resets": resets,
            "env_steps": steps * engine.num_envs, "seconds": time.perf_counter() - start}


def standing_min_height(engine: Engine, seconds: float = 5.0) -> float:
    """Lowest root height (m) of any env over ``seconds`` of PD toward the rest pose from standing."""
    rest = engine.rest_state()
    engine.set_state(None, **rest)
    engine.set_pd_targets(rest["joint_pos"])
    low = float(engine.root_pos[:, 2].min())
    for _ in range(int(round(seconds * engine.config.control_hz))):
        engine.step()
        low = min(low, float(engine.root_pos[:, 2].min()))
    return low if not bool(engine.invalid.any()) else float(np.nan)


def track_clip_welded(clip: str = "walk", config: EngineConfig | None = None, cycles: float = 1.0,
                      lead_steps: int = 1, feed_forward: bool = False) -> dict[str, float]:
    """PD toward a clip's joint angles with the root welded 1.5 m up; errors against the clip, rad.

    Args:
        clip: bundled clip name or path (DeepMimic's humanoid).
        config: engine settings (``fix_root`` is forced on).
        cycles: clip durations to run.
        lead_steps: the target of control step k is the clip at ``(k + lead_steps) * dt`` (1: where
            the joints should be at the end of the step).
        feed_forward: add the reference velocity as a lead of kd/kp seconds (PD with a target velocity).

    Returns ``joint_angle_rms`` and ``joint_angle_max`` (rotation angle of each moving joint's error)
    and ``dof_rms`` (RMS over the DoF: exp-map components of each joint's error, hinge angles).
    """
    from dataclasses import replace

    from mimic.character import rotations as rot
    from mimic.engine.mujoco_cpu import MujocoCpuEngine
    from mimic.motion import MotionLibrary, default_character, load_clip

    ch = default_character()
    motion = load_clip(clip, ch)
    lib = MotionLibrary([motion], ch, dtype=torch.float64)
    engine = MujocoCpuEngine(ch.mjcf_path, 1, replace(config or EngineConfig(), fix_root=True, num_threads=1))
    cid = torch.zeros(1, dtype=torch.long)

    def ref_at(step: int):
        return lib.state(cid, torch.tensor([step * engine.control_dt], dtype=torch.float64))

    start = ref_at(0)
    state = engine.rest_state()
    state["root_pos"][:, 2] = 1.5
    state["joint_pos"], state["dof_vel"] = start.joint_pos.float(), start.dof_vel.float()
    engine.set_state(None, **state)
    lead = float(ch.dof_kd[0] / ch.dof_kp[0])
    moving = [b - 1 for b in list(ch.ball_bodies) + list(ch.hinge_bodies)]
    angles, dof_errors = [], []
    for k in range(int(round(cycles * motion.duration / engine.control_dt))):
        target = ref_at(k + lead_steps)
        target_rot = target.joint_rot
        if feed_forward:
            ang_vel = ch.dof_vel_to_joint_ang_vel(target.dof_vel)
            target_rot = rot.quat_mul(target_rot, rot.exp_map_to_quat(lead * ang_vel))
        engine.set_pd_targets(ch.joint_rot_to_pos(target_rot))
        engine.step()
        ref = ref_at(k + 1)
        joint_rot = ch.joint_pos_to_rot(engine.joint_pos.double())
        angles.append(rot.quat_diff_angle(joint_rot, ref.joint_rot)[0, moving])
        dof_errors.append(ch.joint_rot_to_dof_exp(rot.quat_mul(rot.quat_conj(ref.joint_rot), joint_rot))[0])
    angle, dof = torch.stack(angles), torch.stack(dof_errors)
    return {"joint_angle_rms": float(angle.square().mean().sqrt()), "joint_angle_max": float(angle.max()),
            "dof_rms": float(dof.square().mean().sqrt())}
