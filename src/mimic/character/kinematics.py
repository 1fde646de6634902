"""Batched forward kinematics for a :class:`~mimic.character.model.CharacterModel`."""

from __future__ import annotations

import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel


class ForwardKinematics:
    """Root pose + local joint rotations -> world body positions and rotations.

    Body frames follow MuJoCo: ``body_rot = parent_rot * local_rot * joint_rot`` and
    ``body_pos = parent_pos + parent_rot * local_pos``, so each body position is its joint position.
    Bodies are processed one tree depth at a time (4 steps for the humanoid), each step batched
    over all bodies of that depth and all leading dimensions.
    """

    def __init__(self, model: CharacterModel, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.model = model
        parents = [int(p) for p in model.parent_indices]
        depth = [0] * len(parents)
        for b in range(1, len(parents)):
            depth[b] = depth[parents[b]] + 1
        self.levels = []
        for d in range(1, max(depth, default=0) + 1):
            bodies = [b for b in range(len(parents)) if depth[b] == d]
            self.levels.append((torch.tensor(bodies, device=device), torch.tensor([parents[b] for b in bodies],
                                                                                   device=device)))
        self.local_pos = torch.as_tensor(model.local_pos, dtype=dtype, device=device)
        self.local_rot = torch.as_tensor(model.local_rot, dtype=dtype, device=device)

    def __call__(self, root_pos: torch.Tensor, root_rot: torch.Tensor,
                 joint_rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World body positions (..., num_bodies, 3) and rotations (..., num_bodies, 4).

        Args:
            root_pos: (..., 3) world position of the root body's origin.
            root_rot: (..., 4) world rotation of the root body.
            joint_rot: (..., num_joints, 4) local joint rotations of bodies 1..num_bodies-1.
        """
        local_pos = self.local_pos.to(root_pos.dtype)
        local_rot = self.local_rot.to(root_pos.dtype)
        batch = root_pos.shape[:-1]
        num_bodies = local_pos.shape[0]
        body_pos = root_pos.new_empty(*batch, num_bodies, 3)
        body_rot = root_rot.new_empty(*batch, num_bodies, 4)
        body_pos[..., 0, :] = root_pos
        body_rot[..., 0, :] = root_rot
        for bodies, parents in self.levels:
            parent_pos, parent_rot = body_pos[..., parents, :], body_rot[..., parents, :]
            body_pos[..., bodies, :] = parent_pos + rot.quat_rotate(parent_rot, local_pos[bodies].expand_as(parent_pos))
            child_rot = rot.quat_mul(local_rot[bodies], joint_rot[..., bodies - 1, :])
            body_rot[..., bodies, :] = rot.quat_mul(parent_rot, child_rot)
        return body_pos, body_rot


def center_of_mass(model: CharacterModel, body_pos: torch.Tensor, body_rot: torch.Tensor) -> torch.Tensor:
    """(..., 3) world centre of mass of ``model`` from its world body positions (..., B, 3) and rotations
    (..., B, 4, w x y z): each body's mass at its centre of mass (``body_com_offset`` in its frame)."""
    kw = {"dtype": body_pos.dtype, "device": body_pos.device}
    masses = torch.as_tensor(model.body_masses, **kw)
    arm = rot.quat_rotate(body_rot, torch.as_tensor(model.body_com_offset, **kw).expand_as(body_pos))
    return ((body_pos + arm) * masses[:, None]).sum(-2) / masses.sum()
