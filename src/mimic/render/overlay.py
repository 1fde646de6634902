"""Captions and event marks drawn onto video frames (what happened, where people would rather look).

``annotate`` writes a few lines of text in a dark box at the top-left of a frame and, optionally, a
coloured border (for a moment after a fall or a reset, so a cut in the video is never silent).
Drawing uses Pillow (a matplotlib dependency) with its bundled font.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from mimic.envs.terminations import DoneReason
from mimic.motion.bundled import clip_short_name

# Border colours per event (RGB).
FALL_COLOUR = (220, 40, 40)
RESET_COLOUR = (40, 110, 230)


@functools.cache
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def annotate(frame: np.ndarray, lines: list[str], border: tuple[int, int, int] | None = None,
             border_px: int = 8) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3) uint8 with ``lines`` in a box at the top-left and an optional border."""
    from PIL import Image, ImageDraw

    height = frame.shape[0]
    image = Image.fromarray(np.ascontiguousarray(frame))
    draw = ImageDraw.Draw(image, "RGBA")
    font = _font(max(12, height // 28))
    if lines:
        text = "\n".join(lines)
        left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, spacing=4)
        pad = 6
        x0 = y0 = border_px + 6
        draw.rectangle((x0, y0, x0 + right - left + 2 * pad, y0 + bottom - top + 2 * pad), fill=(0, 0, 0, 150))
        draw.multiline_text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255), spacing=4)
    out = np.asarray(image).copy()
    if border is not None:
        out[:border_px], out[-border_px:] = border, border
        out[:, :border_px], out[:, -border_px:] = border, border
    return out


class PlayCaption:
    """The caption of a ``mimic play`` video: clip, episode time, running return (a tracking policy's) or the
    character's speed (and the steering target, a task policy's); after an episode end, a coloured border
    and a line saying why (red: a fall) for ``mark_seconds``."""

    def __init__(self, env, mark_seconds: float) -> None:
        self.env, self.dt = env, env.dt
        self.mark_steps = max(1, round(mark_seconds / env.dt))
        self.ret = 0.0
        self.steps = 0
        self.falls = 0
        self.mark: tuple[str, tuple[int, int, int]] | None = None
        self.mark_left = 0

    def lines(self) -> list[str]:
        """The caption's text lines now (without the event line)."""
        env = self.env
        clip = clip_short_name(env.clips[int(env.clip_ids[0])].name)
        lines = [f"{clip}   t = {self.steps * self.dt:5.2f} s"]
        if env.config.task == "track":
            per_step = f" ({self.ret / self.steps:.3f} per step)" if self.steps else ""
            lines.append(f"return {self.ret:6.2f}{per_step}")
            return lines
        # AMP: the style reward is the agent's, not the env's; show the motion and the task
        lines.append(f"speed {float(env.engine.root_vel[0, :2].norm()):4.2f} m/s")
        task = getattr(env, "task", None)
        if task is not None:
            angle = math.degrees(float(task.angle[0])) % 360
            lines.append(f"target {angle:3.0f} deg at {float(task.speed[0]):3.1f} m/s")
        return lines

    def draw(self, frame):
        lines, border = self.lines(), None
        if self.mark_left > 0:
            lines.append(self.mark[0])
            border = self.mark[1]
            self.mark_left -= 1
        return annotate(frame, lines, border)

    def step(self, reward: float, done: int) -> None:
        """Account for one env step of env 0 (its reward and :class:`DoneReason`)."""
        self.ret += reward
        self.steps += 1
        if done == DoneReason.NONE:
            return
        t = self.steps * self.dt
        what = {DoneReason.FAIL: "fell", DoneReason.SUCCESS: "clip ended", DoneReason.TIMEOUT: "time limit",
                DoneReason.INVALID: "simulation blew up"}[DoneReason(done)]
        self.falls += done == DoneReason.FAIL
        colour = FALL_COLOUR if done in (DoneReason.FAIL, DoneReason.INVALID) else RESET_COLOUR
        self.mark = (f"{what} at {t:.2f} s (return {self.ret:.2f}): reset", colour)
        self.mark_left = self.mark_steps
        self.ret, self.steps = 0.0, 0
