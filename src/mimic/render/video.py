"""Videos: writing frames to mp4, and kinematic playback of motion clips (``mimic play <clip>``)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from mimic.character.spec import load_spec
from mimic.errors import MimicError
from mimic.fileio import temporary_beside
from mimic.motion import MotionLibrary, load_clip
from mimic.motion.bundled import clip_short_name
from mimic.motion.clip import Clip, LoopMode
from mimic.render.gl import has_display
from mimic.render.scene import CharacterRenderer, travel_heading

# Default playback length of a looping ('wrap') clip: whole cycles, at least this many and at
# least this long, so short cycles still show a few seconds of motion.
WRAP_MIN_CYCLES = 3
WRAP_MIN_SECONDS = 3.0


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write (H, W, 3) uint8 frames to an h264 mp4 at ``path`` (imageio-ffmpeg's bundled ffmpeg).

    Frames stream to a temporary file beside ``path`` that is renamed over it at the end, so
    ``path`` never holds a half-written video (an interrupted render leaves the old file intact).

    Raises:
        MimicError: the output folder does not exist, ``fps`` is not positive, or there are no frames.
    """
    import imageio.v2 as imageio  # deferred: imageio-ffmpeg locates its ffmpeg binary on import

    path = Path(path)
    if not path.parent.is_dir():
        raise MimicError(f"{path}: output folder {str(path.parent)!r} does not exist")
    if not fps > 0:
        raise MimicError(f"{path}: fps must be positive, got {fps}")
    # Same folder (same file system) so the final rename is atomic; the .mp4 suffix tells ffmpeg the container.
    fd, tmp_name = temporary_beside(path, prefix=f".{path.stem}.", suffix=".partial.mp4")
    os.close(fd)
    count = 0
    try:
        # macro_block_size=2: yuv420p needs even sizes; imageio's default 16 would rescale sizes such as
        # 640x360 to 640x368, blurring every frame.
        with imageio.get_writer(tmp_name, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                pixelformat="yuv420p", quality=8, macro_block_size=2) as writer:
            for frame in frames:
                writer.append_data(np.asarray(frame, dtype=np.uint8))
                count += 1
        if count == 0:
            raise MimicError(f"{path}: no frames to write")
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    return path


def default_seconds(clip: Clip) -> float:
    """Playback length of ``clip``: one duration for 'none' clips; for 'wrap' clips whole cycles,
    at least ``WRAP_MIN_CYCLES`` and at least ``WRAP_MIN_SECONDS`` (walk, 1.27 s: 3 cycles, 3.8 s)."""
    if clip.loop != LoopMode.WRAP or clip.duration <= 0:
        return max(clip.duration, 1.0 / 30.0)
    cycles = max(WRAP_MIN_CYCLES, math.ceil(WRAP_MIN_SECONDS / clip.duration - 1e-9))
    return cycles * clip.duration


def clip_qpos(library: MotionLibrary, times: np.ndarray, clip_id: int = 0) -> np.ndarray:
    """Full MuJoCo qpos of clip ``clip_id`` at ``times`` (T,) seconds: (T, nq) float64.

    'wrap' clips keep advancing across cycles (the library adds each cycle's root displacement).
    """
    t = torch.as_tensor(np.asarray(times, dtype=np.float64))
    state = library.state(torch.full(t.shape, clip_id, dtype=torch.long), t)
    qpos = torch.cat([state.root_pos, state.root_rot, state.joint_pos], dim=1)
    return qpos.detach().cpu().numpy().astype(np.float64)


def play_clip(clip: str | Path, out: Path | None = None, seconds: float | None = None,
              fps: float = 30.0, width: int = 640, height: int = 480, character: str | None = None) -> Path | None:
    """Kinematic playback of a clip on a character (DeepMimic's humanoid by default).

    With ``out``, or when no display exists (neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set), render
    headless to an mp4 (default ``<clip>.mp4`` in the current folder, ``<clip>`` the bundled name or the
    file's stem) and return its path; otherwise open MuJoCo's interactive viewer (passive mode, real
    time, looping every ``seconds`` until the window is closed) and return None.

    Args:
        clip: a bundled clip name (``walk``) or a clip file.
        out: the mp4 to write.
        seconds: playback length; by default one clip duration for 'none' clips, and for 'wrap' clips
            whole cycles, at least 3 of them and at least 3 s (see :func:`default_seconds`).
        fps: frames per second of the video (and of pose sampling); the video has
            ``round(seconds * fps)`` frames at times ``0, 1/fps, ...``.
        width, height: video size in pixels.
        character: a bundled character's name or a character folder (see :mod:`mimic.character.spec`).

    Raises:
        MimicError: unknown clip, bad numbers, output folder missing, or no OpenGL backend.
    """
    if not fps > 0:
        raise MimicError(f"fps must be positive, got {fps}")
    if seconds is not None and not seconds > 0:
        raise MimicError(f"seconds must be positive, got {seconds}")
    spec = load_spec(character)
    model = spec.model
    motion = load_clip(clip, character=spec)
    library = MotionLibrary([motion], model, dtype=torch.float64,
                            loop_blend_seconds=[spec.loop_blend_seconds_for(motion.name)])  # as training sees it
    seconds = default_seconds(motion) if seconds is None else float(seconds)

    if out is None and has_display():
        _view_interactive(library, seconds)
        return None
    out = Path(out) if out is not None else Path.cwd() / f"{motion.name or clip_short_name(clip)}.mp4"
    if not out.parent.is_dir():  # fail before a long render, not after
        raise MimicError(f"{out}: output folder {str(out.parent)!r} does not exist")

    num_frames = max(1, round(seconds * fps))
    qpos = clip_qpos(library, np.arange(num_frames) / fps)
    with CharacterRenderer(model.mjcf_path, width, height, fps=fps, travel_heading=travel_heading(library)) as renderer:
        frames = _with_progress(renderer.frames(qpos), num_frames, f"render {out.name}")
        return write_video(frames, out, fps)


def _with_progress(frames: Iterable[np.ndarray], total: int, desc: str) -> Iterable[np.ndarray]:
    """``frames`` with a tqdm bar on stderr for renders long enough to wait for (off when not a terminal)."""
    from tqdm import tqdm

    return tqdm(frames, total=total, desc=desc, unit="frame", disable=None if total >= 60 else True, leave=False)


def _view_interactive(library: MotionLibrary, seconds: float) -> None:
    """MuJoCo's passive viewer playing the clip in real time, looping, until the window closes."""
    import mujoco
    import mujoco.viewer

    model = mujoco.MjModel.from_xml_path(str(library.model.mjcf_path))
    data = mujoco.MjData(model)
    try:
        viewer = mujoco.viewer.launch_passive(model, data)
    except Exception as exc:  # no usable display or GLFW: say so instead of a GLFW traceback
        raise MimicError(f"cannot open the MuJoCo viewer ({exc}); use --out to render an mp4 instead") from None
    with viewer:
        with viewer.lock():
            viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING  # follows wrap clips walking away
            viewer.cam.trackbodyid = 1
            viewer.cam.distance, viewer.cam.azimuth, viewer.cam.elevation = 4.0, 90.0, -10.0
        start = time.perf_counter()
        while viewer.is_running():
            t = (time.perf_counter() - start) % seconds
            with viewer.lock():
                data.qpos[:] = clip_qpos(library, np.array([t]))[0]
                mujoco.mj_kinematics(model, data)
                mujoco.mj_comPos(model, data)
                mujoco.mj_camlight(model, data)
            viewer.sync()
            time.sleep(1.0 / 60.0)
