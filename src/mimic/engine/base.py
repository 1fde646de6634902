"""The batched physics engine interface, independent of the simulator behind it.

An :class:`Engine` simulates ``num_envs`` copies of one character (a CharacterModel read from its
MJCF) on a ground plane. Its state is exposed as torch float32 tensors with the environment
dimension first; they are owned by the engine and overwritten in place by :meth:`Engine.step` and
:meth:`Engine.set_state` (``clone()`` them to keep a snapshot).

Frames and layouts (see :mod:`mimic.character.model` and :mod:`mimic.character.rotations`):

- quaternions are (w, x, y, z); world is z-up;
- ``joint_pos`` is (num_envs, num_joint_pos): a quaternion per ball joint, an angle per hinge,
  local to the parent body;
- ``dof_vel`` is (num_envs, num_dofs): a ball joint's angular velocity in its child frame (3),
  a hinge's rate (1);
- every other velocity is in the world frame.

A control step (``1 / control_hz`` seconds) is ``substeps`` physics steps; the PD controller runs
at every physics step toward the targets of :meth:`Engine.set_pd_targets`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import mujoco
import torch

from mimic.character.model import CharacterModel
from mimic.errors import MimicError

PD_DAMPING_MODES = ("implicit", "stable", "explicit")
PD_BACKENDS = ("native", "python")
ENGINE_NAMES = ("mujoco_cpu", "mujoco_warp")


@dataclass
class EngineConfig:
    """Knobs of a physics engine. Defaults are the measured choice for DeepMimic's humanoid.

    Attributes:
        name: which engine :func:`~mimic.engine.registry.build_engine` builds: ``mujoco_cpu``
            (:class:`~mimic.engine.mujoco_cpu.MujocoCpuEngine`, ``mujoco.batch`` on the CPU cores) or
            ``mujoco_warp`` (:class:`~mimic.engine.mujoco_warp.MujocoWarpEngine`, MuJoCo Warp on a GPU;
            needs the ``gpu`` extra, ``pip install ".[gpu]"``).
        device: where the engine simulates and keeps its state tensors (the env follows it). Empty: the
            engine's default, ``cpu`` for ``mujoco_cpu`` (its only choice) and ``cuda:0`` for
            ``mujoco_warp`` when a CUDA device exists, else Warp's ``cpu`` device (slow: tests only).
        physics_hz: physics steps per second; a multiple of ``control_hz``. 120 Hz (4 physics steps
            per control step) is the fastest rate tried and had no blow-up in the random-target
            stress runs of ``benchmarks/engine_physics_rate.py`` (120-600 Hz all had none); it
            tracks clips as well as 240 Hz, with about twice 240 Hz's integration error against a
            1200 Hz reference (DeepMimic's rate). MimicKit runs Isaac Gym at 120 Hz.
        control_hz: PD-target updates (policy steps) per second; DeepMimic's 30.
        num_threads: ``mujoco_cpu`` only: worker threads stepping the batch; 0 uses every core.
        pd_damping: how the PD damping term is integrated.
            ``"implicit"``: the simulator integrates ``-kd * dof_vel`` implicitly (MuJoCo joint damping
            with the implicitfast integrator) and the stiffness term is explicit; stable at every
            rate we test, because the foot and hand inertias are tiny next to kd * dt.
            ``"stable"``: as implicit with damping ``kd + kp * physics_dt``, which is DeepMimic's
            stable PD (the stiffness term sees the pose one step ahead) up to contact coupling.
            ``"explicit"``: ``kp * err - kd * dof_vel`` from the state at the start of the step, as a
            plain PD loop does; unstable at these rates, kept for comparison.
        pd_backend: where the PD law runs at every physics step; unset (None), the character's choice
            for the clips tracked (its spec's per-clip ``pd_backend``), else ``"native"`` (see :attr:`backend`).
            ``"native"``: inside MuJoCo's step, so a control step is a single C call: one actuator per
            DoF gives ``kp * err`` limited to the torque limit, and the joint damping ``-kd * qdot``
            (implicit, not limited). A ball joint's error is the difference of exp-map coordinates
            (``log(t) - log(q)``, MuJoCo's ball-joint actuator length), limited per axis.
            ``"python"`` (``mujoco_cpu`` only): Mimic's batched NumPy PD between physics steps:
            DeepMimic's quaternion error ``log(conj(q) * t)`` and its torque-norm limit on ball joints, at
            the cost of Python work at every physics step (see README, "Physics engine", for both measured).
            Fast motions need it: the native backend's unlimited damping keeps a knee (kd 50, limit
            150 N m) under about 3 rad/s, where DeepMimic's run, jump and spinkick turn at 10-25 rad/s.
        fix_root: weld the root body in place (set by :meth:`Engine.set_state`), e.g. to check PD
            tracking in the air; root velocities then read zero.
        max_body_vel: an env whose body linear or angular velocity has a component above this
            (m/s, rad/s) is flagged invalid, as in DeepMimic (100).
        fast_solver: ``mujoco_cpu`` only: solve the constraints with a sparse Jacobian, the whole
            character as one island and no warm start instead of MuJoCo's defaults. The solution is
            the same to the solver's tolerance (body positions within 1e-5 m after three control steps
            with ground contacts, identical in float32 there; ``tests/engine/test_engine_state.py``); the
            step is faster because Newton's first iterate from the unconstrained accelerations converges
            as fast as the warm start, whose extra cost evaluation it skips, and the island split of a
            single tree is pure overhead (``benchmarks/physics_options.py``). ``false`` gives MuJoCo's defaults.
        ground_pairs: ``mujoco_cpu`` only: when the character's geoms can touch the ground but not each other
            (every bundled character), declare one explicit contact pair per geom and ground plane, with the
            parameters MuJoCo would combine for it, instead of MuJoCo's automatic broad phase. The same
            contacts with the same parameters (``tests/engine/test_engine_state.py``), without sorting every
            geom at every physics step only to keep its ground pairs. Characters that can touch themselves
            keep the automatic detection. ``false`` gives MuJoCo's automatic detection always.
    """

    name: Literal["mujoco_cpu", "mujoco_warp"] = "mujoco_cpu"
    device: str = ""
    physics_hz: int = 120
    control_hz: int = 30
    num_threads: int = 0
    pd_damping: str = "implicit"
    pd_backend: str | None = None
    fix_root: bool = False
    max_body_vel: float = 100.0
    fast_solver: bool = True
    ground_pairs: bool = True

    def __post_init__(self) -> None:
        if self.name not in ENGINE_NAMES:
            raise MimicError(f"engine: name {self.name!r} is not one of {', '.join(ENGINE_NAMES)}")
        if self.name == "mujoco_cpu" and self.device not in ("", "cpu"):
            raise MimicError(f"engine: device {self.device!r}: the mujoco_cpu engine runs on the cpu only "
                             "(engine.name=mujoco_warp runs on a GPU)")
        if self.name == "mujoco_warp" and self.pd_backend not in (None, "native"):
            raise MimicError("engine: pd_backend 'python' is a mujoco_cpu option; mujoco_warp runs the native PD "
                             "(one actuator per DoF inside the physics step)")
        if self.control_hz <= 0 or self.physics_hz <= 0:
            raise MimicError(f"engine: physics_hz ({self.physics_hz}) and control_hz ({self.control_hz}) "
                             "must be positive")
        if self.physics_hz % self.control_hz:
            raise MimicError(f"engine: physics_hz ({self.physics_hz}) must be a multiple of control_hz "
                             f"({self.control_hz})")
        if self.pd_backend is not None and self.pd_backend not in PD_BACKENDS:
            raise MimicError(f"engine: pd_backend {self.pd_backend!r} is not one of {', '.join(PD_BACKENDS)}")
        if self.backend == "native" and self.pd_damping == "explicit":
            raise MimicError("engine: pd_damping 'explicit' needs pd_backend 'python' (the native backend's "
                             "damping is MuJoCo's implicit joint damping)")
        if self.pd_damping not in PD_DAMPING_MODES:
            raise MimicError(f"engine: pd_damping {self.pd_damping!r} is not one of {', '.join(PD_DAMPING_MODES)}")
        if self.num_threads < 0:
            raise MimicError(f"engine: num_threads ({self.num_threads}) must be >= 0 (0 = all cores)")

    @property
    def backend(self) -> str:
        """The PD backend in effect: ``pd_backend``, or ``"native"`` when it is unset."""
        return self.pd_backend or "native"

    def physics_differences(self, other: EngineConfig) -> list[str]:
        """The settings that change what an action does (the PD law and the rates), ``"field: this one's vs
        other's"`` for each that differs from ``other``, both with their PD backends resolved
        (:meth:`~mimic.character.spec.CharacterSpec.engine_config_for`). The engine (CPU or Warp), its threads
        and the solver options that give the same solution are not among them."""
        fields = {"engine.pd_backend": "backend", "engine.pd_damping": "pd_damping", "engine.physics_hz": "physics_hz",
                  "engine.control_hz": "control_hz", "engine.fix_root": "fix_root"}
        return [f"{k}: {getattr(self, f)} vs {getattr(other, f)}" for k, f in fields.items()
                if getattr(self, f) != getattr(other, f)]

    @property
    def substeps(self) -> int:
        """Physics steps per control step."""
        return self.physics_hz // self.control_hz

    @property
    def physics_dt(self) -> float:
        return 1.0 / self.physics_hz

    @property
    def control_dt(self) -> float:
        return 1.0 / self.control_hz


class Engine(abc.ABC):
    """``num_envs`` simulated copies of one character, stepped together.

    Subclasses fill the state tensors below; all are float32 on :attr:`device` unless noted.

    Attributes:
        config: the :class:`EngineConfig`.
        character: the :class:`CharacterModel` (bodies, joints, gains) the engine simulates.
        num_envs: number of simulated characters ``N``.
        mj_model: the compiled MuJoCo model (its geoms, gains and options), whichever device steps it.
    """

    config: EngineConfig
    character: CharacterModel
    num_envs: int
    mj_model: mujoco.MjModel

    @property
    def device(self) -> torch.device:
        """Device of the state tensors."""
        return torch.device("cpu")

    @property
    def substeps(self) -> int:
        return self.config.substeps

    @property
    def control_dt(self) -> float:
        return self.config.control_dt

    @property
    def physics_dt(self) -> float:
        return self.config.physics_dt

    # --- state -------------------------------------------------------------------------------
    # Subclasses bind, in __init__: ``_state``, one tensor per name below (views of the simulator's own
    # arrays where it can, refreshed in place by every step and set_state); ``_invalid`` (N,) bool;
    # ``_pd_targets`` (N, num_joint_pos) and ``_pd_targets_stale``.
    STATE_NAMES = ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_pos", "dof_vel", "body_pos",
                   "body_rot", "body_vel", "body_ang_vel", "ground_contact", "dof_torque")
    _state: dict[str, torch.Tensor]
    _invalid: torch.Tensor
    _pd_targets: torch.Tensor
    _pd_targets_stale: bool

    @property
    def root_pos(self) -> torch.Tensor:
        """(N, 3) world position of the root body's origin."""
        return self._state["root_pos"]

    @property
    def root_rot(self) -> torch.Tensor:
        """(N, 4) world rotation of the root body."""
        return self._state["root_rot"]

    @property
    def root_vel(self) -> torch.Tensor:
        """(N, 3) world linear velocity of the root body's origin."""
        return self._state["root_vel"]

    @property
    def root_ang_vel(self) -> torch.Tensor:
        """(N, 3) world angular velocity of the root body."""
        return self._state["root_ang_vel"]

    @property
    def joint_pos(self) -> torch.Tensor:
        """(N, num_joint_pos) local joint coordinates."""
        return self._state["joint_pos"]

    @property
    def dof_vel(self) -> torch.Tensor:
        """(N, num_dofs) joint velocities (ball: child-frame angular velocity)."""
        return self._state["dof_vel"]

    @property
    def body_pos(self) -> torch.Tensor:
        """(N, num_bodies, 3) world position of each body's frame origin (its joint)."""
        return self._state["body_pos"]

    @property
    def body_rot(self) -> torch.Tensor:
        """(N, num_bodies, 4) world rotation of each body."""
        return self._state["body_rot"]

    @property
    def body_vel(self) -> torch.Tensor:
        """(N, num_bodies, 3) world linear velocity of each body's frame origin."""
        return self._state["body_vel"]

    @property
    def body_ang_vel(self) -> torch.Tensor:
        """(N, num_bodies, 3) world angular velocity of each body."""
        return self._state["body_ang_vel"]

    @property
    def ground_contact(self) -> torch.Tensor:
        """(N, num_bodies) bool: the body touches the ground in the current state (not accumulated
        over the physics steps of the last control step)."""
        return self._state["ground_contact"]

    @property
    def invalid(self) -> torch.Tensor:
        """(N,) bool: the env's simulation went bad since its last :meth:`set_state`.

        Set when the state holds NaN/inf, a body velocity component exceeds
        ``config.max_body_vel``, or the simulator reported an error or a divergence for the env.
        The engine keeps stepping such an env (its state is meaningless) and never resets it by
        itself: the caller resets it with :meth:`set_state`, which clears the flag.
        """
        return self._invalid

    @property
    def pd_targets(self) -> torch.Tensor:
        """(N, num_joint_pos) the current PD targets (converted from the simulator's per-DoF targets
        when :meth:`set_pd_targets_exp` set them last)."""
        if self._pd_targets_stale:
            self._pd_targets.copy_(self.character.dof_exp_to_joint_pos(self._native_pd_targets()).float())
            self._pd_targets_stale = False
        return self._pd_targets

    @abc.abstractmethod
    def _native_pd_targets(self) -> torch.Tensor:
        """(N, num_dofs) the per-DoF PD targets as the simulator holds them (ball joints as
        exponential maps), a tensor the caller may keep."""

    @property
    def dof_torque(self) -> torch.Tensor:
        """(N, num_dofs) PD torque of the last physics step, after the torque limits."""
        return self._state["dof_torque"]

    # --- commands ----------------------------------------------------------------------------
    @abc.abstractmethod
    def set_state(self, env_ids: torch.Tensor | None, root_pos: torch.Tensor, root_rot: torch.Tensor,
                  root_vel: torch.Tensor, root_ang_vel: torch.Tensor, joint_pos: torch.Tensor,
                  dof_vel: torch.Tensor, *, check_ids: bool = True) -> None:
        """Teleport envs ``env_ids`` (M,) (None: all) to a state and recompute derived quantities.

        Args:
            env_ids: (M,) distinct env indices, or None for all ``N``.
            root_pos: (M, 3) world root position.
            root_rot: (M, 4) world root rotation (normalized here).
            root_vel: (M, 3) world root linear velocity.
            root_ang_vel: (M, 3) world root angular velocity.
            joint_pos: (M, num_joint_pos) local joint coordinates (ball quaternions normalized here).
            dof_vel: (M, num_dofs) joint velocities.
            check_ids: check that ``env_ids`` are distinct and in range (a clear error otherwise). False:
                the caller vouches for them (ids from ``torch.nonzero``), which saves a GPU engine a
                host-device sync; an engine on the CPU checks either way.

        Clears :attr:`invalid` for those envs. PD targets are left as they are.
        """

    @abc.abstractmethod
    def set_pd_targets(self, targets: torch.Tensor) -> None:
        """Set the PD targets used by the following :meth:`step` calls.

        Args:
            targets: (N, num_joint_pos) target quaternion per ball joint (normalized here), target
                angle per hinge, in the ``joint_pos`` layout.
        """

    def set_pd_targets_exp(self, targets: torch.Tensor) -> None:
        """Set PD targets given per DoF: an exp map per ball joint, an angle per hinge.

        Args:
            targets: (N, num_dofs) in the ``dof_vel`` layout (the action layout).
        """
        self.set_pd_targets(self.character.dof_exp_to_joint_pos(torch.as_tensor(targets, dtype=torch.float64)))

    @abc.abstractmethod
    def step(self) -> None:
        """Advance every env by one control step (``substeps`` physics steps with PD)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing to release
        """Release simulator resources."""

    def compile_math(  # noqa: B027 - optional hook, most engines have little torch work of their own
            self, compile_fn: Callable[[Callable[[], torch.Tensor]], Callable[[], torch.Tensor]]) -> None:
        """Run the engine's own torch work after each step (state derived from the simulator's arrays) through
        ``compile_fn`` (the env's ``env.compile``: ``torch.compile`` with a fallback). Optional: engines whose
        per-step torch work is a few operations leave it as it is."""

    def rest_state(self, num: int | None = None) -> dict[str, torch.Tensor]:
        """Keyword arguments of :meth:`set_state` for the MJCF's rest pose, at rest.

        Args:
            num: number of envs (default ``num_envs``); every tensor has that leading size.
        """
        n = self.num_envs if num is None else num
        ch = self.character
        joint_pos = ch.dof_exp_to_joint_pos(torch.zeros(ch.num_dofs, dtype=torch.float64)).float()
        return {
            "root_pos": torch.as_tensor(ch.local_pos[0], dtype=torch.float32).expand(n, 3).clone(),
            "root_rot": torch.as_tensor(ch.local_rot[0], dtype=torch.float32).expand(n, 4).clone(),
            "root_vel": torch.zeros(n, 3),
            "root_ang_vel": torch.zeros(n, 3),
            "joint_pos": joint_pos.expand(n, ch.num_joint_pos).clone(),
            "dof_vel": torch.zeros(n, ch.num_dofs),
        }
