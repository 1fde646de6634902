"""A teacher for the first moments of an episode: a trained tracking controller whose actions label the
states the student visits (DAgger's labels), for a behaviour-cloning term in the student's actor loss
(``agent.teacher_weight``, :class:`~mimic.agents.ppo.PPOAgent`).

AMP's steering policy never learned to take over from the run entered at its touchdown, which the shipped
``run`` tracker survives from every start on its own PD backend (README, "AMP"). With ``env.teacher.policy:
run``, for the first ``env.teacher.seconds`` of every episode that started on a clip the teacher was trained
on, each step's ``info`` holds the teacher's action for the state the step started from, as the student's
normalized action with the same PD targets: ``teacher_action`` (N, num_dofs), and ``teacher_mask`` (N,), 1
where a label is given and 0 elsewhere (those rows of ``teacher_action`` are 0).

The teacher sees its own observation layout (``env.obs``, phase, ...) of the same simulated state and acts
with its mean action. It must be a tracking policy (``env.task: track``) of the same character, its clips must
be among the student's at the same playback rate, and it must have trained under the same physics (PD backend,
damping and rates, :meth:`~mimic.engine.base.EngineConfig.physics_differences`): the shipped ``run`` tracker
trained on the ``python`` PD backend (the humanoid's choice for the run) falls from every start within a
second on the ``native`` one, the default of a dataset such as ``amp_steer``'s, and its labels there lead to
falls too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from mimic.errors import MimicError

if TYPE_CHECKING:
    from mimic.agents.policy import Policy
    from mimic.envs.config import EnvConfig
    from mimic.envs.tracking import ImitationEnv


@dataclass
class TeacherConfig:
    """``env.teacher``: the teacher policy and how long it labels the student's states after a reset.

    Attributes:
        policy: a shipped policy name (``run``), run directory or checkpoint; empty: no teacher.
        seconds: label the states of the first this many seconds of each episode on a teacher clip.
    """

    policy: str = ""
    seconds: float = 0.5

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise MimicError(f"env.teacher.seconds: must be positive, got {self.seconds}")


class Teacher:
    """The teacher of an :class:`~mimic.envs.tracking.ImitationEnv`: its policy, its env settings, and which of
    the env's clips it labels.

    Attributes:
        config: the teacher's own env config (from its checkpoint).
        clip_on: (num_clips,) bool over the student env's clips: the teacher tracks that clip.
    """

    def __init__(self, config: TeacherConfig, env: ImitationEnv) -> None:
        from mimic.agents.checkpoint import load_checkpoint
        from mimic.motion import load_clip
        from mimic.policies import resolve_checkpoint, stored_train_config

        self.seconds = config.seconds
        ckpt = resolve_checkpoint(config.policy)
        teacher_env: EnvConfig = stored_train_config(ckpt).env
        self.config = teacher_env
        where = f"env.teacher.policy: {config.policy} ({ckpt})"
        if teacher_env.task != "track":
            raise MimicError(f"{where}: a teacher must be a tracking policy, this one has env.task "
                             f"{teacher_env.task}")
        if teacher_env.character != env.config.character:
            raise MimicError(f"{where}: trained on character {teacher_env.character or 'humanoid'!r}, the env has "
                             f"{env.config.character or 'humanoid'!r}")
        if teacher_env.obs == "mimickit":
            key = teacher_env.key_bodies if teacher_env.key_bodies is not None else env.character.key_bodies
            if env.model.body_indices(list(key)) != env.key_bodies.tolist():
                raise MimicError(f"{where}: its key bodies differ from the env's ({key})")
        rates = teacher_env.clip_rates or [1.0] * len(teacher_env.clips)
        taught = [load_clip(c, character=env.character).retimed(r) for c, r in zip(teacher_env.clips, rates,
                                                                                    strict=True)]
        same = [any(t.name == c.name and np.array_equal(t.frame_dt, c.frame_dt)
                    and np.array_equal(t.joint_pos, c.joint_pos) for t in taught) for c in env.clips]
        if not any(same):
            raise MimicError(f"{where}: it tracks {', '.join(t.name for t in taught)}, none of which is among "
                             f"the env's clips at the same playback rate")
        taught_engine = env.character.engine_config_for(teacher_env.engine, [t.name for t in taught])
        differ = taught_engine.physics_differences(env.engine.config)
        if differ:
            raise MimicError(f"{where}: it was trained under other physics than the env's ({'; '.join(differ)}): "
                             f"its actions would not do here what they did there; set the env's to the teacher's "
                             f"(e.g. env.engine.pd_backend=...) or use a teacher trained under the env's")
        self.clip_on = torch.tensor(same, dtype=torch.bool, device=env.device)
        agent = load_checkpoint(ckpt, device=env.device)
        self.policy: Policy = agent.policy()
        if agent.obs_dim != env.observation_size(teacher_env) or agent.action_dim != env.action_dim:
            raise MimicError(f"{where}: its sizes (obs {agent.obs_dim}, action {agent.action_dim}) do not fit its "
                             f"observation layout on this env")

    @torch.no_grad()
    def labels(self, env: ImitationEnv) -> tuple[torch.Tensor, torch.Tensor]:
        """The teacher's actions as the student's (N, num_dofs) and the mask (N,) of labelled envs (float), for
        the env's current state (the state the next step starts from)."""
        labelled = self.clip_on[env.clip_ids] & (env.episode_time < self.seconds - 1e-9)
        actions = torch.zeros(env.num_envs, env.action_dim, device=env.device)
        ids = torch.nonzero(labelled).squeeze(-1)
        if len(ids):
            obs = env.character_observation(ids, self.config)
            teacher_action = self.policy(obs).to(env.device)
            actions[ids] = env.convert_action(ids, teacher_action, self.config).clamp(-1.0, 1.0)
        return actions, labelled.float()
