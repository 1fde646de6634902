"""Batched forward kinematics for a :class:`~mimic.character.model.CharacterModel`."""

from __future__ import annotations

import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel


class ForwardKinematics:
    """Root pose + local joint rotations -> world body positions and rotations.

    Body frames follow MuJoCo: ``body_rot = parent_rot * local_rot * joint_rot`` and
    ``body_pos = parent_pos + parent_rot * local_pos``, so each body position is its joint position.
    One Python step per body, each batched over all leading dimensions.
    """

    def __init__(self, model: CharacterModel, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.model = model
        self.parents = [int(p) for p in model.parent_indices]
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
        body_pos = [root_pos]
        body_rot = [root_rot]
        for b in range(1, len(self.parents)):
            p = self.parents[b]
            parent_pos, parent_rot = body_pos[p], body_rot[p]
            body_pos.append(parent_pos + rot.quat_rotate(parent_rot, local_pos[b].expand_as(parent_pos)))
            child_rot = rot.quat_mul(local_rot[b].expand_as(parent_rot), joint_rot[..., b - 1, :])
            body_rot.append(rot.quat_mul(parent_rot, child_rot))
        return torch.stack(body_pos, dim=-2), torch.stack(body_rot, dim=-2)
