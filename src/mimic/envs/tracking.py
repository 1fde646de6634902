"""The DeepMimic imitation environment, batched over ``num_envs`` characters (torch tensors).

``reset() -> obs`` and ``step(action) -> (obs, reward, done, info)``, all num_envs first:

- ``action`` (N, num_dofs) in [-1, 1]: normalized PD targets, an exp map per ball joint and an
  angle per hinge, mapped linearly onto bounds from the joint ranges (MimicKit's rule: ball
  +-1.2 x its range, hinge its range widened 1.4x about the middle) and clipped there. With
  ``action_mode="residual"`` the same scale is added to the reference pose at the end of the step.
- ``done`` (N,) long :class:`~mimic.envs.terminations.DoneReason`; envs that end are reset at once
  and ``obs`` holds their first observation; ``info["terminal_obs"]`` holds every env's observation
  before any reset (for bootstrapping time-outs) and ``info["ended_ids"]`` (M,) long the envs that ended
  (their count is known on the host: a rollout reads the ended envs with no host-device sync of its own).
- ``info``: ``reward_terms`` (term -> (N,)), ``num_invalid`` (0-dim long tensor) envs reset this step after their
  simulation blew up; in test mode (``env.test_mode = True``) also the tracking errors
  ``body_pos_error`` (N,) mean distance of the bodies to the reference (m), ``root_pos_error`` (N,)
  (m), ``mpjpe`` (N,) mean distance of the non-root bodies to the reference with both root positions
  aligned (m; the AMP paper's pose error without its time warping; ``body_rel_pos`` and
  ``ref_body_rel_pos`` (N, B - 1, 3) are those positions), ``joint_rot_error`` (N,) mean joint angle error (rad),
  ``root_speed`` (N,) the root's horizontal speed over the step (m/s) and ``ref_root_speed`` (N,) the
  reference root's.
"""

from __future__ import annotations

import math

import torch

from mimic.character.spec import load_spec
from mimic.devices import upload
from mimic.engine import geoms as geom_fn
from mimic.engine.base import Engine
from mimic.engine.registry import build_engine
from mimic.envs import observer
from mimic.envs import rewards as rew_fn
from mimic.envs import terminations as term_fn
from mimic.envs.actions import ActionMap
from mimic.envs.amp_obs import AMPObservations, amp_frame
from mimic.envs.compiled import CompiledOrEager, CompileStatus
from mimic.envs.config import EnvConfig
from mimic.envs.start_sampler import StartTimeSampler
from mimic.envs.steering import SteeringTask
from mimic.envs.teacher import Teacher
from mimic.envs.terminations import DoneReason
from mimic.envs.track_reward import SimTrackState, TrackingReward, tracking_errors
from mimic.errors import MimicError
from mimic.motion import MotionLibrary, load_clip
from mimic.motion.library import MotionState


class ImitationEnv:
    """DeepMimic's imitation task on ``num_envs`` simulated characters.

    Args:
        config: the task (:class:`EnvConfig`).
        num_envs: number of characters simulated together.
        seed: seed of the env's random generator (reset times, clip choice).
        engine: an engine to use instead of building ``config.engine`` (tests, other backends).

    Every tensor of the env (state, reference, observations, rewards, ``done``) lives on the engine's
    ``device``; actions may come from any device. The random generator stays on the CPU, so a seed gives
    the same reset times and clips on every device.
    """

    def __init__(self, config: EnvConfig | None = None, num_envs: int = 1, seed: int = 0,
                 engine: Engine | None = None) -> None:
        self.config = config = config or EnvConfig()
        if num_envs <= 0:
            raise MimicError(f"num_envs must be positive, got {num_envs}")
        self.num_envs = num_envs
        self.character = character = load_spec(config.character)
        self.model = model = character.model
        self.clips = [load_clip(c, character=character) for c in config.clips]
        if config.clip_rates is not None:
            self.clips = [c.retimed(r) for c, r in zip(self.clips, config.clip_rates, strict=True)]
        engine_config = character.engine_config_for(config.engine, [c.name for c in self.clips])
        self.engine = engine or build_engine(model.mjcf_path, num_envs, engine_config)
        self.device = dev = self.engine.device
        blend = [config.loop_blend_seconds or character.loop_blend_seconds_for(c.name) for c in self.clips]
        self.motion = MotionLibrary(self.clips, model, weights=config.clip_weights, close_loops=config.close_loops,
                                    loop_blend_seconds=blend, velocities=config.ref_velocities, device=dev)
        self.starts = StartTimeSampler(self.motion, mode=config.start_times,
                                       across_clips=config.start_clips_by_falls)
        # lift_at_reset per clip: the config's choice when it makes one, else the character's
        lift = [config.lift_at_reset if config.lift_at_reset is not None else character.lift_at_reset_for(c.name)
                for c in self.clips]
        self.lift_clip = torch.tensor(lift, dtype=torch.bool, device=dev)
        self.geoms = geom_fn.collision_geoms(model, self.engine.mj_model) if any(lift) else None
        self.dt = self.engine.control_dt
        self.generator = torch.Generator().manual_seed(seed)

        self.actions = ActionMap(model, dev)
        # the PD target of action 0 in the absolute and rest modes (a residual policy adds to the reference)
        self.action_offset = self.actions.offsets["rest" if config.action_mode == "rest" else "absolute"]
        self.action_scale = self.actions.scale

        contact = config.contact_bodies
        if contact is None:
            contact = sorted({b for c in self.clips for b in character.contact_bodies_for(c.name)})
        self.allowed_contact = torch.zeros(model.num_bodies, dtype=torch.bool, device=dev)
        self.allowed_contact[model.body_indices(list(contact))] = True
        key = config.key_bodies if config.key_bodies is not None else character.key_bodies
        self.key_bodies = torch.as_tensor(model.body_indices(list(key)), dtype=torch.long, device=dev)
        ee = config.end_effectors if config.end_effectors is not None else character.end_effectors
        self.end_effectors = torch.as_tensor(model.body_indices(ee), dtype=torch.long, device=dev)
        self.track_reward = TrackingReward(config, character, self.end_effectors, self.key_bodies, dev)
        self.reward_weights = self.track_reward.weights  # term -> weight (the evaluator's best reward)
        self.sim_track_state = SimTrackState(model, dev)
        # DeepMimic's per-clip episode settings unless the config sets them
        self._episode_seconds = config.episode_seconds or max(character.episode_seconds_for(c.name)
                                                              for c in self.clips)
        if config.episode_seconds_min is not None and config.episode_seconds_min > self._episode_seconds:
            raise MimicError(f"env.episode_seconds_min: {config.episode_seconds_min} is above the clips' "
                             f"episode time limit ({self._episode_seconds} s)")
        hold = [config.end_hold_seconds if config.end_hold_seconds is not None else
                character.end_hold_seconds_for(c.name) for c in self.clips]
        self.end_hold_seconds = torch.tensor(hold, dtype=torch.float64, device=dev)
        # pose termination per clip: the config's distance when it turns it on, else the character's per clip.
        # The per-clip defaults are tracking settings: with no reference to track (an AMP task) the start
        # clip's reference runs on regardless of the character, so only an explicit setting applies.
        per_clip = [character.pose_termination_dist_for(c.name) if config.task == "track" else None
                    for c in self.clips]
        dist = [config.pose_termination_dist if config.pose_termination else math.inf if d is None else d
                for d in per_clip]
        self.pose_termination_dist = torch.tensor(dist, dtype=torch.float32, device=dev)
        self._pose_termination = any(math.isfinite(d) for d in dist)

        n = num_envs
        self.clip_ids = torch.zeros(n, dtype=torch.long, device=dev)
        self.motion_time = torch.zeros(n, dtype=torch.float64, device=dev)
        self.episode_time = torch.zeros(n, dtype=torch.float64, device=dev)
        # (N,) s: each episode's own time limit (drawn at reset with env.episode_seconds_min)
        self.episode_limit = torch.full((n,), float(self._episode_seconds), dtype=torch.float64, device=dev)
        self.ref_offset = torch.zeros(n, 3, device=dev)
        self.cycle = torch.zeros(n, dtype=torch.long, device=dev)
        self.ref: MotionState | None = None
        self.test_mode = False  # adds tracking errors to info (set by evaluators)
        self.task = SteeringTask(config.steering, n, self.generator, dev) if config.task == "steering" else None
        self.obs_dim = observer.size(self)
        self.action_dim = model.num_dofs
        self.amp = (AMPObservations(model, self.motion, self.key_bodies, config.amp_obs_steps, self.dt, n)
                    if config.amp_obs_steps > 0 else None)
        self.amp_obs_dim = self.amp.obs_dim if self.amp is not None else 0
        self.teacher = Teacher(config.teacher, self) if config.teacher.policy else None
        # The per-step math of the whole batch in two calls, before and after the physics, compiled with
        # env.compile (shapes fixed; two calls rather than one per part, as each compiled call costs about 45 us
        # of guard checks on a CPU). The resets of some envs run eager, or with env.compile_resets compiled once
        # for any number of envs (their clocks, reference state and first observation).
        self._compile_status = status = CompileStatus()
        self._pre_physics_math, self._post_physics_math = self._pre_physics, self._post_physics
        self._restart_math, self._observe_reset = self._restart, self._observe
        if config.compile:
            self._pre_physics_math, self._post_physics_math = (
                CompiledOrEager(f, status) for f in (self._pre_physics, self._post_physics))
            self.engine.compile_math(lambda f: CompiledOrEager(f, status))
        if config.compile_resets:
            self._restart_math, self._observe_reset = (
                CompiledOrEager(f, status, dynamic=True) for f in (self._restart, self._observe))

    # ------------------------------------------------------------------------------------ setup
    def observation_size(self, layout: EnvConfig | None = None) -> int:
        """Size of the character's own observation (no task) in ``layout``'s observation settings (default: the
        env's own; :func:`mimic.envs.observer.character_size`)."""
        return observer.character_size(self, layout)

    # ------------------------------------------------------------------------------------ API
    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Reset envs ``env_ids`` (default all) by reference state initialization; returns obs (N, D)."""
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        if len(ids):
            self._reset_envs(ids, check_ids=env_ids is not None)  # a caller's ids are checked
        if self.ref is None or env_ids is None:
            self.ref = self._reference(self.clip_ids, self.motion_time)
        # a full reset observes through the reset envs' path, so that env.compile_resets compiles it here
        return self._observe_reset(ids) if env_ids is None else self._observe()

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """Apply normalized actions (N, num_dofs) for one control step; see the module docstring."""
        if self.ref is None:
            raise MimicError("call reset() before step()")
        action = torch.as_tensor(action, dtype=torch.float32, device=self.device)  # a policy elsewhere: one copy
        if action.shape != (self.num_envs, self.action_dim):
            raise MimicError(f"action must have shape ({self.num_envs}, {self.action_dim}), got {tuple(action.shape)}")
        labels = self.teacher.labels(self) if self.teacher is not None else None  # for the state the step starts
        # the reference at the end of this step: the residual mode's PD offset, then the reward's target
        ref, targets = self._pre_physics_math(self.clip_ids, self.motion_time + self.dt, action)
        self.engine.set_pd_targets_exp(targets)
        root_before = self.engine.root_pos[:, :2].clone() if self.test_mode else None
        self.engine.step()
        self.motion_time += self.dt
        self.episode_time += self.dt
        if self.task is not None:
            self.task.advance(self.dt)
        ref, sim, reward, terms, obs, done, invalid = self._post_physics_math(ref)  # sets self.ref to ref

        info = {"reward_terms": terms, "num_invalid": invalid.sum()}  # a tensor: no host-device sync
        if labels is not None:
            info["teacher_action"], info["teacher_mask"] = labels
        if self.amp is not None:  # the transition that just happened, before any reset
            self.amp.push(self.amp_frame_of_sim(sim))
            info["amp_obs"] = self.amp.observation()
        if self.test_mode:
            info.update(tracking_errors(sim, ref))
            info["root_speed"] = (sim.root_pos[:, :2] - root_before).norm(dim=-1) / self.dt
            if self.task is not None:
                info.update(self.task.errors(sim.root_vel))
            info["ref_root_speed"] = ref.root_vel[:, :2].norm(dim=-1)
        info["terminal_obs"] = obs
        info["ended_ids"] = ended = torch.nonzero(done).squeeze(-1)
        if len(ended):
            if self.starts.adaptive:  # which envs fell: a size known only on the device, a sync on a GPU
                fell = ended[done[ended] == DoneReason.FAIL]
                self.starts.record_falls(self.clip_ids[fell], self.motion_time[fell], self.start_time[fell])
            obs = obs.clone()
            self._reset_envs(ended, check_ids=False)  # from nonzero: distinct and in range
            obs[ended] = self._observe_reset(ended)
        return obs, reward, done, info

    def targets_to_action(self, joint_pos: torch.Tensor) -> torch.Tensor:
        """Normalized actions (N, num_dofs) whose PD targets are ``joint_pos`` (N, num_joint_pos)."""
        dof = self.model.joint_rot_to_dof_exp(self.model.joint_pos_to_rot(joint_pos))
        residual = self.config.action_mode == "residual"
        ref_rot = self.motion.state(self.clip_ids, self.motion_time + self.dt).joint_rot if residual else None
        return self.actions.action(dof, self.config, ref_rot)

    def _pre_physics(self, clip_ids: torch.Tensor, times: torch.Tensor,
                     action: torch.Tensor) -> tuple[MotionState, torch.Tensor]:
        """The reference at ``times`` (N,) (no root offset yet) and the PD targets (N, num_dofs) of ``action``."""
        ref = self.motion.state(clip_ids, times)
        return ref, self._pd_targets_of(ref.joint_rot, action)

    def _post_physics(self, ref: MotionState) -> tuple[MotionState, rew_fn.TrackState, torch.Tensor,
                                                       dict[str, torch.Tensor], torch.Tensor, torch.Tensor,
                                                       torch.Tensor]:
        """After the physics step and the clocks' advance, given the reference at the step's end (no root offset):
        the offset reference, the simulated tracking state, the reward (N,) and its terms, the observations
        (N, D) (before any reset), the done reasons (N,) long and the envs whose simulation blew up (N,) bool."""
        self.ref = ref = self._offset_reference(ref, self.clip_ids, self.motion_time, sync=True)
        sim = self.sim_track_state(self.engine)
        if self.config.task == "track":
            reward, terms = self.track_reward(sim, ref)
        elif self.task is not None:
            reward = self.task.reward(sim.root_vel, sim.root_rot)
            terms = {"steering": reward}
        else:  # no task: the agent's own reward (AMP's style reward) is the whole reward
            reward, terms = torch.zeros(self.num_envs, device=self.device), {}
        if self.config.takeover_seconds > 0:  # the clip's tracking reward for the first moments of an episode
            track, _ = self.track_reward(sim, ref)
            taking_over = self.episode_time <= self.config.takeover_seconds + 1e-9
            reward = torch.where(taking_over, track, reward)
            terms["takeover"] = track * taking_over
        obs = self._observe()
        done, invalid = self._episode_ends(ref)
        if self.config.reward_fail_zero:
            reward = torch.where(done == int(DoneReason.FAIL), torch.zeros_like(reward), reward)  # int: for dynamo
        reward = torch.where(invalid, torch.zeros_like(reward), torch.nan_to_num(reward))
        return ref, sim, reward, terms, obs, done, invalid

    def _episode_ends(self, ref: MotionState) -> tuple[torch.Tensor, torch.Tensor]:
        """The done reasons (N,) long of the state after a step, given the offset reference, and the envs whose
        simulation blew up (N,) bool."""
        invalid = self.engine.invalid.clone()
        fail = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        if self.config.early_termination:
            fail |= term_fn.contact_fail(self.engine.ground_contact, self.allowed_contact)
        if self._pose_termination:
            fail |= term_fn.pose_fail(self.engine.body_pos, ref.body_pos, self.pose_termination_dist[self.clip_ids])
        clip_end = self.motion.durations[self.clip_ids] + self.end_hold_seconds[self.clip_ids]
        success = ~self.motion.wrap[self.clip_ids] & (self.motion_time >= clip_end - 1e-9)
        timeout = self.episode_time >= self.episode_limit - 1e-9
        return term_fn.done_reasons(fail, success, timeout, invalid), invalid

    def _pd_targets_of(self, ref_joint_rot: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """PD targets (N, num_dofs) of normalized actions (N, num_dofs), clipped to [-1, 1], given the reference
        joint rotations (N, num_joints, 4) at the end of the step."""
        return self.actions.targets(action, self.config, ref_joint_rot)

    def convert_action(self, ids: torch.Tensor, action: torch.Tensor, layout: EnvConfig) -> torch.Tensor:
        """This env's normalized actions (M, num_dofs) for envs ``ids`` (M,) with the PD targets of ``action``
        (M, num_dofs) in ``layout``'s action settings (a teacher's ``action_mode``), unclipped."""
        modes = (layout.action_mode, self.config.action_mode)
        ref_rot = (self.motion.state(self.clip_ids[ids], self.motion_time[ids] + self.dt).joint_rot
                   if "residual" in modes else None)
        return self.actions.action(self.actions.targets(action, layout, ref_rot), self.config, ref_rot)

    def close(self) -> None:
        self.engine.close()

    # ------------------------------------------------------------------------------------ internals
    def _reset_envs(self, ids: torch.Tensor, check_ids: bool = True) -> None:
        """Start envs ``ids`` (M,) anew (reference state initialization); ``check_ids``: have the engine check
        them (False for ids the env made itself, which saves a GPU engine a host-device sync)."""
        if self.config.rand_reset:
            clip_ids, times = self.starts.draw(len(ids), self.generator)
        else:
            clip_ids = self.motion.sample_clips(len(ids), generator=self.generator)
            times = torch.zeros(len(ids), dtype=torch.float64, device=self.device)
        if self.config.episode_seconds_min is not None:
            lo = self.config.episode_seconds_min
            u = upload(torch.rand(len(ids), generator=self.generator, dtype=torch.float64), self.device)  # CPU draws
            self.episode_limit[ids] = lo + (self.episode_seconds - lo) * u
        s = self._restart_math(ids, clip_ids, times)
        self.engine.set_state(ids, s.root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_pos, s.dof_vel,
                              check_ids=check_ids)
        if self.geoms is not None:  # lift_at_reset: no geom starts below the ground
            low = geom_fn.lowest_points(self.geoms, self.engine.body_pos[ids], self.engine.body_rot[ids])
            lift = (self.geoms.ground_height - low.min(dim=-1).values).clamp_min(0.0) * self.lift_clip[clip_ids]
            if bool((lift > 0).any()):
                root_pos = s.root_pos.clone()
                root_pos[:, 2] += lift.to(root_pos.dtype)
                self.engine.set_state(ids, root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_pos, s.dof_vel,
                                      check_ids=False)  # the same ids, checked (if asked) by the call above
        if self.amp is not None:
            self.amp.reset(ids, clip_ids, times)
        if self.task is not None:
            self.task.reset(ids)
        if self.ref is not None:  # patch the reference of these envs (offset is 0 after a reset); not compiled:
            for name, value in vars(s).items():  # some of its tensors are views of one (rotations)
                getattr(self.ref, name)[ids] = value

    def _restart(self, ids: torch.Tensor, clip_ids: torch.Tensor, times: torch.Tensor) -> MotionState:
        """Envs ``ids`` (M,) start clips ``clip_ids`` (M,) at ``times`` (M,): their clocks, root offset and cycle
        count restart; returns their reference state (M queries)."""
        self.clip_ids[ids] = clip_ids
        self.motion_time[ids] = times
        self.episode_time[ids] = 0.0
        self.ref_offset[ids] = 0.0
        self.cycle[ids] = self.motion.cycle_count(clip_ids, times)
        return self.motion.state(clip_ids, times)

    def _reference(self, clip_ids: torch.Tensor, times: torch.Tensor, sync: bool = False) -> MotionState:
        """Reference state at ``times`` with the env's horizontal root offset applied.

        With ``sync`` (after a step), envs whose clip started a new cycle first move the reference
        root onto the simulated root horizontally (DeepMimic's sync_char_root_pos).
        """
        return self._offset_reference(self.motion.state(clip_ids, times), clip_ids, times, sync)

    def _offset_reference(self, s: MotionState, clip_ids: torch.Tensor, times: torch.Tensor,
                          sync: bool = False) -> MotionState:
        """Apply the horizontal root offset (and the cycle sync, see ``_reference``) to ``s``."""
        if sync:
            cycle = self.motion.cycle_count(clip_ids, times)
            new = cycle != self.cycle
            self.cycle = cycle
            if self.config.sync_root_pos:  # every env's offset computed, those in a new cycle take it: no
                moved = self.engine.root_pos[:, :2] - s.root_pos[:, :2]  # host-device sync on a GPU
                self.ref_offset[:, :2] = torch.where(new[:, None], moved, self.ref_offset[:, :2])
        s.root_pos = s.root_pos + self.ref_offset
        s.body_pos = s.body_pos + self.ref_offset[:, None, :]
        return s

    def amp_frame_of_sim(self, sim: rew_fn.TrackState) -> torch.Tensor:
        """(N, F) the AMP frame of the simulated characters (see :mod:`mimic.envs.amp_obs`)."""
        return amp_frame(sim.root_pos, sim.root_rot, sim.root_vel, sim.root_ang_vel, sim.joint_rot, sim.dof_vel,
                         sim.body_pos[:, self.key_bodies])

    @property
    def episode_seconds(self) -> float:
        """The episode time limit (s); each episode's own is ``episode_limit`` (N,)."""
        return self._episode_seconds

    @episode_seconds.setter
    def episode_seconds(self, seconds: float) -> None:
        """Set the time limit of every episode, the running ones included (``mimic play``'s longer videos)."""
        self._episode_seconds = float(seconds)
        self.episode_limit.fill_(self._episode_seconds)

    @property
    def start_time(self) -> torch.Tensor:
        """(N,) each episode's first motion time (s): both clocks advance by ``dt`` per step from the reset."""
        return self.motion_time - self.episode_time

    def observe(self) -> torch.Tensor:
        """Observations (N, D) of the current state, e.g. after moving the engine's state directly
        (``benchmarks/start_falls.py --handover``); ``reset`` and ``step`` return them already."""
        return self._observe()

    def _observe(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Observations (N, D) of all envs, or (M, D) of envs ``ids`` (:func:`mimic.envs.observer.observe`)."""
        return observer.observe(self, ids)

    def character_observation(self, ids: torch.Tensor | None = None, layout: EnvConfig | None = None) -> torch.Tensor:
        """The character's own observation (N, D) of all envs or (M, D) of envs ``ids``, in ``layout``'s
        observation settings (:func:`mimic.envs.observer.character`)."""
        return observer.character(self, ids, layout)
