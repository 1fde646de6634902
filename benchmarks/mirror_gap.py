"""How left-right asymmetric is a policy? Its action against its mirror image's, along its own episodes.

Every character plays the policy's mean action from ``mimic eval``'s starts; every ``--every`` control steps
the policy's action a(s) is compared with its mirror image's, M a(M s) (:mod:`mimic.envs.mirror`): the mean
squared difference per DoF (normalized action units), next to the mean squared action itself. As a control,
the same for the state turned about the vertical by a random angle (the target turned with it): a policy that
sees its root's rotation and velocities in the world frame (``env.world_root_rot_obs``) need not be exactly
invariant to that either, but a task on flat ground does not change with it. A symmetric policy has a mirror
gap near that control; ``agent.mirror_weight`` trains toward it.

For an AMP checkpoint with its discriminator (a run's, not a shipped policy-only file) it also says whether
the style reward cares which way round a motion is: the discriminator's accuracy and mean logit on clip
samples and on their mirror images, and on the policy's own AMP observations and theirs
(:func:`mimic.envs.mirror.amp_obs_mirror`). Mocap is not symmetric, so a discriminator may tell a symmetric
policy from the clips by that alone; where the mirrored clips score as the clips do, it does not.

Run: ``python benchmarks/mirror_gap.py amp_steer [--episodes 256] [--steps 150] [--every 10] [--seed S] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

from mimic.agents.amp import discriminator_of
from mimic.character import rotations as rot
from mimic.envs.mirror import Mirror, amp_obs_mirror, mirrored_policy
from mimic.errors import MimicError
from mimic.policies import load_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("policy", help="a shipped controller's name, a run directory or a checkpoint")
    parser.add_argument("--episodes", type=int, default=256, help="characters, all at once (default 256)")
    parser.add_argument("--steps", type=int, default=150, help="control steps each (default 150)")
    parser.add_argument("--every", type=int, default=10, help="compare every this many steps (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the starts (default: as `mimic eval`)")
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    agent, env, _ = load_policy(args.policy, args.episodes, seed=args.seed)
    _, twin, _ = load_policy(args.policy, args.episodes, seed=args.seed)
    policy = agent.policy()
    image = mirrored_policy(policy, Mirror.of(env), "image")
    turn = torch.Generator().manual_seed(0)
    obs = env.reset()
    twin.reset()
    gaps = {"mirror": [], "turned": [], "action": []}
    disc = discriminator_of(agent)
    own = []  # the policy's AMP observations at the compared steps
    for k in range(args.steps):
        with torch.no_grad():
            action = policy(obs).clone()
            if (k + 1) % args.every == 0:
                gaps["mirror"].append(float((action - image(obs)).square().mean()))
                gaps["action"].append(float(action.square().mean()))
                gaps["turned"].append(float((action - policy(_turned(env, twin, turn))).square().mean()))
        obs, _, _, info = env.step(action)
        if disc is not None and (k + 1) % args.every == 0:
            own.append(info["amp_obs"])
    mean = {k: sum(v) / len(v) for k, v in gaps.items()}
    print(f"{args.policy}: mean squared action {mean['action']:.4f} per DoF; squared difference from its mirror "
          f"image {mean['mirror']:.4f}, from itself with the state turned about the vertical {mean['turned']:.5f} "
          f"({len(gaps['action'])} comparisons of {args.episodes} characters)")
    result = {"policy": args.policy, "mean_sq_action": mean["action"], "mirror_gap": mean["mirror"],
              "turned_gap": mean["turned"]}
    if disc is not None:
        result["discriminator"] = _discriminator_view(disc, env, torch.cat(own))
    if args.json:
        print(json.dumps(result))


def _discriminator_view(disc, env, own: torch.Tensor) -> dict[str, dict[str, float]]:
    """The discriminator's accuracy (the fraction it calls clip data: logit > 0) and mean logit on clip samples,
    the policy's own AMP observations ``own`` (M, D), and the mirror images of both; printed and returned."""
    mirror = amp_obs_mirror(env.model, env.key_bodies.tolist(), env.config.amp_obs_steps)
    clips = env.amp.sample_expert(len(own), torch.Generator().manual_seed(0))
    out = {}
    with torch.no_grad():
        for name, x in (("clips", clips), ("mirrored clips", mirror.apply(clips)), ("policy", own),
                        ("mirrored policy", mirror.apply(own))):
            logits = disc(x).flatten()
            out[name] = {"called_clip": float((logits > 0).float().mean()), "mean_logit": float(logits.mean())}
            print(f"  discriminator on {name:16s}: {out[name]['called_clip']:.3f} called clip data, mean logit "
                  f"{out[name]['mean_logit']:+.3f} ({len(x)} samples)")
    return out


def _turned(env, twin, generator: torch.Generator) -> torch.Tensor:
    """``twin`` set to ``env``'s state turned about the vertical by random angles; its observation (N, D)."""
    e = env.engine
    angle = torch.rand(env.num_envs, generator=generator, dtype=torch.float64) * 2 * math.pi
    zero = torch.zeros_like(angle)
    q = torch.stack((torch.cos(angle / 2), zero, zero, torch.sin(angle / 2)), dim=-1)
    twin.engine.set_state(None, rot.quat_rotate(q, e.root_pos.double()), rot.quat_mul(q, e.root_rot.double()),
                          rot.quat_rotate(q, e.root_vel.double()), rot.quat_rotate(q, e.root_ang_vel.double()),
                          e.joint_pos.double(), e.dof_vel.double())
    if env.task is not None:
        twin.task.angle.copy_(env.task.angle + angle.to(env.task.angle))
        twin.task.speed.copy_(env.task.speed)
    return twin.observe()


if __name__ == "__main__":
    try:
        main()
    except MimicError as exc:
        print(f"mirror_gap: error: {exc}", file=sys.stderr)
        sys.exit(2)
