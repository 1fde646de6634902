"""Offscreen rendering of a character at given poses, optionally beside a translucent reference.

The renderer owns its own ``MjModel``/``MjData`` (loaded from the MJCF), so it never disturbs an
engine's simulation state: callers hand it full MuJoCo ``qpos`` vectors,
``concat(root_pos (3,), root_rot (4,) wxyz, joint_pos (nq - 7,))``.
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from mimic.errors import MimicError, input_error
from mimic.render.gl import create_gl_context

FOLLOW_CAMERA = "follow"

# Renderers still open at interpreter exit are closed while OpenGL libraries are still usable.
_open_renderers: weakref.WeakSet[CharacterRenderer] = weakref.WeakSet()

# Headlight (a light attached to the camera): MuJoCo's default (ambient 0.1, diffuse 0.4) leaves the
# grey-blue bodies dark in a side view lit only by the overhead sun; a brighter headlight lights the
# faces the camera sees without washing out the floor's checker.
_HEADLIGHT_AMBIENT = 0.35
_HEADLIGHT_DIFFUSE = 0.5
_HEADLIGHT_SPECULAR = 0.15


def _as_qpos(qpos: Any, nq: int, what: str) -> np.ndarray:
    """``qpos`` (NumPy, torch or sequence) as a float64 (nq,) array."""
    if hasattr(qpos, "detach"):  # torch tensor, without importing torch here
        qpos = qpos.detach().cpu().numpy()
    arr = np.asarray(qpos, dtype=np.float64).reshape(-1)
    if arr.shape != (nq,):
        raise ValueError(f"{what} must have {nq} values (root pos 3, root quat 4, joints {nq - 7}), "
                         f"got shape {np.shape(qpos)}")
    return arr


def travel_heading(library: Any, clip: int = 0) -> float:
    """Direction (rad about z, from +x) of clip ``clip``'s horizontal root travel over one cycle of a
    :class:`~mimic.motion.library.MotionLibrary`; 0 for a clip that moves less than 5 cm."""
    dx, dy = (float(v) for v in library.cycle_delta[clip, :2])
    return float(np.arctan2(dy, dx)) if np.hypot(dx, dy) > 0.05 else 0.0


def _rest_extent(model: mujoco.MjModel, data: mujoco.MjData) -> tuple[float, float]:
    """(height, length along x) in metres of the character's geoms at its rest pose (qpos0)."""
    mujoco.mj_forward(model, data)
    geoms = np.flatnonzero(model.geom_bodyid > 0)
    if geoms.size == 0:
        return 1.7, 0.5
    radius = model.geom_rbound[geoms]
    top = float(np.max(data.geom_xpos[geoms, 2] + radius))
    x = data.geom_xpos[geoms, 0]
    length = float(np.max(x + radius) - np.min(x - radius))
    return (top if top > 0.1 else 1.7), length


class CharacterRenderer:
    """Draws a character at any pose from a camera that follows it, headless (EGL/OSMesa) or not.

    Args:
        mjcf_path: the character's MJCF (DeepMimic's humanoid by default).
        width, height: image size in pixels.
        camera: ``"follow"`` (a side-view camera that follows the root horizontally, smoothed, with
            the character about half the frame height) or the name of a camera in the MJCF
            (e.g. ``"track"``, the humanoid's ``trackcom`` camera).
        fps: frames per second the caller renders at; sets the follow camera's smoothing per frame.
        camera_lag_s: time constant of the follow camera's exponential smoothing (0: rigid follow).
        ref_offset: (3,) world offset (m) added to the reference's root position ((0, 0, 0) overlays it).
            The default (None) puts it beside the character along +x, in the follow camera's side view:
            1 m for the humanoid, the character's length plus a gap for a longer one (a dog), and the
            follow camera backs off so both fit in the frame.
        travel_heading: the direction (rad about z, from +x) the character travels in: the follow camera
            looks at it from its side and the default reference offset points that way (a clip walking
            along +y, like the Laikago's, is seen side-on too); see :func:`travel_heading`.
        ref_rgba: colour and opacity of the reference character.
        shadows, reflections: MuJoCo render flags; on a CPU (llvmpipe) shadows about halve the frame
            rate (640x480: ~10 vs ~19 frames/s on 2 busy cores), reflections cost a little more.
    """

    def __init__(self, mjcf_path: str | Path | None = None, width: int = 640, height: int = 480, *,
                 camera: str = FOLLOW_CAMERA, fps: float = 30.0, camera_lag_s: float = 0.25,
                 ref_offset: Sequence[float] | None = None, travel_heading: float = 0.0,
                 ref_rgba: Sequence[float] = (0.95, 0.65, 0.3, 0.35),
                 shadows: bool = True, reflections: bool = False) -> None:
        self._gl: Any = None
        self._mjr: mujoco.MjrContext | None = None
        if mjcf_path is None:
            from mimic.character.spec import load_spec

            mjcf_path = load_spec().mjcf_path
        path = Path(mjcf_path)
        if not path.is_file():
            raise MimicError(f"{path}: character file not found")
        if width < 1 or height < 1:
            raise MimicError(f"image size must be positive, got {width}x{height}")
        try:
            self.model = mujoco.MjModel.from_xml_path(str(path))
        except Exception as exc:  # mujoco raises ValueError with the parser's message
            raise input_error(path, f"MJCF does not compile: {exc}") from None
        if self.model.nq < 7 or self.model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise input_error(path, "the first joint must be the character's free root joint")
        self.width, self.height = int(width), int(height)
        self.ref_rgba = np.asarray(ref_rgba, dtype=np.float32).reshape(4)

        vis = self.model.vis
        # The offscreen buffer is sized from the model; grow it instead of refusing large images.
        vis.global_.offwidth = max(vis.global_.offwidth, self.width)
        vis.global_.offheight = max(vis.global_.offheight, self.height)
        vis.headlight.ambient[:] = _HEADLIGHT_AMBIENT
        vis.headlight.diffuse[:] = _HEADLIGHT_DIFFUSE
        vis.headlight.specular[:] = _HEADLIGHT_SPECULAR

        self.data = mujoco.MjData(self.model)
        self.ref_data = mujoco.MjData(self.model)
        self._height, self._length = _rest_extent(self.model, self.data)
        if ref_offset is None:
            ahead = max(1.0, self._length + 0.25 * self._height)
            ref_offset = (ahead * np.cos(travel_heading), ahead * np.sin(travel_heading), 0.0)
        self._travel_heading = float(travel_heading)
        self.ref_offset = np.asarray(ref_offset, dtype=np.float64).reshape(3)
        self._option = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()
        # Room for the character twice plus the world, and the model's own decorations.
        self.scene = mujoco.MjvScene(self.model, maxgeom=2 * self.model.ngeom + 100)
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        self.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = reflections
        self._rect = mujoco.MjrRect(0, 0, self.width, self.height)
        self._image = np.empty((self.height, self.width, 3), dtype=np.uint8)

        self.camera = mujoco.MjvCamera()
        self._follow = camera == FOLLOW_CAMERA
        if self._follow:
            self._setup_follow_camera(fps, camera_lag_s)
        else:
            cam_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cam_id < 0:
                names = [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(self.model.ncam)]
                raise input_error(path, f"no camera named {camera!r}; cameras: {names} or {FOLLOW_CAMERA!r}")
            self.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            self.camera.fixedcamid = cam_id

        self._gl = create_gl_context(self.width, self.height)
        try:
            self._mjr = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_150)
        except Exception as exc:  # mujoco.FatalError when the context lacks the OpenGL version MuJoCo needs
            self.close()
            raise MimicError(f"OpenGL context unusable for MuJoCo rendering: {exc}") from None
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._mjr)
        _open_renderers.add(self)

    def _setup_follow_camera(self, fps: float, lag_s: float) -> None:
        """Side view of the direction of travel (looking along +y when it is +x, forward to the right)
        framing the standing character at half height; with a reference beside it, far enough back that
        both fit in 80 % of the frame's width."""
        tan_half = float(np.tan(np.deg2rad(self.model.vis.global_.fovy) / 2.0))
        aspect = self.width / self.height
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.azimuth = 90.0 + float(np.rad2deg(self._travel_heading))
        self.camera.elevation = -8.0
        self._distance_alone = max(self._height / (0.5 * 2.0 * tan_half),
                                   self._length / (0.8 * 2.0 * tan_half * aspect))
        pair = float(np.linalg.norm(self.ref_offset[:2])) + self._length
        self._distance_pair = max(self._distance_alone, pair / (0.8 * 2.0 * tan_half * aspect))
        self.camera.distance = self._distance_alone
        self._lookat_height = 0.5 * self._height
        self._follow_blend = 1.0 if lag_s <= 0 else float(1.0 - np.exp(-1.0 / (fps * lag_s)))
        self._lookat_xy: np.ndarray | None = None

    def reset_camera(self) -> None:
        """Make the follow camera jump to the character at the next frame (e.g. after an env reset)."""
        self._lookat_xy = None

    def _update_follow_camera(self, target_xy: np.ndarray) -> None:
        if self._lookat_xy is None:
            self._lookat_xy = target_xy.copy()
            self._lookat_vel = np.zeros(2)  # per frame
        else:
            # An alpha-beta filter: smooths the steps and lateral sway of the root like exponential
            # smoothing, but predicts with the estimated velocity, so a character moving at a steady
            # speed (a galloping dog at 5 m/s) stays in the middle of the picture instead of ahead of it.
            a = self._follow_blend
            b = a * a / (2.0 - a)
            predicted = self._lookat_xy + self._lookat_vel
            residual = target_xy - predicted
            self._lookat_xy = predicted + a * residual
            self._lookat_vel = self._lookat_vel + b * residual
        self.camera.lookat[:] = (self._lookat_xy[0], self._lookat_xy[1], self._lookat_height)

    def render(self, qpos: Any, ref_qpos: Any = None,
               arrows: Sequence[tuple[Sequence[float], Sequence[float], Sequence[float]]] = ()) -> np.ndarray:
        """One frame: the character at ``qpos`` (nq,), a translucent reference at ``ref_qpos`` (nq,), and
        ``arrows``, each ``(start (3,), end (3,), rgba (4,))`` in world coordinates (a task's target).

        The reference is drawn ``ref_offset`` away from its own root position. Returns (H, W, 3) uint8,
        a new array each call.
        """
        if self._mjr is None:
            raise RuntimeError("render called after close()")
        nq = self.model.nq
        self.data.qpos[:] = _as_qpos(qpos, nq, "qpos")
        self._pose(self.data)
        target = self.data.qpos[:2].copy()
        if ref_qpos is not None:
            self.ref_data.qpos[:] = _as_qpos(ref_qpos, nq, "ref_qpos")
            self.ref_data.qpos[:3] += self.ref_offset
            self._pose(self.ref_data)
            target = 0.5 * (target + self.ref_data.qpos[:2])  # keep both characters in the picture
        if self._follow:
            self.camera.distance = self._distance_alone if ref_qpos is None else self._distance_pair
            self._update_follow_camera(target)

        mujoco.mjv_updateScene(self.model, self.data, self._option, None, self.camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        self._center_directional_lights(target)
        if ref_qpos is not None:
            self._add_reference_geoms()
        for start, end, rgba in arrows:
            self._add_arrow(start, end, rgba)
        self._gl.make_current()
        mujoco.mjr_render(self._rect, self.scene, self._mjr)
        mujoco.mjr_readPixels(self._image, None, self._rect, self._mjr)
        return np.flipud(self._image).copy()  # OpenGL rows start at the bottom

    def frames(self, qpos: Any, ref_qpos: Any = None) -> Iterator[np.ndarray]:
        """Frames of a pose sequence: ``qpos`` (T, nq), ``ref_qpos`` (T, nq) or None; yields (H, W, 3) uint8.

        Starts with the camera on the character (see :meth:`reset_camera`).
        """
        self.reset_camera()
        refs: Iterable[Any] = [None] * len(qpos) if ref_qpos is None else ref_qpos
        if ref_qpos is not None and len(ref_qpos) != len(qpos):
            raise ValueError(f"qpos and ref_qpos differ in length: {len(qpos)} vs {len(ref_qpos)}")
        for q, ref in zip(qpos, refs, strict=True):
            yield self.render(q, ref)

    def _pose(self, data: mujoco.MjData) -> None:
        # Kinematics only: body and geom poses, the subtree COM trackcom cameras follow, camera and
        # light poses. No dynamics: rendering must not depend on (or pay for) contacts.
        mujoco.mj_kinematics(self.model, data)
        mujoco.mj_comPos(self.model, data)
        mujoco.mj_camlight(self.model, data)

    def _center_directional_lights(self, xy: np.ndarray) -> None:
        # A directional light's shadow map covers only about one model extent (~1.7 m) around the
        # light's position; the MJCF's sun sits above the origin, so a character walking away from it
        # would lose its shadow. Moving the light along (its direction unchanged) keeps shadows on.
        for i in range(self.scene.nlight):
            light = self.scene.lights[i]
            if light.type == mujoco.mjtLightType.mjLIGHT_DIRECTIONAL and not light.headlight:
                light.pos[:2] += xy

    def _add_arrow(self, start: Sequence[float], end: Sequence[float], rgba: Sequence[float]) -> None:
        if self.scene.ngeom >= self.scene.maxgeom:
            return
        geom = self.scene.geoms[self.scene.ngeom]
        mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_ARROW, np.zeros(3), np.zeros(3), np.zeros(9),
                            np.asarray(rgba, dtype=np.float32))
        mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_ARROW, 0.05, np.asarray(start, dtype=np.float64),
                             np.asarray(end, dtype=np.float64))
        self.scene.ngeom += 1

    def _add_reference_geoms(self) -> None:
        start = self.scene.ngeom
        mujoco.mjv_addGeoms(self.model, self.ref_data, self._option, self._pert,
                            mujoco.mjtCatBit.mjCAT_DYNAMIC, self.scene)
        for i in range(start, self.scene.ngeom):
            geom = self.scene.geoms[i]
            geom.rgba[:] = self.ref_rgba
            geom.matid = -1  # the body material would override the tint
            geom.transparent = self.ref_rgba[3] < 1.0
            geom.reflectance = 0.0

    def close(self) -> None:
        """Free the OpenGL resources (idempotent)."""
        if self._mjr is not None and self._gl is not None:
            self._gl.make_current()
            self._mjr.free()
        self._mjr = None
        if self._gl is not None:
            self._gl.free()
        self._gl = None

    def __enter__(self) -> CharacterRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: GL libraries may already be gone
            pass


@atexit.register
def _close_open_renderers() -> None:
    for renderer in list(_open_renderers):
        renderer.close()
