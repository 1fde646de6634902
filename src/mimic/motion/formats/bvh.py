"""BVH (Biovision Hierarchy) motion files: read any skeleton, write Mimic's character.

Reading follows the common reading of the format (Blender's importer): a joint's ``CHANNELS`` are
applied in the listed order, ``Zrotation Xrotation Yrotation`` meaning ``R = Rz * Rx * Ry``
(intrinsic, degrees); position channels, where a joint has them, give the joint's position in its
parent's frame and replace its ``OFFSET`` (missing axes keep the offset's); the zero pose (all
rotations 0) is the skeleton's rest pose. Any channel order, any root layout (3 or 6 channels,
rotations before positions), 3 or 6 channels per joint, ``End Site`` blocks, CRLF line ends and
tabs are accepted. Bad input raises :class:`MimicError` naming the file, the field and the line.

Writing (:func:`format_bvh`) takes any :class:`BvhSkeleton`; the character's own skeleton and its
conventions are in :mod:`mimic.motion.retarget.export`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.errors import MimicError, input_error

_AXIS = {"X": 0, "Y": 1, "Z": 2}
_CHANNEL_NAMES = {f"{a}{kind}".lower(): f"{a}{kind}" for a in "XYZ" for kind in ("position", "rotation")}


@dataclass
class BvhSkeleton:
    """The HIERARCHY of a BVH file; joints in file order (parents before children).

    Attributes:
        names: (J,) joint names.
        parents: (J,) parent joint index, -1 for the root.
        offsets: (J, 3) joint position in the parent's frame (the root's: in the world), file units.
        channels: per joint, its channel names in file order (``Xposition`` ... ``Zrotation``).
        end_sites: (J, 3) offset of the joint's ``End Site``; NaN where it has none.
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_sites: np.ndarray

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def children(self, joint: int) -> list[int]:
        """Indices of the joints whose parent is ``joint``, in file order."""
        return [j for j in range(self.num_joints) if self.parents[j] == joint]


@dataclass
class BvhMotion:
    """A BVH file: skeleton, frame time (s) and the raw channel values (num_frames, num_channels)."""

    skeleton: BvhSkeleton
    frame_time: float
    values: np.ndarray
    source: Path | None = None

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    def local_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, each joint's position (F, J, 3) and rotation (F, J, 4) (w, x, y, z) in its parent."""
        sk, n = self.skeleton, self.num_frames
        pos = np.broadcast_to(sk.offsets, (n, sk.num_joints, 3)).copy()
        quat = np.zeros((n, sk.num_joints, 4))
        quat[..., 0] = 1.0
        by_order: dict[str, tuple[list[int], list[list[int]]]] = {}  # rotation order -> joints, their columns
        col = 0
        for j, chans in enumerate(sk.channels):
            for k, c in enumerate(chans):
                if c.endswith("position"):
                    pos[:, j, _AXIS[c[0]]] = self.values[:, col + k]
            rot_idx = [k for k, c in enumerate(chans) if c.endswith("rotation")]
            if rot_idx:
                joints, columns = by_order.setdefault("".join(chans[k][0] for k in rot_idx), ([], []))
                joints.append(j)
                columns.append([col + k for k in rot_idx])
            col += len(chans)
        for axes, (joints, columns) in by_order.items():  # one batch per rotation order: files use one or two
            quat[:, joints] = euler_to_quat(self.values[:, columns], axes)
        return pos, quat


def euler_to_quat(angles_deg: np.ndarray, axes: str) -> np.ndarray:
    """Quaternions (..., 4) of intrinsic rotations about ``axes`` (e.g. ``"ZXY"``) by (..., len(axes)) degrees.

    ``R = R_axes[0] * R_axes[1] * ...``: BVH's reading of a joint's rotation channels.
    """
    angles = torch.as_tensor(np.radians(angles_deg), dtype=torch.float64)
    q = rot.quat_identity(angles.shape[:-1], dtype=torch.float64)
    for k, a in enumerate(axes):
        axis = torch.zeros(3, dtype=torch.float64)
        axis[_AXIS[a]] = 1.0
        q = rot.quat_mul(q, rot.quat_from_axis_angle(axis, angles[..., k]))
    return q.numpy()


def quat_to_euler(quat: np.ndarray, axes: str) -> np.ndarray:
    """Angles (..., 3) in degrees about three distinct ``axes`` (e.g. ``"ZXY"``), the inverse of :func:`euler_to_quat`.

    The middle angle is in [-90, 90]; at +-90 degrees (gimbal lock) the last angle is 0.
    """
    i, j, k = (_AXIS[a] for a in axes)
    if len({i, j, k}) != 3:
        raise ValueError(f"quat_to_euler needs three distinct axes, got {axes!r}")
    m = rot.quat_to_matrix(torch.as_tensor(quat, dtype=torch.float64)).numpy()
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for the cyclic orders XYZ, YZX, ZXY
    middle = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    first = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    last = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    locked = np.abs(m[..., i, k]) > 1.0 - 1e-12
    first = np.where(locked, np.arctan2(sign * m[..., k, j], m[..., j, j]), first)
    last = np.where(locked, 0.0, last)
    return np.degrees(np.stack((first, middle, last), axis=-1))


# ------------------------------------------------------------------------------------------ reading


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their line numbers, for error messages."""

    def __init__(self, lines: list[str], path: Path) -> None:
        self.items = [(tok, n + 1) for n, line in enumerate(lines) for tok in line.split()]
        self.pos = 0
        self.path = path

    def error(self, message: str, line: int | None = None) -> MimicError:
        if line is None:
            line = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1
        return input_error(self.path, f"line {line}: {message}", "HIERARCHY")

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            raise self.error(f"the hierarchy ends early; expected {what}")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> int:
        tok, line = self.next(repr(word))
        if tok.upper() != word.upper():
            raise self.error(f"expected {word!r}, got {tok!r}", line)
        return line

    def rest_of_line(self, line: int) -> list[str]:
        out = []
        while self.pos < len(self.items) and self.items[self.pos][1] == line and self.items[self.pos][0] != "{":
            out.append(self.items[self.pos][0])
            self.pos += 1
        return out

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"{what}: {tok!r} is not a number", line) from None
        if not np.isfinite(value):
            raise self.error(f"{what}: {tok!r} is not finite", line)
        return value


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse a BVH file; bad input raises :class:`MimicError` naming the file, the field and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise MimicError(f"{path}: BVH file not found") from None
    except OSError as exc:
        raise input_error(path, f"cannot read file: {exc}") from None
    lines = text.splitlines()
    motion_at = next((n for n, ln in enumerate(lines) if ln.strip().upper().startswith("MOTION")), None)
    if motion_at is None:
        raise input_error(path, "no MOTION section", "MOTION")
    skeleton = _parse_hierarchy(_Tokens(lines[:motion_at], path))
    frame_time, values = _parse_motion(lines, motion_at, skeleton, path)
    return BvhMotion(skeleton, frame_time, values, path)


def _parse_hierarchy(tokens: _Tokens) -> BvhSkeleton:
    tokens.expect("HIERARCHY")
    line = tokens.expect("ROOT")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, list[float]] = {}

    def joint(name_line: int, parent: int) -> None:
        name = " ".join(tokens.rest_of_line(name_line))
        if not name:
            raise tokens.error("a joint without a name", name_line)
        if name in names:
            raise tokens.error(f"joint {name!r} appears twice", name_line)
        tokens.expect("{")
        index = len(names)
        names.append(name)
        parents.append(parent)
        offsets.append([])
        channels.append(())
        has_channels = False
        while True:
            tok, line = tokens.next(f"'}}' closing joint {name!r}")
            key = tok.upper()
            if key == "OFFSET":
                offsets[index] = [tokens.number(f"joint {name!r} OFFSET") for _ in range(3)]
            elif key == "CHANNELS":
                channels[index] = _channels(tokens, name)
                has_channels = True
            elif key == "JOINT":
                joint(line, index)
            elif key == "END":
                tokens.expect("Site")
                tokens.expect("{")
                tokens.expect("OFFSET")
                end_sites[index] = [tokens.number(f"End Site of {name!r} OFFSET") for _ in range(3)]
                tokens.expect("}")
            elif key == "}":
                break
            else:
                raise tokens.error(f"unexpected {tok!r} in joint {name!r}", line)
        if not offsets[index]:
            raise tokens.error(f"joint {name!r} has no OFFSET", line)
        if not has_channels:
            raise tokens.error(f"joint {name!r} has no CHANNELS line", line)

    joint(line, -1)
    if tokens.pos < len(tokens.items):
        tok, extra = tokens.items[tokens.pos]
        raise tokens.error(f"unexpected {tok!r} after the root joint (one ROOT per file)", extra)
    ends = np.full((len(names), 3), np.nan)
    for j, off in end_sites.items():
        ends[j] = off
    return BvhSkeleton(tuple(names), np.array(parents, dtype=np.int64), np.array(offsets, dtype=np.float64),
                       tuple(channels), ends)


def _channels(tokens: _Tokens, name: str) -> tuple[str, ...]:
    tok, line = tokens.next("the channel count")
    try:
        count = int(tok)
    except ValueError:
        raise tokens.error(f"joint {name!r} CHANNELS: expected a count, got {tok!r}", line) from None
    if not 0 <= count <= 6:
        raise tokens.error(f"joint {name!r} CHANNELS: count {count} is not between 0 and 6", line)
    out = []
    for _ in range(count):
        tok, at = tokens.next(f"{count} channel names for joint {name!r}")
        canonical = _CHANNEL_NAMES.get(tok.lower())
        if canonical is None:
            raise tokens.error(f"joint {name!r}: unknown channel {tok!r} (expected Xposition ... Zrotation; "
                               f"CHANNELS {count} names {count} channels)", at)
        if canonical in out:
            raise tokens.error(f"joint {name!r}: channel {canonical} appears twice", at)
        out.append(canonical)
    return tuple(out)


def _parse_motion(lines: list[str], start: int, skeleton: BvhSkeleton, path: Path) -> tuple[float, np.ndarray]:
    header: dict[str, tuple[str, int]] = {}
    n = start + 1
    while n < len(lines) and len(header) < 2:
        text = lines[n].strip()
        n += 1
        if not text:
            continue
        key, _, value = text.partition(":")
        key = " ".join(key.split()).lower()
        if key not in ("frames", "frame time"):
            raise input_error(path, f"line {n}: expected 'Frames:' and 'Frame Time:', got {text[:40]!r}", "MOTION")
        header[key] = (value.strip(), n)
    for key, field in (("frames", "Frames"), ("frame time", "Frame Time")):
        if key not in header:
            raise input_error(path, "missing", field)
    text, at = header["frames"]
    try:
        num_frames = int(text)
    except ValueError:
        raise input_error(path, f"line {at}: expected a whole number, got {text!r}", "Frames") from None
    if num_frames <= 0:
        raise input_error(path, f"line {at}: the file has {num_frames} frames; a clip needs at least 2", "Frames")
    text, at = header["frame time"]
    try:
        frame_time = float(text)
    except ValueError:
        raise input_error(path, f"line {at}: expected seconds per frame, got {text!r}", "Frame Time") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise input_error(path, f"line {at}: must be a positive number of seconds, got {text!r}", "Frame Time")

    rows = [(k + 1, lines[k].split()) for k in range(n, len(lines)) if lines[k].strip()]
    if len(rows) != num_frames:
        raise input_error(path, f"'Frames: {num_frames}' but the file has {len(rows)} frame lines", "Frames")
    width = skeleton.num_channels
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise input_error(path, f"frame {i} (line {line}): expected {width} numbers (one per channel), "
                              f"got {len(row)}", "MOTION")
    try:
        values = np.array([row for _, row in rows], dtype=np.float64).reshape(num_frames, width)
    except ValueError:
        for i, (line, row) in enumerate(rows):
            for tok in row:
                try:
                    float(tok)
                except ValueError:
                    raise input_error(path, f"frame {i} (line {line}): {tok!r} is not a number", "MOTION") from None
        raise
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        i, col = (int(x) for x in bad[0])
        joint, channel = _channel_at(skeleton, col)
        raise input_error(path, f"frame {i} (line {rows[i][0]}): {joint!r} {channel} is not finite", "MOTION")
    return frame_time, values


def _channel_at(skeleton: BvhSkeleton, col: int) -> tuple[str, str]:
    for name, chans in zip(skeleton.names, skeleton.channels, strict=True):
        if col < len(chans):
            return name, chans[col]
        col -= len(chans)
    raise IndexError(col)


# ------------------------------------------------------------------------------------------ writing


def _numbers(values: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in np.round(values, 6) + 0.0)  # + 0.0: no "-0.000000"


def format_bvh(skeleton: BvhSkeleton, frame_time: float, values: np.ndarray) -> str:
    """BVH text of ``skeleton`` and channel ``values`` (num_frames, num_channels), tab-indented.

    ``values`` follow the skeleton's joint order; the file lists joints depth first, and its
    columns follow the file.
    """
    out = ["HIERARCHY"]
    order: list[int] = []

    def joint(j: int, depth: int) -> None:
        order.append(j)
        pad = "\t" * depth
        out.append(f"{pad}{'ROOT' if skeleton.parents[j] < 0 else 'JOINT'} {skeleton.names[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET {_numbers(skeleton.offsets[j])}")
        chans = skeleton.channels[j]
        out.append(f"{pad}\tCHANNELS {len(chans)}{''.join(' ' + c for c in chans)}")
        for c in skeleton.children(j):
            joint(c, depth + 1)
        if not np.isnan(skeleton.end_sites[j]).any():
            out.extend([f"{pad}\tEnd Site", f"{pad}\t{{",
                        f"{pad}\t\tOFFSET {_numbers(skeleton.end_sites[j])}", f"{pad}\t}}"])
        out.append(f"{pad}}}")

    joint(0, 0)
    starts = np.cumsum([0] + [len(c) for c in skeleton.channels])
    columns = np.concatenate([np.arange(starts[j], starts[j + 1]) for j in order]).astype(np.int64)
    buf = io.StringIO()
    np.savetxt(buf, np.round(values[:, columns], 6) + 0.0, fmt="%.6f", delimiter=" ")
    out += ["MOTION", f"Frames: {values.shape[0]}", f"Frame Time: {frame_time:.8f}"]
    return "\n".join(out) + "\n" + buf.getvalue()
