"""The character's collision geoms that can touch the ground, and how far above the ground they are.

Both engines and :class:`~mimic.engine.body_state.BodyState` read the geoms from the compiled MuJoCo
model the same way (:func:`collision_geoms`); :func:`lowest_points` gives each geom's lowest world
height from body poses, in torch on any device. The environment uses it at reference state
initialization: DeepMimic's clips sink a foot up to 10 cm into MuJoCo's ground at some frames (its
bodies' shapes are DeepMimic's own; the walk stays within 0.5 cm, the run reaches 6.7 cm, the crawl
10.5 cm), and MuJoCo pushes a body that starts that deep out within a step, throwing the character
off its reference before the policy acts.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
import torch

from mimic.character import rotations as rot
from mimic.character.model import CharacterModel
from mimic.errors import MimicError

_KINDS = {int(mujoco.mjtGeom.mjGEOM_SPHERE): "sphere", int(mujoco.mjtGeom.mjGEOM_CAPSULE): "capsule",
          int(mujoco.mjtGeom.mjGEOM_BOX): "box"}


@dataclass(frozen=True)
class CollisionGeoms:
    """G collision geoms that can touch a flat, horizontal ground.

    Attributes:
        body: (G,) character body index of each geom (0 = root).
        pos: (G, 3) geom centre in its body's frame.
        axes: (G, 3, 3) rotation of the geom in its body's frame (columns: the geom's axes).
        half: (G, 3) extent of the geom along each of its axes beyond the radius (box: half sizes;
            capsule: half length along z).
        radius: (G,) sphere or capsule radius (0 for boxes).
        margin: (G,) contact margin against the ground (MuJoCo reports a contact within it).
        ground_height: the ground plane's height (m).
    """

    body: np.ndarray
    pos: np.ndarray
    axes: np.ndarray
    half: np.ndarray
    radius: np.ndarray
    margin: np.ndarray
    ground_height: float


def collision_geoms(character: CharacterModel, m: mujoco.MjModel) -> CollisionGeoms:
    """The geoms of ``character`` in the compiled model ``m`` that collide with its ground planes (by their
    contype/conaffinity bits or an explicit pair); a clear error for a ground that is not horizontal planes
    or a colliding geom that is not a sphere, capsule or box."""
    ch = character
    world = [g for g in range(m.ngeom) if m.geom_bodyid[g] == 0]
    planes = [g for g in world if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    if not planes or len(planes) != len(world):
        raise MimicError(f"{ch.mjcf_path}: the engine needs a ground made of planes only")
    for g in planes:
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, m.geom_quat[g])
        if abs(mat[8] - 1.0) > 1e-9:
            raise MimicError(f"{ch.mjcf_path}: the ground plane must be horizontal (normal +z)")
    plane = planes[int(np.argmax(m.geom_pos[planes, 2]))]
    # explicit <pair>s with a plane count as well as compatible contype/conaffinity bits
    paired = set()
    for g1, g2 in zip(m.pair_geom1, m.pair_geom2, strict=True):
        if g1 in planes:
            paired.add(int(g2))
        if g2 in planes:
            paired.add(int(g1))
    geoms = []
    for g in range(m.ngeom):
        if m.geom_bodyid[g] == 0:
            continue
        collides = g in paired or any((m.geom_contype[g] & m.geom_conaffinity[p]) or
                                      (m.geom_conaffinity[g] & m.geom_contype[p]) for p in planes)
        if not collides:
            continue
        if int(m.geom_type[g]) not in _KINDS:
            raise MimicError(f"{ch.mjcf_path}: geom {g} of body {ch.body_names[m.geom_bodyid[g] - 1]!r}: only "
                             "spheres, capsules and boxes can touch the ground in the engine")
        geoms.append(g)
    num = len(geoms)
    axes, half, radius = np.zeros((num, 3, 3)), np.zeros((num, 3)), np.zeros(num)
    for k, g in enumerate(geoms):
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, m.geom_quat[g])
        axes[k] = mat.reshape(3, 3)
        kind, size = _KINDS[int(m.geom_type[g])], m.geom_size[g]
        if kind == "sphere":
            radius[k] = size[0]
        elif kind == "capsule":
            radius[k], half[k, 2] = size[0], size[1]
        else:
            half[k] = size[:3]
    return CollisionGeoms(
        body=np.array([m.geom_bodyid[g] - 1 for g in geoms], dtype=np.int64),
        pos=np.array([m.geom_pos[g] for g in geoms]).reshape(num, 3), axes=axes, half=half, radius=radius,
        margin=np.maximum(float(m.geom_margin[plane]), np.array([m.geom_margin[g] for g in geoms])),
        ground_height=float(m.geom_pos[plane, 2]))


def lowest_points(geoms: CollisionGeoms, body_pos: torch.Tensor, body_rot: torch.Tensor) -> torch.Tensor:
    """(M, G) world height of each geom's lowest point, from world body positions (M, B, 3) and rotations
    (M, B, 4, w x y z)."""
    dev, dt = body_pos.device, body_pos.dtype
    idx = torch.as_tensor(geoms.body, device=dev)
    pos, q = body_pos[:, idx], body_rot[:, idx].to(dt)  # (M, G, 3|4)
    centre_z = pos[..., 2] + rot.quat_rotate(q, torch.as_tensor(geoms.pos, dtype=dt, device=dev).expand_as(pos))[..., 2]
    # world z component of each geom axis: rotate the body-frame axes (columns of ``axes``)
    axes = torch.as_tensor(geoms.axes, dtype=dt, device=dev).transpose(1, 2)  # (G, 3 axes, 3)
    m, g = pos.shape[:2]
    axis_z = rot.quat_rotate(q[:, :, None].expand(m, g, 3, 4), axes.expand(m, g, 3, 3))[..., 2]  # (M, G, 3)
    extent = (axis_z.abs() * torch.as_tensor(geoms.half, dtype=dt, device=dev)).sum(-1)
    return centre_z - extent - torch.as_tensor(geoms.radius, dtype=dt, device=dev)
