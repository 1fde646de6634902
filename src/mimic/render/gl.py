"""OpenGL backend selection for MuJoCo rendering, with or without a display.

When MuJoCo reads ``MUJOCO_GL``: once, at ``import mujoco`` (``mujoco/rendering/classic/gl_context.py``
picks ``GLContext`` at module import; ``mujoco.Renderer`` uses that class). Mimic imports MuJoCo long
before anything renders, so setting the variable later cannot steer ``mujoco.Renderer``. Mimic's
renderer therefore imports the backend's context class itself (``mujoco.egl`` / ``mujoco.osmesa`` /
``mujoco.glfw``), which works whatever ``import mujoco`` saw.

Selection (:func:`select_gl_backend`, cached per process):

1. ``MUJOCO_GL`` set: that backend, trusted (``glfw`` for MuJoCo's aliases ``1``/``on``/...).
2. A display (``DISPLAY`` or ``WAYLAND_DISPLAY`` set): ``glfw``.
3. Headless: ``egl``, then ``osmesa``, each probed in a child process, because PyOpenGL fixes its
   platform (``PYOPENGL_PLATFORM``) at first import: a failed EGL attempt in this process would make
   OSMesa unusable here too. The winner is written to ``MUJOCO_GL`` so child processes (and a later
   ``import mujoco``, if none happened yet) agree without probing again.
"""

from __future__ import annotations

import ctypes.util
import functools
import importlib
import os
import subprocess
import sys
from typing import Any

from mimic.errors import MimicError

HEADLESS_BACKENDS: tuple[str, ...] = ("egl", "osmesa")
NO_BACKEND_MESSAGE = (
    "no OpenGL backend for headless rendering: install libegl1 or libosmesa6 (apt-get install -y libosmesa6)"
)
_GLFW_ALIASES = ("", "1", "on", "true", "enable", "enabled", "glfw")
_DISABLED = ("0", "off", "false", "disable", "disabled")
_PROBE_TIMEOUT_S = 60.0
_BACKEND_LIBRARIES = {"egl": "EGL", "osmesa": "OSMesa"}
_auto_selected: set[str] = set()  # backends this process wrote to MUJOCO_GL itself (not the user's choice)

# Child process: create a tiny context and a MuJoCo render context on it (this loads the GL functions
# MuJoCo needs, so a backend that passes can really render). Prints nothing on success.
_PROBE_SCRIPT = """
import importlib, sys
ctx = importlib.import_module("mujoco." + sys.argv[1]).GLContext(16, 16)
ctx.make_current()
import mujoco
model = mujoco.MjModel.from_xml_string("<mujoco/>")
mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100).free()
ctx.free()
"""


def has_display() -> bool:
    """Whether an X11 or Wayland display is available (``DISPLAY`` / ``WAYLAND_DISPLAY`` set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _requested_backend() -> str | None:
    """The backend ``MUJOCO_GL`` names (normalized), or None when it is unset or empty."""
    value = os.environ.get("MUJOCO_GL", "").strip().lower()
    if not value:
        return None
    if value in _DISABLED:
        raise MimicError(f"rendering is disabled by MUJOCO_GL={value!r}; unset it or set it to egl or osmesa")
    return "glfw" if value in _GLFW_ALIASES else value


def probe_backend(backend: str) -> str | None:
    """Try ``backend`` in a child process; None when it works, else the reason it failed (one line).

    The child inherits this process's environment (``PYOPENGL_PLATFORM`` included), so a backend
    passes only if it can also work here.
    """
    library = _BACKEND_LIBRARIES.get(backend)
    if library is not None and ctypes.util.find_library(library) is None:
        return f"lib{library} not found"  # cheap answer without starting Python
    env = dict(os.environ, MUJOCO_GL=backend)
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE_SCRIPT, backend], env=env, capture_output=True,
                              text=True, timeout=_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"timed out after {_PROBE_TIMEOUT_S:.0f} s"
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {proc.returncode}"


@functools.cache
def _probe_once(backend: str) -> str | None:
    return probe_backend(backend)


@functools.cache
def select_gl_backend() -> str:
    """The OpenGL backend Mimic renders with: ``egl``, ``osmesa``, ``glfw`` (or another ``MUJOCO_GL`` value).

    See the module docstring for the order. Sets ``MUJOCO_GL`` when it picks a headless backend.

    Raises:
        MimicError: headless and neither EGL nor OSMesa works, or ``MUJOCO_GL`` disables rendering.
    """
    requested = _requested_backend()
    if requested is not None:
        return requested
    if has_display():
        return "glfw"
    reasons = []
    for backend in HEADLESS_BACKENDS:
        reason = _probe_once(backend)
        if reason is None:
            os.environ["MUJOCO_GL"] = backend
            _auto_selected.add(backend)
            return backend
        reasons.append(f"{backend}: {reason}")
    raise MimicError(f"{NO_BACKEND_MESSAGE} (tried {'; '.join(reasons)})")


@functools.cache
def rendering_available() -> bool:
    """Whether Mimic can render offscreen here (cached; the first call costs about a second).

    Unlike :func:`select_gl_backend` this also probes a backend named by ``MUJOCO_GL``, so tests
    skip instead of failing where that backend is broken.
    """
    try:
        return _probe_once(select_gl_backend()) is None
    except MimicError:
        return False


@functools.cache
def _owned(cls: type) -> type:
    """``cls`` without ``__del__``: its owner frees it (after the MuJoCo context that lives on it).

    Left to the garbage collector, the OSMesa context frees itself at interpreter exit after PyOpenGL
    is torn down and prints a traceback (mujoco.Renderer does the same for the same reason).
    """
    return type(f"_Owned{cls.__name__}", (cls,), {"__del__": lambda self: None})


def create_gl_context(width: int, height: int) -> Any:
    """A current OpenGL context of the selected backend, for an offscreen buffer of ``width`` x ``height``.

    Raises:
        MimicError: the backend cannot be loaded or the context cannot be created.
    """
    backend = select_gl_backend()
    try:
        context_cls = _owned(importlib.import_module(f"mujoco.{backend}").GLContext)
        context = context_cls(width, height)
        context.make_current()
    except Exception as exc:  # ImportError, RuntimeError, PyOpenGL errors: all mean "this backend fails"
        hints = []
        platform = os.environ.get("PYOPENGL_PLATFORM", "")
        if platform and platform.lower() != backend:
            hints.append(f"PYOPENGL_PLATFORM={platform} conflicts with it: unset PYOPENGL_PLATFORM")
        if os.environ.get("MUJOCO_GL") and backend not in _auto_selected:
            hints.append("MUJOCO_GL names it: unset MUJOCO_GL to let Mimic pick a headless backend")
        hints.append(NO_BACKEND_MESSAGE.split(": ", 1)[1])
        raise MimicError(f"OpenGL backend {backend!r} failed ({type(exc).__name__}: {exc}); "
                         + "; ".join(hints)) from None
    return context
