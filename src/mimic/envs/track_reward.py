"""The clip-tracking side of :class:`~mimic.envs.tracking.ImitationEnv`: the state the rewards compare, for the
simulation and for the reference, the tracking reward with its per-character weights, and the tracking errors
an evaluation reports (the terms themselves are :mod:`mimic.envs.rewards`)."""

from __future__ import annotations

import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel
from mimic.character.spec import CharacterSpec
from mimic.engine.base import Engine
from mimic.envs import rewards as rew_fn
from mimic.envs.config import EnvConfig
from mimic.errors import MimicError
from mimic.motion.library import MotionState


class SimTrackState:
    """The simulated characters' :class:`~mimic.envs.rewards.TrackState`, from an engine.

    Args:
        model: the character; its body masses and centres of mass give the centre-of-mass velocity.
        device: the engine's device.
    """

    def __init__(self, model: CharacterModel, device: torch.device) -> None:
        self.model = model
        self.body_masses = torch.as_tensor(model.body_masses, dtype=torch.float32, device=device)
        self.body_com_offset = torch.as_tensor(model.body_com_offset, dtype=torch.float32, device=device)

    def __call__(self, engine: Engine) -> rew_fn.TrackState:
        """The state of ``engine``'s N characters (shapes as :class:`~mimic.envs.rewards.TrackState`)."""
        e = engine
        return rew_fn.TrackState(
            root_pos=e.root_pos, root_rot=e.root_rot, root_vel=e.root_vel, root_ang_vel=e.root_ang_vel,
            joint_rot=self.model.joint_pos_to_rot(e.joint_pos), dof_vel=e.dof_vel,
            body_pos=e.body_pos, com_vel=self.com_vel(e.body_vel, e.body_ang_vel, e.body_rot))

    def com_vel(self, body_vel: torch.Tensor, body_ang_vel: torch.Tensor, body_rot: torch.Tensor) -> torch.Tensor:
        """(N, 3) centre-of-mass velocity from per-body origin velocities (N, B, 3) and rotations (N, B, 4)."""
        com_arm = rot.quat_rotate(body_rot, self.body_com_offset.expand_as(body_vel))
        v = body_vel + torch.cross(body_ang_vel, com_arm, dim=-1)
        return (self.body_masses[:, None] * v).sum(1) / self.body_masses.sum()


def ref_track_state(ref: MotionState) -> rew_fn.TrackState:
    """The reference's :class:`~mimic.envs.rewards.TrackState` (the same tensors, no copies)."""
    return rew_fn.TrackState(
        root_pos=ref.root_pos, root_rot=ref.root_rot, root_vel=ref.root_vel, root_ang_vel=ref.root_ang_vel,
        joint_rot=ref.joint_rot, dof_vel=ref.dof_vel, body_pos=ref.body_pos, com_vel=ref.com_vel)


def tracking_errors(sim: rew_fn.TrackState, ref: MotionState) -> dict[str, torch.Tensor]:
    """The test-mode tracking errors (the env module's docstring): ``mpjpe``, ``body_pos_error``,
    ``root_pos_error``, ``joint_rot_error`` (N,), and the root-relative body positions (N, B - 1, 3) of both."""
    # MPJPE as the AMP paper's pose error: joint positions relative to the root, over the non-root bodies
    rel_sim = sim.body_pos[:, 1:] - sim.root_pos[:, None, :]
    rel_ref = ref.body_pos[:, 1:] - ref.root_pos[:, None, :]
    return {
        "body_rel_pos": rel_sim, "ref_body_rel_pos": rel_ref,  # for the time-warped error (mimic.eval.dtw)
        "mpjpe": (rel_sim - rel_ref).norm(dim=-1).mean(-1),
        "body_pos_error": (sim.body_pos - ref.body_pos).norm(dim=-1).mean(-1),
        "root_pos_error": (sim.root_pos - ref.root_pos).norm(dim=-1),
        "joint_rot_error": rot.quat_diff_angle(sim.joint_rot, ref.joint_rot).mean(-1),
    }


class TrackingReward:
    """DeepMimic's or MimicKit's tracking reward (``env.reward``) with the character's joint weights.

    Args:
        config: the env's settings (``reward``, ``reward_weights``, ``reward_scales``).
        character: its DeepMimic DiffWeights and MimicKit joint weights.
        end_effectors / key_bodies: (E,) and (K,) body indices of the terms over bodies.
        device: where the weights live.

    Attributes:
        weights / scales: term -> weight and scale; joint_weights (J,) per non-root joint, dof_weights
        (num_dofs,) the same per DoF, root_weight the root's (DeepMimic's).
    """

    def __init__(self, config: EnvConfig, character: CharacterSpec, end_effectors: torch.Tensor,
                 key_bodies: torch.Tensor, device: torch.device) -> None:
        model = character.model
        self.kind = config.reward
        self.weights, self.scales = config.reward_table()
        self.end_effectors, self.key_bodies = end_effectors, key_bodies
        # A body-based term over no bodies would always be 1: a silent constant in the reward.
        for term, bodies, key in (("end_eff", end_effectors, "end_effectors"), ("key_pos", key_bodies, "key_bodies")):
            if self.weights.get(term, 0.0) != 0.0 and len(bodies) == 0:
                raise MimicError(f"env.{key}: character {character.name!r} has none (its spec lists no {key}); "
                                 f"list bodies in env.{key} or set env.reward_weights.{term}=0")
        self.root_weight = 0.0
        if self.kind == "deepmimic":
            w = np.array(character.deepmimic_joint_weights)
            w = w / w.sum()
            self.root_weight = float(w[0])
            jw = w[1:]
        else:
            jw = np.array(character.mimickit_joint_weights)
        self.joint_weights = torch.as_tensor(jw, dtype=torch.float32, device=device)
        dof_w = np.zeros(model.num_dofs)
        for b in range(1, model.num_bodies):
            if model.dof_offsets[b] >= 0:
                size = {2: 3, 3: 1}[int(model.joint_types[b])]
                dof_w[model.dof_offsets[b]:model.dof_offsets[b] + size] = jw[b - 1]
        self.dof_weights = torch.as_tensor(dof_w, dtype=torch.float32, device=device)

    def __call__(self, sim: rew_fn.TrackState, ref: MotionState) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The reward (N,) of the simulated state against the reference, and its terms (term -> (N,))."""
        ref_ts = ref_track_state(ref)
        if self.kind == "deepmimic":
            errors = rew_fn.deepmimic_errors(sim, ref_ts, self.joint_weights, self.dof_weights, self.root_weight,
                                             self.end_effectors)
        else:
            errors = rew_fn.mimickit_errors(sim, ref_ts, self.joint_weights, self.dof_weights, self.key_bodies)
        return rew_fn.combine(errors, self.weights, self.scales)
