"""``mimic export``: a trained policy as one graph (ONNX or TorchScript) plus a JSON contract to drive it.

The graph maps a raw observation (N, D) float32 to the normalized action (N, A) in [-1, 1] with the
observation normalizer baked in (:class:`~mimic.agents.policy.Policy`, in fp32). The sidecar
``OUT.json`` holds what a program needs to use it without Mimic: the observation layout (named
slices), the action -> PD target map (offset and scale per DoF, and what the residual mode adds),
the joints in order with their DoF, PD gains and torque limits, the physics and control rates, and
the clip with its timing.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from mimic.errors import MimicError

FORMAT = "mimic-policy"
FORMAT_VERSION = 1


def export_policy_graph(policy_name: str, out: str | Path) -> tuple[Path, Path]:
    """Export a run directory, checkpoint or shipped policy to ``out`` (``.onnx`` or ``.pt``) and its sidecar
    ``out`` with ``.json``; returns both paths."""
    from mimic.agents.policy import export_copy
    from mimic.policies import load_policy

    out = Path(out)
    if out.suffix not in (".onnx", ".pt"):
        raise MimicError(f"{out}: unknown export format {out.suffix or '(none)'!r}; use .onnx (ONNX) or .pt "
                         "(TorchScript)")
    if not out.parent.is_dir():
        raise MimicError(f"{out.parent}: output folder does not exist")
    agent, env, ckpt = load_policy(policy_name, num_envs=1)
    policy = export_copy(agent.policy())
    example = torch.zeros(1, env.obs_dim)
    if out.suffix == ".onnx":
        _export_onnx(policy, example, out)
    else:
        with warnings.catch_warnings():  # TorchScript is deprecated in PyTorch; it still runs without Python
            warnings.simplefilter("ignore")
            torch.jit.trace(policy, example).save(str(out))
    sidecar = out.with_suffix(".json")
    write_engine_model(env, out.with_suffix(".xml"))
    write_reference(env, out.with_suffix(".motion.npz"))
    sidecar.write_text(json.dumps(contract(env, agent, str(ckpt)), indent=1))
    env.close()
    return out, sidecar


def write_engine_model(env: Any, path: Path) -> None:
    """The MJCF of the model the engine simulates: rate, zero joint springs, implicit damping kd, and one
    torque-limited PD servo per DoF (ctrl = target, exp map per ball joint), for plain MuJoCo.

    Contacts stay MuJoCo's automatic detection (``ground_pairs`` off): the same contacts as the engine's
    explicit ground pairs, and objects a user adds to the scene collide with the character."""
    from mimic.engine.mujoco_cpu import engine_spec

    eng = env.engine
    path.write_text(engine_spec(eng.character, replace(eng.config, ground_pairs=False), eng.pd).to_xml())


def write_reference(env: Any, path: Path) -> None:
    """The reference motion as the motion library plays it (loops closed), per keyframe of each clip:
    ``time`` (F,), ``root_pos`` (F, 3), ``root_rot`` (F, 4), ``joint_pos`` (F, Q) and the velocities of
    the segment that starts there (``root_vel``, ``root_ang_vel``, ``dof_vel``, ``com_vel``), plus
    ``cycle_delta`` (3,) (root displacement per cycle of a looping clip), arrays prefixed ``CLIP/``.
    Between keyframes: lerp positions and hinge angles, slerp quaternions."""
    import numpy as np

    from mimic.motion.bundled import clip_short_name

    arrays = {}
    for i, clip in enumerate(env.clips):
        name = clip_short_name(clip.name)
        times = torch.cat((torch.zeros(1, dtype=torch.float64), torch.cumsum(torch.as_tensor(
            clip.frame_dt[:-1], dtype=torch.float64), 0)))
        duration = float(env.motion.durations[i])
        query = times.clamp(max=duration * (1 - 1e-12))  # the last keyframe as the end of its segment
        st = env.motion.state(torch.full((len(times),), i, dtype=torch.long), query)
        for key in ("root_pos", "root_rot", "joint_pos", "root_vel", "root_ang_vel", "dof_vel", "com_vel"):
            arrays[f"{name}/{key}"] = getattr(st, key).double().numpy()
        arrays[f"{name}/time"] = times.numpy()
        arrays[f"{name}/cycle_delta"] = env.motion._cycle_delta[i].double().numpy()
    np.savez(path, **arrays)


def _export_onnx(policy: torch.nn.Module, example: torch.Tensor, out: Path) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs it; say so plainly when it is missing)
    except ImportError:
        raise MimicError("ONNX export needs the onnx and onnxscript packages: pip install \"mimic[export]\" "
                         "(or pip install onnx onnxscript onnxruntime)") from None
    batch = torch.export.Dim("batch")
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)  # its notes (e.g. about torchvision's ops) are not the user's concern
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(policy, (example,), dynamo=True, input_names=["obs"], output_names=["action"],
                                    dynamic_shapes=({0: batch},), external_data=False, verbose=False)
    onnx_log.setLevel(level)
    program.save(str(out))


def contract(env: Any, agent: Any, checkpoint: str) -> dict:
    """The sidecar: everything needed to compute the observation and apply the action without Mimic."""
    from mimic.envs import observer
    from mimic.motion.bundled import clip_short_name

    cfg, model = env.config, env.model
    eng = env.engine
    layout = observer.layout(env)
    joints = []
    for b in range(1, model.num_bodies):
        start = int(model.dof_offsets[b])
        if start < 0:
            continue
        size = 3 if int(model.joint_types[b]) == 2 else 1
        joints.append({
            "name": model.body_names[b], "type": "ball" if size == 3 else "hinge",
            "qpos_start": int(model.joint_pos_offsets[b]) + 7, "dof_start": start, "dof_size": size,
            "kp": model.dof_kp[start:start + size].tolist(), "kd": model.dof_kd[start:start + size].tolist(),
            "torque_limit": float(model.joint_torque_limit[b]),
        })
    residual = cfg.action_mode == "residual"
    offset = env.action_offset.tolist()
    scale = (cfg.residual_scale * env.action_scale if residual else env.action_scale).tolist()
    clips = [{"name": clip_short_name(c.name), "duration_s": float(env.motion.durations[i]),
              "loop": "wrap" if bool(env.motion.wrap[i]) else "none",
              "end_hold_s": float(env.end_hold_seconds[i])} for i, c in enumerate(env.clips)]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "checkpoint": checkpoint,
        "graph": {"input": "obs", "input_shape": ["batch", env.obs_dim], "dtype": "float32", "output": "action",
                  "output_shape": ["batch", env.action_dim],
                  "computes": "clamp(actor_mean(clip((obs - obs_mean) / obs_std, -10, 10)), -1, 1); the normalizer "
                              "is inside the graph"},
        "character": {"name": model.name, "mjcf": model.mjcf_path.name, "bodies": list(model.body_names),
                      "mass_kg": float(model.total_mass)},
        "conventions": {"up": "z", "units": "metres, radians, seconds", "quaternion": "(w, x, y, z), Hamilton",
                        "heading": "yaw of the root's rotated x axis about z"},
        "observation": {"kind": cfg.obs, "size": env.obs_dim, "layout": layout},
        "action": {
            "size": env.action_dim, "mode": cfg.action_mode, "clip": [-1.0, 1.0],
            "pd_target": ("target[d] = offset[d] + scale[d] * action[d], where offset is the reference pose at the "
                          "end of the control step as an exp map per ball joint (3 DoF) and an angle per hinge"
                          if residual else "target[d] = offset[d] + scale[d] * action[d] (exp map per ball joint, "
                                           "angle per hinge)"),
            "offset": None if residual else offset, "scale": scale,
        },
        "joints": joints,
        "pd": {"law": "tau = kp * error - kd * dof_vel, limited to torque_limit; a ball joint's error is "
                      "log(target) - log(q) as exp maps (MuJoCo's ball actuator), per axis",
               "backend": eng.config.backend, "damping": eng.config.pd_damping,
               "applied_at": "every physics step"},
        "rates": {"physics_hz": eng.config.physics_hz, "control_hz": eng.config.control_hz},
        "episode": {"seconds": env.episode_seconds, "contact_bodies": [b for b, ok in zip(
            model.body_names, env.allowed_contact.tolist(), strict=True) if ok], "early_termination":
            cfg.early_termination},
        "clips": clips,
        "reference": {"motion": "the .motion.npz beside this file (see mimic.export.write_reference)",
                      "sync_root_pos": cfg.sync_root_pos, "rand_reset": cfg.rand_reset},
        "reward": _reward_contract(env),
    }


def _reward_contract(env: Any) -> dict:
    model, cfg, reward = env.model, env.config, env.track_reward
    out = {"kind": cfg.reward, "weights": reward.weights, "scales": reward.scales,
           "terms": "reward = sum(weight * exp(-scale * error)) over the terms; 0 at a fall",
           "fail_zero": cfg.reward_fail_zero, "joint_weights": dict(zip(model.body_names[1:],
                                                                         reward.joint_weights.tolist(), strict=True)),
           "dof_weights": reward.dof_weights.tolist(),
           "end_effectors": [model.body_names[i] for i in env.end_effectors.tolist()]}
    if cfg.reward == "deepmimic":
        out["root_weight"] = reward.root_weight
    return out
