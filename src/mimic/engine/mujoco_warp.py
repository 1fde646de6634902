"""MuJoCo Warp (``mujoco-warp``): ``num_envs`` characters as the worlds of one MJWarp ``Data``, on a GPU.

The engine simulates exactly the model of :class:`~mimic.engine.mujoco_cpu.MujocoCpuEngine` with its
native PD backend: the same :func:`~mimic.engine.mujoco_cpu.engine_spec` (one torque-limited servo per
DoF, exp-map targets in ``ctrl``, PD damping as MuJoCo joint damping integrated implicitly by
``implicitfast``, the same physics rate), compiled once with ``mujoco`` and moved to the device with
``mujoco_warp.put_model`` / ``put_data(nworld=num_envs)``. A control step is ``substeps`` calls of
``mujoco_warp.step`` followed by kinematics, centre-of-mass velocities and collision detection at the
new state (``kinematics``, ``com_pos``, ``com_vel``, ``collision``), so that body poses, velocities and
contacts describe the state the env observes. On CUDA the whole control step, and that post-step pass
alone (for resets), are captured once as CUDA graphs and replayed.

State tensors are torch views of the simulator's own arrays (``warp.to_torch``, no copy):
``joint_pos``/``dof_vel`` are columns of ``qpos``/``qvel``, ``body_pos``/``body_rot`` rows of
``xpos``/``xquat``, ``body_ang_vel`` the angular part of ``cvel``, ``dof_torque`` the actuator forces.
``body_vel`` (the velocity of each body's origin, from ``cvel`` and ``subtree_com``) and
``ground_contact`` (scattered from MJWarp's contact list) are computed in torch after each step.
Warp kernels run on the torch CUDA stream that was current when the engine was built, so torch reads
and writes of these views need no synchronization (as long as torch stays on that stream).

Differences from the MuJoCo CPU engine (see the tests in ``tests/engine/test_mujoco_warp.py``):

- precision: MJWarp computes in float32 (the CPU engine in float64, rounded to float32 on output), and
  its solver and collision kernels are MJWarp's own ports. Body positions after one control step from
  the same reference (walking) states and targets agree within 1e-6 m; random states that start deep in
  the ground, where the contact solver meets huge forces, part by up to centimetres (Warp's CPU device).
- PD: the ``native`` backend only (``pd_backend="python"`` is refused): same gains, per-axis torque
  limits, exp-map ball-joint error and implicit damping as the CPU engine's default.
- divergence: MuJoCo on the CPU resets a diverging sim itself with a warning, which the CPU engine
  flags; MJWarp does not, so a diverged env holds NaN or huge velocities until the caller resets it.
  Either way :attr:`invalid` is set (NaN/inf state, a body velocity above ``max_body_vel``, or MJWarp's
  per-world overflow flags for dropped contacts or constraints).
- contact and constraint buffers have a fixed size, set from the model for its worst case (every
  collision geom of the character on the ground at once; :func:`contact_capacity`), so they do not
  overflow in practice; an overflow would flag the envs concerned as invalid.
- ground contact comes from MJWarp's collision detection at the current state; the CPU engine tests
  geom extents against the ground plane (the same criterion for its spheres, capsules and boxes).
- ``num_threads`` (CPU only) is ignored; ``physics_seconds`` is measured with CUDA events on the GPU.

Warp compiles its kernels on first use and caches them on disk (``warp.config.kernel_cache_dir``,
by default ``~/.cache/warp/<version>``): the first engine on a machine takes about 30 s on Warp's CPU
device (2 cores), later ones about 2 s.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import mujoco
import mujoco_warp as mjw
import numpy as np
import torch
import warp as wp

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel, load_character
from mimic.engine.base import Engine, EngineConfig
from mimic.engine.mujoco_cpu import compile_engine_model
from mimic.engine.pd import PDController
from mimic.errors import MimicError

# No banner or per-kernel load messages on stdout (``mimic bench env --json`` prints its JSON there).
wp.config.log_level = max(wp.config.log_level, wp.LOG_WARNING)

# Overflow bits after which MJWarp dropped contacts or constraints of a world (not mere solver iteration limits).
_DROPPED = int(mjw.OverflowType.NEFC | mjw.OverflowType.NJMAX_NNZ | mjw.OverflowType.BROADPHASE
               | mjw.OverflowType.NARROWPHASE)
# Most contacts MuJoCo's plane collider returns per geom type (other pairs: 8, box-box's bound).
_PLANE_CONTACTS = {int(mujoco.mjtGeom.mjGEOM_SPHERE): 1, int(mujoco.mjtGeom.mjGEOM_CAPSULE): 2,
                   int(mujoco.mjtGeom.mjGEOM_ELLIPSOID): 1, int(mujoco.mjtGeom.mjGEOM_CYLINDER): 4,
                   int(mujoco.mjtGeom.mjGEOM_BOX): 4}


def default_device() -> str:
    """``cuda:0`` when Warp sees a CUDA device, else Warp's ``cpu`` device."""
    return "cuda:0" if wp.get_cuda_device_count() > 0 else "cpu"


def contact_capacity(m: mujoco.MjModel) -> tuple[int, int]:
    """(contacts, constraint rows) per world that cover every collision geom touching everything it can at once.

    Contacts: per colliding pair, the most its collider returns (a geom against a world plane:
    ``_PLANE_CONTACTS``; two body geoms or explicit pairs: 8). Rows: 2 (condim - 1) per contact with the
    pyramidal cone (condim with the elliptic one), 2 per limited joint, 1 per DoF with friction loss, 6 per
    equality constraint.
    """
    world = np.flatnonzero(m.geom_bodyid == 0)
    body = np.flatnonzero(m.geom_bodyid != 0)

    def collide(a: int, b: int) -> bool:
        return bool((m.geom_contype[a] & m.geom_conaffinity[b]) or (m.geom_contype[b] & m.geom_conaffinity[a]))

    ncon = 8 * m.npair
    for g in body:
        for w in world:
            if collide(g, w):
                plane = int(m.geom_type[w]) == int(mujoco.mjtGeom.mjGEOM_PLANE)
                ncon += _PLANE_CONTACTS.get(int(m.geom_type[g]), 8) if plane else 8
    for i, g in enumerate(body):
        for h in body[i + 1:]:
            if m.geom_bodyid[g] != m.geom_bodyid[h] and collide(g, h):
                ncon += 8
    condim = int(m.geom_condim.max()) if m.ngeom else 1
    elliptic = int(m.opt.cone) == int(mujoco.mjtCone.mjCONE_ELLIPTIC)
    rows = 1 if condim == 1 else (condim if elliptic else 2 * (condim - 1))
    njmax = ncon * rows + 2 * int(m.jnt_limited.sum()) + int((m.dof_frictionloss > 0).sum()) + 6 * m.neq
    return max(ncon, 1), max(njmax, 1)


class MujocoWarpEngine(Engine):
    """:class:`~mimic.engine.base.Engine` on MuJoCo Warp (see the module docstring).

    Args:
        mjcf_path: the character's MJCF (as for :class:`~mimic.engine.mujoco_cpu.MujocoCpuEngine`).
        num_envs: number of characters ``N`` (MJWarp worlds).
        config: engine settings; ``config.device`` picks the Warp device (empty: :func:`default_device`).
        cuda_graph: capture the control step as a CUDA graph (default: on CUDA devices with a memory pool).

    Attributes (beyond :class:`Engine`'s): ``mj_model`` the compiled model (the CPU engine's), ``wp_model``
    and ``wp_data`` MJWarp's model and data, ``pd`` the :class:`PDController` that gave the gains,
    ``nconmax`` and ``njmax`` the contact and constraint capacity per world. ``mujoco_warp_bench`` has the
    raw-stepping baseline of ``mimic bench env``.
    """

    def __init__(self, mjcf_path: str | Path, num_envs: int, config: EngineConfig | None = None,
                 cuda_graph: bool | None = None) -> None:
        if num_envs < 1:
            raise MimicError(f"engine: num_envs ({num_envs}) must be >= 1")
        self.config = config or EngineConfig(name="mujoco_warp")
        if self.config.backend != "native":
            raise MimicError("engine: mujoco_warp runs the native PD backend only (engine.pd_backend=native)")
        self.character = ch = load_character(mjcf_path)
        if not ch.has_free_root:
            raise MimicError(f"{mjcf_path}: the engine needs a character whose root has a free joint")
        self.num_envs = n = num_envs
        self.pd = PDController(ch, self.config.pd_damping, self.config.physics_dt)
        self.mj_model = m = compile_engine_model(ch, self.config, self.pd)
        if m.nbody != ch.num_bodies + 1 or m.nu != ch.num_dofs:
            raise MimicError(f"{mjcf_path}: the engine model has {m.nbody - 1} bodies and {m.nu} actuators, "
                             f"the character {ch.num_bodies} and {ch.num_dofs} DoFs")
        try:
            self._wp_device = wp.get_device(self.config.device or default_device())
        except (ValueError, RuntimeError) as exc:
            cuda = wp.get_cuda_device_count()
            raise MimicError(f"engine.device={self.config.device!r}: Warp cannot use it ({exc}; Warp sees {cuda} CUDA "
                             "device(s)); use cuda:K, or cpu for Warp's slow cpu device") from None
        self._device = torch.device(wp.device_to_torch(self._wp_device))
        self.nconmax, self.njmax = contact_capacity(m)
        mjd = mujoco.MjData(m)
        mujoco.mj_forward(m, mjd)
        with wp.ScopedDevice(self._wp_device):
            self.wp_model = mjw.put_model(m)
            self.wp_model.opt.warn_overflow = _DROPPED
            self.wp_data = mjw.put_data(m, mjd, nworld=n, nconmax=self.nconmax, njmax=self.njmax)
        self._stream = (wp.stream_from_torch(torch.cuda.current_stream(self._device))
                        if self._wp_device.is_cuda else None)
        self._bind_views(ch, m)
        self._invalid = torch.zeros(n, dtype=torch.bool, device=self._device)
        self._derive_math = self._derive  # compile_math may compile it
        self._pd_targets = torch.zeros(n, ch.num_joint_pos, device=self._device)
        self._pd_targets_stale = False
        self._physics_cpu_s = 0.0
        self._physics_events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        # First launches compile (or load from Warp's kernel cache) every kernel, before any capture.
        self._launch(self._step_kernels)
        use_graph = cuda_graph if cuda_graph is not None else (
            self._wp_device.is_cuda and wp.is_mempool_enabled(self._wp_device))
        self._step_graph = self._capture(self._step_kernels) if use_graph else None
        self._sense_graph = self._capture(self._sense_kernels) if self._step_graph is not None else None
        rest = self.rest_state()
        self.set_pd_targets(rest["joint_pos"])
        self.set_state(None, **rest)

    def _bind_views(self, ch: CharacterModel, m: mujoco.MjModel) -> None:
        """Torch views of the MJWarp arrays, and the index tensors of the post-step torch pass."""
        d, dev, t = self.wp_data, self._device, wp.to_torch
        fixed = self.config.fix_root
        self._qoff, self._voff = (0, 0) if fixed else (7, 6)
        self._qpos, self._qvel, self._ctrl = t(d.qpos), t(d.qvel), t(d.ctrl)
        self._warmstart, self._qfrc, self._act_force = t(d.qacc_warmstart), t(d.qfrc_applied), t(d.actuator_force)
        self._xpos, self._xquat, self._cvel, self._subtree_com = t(d.xpos), t(d.xquat), t(d.cvel), t(d.subtree_com)
        self._overflow, self._nacon = t(d.overflow), t(d.nacon)
        self._con_geom, self._con_world = t(d.contact.geom), t(d.contact.worldid)
        if fixed:
            self._mocap_pos, self._mocap_quat = t(d.mocap_pos), t(d.mocap_quat)
        b = ch.num_bodies
        self._state = {
            "root_pos": self._xpos[:, 1], "root_rot": self._xquat[:, 1],
            "joint_pos": self._qpos[:, self._qoff:], "dof_vel": self._qvel[:, self._voff:],
            "body_pos": self._xpos[:, 1:], "body_rot": self._xquat[:, 1:], "body_ang_vel": self._cvel[:, 1:, :3],
            "dof_torque": self._act_force,
        }
        self._state["root_ang_vel"] = self._state["body_ang_vel"][:, 0]
        self._body_vel = torch.zeros(self.num_envs, b, 3, device=dev)
        # cvel's linear part is the velocity of the point at the subtree CoM of the body's tree root.
        self._root_of = torch.as_tensor(m.body_rootid[1:], dtype=torch.long, device=dev)
        # Ground contact: a contact between a world geom and a body geom marks that body.
        geom_body = torch.as_tensor(m.geom_bodyid, dtype=torch.long, device=dev)
        self._geom_body, self._geom_ground = geom_body - 1, geom_body == 0
        self._con_slots = torch.arange(d.naconmax, device=dev)
        self._contact_flat = torch.zeros(self.num_envs * b + 1, dtype=torch.bool, device=dev)  # last: discarded
        self._ground_contact = self._contact_flat[:-1].view(self.num_envs, b)
        self._state.update(root_vel=self._body_vel[:, 0], body_vel=self._body_vel, ground_contact=self._ground_contact)
        self._ball_pos = torch.as_tensor(self.pd.ball_pos, dtype=torch.long, device=dev)

    # --- state properties (see Engine) -----------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def wp_device(self) -> wp.Device:
        """The Warp device the engine simulates on."""
        return self._wp_device

    @property
    def uses_cuda_graph(self) -> bool:
        """A control step is one captured CUDA graph."""
        return self._step_graph is not None

    def _native_pd_targets(self) -> torch.Tensor:
        return self._ctrl.double()

    @property
    def physics_seconds(self) -> float:
        """Seconds spent in the physics steps since the last reset of this counter (set it to 0.0)."""
        total = self._physics_cpu_s
        for start, end in self._physics_events:
            end.synchronize()
            total += start.elapsed_time(end) / 1000.0
        return total

    @physics_seconds.setter
    def physics_seconds(self, value: float) -> None:
        self._physics_cpu_s = float(value)
        self._physics_events.clear()

    # --- commands --------------------------------------------------------------------------
    def set_state(self, env_ids: torch.Tensor | None, root_pos: torch.Tensor, root_rot: torch.Tensor,
                  root_vel: torch.Tensor, root_ang_vel: torch.Tensor, joint_pos: torch.Tensor,
                  dof_vel: torch.Tensor, *, check_ids: bool = True) -> None:
        """See :meth:`Engine.set_state`."""
        ids = self._env_ids(env_ids, check=check_ids)
        m = self.num_envs if ids is None else len(ids)
        rows = slice(None) if ids is None else ids
        ch, dev = self.character, self._device

        def value(x: torch.Tensor, width: int) -> torch.Tensor:
            x = torch.as_tensor(x, dtype=torch.float32, device=dev).reshape(-1, width)
            if x.shape[0] != m:
                raise MimicError(f"engine.set_state: got {x.shape[0]} rows for {m} envs")
            return x

        rrot = rot.quat_normalize(value(root_rot, 4))
        jpos = value(joint_pos, ch.num_joint_pos).clone()
        jpos[:, self._ball_pos] = rot.quat_normalize(jpos[:, self._ball_pos])
        if self.config.fix_root:
            self._mocap_pos[rows, 0] = value(root_pos, 3)
            self._mocap_quat[rows, 0] = rrot
        else:
            self._qpos[rows, 0:3] = value(root_pos, 3)
            self._qpos[rows, 3:7] = rrot
            self._qvel[rows, 0:3] = value(root_vel, 3)
            # MuJoCo's free-joint angular velocity is in the root's body frame.
            self._qvel[rows, 3:6] = rot.quat_rotate_inv(rrot, value(root_ang_vel, 3))
        self._qpos[rows, self._qoff:] = jpos
        self._qvel[rows, self._voff:] = value(dof_vel, ch.num_dofs)
        # A reset env must not depend on its past: no solver warm start, no leftover force or overflow flag.
        self._warmstart[rows] = 0.0
        self._qfrc[rows] = 0.0
        self._act_force[rows] = 0.0
        self._overflow[rows] = 0
        self._launch(self._sense_kernels, self._sense_graph)
        bad = self._derive_math()
        self._invalid[rows] = bad[rows]

    def set_pd_targets(self, targets: torch.Tensor) -> None:
        """See :meth:`Engine.set_pd_targets`."""
        t = torch.as_tensor(targets, dtype=torch.float32, device=self._device)
        if t.shape != (self.num_envs, self.character.num_joint_pos):
            raise MimicError(f"engine.set_pd_targets: expected shape ({self.num_envs}, "
                             f"{self.character.num_joint_pos}), got {tuple(t.shape)}")
        t = t.clone()
        t[:, self._ball_pos] = rot.quat_normalize(t[:, self._ball_pos])
        self._ctrl.copy_(self.character.joint_rot_to_dof_exp(self.character.joint_pos_to_rot(t)))
        self._pd_targets.copy_(t)
        self._pd_targets_stale = False

    def set_pd_targets_exp(self, targets: torch.Tensor) -> None:
        """See :meth:`Engine.set_pd_targets_exp`: the targets are the actuators' controls as they are."""
        t = torch.as_tensor(targets)
        if t.shape != (self.num_envs, self.character.num_dofs):
            raise MimicError(f"engine.set_pd_targets_exp: expected shape ({self.num_envs}, "
                             f"{self.character.num_dofs}), got {tuple(t.shape)}")
        self._ctrl.copy_(t)
        self._pd_targets_stale = True

    def step(self) -> None:
        """See :meth:`Engine.step`: ``substeps`` MJWarp steps, then the post-step pass (one graph on CUDA)."""
        if self._stream is not None:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            self._launch(self._step_kernels, self._step_graph)
            end.record()
            self._physics_events.append((start, end))
            self._fold_events()
        else:
            begin = time.perf_counter()
            self._launch(self._step_kernels, self._step_graph)
            self._physics_cpu_s += time.perf_counter() - begin
        self._invalid |= self._derive_math()

    def compile_math(self, compile_fn: Callable[[Callable[[], torch.Tensor]], Callable[[], torch.Tensor]]) -> None:
        """See :meth:`Engine.compile_math`: the body velocities, ground contacts and bad-state mask of every step
        and reset (about 45 operations, each a kernel launch on a GPU)."""
        self._derive_math = compile_fn(self._derive)

    # --- internals -------------------------------------------------------------------------
    def _step_kernels(self) -> None:
        for _ in range(self.substeps):
            mjw.step(self.wp_model, self.wp_data)
        self._sense_kernels()

    def _sense_kernels(self) -> None:
        """Body poses, CoM velocities and contacts at the current state (``mjw.step`` leaves those of the
        state before its last integration)."""
        m, d = self.wp_model, self.wp_data
        mjw.kinematics(m, d)
        mjw.com_pos(m, d)
        mjw.com_vel(m, d)
        mjw.collision(m, d)

    def _launch(self, kernels, graph: wp.Graph | None = None) -> None:
        """Run ``kernels`` (or their captured ``graph``) on the engine's device, on torch's current stream."""
        if self._stream is None:
            with wp.ScopedDevice(self._wp_device):
                kernels()
            return
        with wp.ScopedStream(self._stream):
            if graph is not None:
                wp.capture_launch(graph)
            else:
                kernels()

    def _capture(self, kernels) -> wp.Graph | None:
        """A CUDA graph of ``kernels``, or None (with a warning) when capture fails."""
        torch.cuda.synchronize(self._device)
        gc_enabled = gc.isenabled()
        gc.disable()  # a collected Warp object during capture would record its release into the graph
        try:
            with wp.ScopedDevice(self._wp_device), wp.ScopedCapture() as capture:
                kernels()
            return capture.graph
        except Exception as exc:  # noqa: BLE001 - any capture failure falls back to kernel-by-kernel launches
            warnings.warn(f"mujoco_warp: CUDA graph capture failed ({exc}); launching kernels one by one",
                          RuntimeWarning, stacklevel=3)
            return None
        finally:
            if gc_enabled:
                gc.enable()

    def _fold_events(self) -> None:
        """Sum the CUDA timings that have completed, so that the event list stays short."""
        while len(self._physics_events) > 64 and self._physics_events[0][1].query():
            start, end = self._physics_events.pop(0)
            self._physics_cpu_s += start.elapsed_time(end) / 1000.0

    def _derive(self) -> torch.Tensor:
        """Body origin velocities and ground contacts from the simulator's arrays; returns the (N,) bad mask."""
        ang, lin = self._cvel[:, 1:, :3], self._cvel[:, 1:, 3:]
        arm = self._xpos[:, 1:] - self._subtree_com[:, self._root_of]
        torch.add(lin, torch.linalg.cross(ang, arm, dim=-1), out=self._body_vel)
        # Contacts: entries below nacon, between a world geom and a body geom (others go to the discarded slot).
        geom = self._con_geom.long().clamp(0, len(self._geom_body) - 1)
        g0, g1 = geom[:, 0], geom[:, 1]
        body = torch.where(self._geom_ground[g0], self._geom_body[g1],
                           torch.where(self._geom_ground[g1], self._geom_body[g0], -1))
        used = (self._con_slots < self._nacon) & (body >= 0)
        b = self.character.num_bodies
        slot = torch.where(used, self._con_world.long() * b + body, self.num_envs * b)
        self._contact_flat.zero_()
        self._contact_flat[slot] = True
        limit = self.config.max_body_vel
        bad = ~(torch.isfinite(self._qpos).all(dim=1) & torch.isfinite(self._qvel).all(dim=1))
        bad |= (self._body_vel.abs() > limit).flatten(1).any(dim=1) | (ang.abs() > limit).flatten(1).any(dim=1)
        bad |= (self._overflow & _DROPPED) != 0
        return bad

    def _env_ids(self, env_ids: torch.Tensor | None, check: bool = True) -> torch.Tensor | None:
        """``env_ids`` as a long tensor on the device (None: all envs), with ``check`` checked in range and
        distinct."""
        if env_ids is None:
            return None
        ids = torch.as_tensor(env_ids, dtype=torch.long, device=self._device).reshape(-1)
        if check and len(ids):  # both checks in one host-device sync (each bool() or torch.unique is one on a GPU)
            s = ids.sort().values
            outside, repeated = torch.stack(((s[0] < 0) | (s[-1] >= self.num_envs), (s[1:] == s[:-1]).any())).tolist()
            if outside:
                raise MimicError(f"engine: env ids must be in [0, {self.num_envs})")
            if repeated:
                raise MimicError("engine: env ids must be distinct")
        return ids

