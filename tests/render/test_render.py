"""Rendering: GL backend selection, character frames, the translucent reference, mp4 writing, clip playback.

Tests that draw skip (with the reason) where no OpenGL backend works; backend selection and
error paths run everywhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mujoco
import numpy as np
import pytest

from mimic.character.spec import load_spec
from mimic.errors import MimicError
from mimic.motion import MotionLibrary, load_clip
from mimic.motion.clip import LoopMode
from mimic.render import CharacterRenderer, gl, play_clip, rendering_available, write_video
from mimic.render.video import default_seconds


def _unavailable_reason() -> str:
    try:
        return f"OpenGL backend {gl.select_gl_backend()!r} does not work here"
    except MimicError as exc:
        return str(exc)


requires_gl = pytest.mark.skipif(not rendering_available(), reason=_unavailable_reason())

# A short, wide, low-contrast picture is enough to see the character; small sizes keep tests fast.
W, H = 160, 120


@pytest.fixture
def rest_qpos() -> np.ndarray:
    """(nq,) the humanoid's rest pose, standing at the origin."""
    return mujoco.MjModel.from_xml_path(str(load_spec().mjcf_path)).qpos0.copy()


@pytest.fixture
def fresh_selection(monkeypatch: pytest.MonkeyPatch):
    """Backend selection with empty caches and no MUJOCO_GL / display (restored afterwards)."""
    for var in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    gl.select_gl_backend.cache_clear()
    gl._probe_once.cache_clear()
    yield
    gl.select_gl_backend.cache_clear()
    gl._probe_once.cache_clear()


def test_no_headless_backend_is_a_clear_error(fresh_selection: None, monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []
    monkeypatch.setattr(gl, "probe_backend", lambda backend: tried.append(backend) or "library not found")
    with pytest.raises(MimicError, match=r"no OpenGL backend for headless rendering: install libegl1 or libosmesa6"):
        gl.select_gl_backend()
    assert tried == ["egl", "osmesa"]


def test_headless_falls_back_to_osmesa(fresh_selection: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gl, "probe_backend", lambda backend: None if backend == "osmesa" else "no EGL device")
    assert gl.select_gl_backend() == "osmesa"
    assert gl.os.environ["MUJOCO_GL"] == "osmesa"  # children inherit the choice


def test_display_and_explicit_backend_are_respected(fresh_selection: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gl, "probe_backend", lambda backend: pytest.fail("must not probe"))
    monkeypatch.setenv("DISPLAY", ":0")
    assert gl.select_gl_backend() == "glfw"
    gl.select_gl_backend.cache_clear()
    monkeypatch.setenv("MUJOCO_GL", "OSMesa")
    assert gl.select_gl_backend() == "osmesa"
    gl.select_gl_backend.cache_clear()
    monkeypatch.setenv("MUJOCO_GL", "disable")
    with pytest.raises(MimicError, match="disabled"):
        gl.select_gl_backend()


@requires_gl
def test_render_pose_is_not_blank(rest_qpos: np.ndarray) -> None:
    away = rest_qpos.copy()
    away[0] += 100.0  # far outside the view: a background-only picture from the same camera
    # A follow camera that snaps onto the first pose and then practically stands still.
    with CharacterRenderer(width=W, height=H, camera_lag_s=1e9, shadows=False) as renderer:
        image = renderer.render(rest_qpos)
        background = renderer.render(away)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    changed = np.abs(image.astype(int) - background.astype(int)).max(axis=2) > 30
    # The standing humanoid covers a few percent of the picture, in its middle.
    assert 0.01 < changed.mean() < 0.5
    rows, cols = np.nonzero(changed)
    assert W * 0.25 < cols.mean() < W * 0.75 and H * 0.2 < rows.mean() < H * 0.8


@requires_gl
def test_reference_ghost_changes_image(rest_qpos: np.ndarray) -> None:
    # The track camera follows the simulated character only, so any change comes from the ghost.
    with CharacterRenderer(width=W, height=H, camera="track", shadows=False) as renderer:
        alone = renderer.render(rest_qpos)
        with_ref = renderer.render(rest_qpos, ref_qpos=rest_qpos)
    changed = np.abs(with_ref.astype(int) - alone.astype(int)).max(axis=2) > 30
    assert changed.mean() > 0.005
    # The ghost is tinted orange (red well above blue), a colour found nowhere else in the scene.
    orange = lambda img: (img[..., 0].astype(int) - img[..., 2].astype(int) > 40).mean()  # noqa: E731
    assert orange(alone) == 0.0 and orange(with_ref) > 0.002


@requires_gl
@pytest.mark.parametrize("character", ["humanoid3d", "dog3d"])
def test_reference_stands_beside_the_character_in_frame(character: str) -> None:
    # The reference goes the character's length plus a gap along +x (1 m for the humanoid), and the
    # follow camera backs off so both fit: the orange ghost fills the right half only, clear of the edge.
    model = mujoco.MjModel.from_xml_path(str(load_spec(character).mjcf_path))
    q = model.qpos0.copy()
    with CharacterRenderer(load_spec(character).mjcf_path, width=W, height=H, camera_lag_s=0.0,
                           shadows=False) as renderer:
        img = renderer.render(q, ref_qpos=q)
        offset = renderer.ref_offset[0]
    if character == "humanoid3d":
        assert offset == 1.0
    else:
        assert offset > 1.0
    orange = (img[..., 0].astype(int) - img[..., 2].astype(int)) > 40
    cols = np.flatnonzero(orange.any(axis=0))
    assert cols.size > 0
    assert cols.min() > 0.5 * W and cols.max() < W - 2


@requires_gl
def test_follow_camera_tracks_a_walking_character(rest_qpos: np.ndarray) -> None:
    far = rest_qpos.copy()
    far[0] += 20.0
    with CharacterRenderer(width=W, height=H, camera_lag_s=0.0, shadows=False) as renderer:
        here = renderer.render(rest_qpos)
        there = renderer.render(far)
    # Moved 20 m, the character still fills the middle of the picture the same way.
    middle = (slice(int(H * 0.2), int(H * 0.8)), slice(int(W * 0.4), int(W * 0.6)))
    changed = np.abs(here.astype(int) - there.astype(int)).max(axis=2) > 30
    assert changed[middle].mean() < 0.01
    with CharacterRenderer(width=W, height=H, fps=30.0, camera_lag_s=0.25, shadows=False) as renderer:
        renderer.render(rest_qpos)
        renderer.render(far)
        assert 0.0 < renderer.camera.lookat[0] < 20.0  # smoothed: part of the way after one frame


@requires_gl
def test_follow_camera_keeps_up_with_a_fast_character(rest_qpos: np.ndarray) -> None:
    # A character running at a steady 5 m/s stays in the middle of the picture: no lag behind it.
    with CharacterRenderer(width=W, height=H, fps=30.0, camera_lag_s=0.25, shadows=False) as renderer:
        q = rest_qpos.copy()
        for frame in range(90):
            q[0] = 5.0 * frame / 30.0
            renderer.render(q)
        assert abs(renderer.camera.lookat[0] - q[0]) < 0.05


@requires_gl
def test_shadow_follows_the_character(rest_qpos: np.ndarray) -> None:
    far = rest_qpos.copy()
    far[0] += 10.0  # well outside the shadow map of a sun fixed above the origin
    with CharacterRenderer(width=W, height=H, camera_lag_s=0.0, shadows=True) as renderer:
        here = renderer.render(rest_qpos).astype(int)
        there = renderer.render(far).astype(int)
    # Same picture 10 m on (the checker repeats every metre), shadow under the feet included.
    assert np.abs(here - there).max() <= 5


@requires_gl
def test_play_clip_writes_readable_mp4(tmp_path: Path) -> None:
    import imageio.v2 as imageio

    out = play_clip("walk", out=tmp_path / "walk.mp4", seconds=1.0, width=320, height=240)
    assert out == tmp_path / "walk.mp4"
    with imageio.get_reader(out) as reader:
        frames = [frame for frame in reader]
    assert len(frames) == 30
    assert frames[0].shape == (240, 320, 3)
    assert not np.array_equal(frames[0], frames[15])  # the walk moves
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4"]  # no temporary file left behind


@requires_gl
def test_play_clip_without_display_writes_clip_name_mp4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    out = play_clip("walk", seconds=0.2, width=W, height=H)
    assert out == tmp_path / "walk.mp4" and out.stat().st_size > 0


def test_bad_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "walk.mp4"
    frame = np.zeros((H, W, 3), dtype=np.uint8)
    with pytest.raises(MimicError, match="output folder .* does not exist"):
        write_video([frame], missing, fps=30)
    with pytest.raises(MimicError, match="output folder .* does not exist"):
        play_clip("walk", out=missing, seconds=0.5)


def test_write_video_replaces_atomically(tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    out.write_bytes(b"old")
    frames = (np.full((H, W, 3), 40 * i, dtype=np.uint8) for i in range(5))
    assert write_video(frames, out, fps=10) == out
    assert out.stat().st_size > 100 and [p.name for p in tmp_path.iterdir()] == ["video.mp4"]
    with pytest.raises(MimicError, match="no frames"):
        write_video([], out, fps=10)
    assert out.stat().st_size > 100  # a failed write leaves the previous video intact


def test_default_playback_length() -> None:
    walk = load_clip("walk")  # wrap, 1.27 s: three cycles already last more than 3 s
    assert default_seconds(walk) == pytest.approx(3 * walk.duration)
    short = dataclasses.replace(walk, frame_dt=walk.frame_dt * 0.25)  # 0.32 s cycles: 10 cycles >= 3 s
    assert default_seconds(short) == pytest.approx(10 * short.duration)
    once = dataclasses.replace(walk, loop=LoopMode.NONE)
    assert default_seconds(once) == pytest.approx(walk.duration)


def test_travel_heading_turns_the_side_view_to_the_clip():
    # The humanoid's walk goes along +x; pybullet's Laikago walk along +y: the camera sees both side-on.
    from mimic.render.scene import travel_heading

    walk = MotionLibrary([load_clip("walk")], load_spec().model)
    assert abs(travel_heading(walk)) < 0.1
    laikago = load_spec("laikago")
    try:
        clip = load_clip("walk", character=laikago)
    except MimicError as exc:  # the clip comes with the pybullet wheel
        pytest.skip(str(exc))
    assert abs(travel_heading(MotionLibrary([clip], laikago.model)) - np.pi / 2) < 0.1
