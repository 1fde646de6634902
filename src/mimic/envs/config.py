"""Configuration of the imitation environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from mimic.engine.base import EngineConfig
from mimic.envs.steering import SteeringConfig
from mimic.envs.teacher import TeacherConfig
from mimic.errors import MimicError

# Per-term reward weights and error scales (see rewards.py). DeepMimic: ANCHORS 1.7; MimicKit: 3.10.
DEEPMIMIC_REWARD_WEIGHTS = {"pose": 0.5, "vel": 0.05, "end_eff": 0.15, "root": 0.2, "com": 0.1}
DEEPMIMIC_REWARD_SCALES = {"pose": 2.0, "vel": 0.1, "end_eff": 10.0, "root": 5.0, "com": 10.0}
MIMICKIT_REWARD_WEIGHTS = {"pose": 0.5, "vel": 0.1, "root_pose": 0.15, "root_vel": 0.1, "key_pos": 0.15}
MIMICKIT_REWARD_SCALES = {"pose": 0.25, "vel": 0.01, "root_pose": 5.0, "root_vel": 1.0, "key_pos": 10.0}


@dataclass
class EnvConfig:
    """The DeepMimic imitation task.

    Attributes:
        clips: bundled clip names or clip file paths; several make a multi-clip library.
        clip_weights: sampling weight per clip (default equal).
        clip_rates: playback rate per clip (default 1): 1.5 plays a clip 1.5x as fast, its keyframe
            durations divided by 1.5 (the same strides at a higher cadence and speed), e.g. to give a
            dataset speeds between its clips'. A clip keeps its name and its character settings.
        character: a bundled character's name (``humanoid3d``, ``dog3d``), or a character folder or its
            ``character.yaml`` (see :mod:`mimic.character.spec`); empty means DeepMimic's humanoid.
        close_loops: spread cyclic clips' end-to-start mismatch over the cycle (see MotionLibrary).
        loop_blend_seconds: close it over only the last this many seconds of every cyclic clip; None
            takes the character's per-clip ``loop_blend_seconds`` (the whole cycle where it has none).
        ref_velocities: how the reference's velocities between keyframes are estimated (the states
            episodes start from, the velocity rewards, AMP's expert observations): ``frame`` (MimicKit) the
            forward difference of the keyframe interval, held over it; ``lerp`` (DeepMimic) forward
            differences blended between keyframes; ``central`` central differences blended, which halves
            a one-frame jump in the data (the run clip's mid-cycle seam) instead of starting episodes
            with its whole spike (see MotionLibrary).
        obs: observation layout: ``deepmimic`` (heading frame, per-body pose and velocity; 197 dims
            with phase) or ``mimickit`` (joint rotations, DoF velocities, key bodies, plus reference
            frames ``tar_obs_steps`` control steps ahead; 464 dims).
        phase_obs: ``deepmimic`` layout: start with the clip phase (DeepMimic's current training
            controller has it on).
        body_rot_obs: ``deepmimic`` layout: per-body rotation as a quaternion (``quat``, 4 numbers,
            w >= 0; gives DeepMimic's 197 dims) or the tangent/normal pair (``tan_norm``, 6; 227 dims).
        world_root_rot_obs: ``deepmimic`` layout: the root body's rotation and velocities stay in the
            world frame instead of the heading frame (DeepMimic's RecordWorldRootRot, on in its
            training controller).
        tar_obs_steps: ``mimickit`` layout: control steps ahead for the reference frames.
        key_bodies: bodies in the MimicKit observation and key-body reward (default: the character spec's).
        end_effectors: bodies of DeepMimic's end-effector reward (default: the character spec's).
        reward: ``deepmimic`` (pose, vel, end_eff, root, com) or ``mimickit`` (pose, vel, root_pose,
            root_vel, key_pos) terms.
        reward_weights / reward_scales: per-term overrides of the chosen reward's weights and error
            scales (term -> number); a weight of 0 turns a term off.
        contact_bodies: bodies allowed to touch the ground; None uses the character spec's list for
            each clip (for the humanoid: the feet for walking clips, see its ``character.yaml``).
        early_termination: end an episode as a failure when a body outside ``contact_bodies``
            touches the ground.
        pose_termination: also fail when any body is farther than ``pose_termination_dist`` (m)
            from its reference position (MimicKit's pose termination); off, the character spec's
            per-clip ``pose_termination_dist`` still applies (the dog's canter) when ``task`` is
            ``track``; other tasks (AMP's) follow no reference, so only an explicit setting applies.
        episode_seconds: time limit of an episode (a time-out, which bootstraps); None: DeepMimic's
            per-clip setting (4 s for kick and punch, else 20; the longest over several clips).
        episode_seconds_min: each episode's time limit is drawn uniformly between this and the episode
            time limit above, so that some characters practise the reset states often while others
            live long enough for a task's target to change (README, "AMP"). Training only: test rounds,
            ``mimic eval`` and ``mimic play`` use the fixed limit. None: every episode gets the limit.
        end_hold_seconds: a non-looping clip's last pose is held this long before the episode ends as
            a success; None: DeepMimic's per-clip setting (0.3 s for the get-ups, else 0).
        rand_reset: reference state initialization: start each episode at a random clip time (otherwise
            at time 0), drawn as ``start_times`` says.
        start_times: ``uniform`` (DeepMimic's RSI); ``adaptive``: half the starts uniform, half shortly
            before the clip phases where recent episodes fell; ``failed_starts``: half uniform, half in the
            clip phases where recent episodes that fell had started (:mod:`mimic.envs.start_sampler`).
        start_clips_by_falls: with ``start_times`` ``adaptive`` or ``failed_starts``, the non-uniform half of
            the starts draws its clip together with the phase bin, in proportion to the falls of every clip's
            bins (PHC's failure-prioritized sampling), instead of by ``clip_weights``: a dataset's fatal start
            in a clip with a small weight gets practised as often as it fails. The discriminator's clip
            samples (AMP) keep ``clip_weights``. Off: each start's clip by ``clip_weights``, then its bin.
        lift_at_reset: at reference state initialization, raise the simulated character (not its
            reference) until no collision geom starts below the ground. DeepMimic's clips sink a foot
            up to 10 cm into the ground at some frames (:mod:`mimic.engine.geoms`), and MuJoCo throws a
            body that starts that deep out of the ground within a step. None: the character's per-clip
            setting (its ``character.yaml``'s ``lift_at_reset``: for the humanoid the punch, the get-ups
            and the roll, whose clips sink 2+ cm at 20-68 % of start times; README, "DeepMimic's other
            skills"); off for other clips.
        sync_root_pos: at each new cycle of a cyclic clip, move the reference root horizontally onto
            the simulated root (DeepMimic's sync_char_root_pos).
        reward_fail_zero: the reward of a step that ends in a fall is 0 (DeepMimic).
        takeover_seconds: with a task other than ``track`` (AMP's): for this many seconds after each reset,
            the reward is the clip-tracking reward (``reward``'s terms, against the clip the episode
            started on) instead of the task's. A shaped reward for taking over from a clip state the
            policy rarely gets out of by exploring, such as the run entered at its touchdown (README, "AMP").
            0: off.
        clock_obs_seconds: append the time since the episode's reset to the observation, as one feature
            ``min(t / clock_obs_seconds, 1)`` after the task's: the policy can then tell the first moments
            after a reset (the take-over from a reference state) from the same-looking states later, so a
            ``takeover_seconds`` reward or a teacher's labels shape those moments only (README, "AMP").
            Evaluation episodes start from resets too, so the policy sees the same clock there. ``--init``
            from a policy without it adds the input with zero weights (the policy starts unchanged). 0: off.
        action_mode: ``absolute``: an action of 0 is the middle of each DoF's bounds (DeepMimic and
            MimicKit; the knees then start bent at -1.57 rad). ``rest``: an action of 0 is the MJCF's
            zero pose (for the humanoid, standing straight; legged_gym's and MimicKit's robots' default
            pose), with the same scale: for policies with no reference to add to (AMP), whose untrained
            actions then stand instead of crouching. ``residual``: an action of 0 is the
            reference pose at the end of the control step, and the action adds ``action_scale``
            times the same per-DoF scale as ``absolute`` (exp-map components and hinge angles); the
            untrained policy then already follows the clip and learns only the corrections that
            keep it balanced (Mimic's ``fast`` preset; not DeepMimic's method).
        residual_scale: multiplies the per-DoF action scale in ``residual`` mode.
        task: what the env's reward measures: ``track`` (the imitation reward above), ``none`` (reward 0:
            an AMP agent's style reward is then the whole reward, DeepMimic's ``imitate_amp``), or
            ``steering`` (move in a target direction at a target speed, :mod:`mimic.envs.steering`; the
            target is appended to the observation).
        steering: the steering task's settings (:class:`~mimic.envs.steering.SteeringConfig`).
        teacher: a trained tracking policy whose actions label the first moments of episodes on its clips,
            for ``agent.teacher_weight``'s behaviour-cloning term (:class:`~mimic.envs.teacher.TeacherConfig`,
            :mod:`mimic.envs.teacher`); training only: test rounds, ``mimic eval`` and ``mimic play`` drop it.
        amp_obs_steps: frames in the AMP discriminator observation ``info["amp_obs"]`` (0: none; DeepMimic's
            AMP uses 2, MimicKit 10); see :mod:`mimic.envs.amp_obs`.
        compile: ``torch.compile`` the per-step math of the whole batch (the reference state, PD targets,
            the simulated character's tracking state, reward, observation and episode ends), fusing the step's ~500
            small torch operations (each a kernel launch on a GPU, 5-10 us of dispatch on a CPU). The
            first step compiles (about 30 s on 2 cores with an empty cache, a few seconds from torch's
            cache); resets of some envs run uncompiled (see ``compile_resets``). Without a working C++
            compiler (torch's CPU backend needs one) the env warns once and runs uncompiled
            (:mod:`mimic.envs.compiled`). On in the ``fast`` preset (README, "Training speed"); ``mimic
            train``'s test env, ``mimic eval`` and ``mimic play`` always run uncompiled (too few steps to pay
            for compiling).
        compile_resets: with ``compile``, also compile the math of the envs reset at a step (their clocks,
            reference state and first observation), once for any number of envs. On 2 CPU cores it pays little
            for a longer first compilation, so it is off; on a GPU it turns about 200 of the step's kernel
            launches into a few (``benchmarks/env_profile.py`` counts what stays uncompiled).
        engine: physics settings.
    """

    clips: list[str] = field(default_factory=lambda: ["walk"])
    clip_weights: list[float] | None = None
    clip_rates: list[float] | None = None
    character: str = ""
    close_loops: bool = True
    loop_blend_seconds: float | None = None
    ref_velocities: Literal["frame", "lerp", "central"] = "frame"
    obs: Literal["deepmimic", "mimickit"] = "deepmimic"
    phase_obs: bool = True
    body_rot_obs: Literal["quat", "tan_norm"] = "quat"
    world_root_rot_obs: bool = True
    tar_obs_steps: list[int] = field(default_factory=lambda: [1, 2, 3])
    key_bodies: list[str] | None = None
    end_effectors: list[str] | None = None
    reward: Literal["deepmimic", "mimickit"] = "deepmimic"
    reward_weights: dict[str, float] = field(default_factory=dict)
    reward_scales: dict[str, float] = field(default_factory=dict)
    contact_bodies: list[str] | None = None
    early_termination: bool = True
    pose_termination: bool = False
    pose_termination_dist: float = 1.0
    episode_seconds: float | None = None
    episode_seconds_min: float | None = None
    end_hold_seconds: float | None = None
    rand_reset: bool = True
    start_times: Literal["uniform", "adaptive", "failed_starts"] = "uniform"
    start_clips_by_falls: bool = False
    lift_at_reset: bool | None = None
    sync_root_pos: bool = True
    reward_fail_zero: bool = True
    takeover_seconds: float = 0.0
    clock_obs_seconds: float = 0.0
    action_mode: Literal["absolute", "rest", "residual"] = "absolute"
    residual_scale: float = 1.0
    task: Literal["track", "none", "steering"] = "track"
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    amp_obs_steps: int = 0
    compile: bool = False
    compile_resets: bool = False
    engine: EngineConfig = field(default_factory=EngineConfig)

    def for_evaluation(self) -> EnvConfig:
        """This config without its training-only settings, for test rounds, ``mimic eval`` and ``mimic play``:
        uniform starts (an adaptive sampler fed by the evaluation's own falls would bias it toward them), the
        fixed episode limit, no teacher, and no compiling (too few steps to pay for it)."""
        return replace(self, compile=False, compile_resets=False, start_times="uniform", start_clips_by_falls=False,
                       episode_seconds_min=None, teacher=TeacherConfig())

    def with_overrides(self, overrides: Sequence[str], source: str = "--set") -> EnvConfig:
        """This config with ``env.KEY=VALUE`` overrides (values read as YAML; nested keys such as
        ``env.steering.speed_max`` too), validated as a config file is: another section or an unknown
        field is a MimicError naming it."""
        from mimic.config import apply_overrides, build

        bad = [o for o in overrides if not o.startswith("env.")]
        if bad:
            raise MimicError(f"{source}: only the env config can change, as env.KEY=VALUE; got {', '.join(bad)}")
        data = apply_overrides({"env": asdict(self)}, overrides, source=source)
        return build(EnvConfig, data["env"], source=source, prefix="env.")

    def __post_init__(self) -> None:
        if not self.clips:
            raise MimicError("env.clips: give at least one clip")
        if self.clip_rates is not None:
            if len(self.clip_rates) != len(self.clips):
                raise MimicError(f"env.clip_rates: give one rate per clip ({len(self.clips)}), got "
                                 f"{len(self.clip_rates)}")
            if not all(r > 0 for r in self.clip_rates):
                raise MimicError(f"env.clip_rates: rates must be positive, got {self.clip_rates}")
        if self.episode_seconds is not None and self.episode_seconds <= 0:
            raise MimicError(f"env.episode_seconds: must be positive, got {self.episode_seconds}")
        if self.episode_seconds_min is not None:
            if not self.episode_seconds_min > 0:
                raise MimicError(f"env.episode_seconds_min: must be positive, got {self.episode_seconds_min}")
            if self.episode_seconds is not None and self.episode_seconds_min > self.episode_seconds:
                raise MimicError(f"env.episode_seconds_min: {self.episode_seconds_min} is above "
                                 f"env.episode_seconds ({self.episode_seconds})")
        if self.start_clips_by_falls and self.start_times == "uniform":
            raise MimicError("env.start_clips_by_falls: draws the clips of the adaptive starts; set env.start_times "
                             "to adaptive or failed_starts")
        if self.takeover_seconds < 0:
            raise MimicError(f"env.takeover_seconds: must be >= 0, got {self.takeover_seconds}")
        if self.takeover_seconds > 0 and self.task == "track":
            raise MimicError("env.takeover_seconds: a tracking task's reward is the tracking reward already; "
                             "it is for env.task none or steering")
        if not self.clock_obs_seconds >= 0:
            raise MimicError(f"env.clock_obs_seconds: must be >= 0 (0: off), got {self.clock_obs_seconds}")
        if self.end_hold_seconds is not None and self.end_hold_seconds < 0:
            raise MimicError(f"env.end_hold_seconds: must be >= 0, got {self.end_hold_seconds}")
        terms = self.reward_term_names()
        for table in ("reward_weights", "reward_scales"):
            for key in getattr(self, table):
                if key not in terms:
                    raise MimicError(f"env.{table}.{key}: unknown {self.reward} reward term; terms are "
                                     f"{', '.join(terms)}")
        if self.residual_scale <= 0:
            raise MimicError(f"env.residual_scale: must be positive, got {self.residual_scale}")
        if self.loop_blend_seconds is not None and not self.loop_blend_seconds > 0:
            raise MimicError(f"env.loop_blend_seconds: must be a positive number of seconds, "
                             f"got {self.loop_blend_seconds}")
        if self.amp_obs_steps < 0:
            raise MimicError(f"env.amp_obs_steps: must be >= 0, got {self.amp_obs_steps}")
        if self.compile_resets and not self.compile:
            raise MimicError("env.compile_resets: compiles the resets alongside the step's math; "
                             "set env.compile=true too")
        if any(k <= 0 for k in self.tar_obs_steps):
            raise MimicError(f"env.tar_obs_steps: steps must be positive, got {self.tar_obs_steps}")

    def reward_term_names(self) -> tuple[str, ...]:
        return tuple(DEEPMIMIC_REWARD_WEIGHTS if self.reward == "deepmimic" else MIMICKIT_REWARD_WEIGHTS)

    def reward_table(self) -> tuple[dict[str, float], dict[str, float]]:
        """(weights, scales) of the chosen reward with the overrides applied."""
        if self.reward == "deepmimic":
            weights, scales = dict(DEEPMIMIC_REWARD_WEIGHTS), dict(DEEPMIMIC_REWARD_SCALES)
        else:
            weights, scales = dict(MIMICKIT_REWARD_WEIGHTS), dict(MIMICKIT_REWARD_SCALES)
        weights.update(self.reward_weights)
        scales.update(self.reward_scales)
        return weights, scales
