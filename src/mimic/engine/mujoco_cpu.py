"""MuJoCo on the CPU: ``num_envs`` characters in one ``mujoco.batch.Batch``, PD at every physics step.

The batch steps every simulation in C on a thread pool with the GIL released; between physics
steps the PD torque of all envs is computed in one batched NumPy pass over the batch's own state
arrays and written to ``qfrc_applied`` (see :mod:`mimic.engine.pd` for the implicit-damping split).
The batch binds no output field: body poses, velocities and ground contacts are computed once per
control step from the state by :class:`~mimic.engine.body_state.BodyState`, cheaper than the extra
MuJoCo forward pass that would make MuJoCo's own current, and converted to float32 torch tensors.

The engine compiles its own copy of the character's MJCF (:func:`compile_engine_model`): joint
``stiffness`` (where the MJCF stores kp) is zeroed, joint damping becomes the PD damping, and the
motors (which only carry the torque limits) are disabled.
"""

from __future__ import annotations

import time
from pathlib import Path

import mujoco
import mujoco.batch
import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel, load_character
from mimic.engine.base import Engine, EngineConfig
from mimic.engine.body_state import BodyState
from mimic.engine.pd import PDController
from mimic.errors import MimicError

# Warnings after which MuJoCo has reset the simulation (divergence) or dropped contacts/constraints.
_BAD_WARNINGS = [int(w) for w in (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL,
                                  mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADCTRL,
                                  mujoco.mjtWarning.mjWARN_CONTACTFULL, mujoco.mjtWarning.mjWARN_CNSTRFULL)]


def compile_engine_model(character: CharacterModel, config: EngineConfig, pd: PDController,
                         passive_springs: bool = False) -> mujoco.MjModel:
    """The MjModel the engine simulates, compiled from ``character.mjcf_path`` (see :func:`engine_spec`)."""
    return engine_spec(character, config, pd, passive_springs).compile()


def engine_spec(character: CharacterModel, config: EngineConfig, pd: PDController,
                passive_springs: bool = False) -> mujoco.MjSpec:
    """The MjSpec of the model the engine simulates (``spec.to_xml()`` writes it for plain MuJoCo).

    Args:
        character: the character (its MJCF path and root joint).
        config: physics rate, root welding, solver and contact options (``fast_solver``, ``ground_pairs``).
        pd: gives the implicit joint damping per DoF.
        passive_springs: keep the MJCF's joint stiffness as passive springs toward the rest pose
            (only for raw-stepping benchmarks that need a standing character without a controller).
    """
    spec = mujoco.MjSpec.from_file(str(character.mjcf_path))
    spec.option.timestep = config.physics_dt
    native = config.backend == "native" and not passive_springs
    if native:
        _add_pd_actuators(spec, character, pd)
    else:
        # The engine applies PD torques as qfrc_applied; the MJCF's motors only carry torque limits.
        spec.option.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
    for j in spec.joints:
        if j.type == mujoco.mjtJoint.mjJNT_FREE:
            continue
        if not passive_springs:
            j.stiffness = [0.0, 0.0, 0.0]
    model_tmp = spec.compile()  # joint ids -> DoF offsets, to set damping per DoF
    for jid, j in enumerate(spec.joints):  # spec order is the compiled joint order (unnamed joints too)
        if model_tmp.jnt_type[jid] == mujoco.mjtJoint.mjJNT_FREE:
            continue
        body = model_tmp.jnt_bodyid[jid] - 1
        off = character.dof_offsets[body]
        j.damping = [float(pd.sim_damping[off]), 0.0, 0.0]
    if config.fast_solver and config.name == "mujoco_cpu":  # same solution, less work (EngineConfig.fast_solver)
        spec.option.jacobian = mujoco.mjtJacobian.mjJAC_SPARSE
        spec.option.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ISLAND) | int(mujoco.mjtDisableBit.mjDSBL_WARMSTART)
    root = spec.body(character.body_names[0])
    if config.fix_root:
        for j in list(root.joints):
            spec.delete(j)
        root.mocap = True  # welded; its pose is the state field mocap_pos/mocap_quat
    model = spec.compile()  # checks it, and lets to_xml() run
    if config.ground_pairs and config.name == "mujoco_cpu" and _explicit_ground_pairs(spec, model):
        spec.compile()
    return spec


def _explicit_ground_pairs(spec: mujoco.MjSpec, model: mujoco.MjModel) -> bool:
    """Replace MuJoCo's automatic contact detection by one explicit ``<pair>`` per geom pair that can touch,
    when every such pair is a world geom (the ground) against a character geom; returns whether it did.

    The same contacts with the same parameters (each pair gets MuJoCo's own combination of its two geoms':
    priority, condim max, solmix-weighted solref and solimp, friction, margin and gap max), without the
    broad phase that sorts all of the character's geoms every physics step only to keep their ground pairs
    (about 8 % of a humanoid step). Characters whose geoms can touch each other, models with explicit pairs
    or excludes, and geoms with adhesion or surface velocity keep the automatic detection.
    """
    m = model
    if m.npair or m.nexclude or m.ngeom < 2:
        return False
    geoms = sorted(spec.geoms, key=lambda g: g.id)  # compiled geom order
    if [g.id for g in geoms] != list(range(m.ngeom)) or any(np.any(g.adhesion) or np.any(g.surfacevel) for g in geoms):
        return False
    weld = m.body_weldid[m.geom_bodyid]
    pairs = []
    for g1 in range(m.ngeom):
        for g2 in range(g1 + 1, m.ngeom):
            ct1, ca1, ct2, ca2 = m.geom_contype[g1], m.geom_conaffinity[g1], m.geom_contype[g2], m.geom_conaffinity[g2]
            if not (ct1 & ca2 or ct2 & ca1) or weld[g1] == weld[g2]:
                continue
            if weld[g1] != 0 and weld[g2] != 0:
                return False  # the character touches itself: the broad phase earns its keep
            if m.geom_type[g1] == m.geom_type[g2] == mujoco.mjtGeom.mjGEOM_PLANE:
                continue
            pairs.append((g1, g2))
    for k, g in enumerate(geoms):
        if not g.name:
            g.name = f"mimic_geom_{k}"
    for g1, g2 in pairs:
        _add_pair(spec, m, geoms[g1].name, g1, geoms[g2].name, g2)
    for g in geoms:
        g.contype, g.conaffinity = 0, 0
    return True


def _add_pair(spec: mujoco.MjSpec, m: mujoco.MjModel, name1: str, g1: int, name2: str, g2: int) -> None:
    """An explicit pair of geoms ``g1`` and ``g2`` with the contact parameters MuJoCo's automatic detection
    gives them (``mj_contactParam``)."""
    pair = spec.add_pair()
    pair.geomname1, pair.geomname2 = name1, name2
    pair.margin = float(max(m.geom_margin[g1], m.geom_margin[g2]))
    pair.gap = float(max(m.geom_gap[g1], m.geom_gap[g2]))
    ref1, ref2, imp1, imp2 = m.geom_solref[g1], m.geom_solref[g2], m.geom_solimp[g1], m.geom_solimp[g2]
    if m.geom_priority[g1] != m.geom_priority[g2]:
        top = g1 if m.geom_priority[g1] > m.geom_priority[g2] else g2
        condim, solref, solimp = m.geom_condim[top], m.geom_solref[top], m.geom_solimp[top]
        friction = m.geom_friction[top]
    else:
        condim = max(m.geom_condim[g1], m.geom_condim[g2])
        mix1, mix2, tiny = m.geom_solmix[g1], m.geom_solmix[g2], mujoco.mjMINVAL
        if mix1 >= tiny and mix2 >= tiny:
            mix = mix1 / (mix1 + mix2)
        else:
            mix = 0.5 if mix1 < tiny and mix2 < tiny else 0.0 if mix1 < tiny else 1.0
        solref = mix * ref1 + (1 - mix) * ref2 if ref1[0] > 0 and ref2[0] > 0 else np.minimum(ref1, ref2)
        solimp = mix * imp1 + (1 - mix) * imp2
        friction = np.maximum(m.geom_friction[g1], m.geom_friction[g2])
    pair.condim = int(condim)
    pair.solref, pair.solimp = [float(x) for x in solref], [float(x) for x in solimp]
    pair.friction = [float(friction[0]), float(friction[0]), float(friction[1]), float(friction[2]), float(friction[2])]


def _add_pd_actuators(spec: mujoco.MjSpec, character: CharacterModel, pd: PDController) -> None:
    """Replace the MJCF's actuators by one servo per DoF, in ``dof_vel`` order (ctrl = target).

    force = kp * (ctrl - length), limited to the joint's torque limit; a ball joint gets three,
    about its local x, y, z axes (length = that component of its exp map). The damping -kd * qdot is
    the joint's own damping, integrated implicitly. It stays outside the actuator on purpose: MuJoCo
    drops a force-limited actuator's velocity derivative while it saturates, and the damping of the
    light feet and hands turns explicit (and diverges) whenever an actuator leaves saturation.
    """
    for act in list(spec.actuators):
        spec.delete(act)
    ch = character
    for b in range(1, ch.num_bodies):
        off = int(ch.dof_offsets[b])
        if off < 0:
            continue
        axes = np.eye(3) if int(ch.joint_types[b]) == 2 else np.ones((1, 1))  # JointType.BALL
        limit = float(ch.joint_torque_limit[b])
        for k, axis in enumerate(axes):
            dof = off + k
            act = spec.add_actuator()
            act.name = f"mimic_pd_{ch.body_names[b]}_{k}"
            act.target = _joint_name(spec, ch.body_names[b])
            act.trntype = mujoco.mjtTrn.mjTRN_JOINT
            act.gear = list(axis) + [0.0] * (6 - len(axis))
            act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
            act.gainprm = [pd.kp[dof]] + [0.0] * 9
            act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
            act.biasprm = [0.0, -pd.kp[dof], 0.0] + [0.0] * 7
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
            if np.isfinite(limit):
                act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
                act.forcerange = [-limit, limit]


def _joint_name(spec: mujoco.MjSpec, body_name: str) -> str:
    """Name of the joint of body ``body_name`` (naming it when the MJCF left it unnamed)."""
    body = spec.body(body_name)
    joint = body.joints[0]
    if not joint.name:
        joint.name = f"mimic_joint_{body_name}"
    return joint.name


class MujocoCpuEngine(Engine):
    """:class:`~mimic.engine.base.Engine` on ``mujoco.batch.Batch`` (see the module docstring).

    Args:
        mjcf_path: the character's MJCF (gains in joint ``stiffness``/``damping``, torque limits in
            the motors' ctrlrange).
        num_envs: number of characters ``N``.
        config: engine settings; defaults from :class:`EngineConfig`.

    Envs start in the MJCF's rest pose at rest, with PD targets equal to that pose.

    Attributes (beyond :class:`Engine`'s): ``mj_model`` the compiled model, ``batch`` its
    ``mujoco.batch.Batch`` (sim ``i`` is env ``i``), ``pd`` the :class:`PDController`, ``bodies``
    the :class:`BodyState` that derives body poses, velocities and contacts.
    """

    def __init__(self, mjcf_path: str | Path, num_envs: int, config: EngineConfig | None = None) -> None:
        if num_envs < 1:
            raise MimicError(f"engine: num_envs ({num_envs}) must be >= 1")
        self.config = config or EngineConfig()
        self.character = load_character(mjcf_path)
        if not self.character.has_free_root:
            raise MimicError(f"{mjcf_path}: the engine needs a character whose root has a free joint")
        self.num_envs = num_envs
        self.pd = PDController(self.character, self.config.pd_damping, self.config.physics_dt)
        self.mj_model = compile_engine_model(self.character, self.config, self.pd)
        # Not persistent: one MjData per thread stays in cache (a persistent batch ran ~20 % slower).
        self.batch = mujoco.batch.Batch(self.mj_model, num_envs, self.config.num_threads)
        ch, n = self.character, num_envs
        self._qoff, self._voff = (0, 0) if self.config.fix_root else (7, 6)
        b = self.batch
        self._qpos, self._qvel, self._qfrc = b.bind("qpos"), b.bind("qvel"), b.bind("qfrc_applied")
        self._native = self.config.backend == "native"
        self.physics_seconds = 0.0  # wall time spent inside MuJoCo's step calls (native backend)
        if self._native:  # ctrl = per-DoF targets; the limited PD force is MuJoCo's actuator_force
            self._ctrl, self._act_force = b.bind("ctrl"), b.bind("actuator_force")
        self._warmstart = b.bind("qacc_warmstart")
        self._mocap_pos, self._mocap_quat = b.bind("mocap_pos"), b.bind("mocap_quat")
        self.bodies = BodyState(ch, self.mj_model, n, fixed_root=self.config.fix_root)
        self._jpos = self._qpos[:, self._qoff:]  # views into the state rows
        self._dvel = self._qvel[:, self._voff:]
        self._qfrc_joint = self._qfrc[:, self._voff:]
        self._tau = np.zeros((n, ch.num_dofs))
        self._warn_idx = np.array(_BAD_WARNINGS)
        self._failed = np.zeros(n, dtype=bool)
        # State buffers handed out by the properties, overwritten in place: float32 NumPy arrays
        # (written by _refresh, whose NumPy calls handle strided float64 views well) shared with torch.
        shapes = {
            "root_pos": (n, 3), "root_rot": (n, 4), "root_vel": (n, 3), "root_ang_vel": (n, 3),
            "joint_pos": (n, ch.num_joint_pos), "dof_vel": (n, ch.num_dofs), "body_pos": (n, ch.num_bodies, 3),
            "body_rot": (n, ch.num_bodies, 4), "body_vel": (n, ch.num_bodies, 3),
            "body_ang_vel": (n, ch.num_bodies, 3), "dof_torque": (n, ch.num_dofs),
        }
        self._np = {k: np.zeros(shape, dtype=np.float32) for k, shape in shapes.items()}
        self._np["ground_contact"] = np.zeros((n, ch.num_bodies), dtype=bool)
        self._state = {k: torch.from_numpy(v) for k, v in self._np.items()}
        self._invalid = torch.zeros(n, dtype=torch.bool)
        rest = self.rest_state()
        self._pd_targets = torch.zeros(n, ch.num_joint_pos)
        self._pd_targets_stale = False  # native targets set per DoF, converted when read
        self.set_pd_targets(rest["joint_pos"])
        self.set_state(None, **rest)

    def _native_pd_targets(self) -> torch.Tensor:
        return torch.from_numpy(self._ctrl.copy())

    # --- commands --------------------------------------------------------------------------
    def set_state(self, env_ids: torch.Tensor | None, root_pos: torch.Tensor, root_rot: torch.Tensor,
                  root_vel: torch.Tensor, root_ang_vel: torch.Tensor, joint_pos: torch.Tensor,
                  dof_vel: torch.Tensor, *, check_ids: bool = True) -> None:
        """See :meth:`Engine.set_state`."""
        ids, order = self._sorted_ids(env_ids)
        f64 = torch.float64

        def rows(x: torch.Tensor, width: int) -> torch.Tensor:
            x = torch.as_tensor(x, dtype=f64).reshape(-1, width)
            if x.shape[0] != len(ids):
                raise MimicError(f"engine.set_state: got {x.shape[0]} rows for {len(ids)} envs")
            return x if order is None else x[order]

        ch = self.character
        rrot = rot.quat_normalize(rows(root_rot, 4))
        jpos = rows(joint_pos, ch.num_joint_pos).clone()
        ball = self.pd.ball_pos
        jpos[:, ball] = rot.quat_normalize(jpos[:, ball])
        if self.config.fix_root:
            self._mocap_pos[ids, 0] = rows(root_pos, 3).numpy()
            self._mocap_quat[ids, 0] = rrot.numpy()
        else:
            self._qpos[ids, 0:3] = rows(root_pos, 3).numpy()
            self._qpos[ids, 3:7] = rrot.numpy()
            self._qvel[ids, 0:3] = rows(root_vel, 3).numpy()
            # MuJoCo's free-joint angular velocity is in the root's body frame.
            self._qvel[ids, 3:6] = rot.quat_rotate_inv(rrot, rows(root_ang_vel, 3)).numpy()
        self._qpos[ids, self._qoff:] = jpos.numpy()
        self._qvel[ids, self._voff:] = rows(dof_vel, ch.num_dofs).numpy()
        # A reset env must not depend on its past: no solver warm start, no leftover torque.
        self._warmstart[ids] = 0.0
        self._qfrc[ids] = 0.0
        self._tau[ids] = 0.0
        self._failed[ids] = False
        ids_t = torch.from_numpy(ids.astype(np.int64))
        self._invalid[ids_t] = self._refresh(None if len(ids) == self.num_envs else ids)

    def set_pd_targets(self, targets: torch.Tensor) -> None:
        """See :meth:`Engine.set_pd_targets`."""
        t = torch.as_tensor(targets, dtype=torch.float64)
        if t.shape != (self.num_envs, self.character.num_joint_pos):
            raise MimicError(f"engine.set_pd_targets: expected shape ({self.num_envs}, "
                             f"{self.character.num_joint_pos}), got {tuple(t.shape)}")
        t = t.clone()
        ball = self.pd.ball_pos
        t[:, ball] = rot.quat_normalize(t[:, ball])
        if self._native:
            self._ctrl[:] = self.character.joint_rot_to_dof_exp(self.character.joint_pos_to_rot(t)).numpy()
        else:
            self._tar_mat, self._tar_hinge = self.pd.split_targets(t.numpy())
        self._pd_targets.copy_(t)
        self._pd_targets_stale = False

    def set_pd_targets_exp(self, targets: torch.Tensor) -> None:
        """See :meth:`Engine.set_pd_targets_exp`; the native backend takes them as they are."""
        if not self._native:
            super().set_pd_targets_exp(targets)
            return
        t = torch.as_tensor(targets)
        if t.shape != (self.num_envs, self.character.num_dofs):
            raise MimicError(f"engine.set_pd_targets_exp: expected shape ({self.num_envs}, "
                             f"{self.character.num_dofs}), got {tuple(t.shape)}")
        self._ctrl[:] = t.numpy()
        self._pd_targets_stale = True

    def step(self) -> None:
        """See :meth:`Engine.step`: ``substeps`` times (PD torque -> ``qfrc_applied``, ``mj_step``)."""
        warn = self._warning_counts()
        if self._native:
            start = time.perf_counter()
            try:
                self.batch.step(nstep=self.substeps)
            except mujoco.batch.SimulationError as exc:
                self._failed[exc.ids] = True
            self.physics_seconds += time.perf_counter() - start
            self._tau[:] = self._act_force
            self._failed |= self._warning_counts() != warn
            self._invalid |= self._refresh()
            return
        last = self.substeps - 1
        for i in range(self.substeps):
            # qfrc_applied = limited PD torque + damping * dof_vel: the simulator subtracts
            # damping * dof_vel_next implicitly (see mimic.engine.pd).
            self.pd.torque_np(self._jpos, self._dvel, self._tar_mat, self._tar_hinge, out=self._qfrc_joint,
                              sim_damping=True, pd_out=self._tau if i == last else None)
            try:
                self.batch.step()
            except mujoco.batch.SimulationError as exc:
                # Those sims kept their state; the others stepped. Flag them, keep going.
                self._failed[exc.ids] = True
        # A diverging sim is reset by MuJoCo to the model's defaults with a warning: flag it.
        self._failed |= self._warning_counts() != warn
        self._invalid |= self._refresh()

    # --- internals -------------------------------------------------------------------------
    def _warning_counts(self) -> np.ndarray:
        """(N,) total count of the warnings that mean a sim diverged or overflowed."""
        return self.batch.warning[:, self._warn_idx, 1].sum(axis=1)

    def _sorted_ids(self, env_ids: torch.Tensor | None) -> tuple[np.ndarray, torch.Tensor | None]:
        """Sorted int32 env ids (Batch needs them sorted) and the permutation of the callers' rows."""
        if env_ids is None:
            return np.arange(self.num_envs, dtype=np.int32), None
        ids = torch.as_tensor(env_ids, dtype=torch.long).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.num_envs):
            raise MimicError(f"engine: env ids must be in [0, {self.num_envs})")
        order = torch.argsort(ids)
        ids_sorted = ids[order]
        if len(ids) > 1 and bool((ids_sorted[1:] == ids_sorted[:-1]).any()):
            raise MimicError("engine: env ids must be distinct")
        return ids_sorted.numpy().astype(np.int32), order

    def _refresh(self, ids: np.ndarray | None = None) -> torch.Tensor:
        """Compute the body state and fill the float32 buffers from the simulator's float64 state.

        Args:
            ids: (M,) sorted env ids to refresh (after a partial :meth:`set_state`); None for all.

        Returns the (N,) or (M,) bool mask of envs whose state is bad now (see :attr:`Engine.invalid`).
        """
        rows = slice(None) if ids is None else ids
        qpos, qvel, jpos, dvel = self._qpos[rows], self._qvel[rows], self._jpos[rows], self._dvel[rows]
        bs = self.bodies
        if self.config.fix_root:
            bs.compute(qpos, qvel, self._mocap_pos[rows, 0], self._mocap_quat[rows, 0])
        else:
            bs.compute(qpos, qvel)
        values = {
            "root_pos": bs.pos[:, 0].T, "root_rot": bs.rot[:, 0].T, "root_vel": bs.lin_vel[:, 0].T,
            "root_ang_vel": bs.ang_vel[:, 0].T, "joint_pos": jpos, "dof_vel": dvel,
            "body_pos": bs.pos.transpose(2, 1, 0), "body_rot": bs.rot.transpose(2, 1, 0),
            "body_vel": bs.lin_vel.transpose(2, 1, 0), "body_ang_vel": bs.ang_vel.transpose(2, 1, 0),
            "dof_torque": self._tau[rows], "ground_contact": bs.contact.T,
        }
        for name, value in values.items():
            if ids is None:
                np.copyto(self._np[name], value, casting="same_kind")
            else:
                self._np[name][ids] = value
        limit = self.config.max_body_vel
        bad = ~(np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1))
        bad |= (np.abs(bs.lin_vel) > limit).any(axis=(0, 1)) | (np.abs(bs.ang_vel) > limit).any(axis=(0, 1))
        return torch.from_numpy(bad | self._failed[rows])
