"""AMP's discriminator observations: a few consecutive frames of the character's motion, from the
simulation and, for the expert side, from the motion library (Peng et al. 2021; MimicKit ``amp_env``).

One frame (the same function for both sides, so they can only differ by motion): root height (1),
root rotation with its heading removed, tangent/normal (6), root linear and angular velocity in the
heading frame (3 + 3), local joint rotations, tangent/normal (J x 6), joint velocities (num_dofs), and
key-body positions relative to the root in the heading frame (K x 3). Humanoid with 5 key bodies: 140.
Each frame is expressed in its own heading frame, so the observation does not depend on where the
character is or which way it faces. An AMP observation is ``steps`` frames, newest first: the state
after the control step and the ones before it, ``steps * frame_dim`` numbers.
"""

from __future__ import annotations

import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel
from mimic.devices import generator_device
from mimic.motion.library import MotionLibrary


def amp_frame_dim(model: CharacterModel, num_key: int) -> int:
    """Numbers per AMP frame."""
    return amp_frame_groups(model, num_key)["key_pos"].stop


def amp_frame_groups(model: CharacterModel, num_key: int) -> dict[str, slice]:
    """Where each kind of feature sits in one AMP frame (see the module's docstring for the order)."""
    j6, d = model.num_joints * 6, model.num_dofs
    return {"root_height": slice(0, 1), "root_rot": slice(1, 7), "root_vel": slice(7, 10),
            "root_ang_vel": slice(10, 13), "joint_rot": slice(13, 13 + j6), "dof_vel": slice(13 + j6, 13 + j6 + d),
            "key_pos": slice(13 + j6 + d, 13 + j6 + d + num_key * 3)}


def amp_frame(root_pos: torch.Tensor, root_rot: torch.Tensor, root_vel: torch.Tensor, root_ang_vel: torch.Tensor,
              joint_rot: torch.Tensor, dof_vel: torch.Tensor, key_pos: torch.Tensor) -> torch.Tensor:
    """One AMP frame (N, F) from world root state (N, 3|4), local joint rotations (N, J, 4), joint velocities
    (N, num_dofs) and world key-body positions (N, K, 3)."""
    n = root_pos.shape[0]
    heading = rot.calc_heading(root_rot)
    local_root = rot.quat_mul(rot.heading_quat_inv(root_rot), root_rot)
    vectors = torch.cat((root_vel[:, None], root_ang_vel[:, None], key_pos - root_pos[:, None]), dim=1)
    local = rot.rotate_heading_inv(vectors, heading[:, None])
    return torch.cat((
        root_pos[:, 2:3], rot.quat_to_tan_norm(local_root), local[:, 0], local[:, 1],
        rot.quat_to_tan_norm(joint_rot).reshape(n, -1), dof_vel, local[:, 2:].reshape(n, -1),
    ), dim=-1)


class AMPObservations:
    """The history of AMP frames of ``num_envs`` simulated characters, and expert samples from the clips.

    Args:
        model: the character; motion: its motion library (the expert data); key_bodies: (K,) body indices.
        steps: frames per observation; dt: seconds between frames (the control step).
        num_envs: N.
    """

    def __init__(self, model: CharacterModel, motion: MotionLibrary, key_bodies: torch.Tensor, steps: int,
                 dt: float, num_envs: int) -> None:
        self.model, self.motion, self.key_bodies = model, motion, key_bodies
        self.steps, self.dt = steps, dt
        self.frame_dim = amp_frame_dim(model, len(key_bodies))
        self.obs_dim = steps * self.frame_dim
        self.history = torch.zeros(num_envs, steps, self.frame_dim, device=motion.device)

    def observation(self) -> torch.Tensor:
        """(N, steps * F): each env's frames, newest first."""
        return self.history.reshape(len(self.history), -1).clone()

    def push(self, frame: torch.Tensor) -> None:
        """Add the newest frame (N, F) of every env."""
        self.history = torch.cat((frame[:, None].to(self.history.dtype), self.history[:, :-1]), dim=1)

    def reset(self, env_ids: torch.Tensor, clip_ids: torch.Tensor, times: torch.Tensor) -> None:
        """Fill the history of envs ``env_ids`` (M,) from their clips ``clip_ids`` (M,) at ``times`` (M,) and
        before, as if they had followed the clip (the character starts on the clip: reference state init)."""
        self.history[env_ids] = self.motion_frames(clip_ids, times)

    def motion_frames(self, clip_ids: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(M, steps, F) frames of the clips at ``times`` and the ``steps - 1`` control steps before."""
        m, k = len(clip_ids), self.steps
        t = times.to(torch.float64)[:, None] - self.dt * torch.arange(k, dtype=torch.float64, device=times.device)
        s = self.motion.state(clip_ids.repeat_interleave(k), t.reshape(-1))
        frame = amp_frame(s.root_pos, s.root_rot, s.root_vel, s.root_ang_vel, s.joint_rot, s.dof_vel,
                          s.body_pos[:, self.key_bodies])
        return frame.reshape(m, k, -1).to(self.history.dtype)

    def sample_expert(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, steps * F) AMP observations of the clips at random times (clips drawn by their weights), on
        the motion library's device; ``generator`` draws on its own device (an agent's may be a GPU's)."""
        clip_ids = self.motion.sample_clips(n, generator=generator)
        span = self.dt * (self.steps - 1)
        # a non-looping clip has no frames before its start: its window starts inside the clip
        u = torch.rand(n, generator=generator, dtype=torch.float64, device=generator_device(generator))
        u = u.to(clip_ids.device)
        dur = self.motion.durations[clip_ids]
        wrap = self.motion.wrap[clip_ids]
        lo = torch.where(wrap, torch.zeros_like(dur), torch.clamp(torch.full_like(dur, span), max=dur))
        times = lo + u * (dur - lo)
        return self.motion_frames(clip_ids, times).reshape(n, -1)
