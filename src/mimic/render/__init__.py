"""Rendering: headless OpenGL backend selection, character frames, videos and clip playback."""

from __future__ import annotations

from mimic.render.gl import has_display, rendering_available, select_gl_backend
from mimic.render.scene import CharacterRenderer
from mimic.render.video import play_clip, write_video

__all__ = ["CharacterRenderer", "has_display", "play_clip", "rendering_available", "select_gl_backend", "write_video"]
