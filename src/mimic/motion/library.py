"""Batched motion library: sample clips and times, and pose the reference at any time.

Interpolation: root position linearly, root and joint rotations by slerp, between the two
keyframes around the query time. Velocities (root linear velocity and world angular velocity, joint
angular velocities in MuJoCo's ``dof_vel`` layout, body and centre-of-mass velocities) come from the
forward differences of consecutive keyframes: by default the exact time derivatives of that
interpolation (constant across each keyframe interval, as in MimicKit); ``velocities`` picks DeepMimic's
blend of keyframe differences or central differences instead. Body positions are forward kinematics of
the interpolated motion sampled at 240 Hz and interpolated linearly (or FK of every queried pose
with ``exact_fk=True``).

Looping: ``wrap`` clips repeat, each full cycle adding the horizontal root displacement of one
cycle (last keyframe minus first, height zeroed); ``none`` clips clamp to their end.

Loop closing: several of DeepMimic's cyclic clips do not end in the pose they start with (spinkick's
wrist is 0.36 m off, cartwheel's ankle 0.34 m), so the reference jumps at every cycle boundary.
DeepMimic plays them as they are. By default Mimic spreads that end-to-start mismatch (root height,
root rotation, joint rotations) linearly over the cycle, a few millimetres per keyframe, so the
reference is continuous; ``close_loops=False`` keeps the raw keyframes. Spreading over the whole
cycle moves every pose a little, including the stance feet; where that breaks a contact the clip
needs (cartwheel: the landing foot floats 5 cm and the other never comes back down), ``loop_blend_seconds``
puts the whole correction into the clip's last seconds instead, as a step back to the start pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.kinematics import ForwardKinematics, center_of_mass
from mimic.character.model import CharacterModel
from mimic.devices import generator_device, upload
from mimic.errors import MimicError
from mimic.motion.clip import Clip, LoopMode, validate_clip

# Gap between clips on the library's single time axis, so searchsorted never crosses clips.
_CLIP_GAP = 1.0
# Rate at which body positions are sampled by exact FK and then interpolated (see MotionLibrary).
GRID_HZ = 240.0
VELOCITY_ESTIMATES = ("frame", "lerp", "central")


@dataclass
class MotionState:
    """Reference state of N queries (all tensors num_queries first)."""

    root_pos: torch.Tensor  # (N, 3)
    root_rot: torch.Tensor  # (N, 4)
    root_vel: torch.Tensor  # (N, 3) world
    root_ang_vel: torch.Tensor  # (N, 3) world
    joint_rot: torch.Tensor  # (N, num_joints, 4) local
    joint_pos: torch.Tensor  # (N, num_joint_pos) MuJoCo qpos layout without the root
    dof_vel: torch.Tensor  # (N, num_dofs) MuJoCo qvel layout without the root
    body_pos: torch.Tensor  # (N, num_bodies, 3) world
    body_vel: torch.Tensor  # (N, num_bodies, 3) world
    com_vel: torch.Tensor  # (N, 3) world centre-of-mass velocity


class MotionLibrary:
    """One or many clips of one character, queried in batches on one device.

    Args:
        clips: the clips (validated against ``model``).
        model: the character.
        weights: sampling weight per clip (default equal); normalized.
        device, dtype: where and how the keyframes are kept.
        close_loops: spread each ``wrap`` clip's end-to-start pose mismatch over its cycle.
        loop_blend_seconds: per clip, spread it over only the last this many seconds of the cycle
            (None: the whole cycle, the default for every clip).
        exact_fk: run forward kinematics on every queried pose for the body positions. By default
            they are FK of the interpolated motion sampled every 1/240 s, interpolated linearly:
            within 5 mm of exact FK on the bundled clips (tests/motion), and several times cheaper.
        velocities: how the reference velocities (root, joints, bodies, centre of mass) at a time between
            two keyframes are estimated from the forward differences of consecutive keyframes:
            ``frame`` (MimicKit): the difference of the interval the time falls in, held over it;
            ``lerp`` (DeepMimic): each keyframe's forward difference, blended between the two keyframes;
            ``central``: each keyframe's central difference (the mean of the intervals before and after
            it, wrapping around cyclic clips), blended. A one-frame jump in the data (a seam) then gives
            half the velocity spread over two intervals instead of the whole spike on one.
    """

    def __init__(self, clips: list[Clip], model: CharacterModel, weights: list[float] | None = None,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 close_loops: bool = True, exact_fk: bool = False,
                 loop_blend_seconds: Sequence[float | None] | None = None, velocities: str = "frame") -> None:
        if not clips:
            raise MimicError("a motion library needs at least one clip")
        weights = [1.0] * len(clips) if weights is None else list(weights)
        if len(weights) != len(clips) or min(weights) < 0 or sum(weights) <= 0:
            raise MimicError(f"clip weights must be {len(clips)} non-negative numbers with a positive sum, "
                             f"got {weights}")
        blend = [None] * len(clips) if loop_blend_seconds is None else list(loop_blend_seconds)
        if len(blend) != len(clips) or any(b is not None and not b > 0 for b in blend):
            raise MimicError(f"loop_blend_seconds must be {len(clips)} positive numbers of seconds (or None), "
                             f"got {blend}")
        if velocities not in VELOCITY_ESTIMATES:
            raise MimicError(f"velocities must be one of {', '.join(VELOCITY_ESTIMATES)}, got {velocities!r}")
        for clip in clips:
            validate_clip(clip, model)
        self.model = model
        self.clips = clips
        self.device = torch.device(device)
        self.dtype = dtype
        self.fk = ForwardKinematics(model, device=device, dtype=dtype)
        f64 = dict(dtype=torch.float64)

        root_pos = torch.cat([torch.as_tensor(c.root_pos, **f64) for c in clips])
        root_rot = rot.quat_normalize(torch.cat([torch.as_tensor(c.root_rot, **f64) for c in clips]))
        joint_rot = model.joint_pos_to_rot(torch.cat([torch.as_tensor(c.joint_pos, **f64) for c in clips]))
        counts = torch.tensor([c.num_frames for c in clips])
        starts = torch.cumsum(counts, 0) - counts
        durations = torch.tensor([c.duration for c in clips], **f64)
        offsets = torch.cumsum(durations + _CLIP_GAP, 0) - (durations + _CLIP_GAP)
        frame_time = torch.cat([torch.as_tensor(c.frame_times, **f64) + offsets[i] for i, c in enumerate(clips)])
        if close_loops:
            for i, clip in enumerate(clips):
                if clip.loop == LoopMode.WRAP:
                    frames = slice(int(starts[i]), int(starts[i] + counts[i]))
                    _close_loop(root_pos[frames], root_rot[frames], joint_rot[frames],
                                _blend_weight(torch.as_tensor(clip.frame_times, **f64), clip.duration, blend[i]))

        # Per-interval quantities: interval k joins frame k and k+1 (a clip's last frame repeats the one before).
        nxt = torch.arange(len(frame_time)) + 1
        last = starts + counts - 1
        nxt[last] = last
        prev_of_last = torch.arange(len(frame_time))
        prev_of_last[last] = last - 1
        k0, k1 = prev_of_last, prev_of_last + 1
        dt = (frame_time[k1] - frame_time[k0])[:, None]
        body_pos, body_rot = ForwardKinematics(model, dtype=torch.float64)(root_pos, root_rot, joint_rot)
        com = center_of_mass(model, body_pos, body_rot)
        root_vel = (root_pos[k1] - root_pos[k0]) / dt
        root_ang_vel = rot.angular_velocity(root_rot[k0], root_rot[k1], dt)
        joint_ang_vel = rot.angular_velocity(joint_rot[k0], joint_rot[k1], dt[..., None], local=True)
        dof_vel = model.joint_ang_vel_to_dof_vel(joint_ang_vel)
        body_vel = (body_pos[k1] - body_pos[k0]) / dt[..., None]
        com_vel = (com[k1] - com[k0]) / dt

        if velocities == "central":
            wraps = torch.tensor([c.loop == LoopMode.WRAP for c in clips])
            root_vel, root_ang_vel, dof_vel, body_vel, com_vel = (
                _central(v, starts, counts, wraps) for v in (root_vel, root_ang_vel, dof_vel, body_vel, com_vel))

        cycle_delta = root_pos[last] - root_pos[starts]
        cycle_delta[:, 2] = 0.0

        def put(x: torch.Tensor) -> torch.Tensor:
            return x.to(device=self.device, dtype=dtype)

        self._frame_time = frame_time.to(self.device)  # float64: exact keyframe times
        self._starts, self._counts = starts.to(self.device), counts.to(self.device)
        self._offsets = offsets.to(self.device)
        self.durations = durations.to(self.device)
        self.wrap = torch.tensor([c.loop == LoopMode.WRAP for c in clips], device=self.device)
        self._root_pos = put(root_pos)
        self._rots = put(torch.cat((root_rot[:, None], joint_rot), dim=1))  # (F, 1 + num_joints, 4)
        self._root_vel, self._root_ang_vel = put(root_vel), put(root_ang_vel)
        self._dof_vel, self._body_vel, self._com_vel = put(dof_vel), put(body_vel), put(com_vel)
        self._cycle_delta = put(cycle_delta)
        self.exact_fk = exact_fk
        self.velocities = velocities
        lay = model.layout(self.device)
        self._hinge_pos, self._hinge_joint = lay["hinge_pos"], lay["hinge_joint"]
        self._ball_pos, self._ball_joint = lay["ball_pos"], lay["ball_joint"]
        self._hinge_angle = put(model.joint_rot_to_pos(joint_rot)[:, lay["hinge_pos"].cpu()])
        w = torch.tensor(weights, dtype=torch.float64)
        self._cpu_weights = w / w.sum()  # the draws' (a CPU generator's): no copy off the device per draw
        self.weights = self._cpu_weights.to(self.device)
        if not exact_fk:
            self._sample_fk_grid()

    def _sample_fk_grid(self) -> None:
        """Exact FK body positions every 1/GRID_HZ s of each clip (interpolated by :meth:`state`)."""
        counts = [max(2, int(np.ceil(float(d) * GRID_HZ)) + 1) for d in self.durations.cpu()]
        ids = torch.cat([torch.full((n,), i, dtype=torch.long) for i, n in enumerate(counts)])
        times = torch.cat([torch.linspace(0.0, float(d), n, dtype=torch.float64)
                           for d, n in zip(self.durations.cpu(), counts, strict=True)])
        # Within one cycle (no cycle shift): clamp the last sample of wrap clips just below the end.
        times = torch.minimum(times, self.durations.cpu()[ids] * (1 - 1e-12))
        self._grid_pos = self.state(ids.to(self.device), times.to(self.device)).body_pos
        count_t = torch.tensor(counts, device=self.device)
        self._grid_count = count_t
        self._grid_start = torch.cumsum(count_t, 0) - count_t
        self._grid_dt = self.durations / (count_t - 1)

    @property
    def cycle_delta(self) -> torch.Tensor:
        """(num_clips, 3) horizontal root displacement over one cycle of each clip (z is 0)."""
        return self._cycle_delta

    @property
    def num_clips(self) -> int:
        return len(self.clips)

    def sample_clips(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) clip indices drawn by weight, with ``generator`` on its own device (the CPU by default)."""
        where = generator_device(generator)
        weights = self._cpu_weights if where.type == "cpu" else self.weights.to(where)
        return upload(torch.multinomial(weights, n, replacement=True, generator=generator), self.device)

    def sample_times(self, clip_ids: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) times drawn uniformly in ``[0, duration)`` of each clip."""
        u = upload(torch.rand(clip_ids.shape, generator=generator, dtype=torch.float64,
                              device=generator_device(generator)), self.device)
        return u * self.durations[clip_ids]

    def phase(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(n,) phase in [0, 1): position within the cycle (clamped to 1 for ``none`` clips)."""
        dur = self.durations[clip_ids]
        t = times.to(torch.float64)
        wrapped = torch.remainder(t, dur) / dur
        clamped = (t / dur).clamp(0.0, 1.0)
        return torch.where(self.wrap[clip_ids], wrapped, clamped).to(self.dtype)

    def cycle_count(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(n,) number of completed cycles at ``times`` (0 for ``none`` clips)."""
        cycles = torch.floor(times.to(torch.float64) / self.durations[clip_ids])
        return torch.where(self.wrap[clip_ids], cycles, torch.zeros_like(cycles)).long()

    def state(self, clip_ids: torch.Tensor, times: torch.Tensor) -> MotionState:
        """Reference state of clip ``clip_ids[i]`` at time ``times[i]`` (seconds), for (n,) queries."""
        clip_ids = clip_ids.to(self.device).long()
        t = times.to(device=self.device, dtype=torch.float64)
        dur = self.durations[clip_ids]
        wrap = self.wrap[clip_ids]
        cycles = torch.where(wrap, torch.floor(t / dur), torch.zeros_like(t))
        local_t = torch.where(wrap, t - cycles * dur, t.clamp(min=0.0)).clamp(max=dur)

        start, count = self._starts[clip_ids], self._counts[clip_ids]
        global_t = self._offsets[clip_ids] + local_t
        k0 = torch.searchsorted(self._frame_time, global_t, right=True) - 1
        k0 = torch.minimum(torch.maximum(k0, start), start + count - 2)
        k1 = k0 + 1
        t0, t1 = self._frame_time[k0], self._frame_time[k1]
        blend = ((global_t - t0) / (t1 - t0)).clamp(0.0, 1.0).to(self.dtype)

        shift = cycles.to(self.dtype)[:, None] * self._cycle_delta[clip_ids]
        root_pos = torch.lerp(self._root_pos[k0], self._root_pos[k1], blend[:, None]) + shift
        rots = rot.quat_slerp(self._rots[k0], self._rots[k1], blend[:, None])  # root and joints in one call
        root_rot, joint_rot = rots[:, 0], rots[:, 1:]
        if self.exact_fk or not hasattr(self, "_grid_pos"):
            body_pos = self.fk(root_pos, root_rot, joint_rot)[0]
        else:  # FK sampled on a fine uniform grid, interpolated linearly
            g = local_t / self._grid_dt[clip_ids]
            g0 = torch.minimum(g.floor().long(), self._grid_count[clip_ids] - 2)
            gb = (g - g0).clamp(0.0, 1.0).to(self.dtype)[:, None, None]
            g0 = g0 + self._grid_start[clip_ids]
            body_pos = torch.lerp(self._grid_pos[g0], self._grid_pos[g0 + 1], gb) + shift[:, None, :]
        # joint_pos straight from the interpolation: ball quaternions as slerped, hinge angles lerped
        joint_pos = root_pos.new_empty(len(k0), self.model.num_joint_pos)
        joint_pos[:, self._ball_pos] = joint_rot[:, self._ball_joint]
        joint_pos[:, self._hinge_pos] = torch.lerp(self._hinge_angle[k0], self._hinge_angle[k1], blend[:, None])
        if self.velocities == "frame":
            def vel(v: torch.Tensor) -> torch.Tensor:
                return v[k0]
        else:  # per-keyframe velocities, blended like the pose
            def vel(v: torch.Tensor) -> torch.Tensor:
                return torch.lerp(v[k0], v[k1], blend.view(-1, *([1] * (v.dim() - 1))))
        return MotionState(
            root_pos=root_pos,
            root_rot=root_rot,
            root_vel=vel(self._root_vel),
            root_ang_vel=vel(self._root_ang_vel),
            joint_rot=joint_rot,
            joint_pos=joint_pos,
            dof_vel=vel(self._dof_vel),
            body_pos=body_pos,
            body_vel=vel(self._body_vel),
            com_vel=vel(self._com_vel),
        )


def _central(vel: torch.Tensor, starts: torch.Tensor, counts: torch.Tensor, wraps: torch.Tensor) -> torch.Tensor:
    """(F, ...) keyframe velocities as the mean of the forward differences ``vel`` (F, ...) of the intervals
    before and after each keyframe. A cyclic clip's first keyframe takes its last interval as the one before
    and its last keyframe equals its first; a non-cyclic clip's ends keep their one interval."""
    out = vel.clone()
    for s, c, wrap in zip(starts.tolist(), counts.tolist(), wraps.tolist(), strict=True):
        n = c - 1  # intervals; keyframes 0..n
        if n < 1:
            continue
        seg = vel[s:s + n]
        before = torch.roll(seg, 1, dims=0) if wrap else torch.cat((seg[:1], seg[:-1]))
        out[s:s + n] = 0.5 * (before + seg)
        out[s + n] = out[s] if wrap else seg[-1]
    return out


def _blend_weight(times: torch.Tensor, duration: float, window: float | None) -> torch.Tensor:
    """(F,) share of the loop correction at each keyframe time: 0 at the start, 1 at the end.

    Rises linearly over the whole cycle (``window`` None) or over its last ``window`` seconds.
    """
    window = duration if window is None else min(window, duration)
    return ((times - (duration - window)) / window).clamp(0.0, 1.0)


def _close_loop(root_pos: torch.Tensor, root_rot: torch.Tensor, joint_rot: torch.Tensor, phase: torch.Tensor) -> None:
    """Make a cyclic clip end in its start pose by blending in the end-to-start mismatch, in place.

    Args:
        root_pos: (F, 3); only the height is corrected (the horizontal cycle offset is kept).
        root_rot: (F, 4) world rotations.
        joint_rot: (F, J, 4) local rotations.
        phase: (F,) share of the correction per keyframe, from 0 (first) to 1 (last; see ``_blend_weight``).
    """
    root_pos[:, 2] += phase * (root_pos[0, 2] - root_pos[-1, 2])
    root_fix = rot.quat_mul(root_rot[0], rot.quat_conj(root_rot[-1]))
    identity = rot.quat_identity((), dtype=root_rot.dtype)
    root_rot[:] = rot.quat_mul(rot.quat_slerp(identity.expand_as(root_rot), root_fix.expand_as(root_rot), phase),
                               root_rot)
    joint_fix = rot.quat_mul(joint_rot[0], rot.quat_conj(joint_rot[-1]))  # (J, 4)
    frames = joint_rot.shape[0]
    fix = rot.quat_slerp(identity.expand_as(joint_rot), joint_fix.expand(frames, -1, -1), phase[:, None])
    joint_rot[:] = rot.quat_mul(fix, joint_rot)
