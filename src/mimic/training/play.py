"""``mimic play``: a policy in MuJoCo's viewer or as a video beside its reference, or its motion as a clip."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from mimic.errors import MimicError
from mimic.policies import load_policy, shipped_name


def cmd_play(args: argparse.Namespace) -> int:
    from mimic.render.gl import has_display
    from mimic.render.scene import CharacterRenderer, travel_heading
    from mimic.render.video import write_video

    if args.export:
        from mimic.motion.formats import clip_writer

        clip_writer(args.export)  # a bad path fails before the policy loads
    agent, env, ckpt = load_policy(shipped_name(args.policy, args.character), num_envs=1)
    env.episode_seconds = max(env.episode_seconds, args.seconds + 1.0)
    if args.targets is not None:
        if env.task is None:
            raise MimicError(f"--targets: the policy {args.policy!r} has no steering task (env.task: "
                             f"{env.config.task})")
        env.task.script(parse_targets(args.targets))
    if args.export:
        export_episode(agent, env, Path(args.export), args.seconds)
        if args.out is None:
            return 0
    if args.out is None and has_display():
        _play_interactive(agent, env)
        return 0
    out = Path(args.out) if args.out else (ckpt.parent / "play.mp4")
    obs = env.reset()
    frames = []
    from mimic.render.overlay import PlayCaption

    caption = PlayCaption(env, mark_seconds=0.75)
    policy = agent.policy()
    heading = travel_heading(env.motion) if env.config.task == "track" else 0.0
    with CharacterRenderer(env.model.mjcf_path, travel_heading=heading) as renderer:
        for _ in range(round(args.seconds / env.dt)):
            e, ref = env.engine, env.ref
            qpos = torch.cat((e.root_pos[0], e.root_rot[0], e.joint_pos[0])).double().numpy()
            ref_qpos = None  # a task policy follows no clip frame by frame: no reference to show
            if env.config.task == "track":
                ref_qpos = torch.cat((ref.root_pos[0], ref.root_rot[0], ref.joint_pos[0])).double().numpy()
            frame = renderer.render(qpos, ref_qpos=ref_qpos, arrows=task_arrows(env))
            frames.append(frame if args.no_caption else caption.draw(frame))
            with torch.no_grad():
                action = policy(obs)
            obs, reward, done, _ = env.step(action)
            caption.step(float(reward[0]), int(done[0]))
    write_video(frames, out, fps=round(1.0 / env.dt))
    falls = f"; {caption.falls} fall{'s' if caption.falls != 1 else ''} (marked red)" if caption.falls else ""
    print(f"wrote {out}{falls}")
    return 0


def parse_targets(text: str) -> list[tuple[float, float, float]]:
    """``--targets "0:0:1.0,4:90:1.5"``: (time_s, direction_deg, speed_mps) triples, one per target change."""
    targets = []
    for item in text.split(","):
        parts = item.strip().split(":")
        try:
            t, angle, speed = (float(x) for x in parts)
        except ValueError:
            raise MimicError(f"--targets: {item.strip()!r} is not TIME:DEGREES:SPEED (e.g. 0:0:1.0,4:90:1.5)") from None
        if t < 0 or speed < 0:
            raise MimicError(f"--targets: {item.strip()!r}: time and speed must be >= 0")
        targets.append((t, angle, speed))
    return targets


def task_arrows(env) -> list[tuple[list[float], list[float], list[float]]]:
    """The steering target of env 0 as an arrow from the root, 0.5 m per m/s (none without a task)."""
    if getattr(env, "task", None) is None:
        return []
    root = env.engine.root_pos[0].double().tolist()
    angle, speed = float(env.task.angle[0]), float(env.task.speed[0])
    length = 0.3 + 0.5 * speed
    start = [root[0], root[1], 0.05]
    end = [root[0] + length * math.cos(angle), root[1] + length * math.sin(angle), 0.05]
    return [(start, end, [0.9, 0.2, 0.2, 1.0])]


def export_episode(agent, env, out: Path, seconds: float) -> None:
    """Write one deterministic episode of env 0, from the clip's start, as a clip file (format from ``out``).

    Each control step records the simulated root pose and joint positions; the episode ends at a
    fall, at the end of a non-looping clip, or after ``seconds``.
    """
    import numpy as np

    from mimic.motion.clip import Clip, LoopMode
    from mimic.motion.formats import clip_writer

    writer = clip_writer(out)  # a bad path fails before the episode runs
    rand_reset = env.config.rand_reset
    env.config.rand_reset = False  # start at the clip's first frame
    try:
        obs = env.reset()
        policy = agent.policy()
        rows = []
        for _ in range(round(seconds / env.dt) + 1):
            e = env.engine
            rows.append(torch.cat((e.root_pos[0], e.root_rot[0], e.joint_pos[0])).double())
            with torch.no_grad():
                obs, _, done, _ = env.step(policy(obs))
            if done[0]:  # the engine already holds the next episode's first state
                break
    finally:
        env.config.rand_reset = rand_reset
    qpos = torch.stack(rows).numpy()
    frame_dt = np.full(len(rows), env.dt)
    frame_dt[-1] = 0.0
    clip = Clip(name=out.stem, loop=LoopMode.NONE, frame_dt=frame_dt, root_pos=qpos[:, :3], root_rot=qpos[:, 3:7],
                joint_pos=qpos[:, 7:], body_names=env.model.body_names)
    writer(clip, out, env.model)
    print(f"wrote {out} ({clip.num_frames} frames at {1.0 / env.dt:.4g} fps, {clip.duration:.3f} s of "
          f"{env.clips[0].name} as simulated)")


def _play_interactive(agent, env) -> None:
    """MuJoCo's passive viewer showing env 0 under the policy in real time, until the window closes."""
    import mujoco
    import mujoco.viewer

    model = mujoco.MjModel.from_xml_path(str(env.model.mjcf_path))
    data = mujoco.MjData(model)
    try:
        viewer = mujoco.viewer.launch_passive(model, data)
    except Exception as exc:  # no usable display after all
        raise MimicError(f"cannot open the MuJoCo viewer ({exc}); use --out to render an mp4 instead") from None
    obs = env.reset()
    policy = agent.policy()
    with viewer:
        while viewer.is_running():
            start = time.perf_counter()
            with torch.no_grad():
                obs, _, _, _ = env.step(policy(obs))
            e = env.engine
            with viewer.lock():
                data.qpos[:] = torch.cat((e.root_pos[0], e.root_rot[0], e.joint_pos[0])).double().numpy()
                mujoco.mj_kinematics(model, data)
            viewer.sync()
            time.sleep(max(0.0, env.dt - (time.perf_counter() - start)))
