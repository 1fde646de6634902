"""How left-right asymmetric is a policy? Its action against its mirror image's, along its own episodes.

Every character plays the policy's mean action from ``mimic eval``'s starts; every ``--every`` control steps
the policy's action a(s) is compared with its mirror image's, M a(M s) (:mod:`mimic.envs.mirror`): the mean
squared difference per DoF (normalized action units), next to the mean squared action itself. As a control,
the same for the state turned about the vertical by a random angle (the target turned with it): a policy that
sees its root's rotation and velocities in the world frame (``env.world_root_rot_obs``) need not be exactly
invariant to that either, but a task on flat ground does not change with it. A symmetric policy has a mirror
gap near that control; ``agent.mirror_weight`` trains toward it.

Run: ``python benchmarks/mirror_gap.py amp_steer [--episodes 256] [--steps 150] [--every 10] [--seed S] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

from mimic.character import rotations as rot
from mimic.envs.mirror import Mirror, mirrored_policy
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
    for k in range(args.steps):
        with torch.no_grad():
            action = policy(obs).clone()
            if (k + 1) % args.every == 0:
                gaps["mirror"].append(float((action - image(obs)).square().mean()))
                gaps["action"].append(float(action.square().mean()))
                gaps["turned"].append(float((action - policy(_turned(env, twin, turn))).square().mean()))
        obs, _, _, _ = env.step(action)
    mean = {k: sum(v) / len(v) for k, v in gaps.items()}
    print(f"{args.policy}: mean squared action {mean['action']:.4f} per DoF; squared difference from its mirror "
          f"image {mean['mirror']:.4f}, from itself with the state turned about the vertical {mean['turned']:.5f} "
          f"({len(gaps['action'])} comparisons of {args.episodes} characters)")
    if args.json:
        print(json.dumps({"policy": args.policy, "mean_sq_action": mean["action"], "mirror_gap": mean["mirror"],
                          "turned_gap": mean["turned"]}))


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
