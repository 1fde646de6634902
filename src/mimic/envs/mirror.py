"""Left-right mirror images of a character's observations and actions, as signed permutations.

A character whose left and right halves are mirror images (bodies named ``left_*`` / ``right_*``, every body
frame aligned with its parent at rest, partners at mirrored offsets) meets a mirror-symmetric world (flat
ground, a task whose target mirrors): the reflection S = diag(1, -1, 1) across the world's x-z plane maps a
state to a state that is just as valid. Under it a position or linear velocity v becomes S v, an angular
velocity or exp map w (a pseudovector) becomes -S w, a rotation q = (w, u) becomes (w, -S u), and every
left body trades places with its right partner. The policy's observation and action then mirror by a signed
permutation each: ``mirrored = x[..., perm] * sign``, its own inverse.

Uses: ``agent.mirror_weight`` (a symmetry term in PPO's actor loss, :mod:`mimic.agents.ppo`) and
``benchmarks/steer_falls.py --mirror`` (does a policy fall where its mirror image does not?). Only the
``deepmimic`` observation without the phase (a clip's phase does not mirror) has a mirror image here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from mimic.character.model import JointType
from mimic.envs import observer
from mimic.envs.amp_obs import amp_frame_groups
from mimic.errors import MimicError

if TYPE_CHECKING:
    from mimic.character.model import CharacterModel
    from mimic.envs.tracking import ImitationEnv

VECTOR = np.array([1.0, -1.0, 1.0])  # S v: a position, a linear velocity, a frame axis
PSEUDO = np.array([-1.0, 1.0, -1.0])  # -S w: an angular velocity, an exp map, a quaternion's vector part


@dataclass(frozen=True)
class SignedPermutation:
    """``apply(x) = x[..., perm] * sign`` over the last dimension (size D); a mirror is its own inverse."""

    perm: torch.Tensor  # (D,) long
    sign: torch.Tensor  # (D,) float

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., D)."""
        return x[..., self.perm.to(x.device)] * self.sign.to(device=x.device, dtype=x.dtype)


def _place(perm: np.ndarray, sign: np.ndarray, start: int, source: int, part_sign: np.ndarray) -> None:
    """Let the entries at ``start`` take those at ``source`` (as many as ``part_sign`` has), times ``part_sign``."""
    perm[start:start + len(part_sign)] = np.arange(source, source + len(part_sign))
    sign[start:start + len(part_sign)] = part_sign


def body_partners(names: list[str] | tuple[str, ...]) -> list[int]:
    """Index of each body's mirror partner: ``left`` and ``right`` swapped in its name, itself when neither."""
    index = {n: i for i, n in enumerate(names)}
    out = []
    for name in names:
        other = name.replace("left", "\0").replace("right", "left").replace("\0", "right")
        if other not in index:
            raise MimicError(f"mirror: body {name!r} has no partner {other!r} (bodies: {', '.join(names)})")
        out.append(index[other])
    if out == list(range(len(names))):
        raise MimicError(f"mirror: no left_/right_ bodies to swap in {', '.join(names)}")
    return out


def _check_symmetric(model: CharacterModel, partners: list[int]) -> None:
    """Refuse a character whose halves are not mirror images (rest frames, offsets, joint kinds, ranges)."""
    if not np.allclose(model.local_rot, np.array([1.0, 0, 0, 0])):
        raise MimicError(f"mirror: {model.name}: every body frame must be aligned with its parent's at rest")
    for i, p in enumerate(partners):
        if not np.allclose(model.local_pos[p], model.local_pos[i] * VECTOR, atol=1e-6):
            raise MimicError(f"mirror: {model.name}: {model.body_names[i]} and {model.body_names[p]} are not at "
                             "mirrored offsets from their parents")
        if model.joint_types[i] != model.joint_types[p] or model.parent_indices[p] != (
                -1 if model.parent_indices[i] < 0 else partners[model.parent_indices[i]]):
            raise MimicError(f"mirror: {model.name}: {model.body_names[i]} and {model.body_names[p]} differ in "
                             "joint kind or parent")


def dof_mirror(model: CharacterModel) -> SignedPermutation:
    """The mirror of a (..., num_dofs) vector of PD targets, DoF velocities or normalized actions (whose
    offsets are 0 or mirror-symmetric and whose scales pair up): each ball joint's exp map -S w, each hinge's
    angle times the sign that maps its axis onto its partner's."""
    partners = body_partners(model.body_names)
    _check_symmetric(model, partners)
    perm = np.arange(model.num_dofs)
    sign = np.ones(model.num_dofs)
    for i, p in enumerate(partners):
        start, target = model.dof_offsets[i], model.dof_offsets[p]
        if model.joint_types[i] == JointType.BALL:
            perm[start:start + 3] = np.arange(target, target + 3)
            sign[start:start + 3] = PSEUDO
        elif model.joint_types[i] == JointType.HINGE:
            s = float(np.dot(model.hinge_axes[p], model.hinge_axes[i] * PSEUDO))
            if abs(abs(s) - 1.0) > 1e-6:
                raise MimicError(f"mirror: {model.name}: the hinge axes of {model.body_names[i]} and "
                                 f"{model.body_names[p]} are not mirror images")
            perm[start], sign[start] = target, s
    limits = np.asarray(model.dof_limits, dtype=np.float64)
    mirrored = np.sort(limits[perm] * sign[:, None], axis=-1)
    if not np.allclose(mirrored, limits, atol=1e-6):
        raise MimicError(f"mirror: {model.name}: the joint ranges of the two halves are not mirror images")
    return SignedPermutation(torch.as_tensor(perm), torch.as_tensor(sign, dtype=torch.float32))


def observation_mirror(env: ImitationEnv) -> SignedPermutation:
    """The mirror of the env's (..., D) policy observation, built from its described layout
    (:func:`mimic.envs.observer.layout`)."""
    cfg = env.config
    if cfg.obs != "deepmimic" or cfg.phase_obs:
        raise MimicError("mirror: only the deepmimic observation without the phase (env.obs=deepmimic, "
                         f"env.phase_obs=false) has a mirror image; this env has obs={cfg.obs}, "
                         f"phase_obs={cfg.phase_obs}")
    if cfg.action_mode == "residual":
        raise MimicError("mirror: env.action_mode=residual acts relative to the clip, which does not mirror")
    names = list(env.model.body_names)
    partners = body_partners(names)
    parts = {p["name"]: p for p in observer.layout(env)}
    size = sum(p["size"] for p in parts.values())
    perm, sign = np.arange(size), np.ones(size)
    # per body: position (S), then a quaternion (w, -S u) or tangent and normal axes (S each); velocities
    rot_sign = np.concatenate(([1.0], PSEUDO)) if cfg.body_rot_obs == "quat" else np.concatenate((VECTOR, VECTOR))
    signs = {"pos_rot": np.concatenate((VECTOR, rot_sign)), "vel": np.concatenate((VECTOR, PSEUDO))}
    for b, name in enumerate(names):
        for kind, part_sign in signs.items():  # this body's part takes its partner's, signed
            _place(perm, sign, parts[f"{name}/{kind}"]["start"], parts[f"{names[partners[b]]}/{kind}"]["start"],
                   part_sign)
    if "steering_target" in parts:  # cos and sin of the target's angle from the heading, speed
        sign[parts["steering_target"]["start"] + 1] = -1.0
    known = {"root_height", "steering_target", "clock"} | {f"{n}/{k}" for n in names for k in signs}
    unknown = sorted(set(parts) - known)
    if unknown:
        raise MimicError(f"mirror: no mirror image for the observation parts {', '.join(unknown)}")
    return SignedPermutation(torch.as_tensor(perm), torch.as_tensor(sign, dtype=torch.float32))


def amp_obs_mirror(model: CharacterModel, key_bodies: list[int], steps: int) -> SignedPermutation:
    """The mirror of an AMP observation (..., steps * F) of ``model`` with key bodies ``key_bodies`` (K,
    body indices, the env's ``key_bodies``), frame by frame in :mod:`mimic.envs.amp_obs`'s layout.

    Every part of a frame is in the root's heading frame, which the reflection turns into the mirrored
    heading frame: a rotation's tangent and normal axes, a velocity and a key body's position mirror as
    vectors (S v), an angular velocity as a pseudovector (-S w); joints and key bodies trade places with
    their partners (the key bodies must include each one's partner)."""
    partners = body_partners(model.body_names)
    _check_symmetric(model, partners)
    key = [int(k) for k in key_bodies]
    if sorted(partners[k] for k in key) != sorted(key):
        names = [model.body_names[k] for k in key]
        raise MimicError(f"mirror: the key bodies {', '.join(names)} do not include each one's partner")
    groups = amp_frame_groups(model, len(key))
    frame = groups["key_pos"].stop
    perm, sign = np.arange(frame), np.ones(frame)

    tan_norm = np.concatenate((VECTOR, VECTOR))
    _place(perm, sign, groups["root_rot"].start, groups["root_rot"].start, tan_norm)
    _place(perm, sign, groups["root_vel"].start, groups["root_vel"].start, VECTOR)
    _place(perm, sign, groups["root_ang_vel"].start, groups["root_ang_vel"].start, PSEUDO)
    rot0, key0 = groups["joint_rot"].start, groups["key_pos"].start
    for j in range(model.num_joints):  # joint j is body j + 1
        _place(perm, sign, rot0 + 6 * j, rot0 + 6 * (partners[j + 1] - 1), tan_norm)
    dofs = dof_mirror(model)
    d0 = groups["dof_vel"].start
    perm[groups["dof_vel"]] = d0 + dofs.perm.numpy()
    sign[groups["dof_vel"]] = dofs.sign.numpy()
    for i, k in enumerate(key):
        _place(perm, sign, key0 + 3 * i, key0 + 3 * key.index(partners[k]), VECTOR)
    perm = np.concatenate([perm + t * frame for t in range(steps)])
    return SignedPermutation(torch.as_tensor(perm), torch.as_tensor(np.tile(sign, steps), dtype=torch.float32))


@dataclass(frozen=True)
class Mirror:
    """The mirror images of one env's observations (..., D) and actions (..., A)."""

    obs: SignedPermutation
    action: SignedPermutation

    @staticmethod
    def of(env: ImitationEnv) -> Mirror:
        """The env's mirrors; refuses an env whose observation, character or action map does not mirror."""
        obs, dofs = observation_mirror(env), dof_mirror(env.model)
        offset, scale = env.action_offset.cpu(), env.action_scale.cpu()
        if not (torch.allclose(dofs.apply(offset), offset, atol=1e-6)
                and torch.allclose(scale[dofs.perm], scale, atol=1e-6)):
            raise MimicError(f"mirror: env.action_mode={env.config.action_mode}: the action map's offsets or "
                             "scales are not mirror images")
        return Mirror(obs, dofs)


def mirrored_policy(policy: Callable[[torch.Tensor], torch.Tensor], mirror: Mirror,
                    mode: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """A policy (obs (N, D) -> actions (N, A)) made from ``policy``: ``image``, its mirror image (what it does
    from the mirrored state, mirrored back); ``mean``, the mean of its action and its mirror image's; ``off``,
    itself. A symmetric policy is its own image; how far apart the two are says how asymmetric it is."""
    if mode == "off":
        return policy

    def image(obs: torch.Tensor) -> torch.Tensor:
        return mirror.action.apply(policy(mirror.obs.apply(obs)))

    if mode == "image":
        return image
    if mode == "mean":
        return lambda obs: 0.5 * (policy(obs).clone() + image(obs))  # a policy may return a reused buffer
    raise MimicError(f"mirror mode must be off, image or mean, got {mode!r}")
