"""Ship a trained controller inside the package: ``mimic play CLIP`` and ``mimic eval CLIP`` then use it.

Writes a policy-only copy (actor and normalizer; see ``mimic.agents.checkpoint.export_policy``) of a
run's ``best.pt`` (or any checkpoint) to ``src/mimic/policies/CLIP.pt``.

Run: ``python scripts/ship_policy.py runs/walk-long walk``. ``--set SECTION.KEY=VALUE`` (``env.`` or
``agent.``, dotted as on ``mimic train``'s command line) changes the stored run configuration that ``mimic
play`` and ``mimic eval`` rebuild the environment from, for a controller trained on another setting than the
one it is measured on (``amp_steer``: fine-tuned with training-only settings, such as about-turn practice
and a teacher, that are switched off where it is measured: ``env.steering.reverse_prob=0
"env.teacher.policy=''" agent.teacher_weight=0``). The changed configuration must load (e.g. a teacher and
its weight go together), else nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mimic.agents.checkpoint import export_policy
from mimic.errors import MimicError
from mimic.policies import POLICIES_DIR, resolve_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="run directory (its best.pt) or checkpoint file")
    parser.add_argument("clip", help="name the policy is shipped under: the clip (walk), or CHARACTER/CLIP for "
                                     "another character than the humanoid (dog3d/trot)")
    parser.add_argument("--into", default=str(POLICIES_DIR), metavar="DIR",
                        help="folder to write CLIP.pt into (default: the package's policies, where `mimic play` "
                             "finds them)")
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE",
                        help="stored run settings to change (dotted keys, YAML values; sections env and agent), e.g. "
                             "env.clip_weights=[2,1,1] env.steering.reverse_prob=0 agent.teacher_weight=0")
    args = parser.parse_args()
    src = resolve_checkpoint(args.policy)
    dst = Path(args.into) / f"{args.clip}.pt"
    dst.parent.mkdir(parents=True, exist_ok=True)
    for item in args.set:
        if item.partition(".")[0] not in ("env", "agent") or "=" not in item:
            parser.error(f"--set {item}: expected env.KEY=VALUE or agent.KEY=VALUE")
    try:
        dst = export_policy(src, dst, overrides=args.set)
    except MimicError as exc:
        parser.exit(2, f"ship_policy: error: {exc}\n")
    print(f"wrote {dst} ({dst.stat().st_size / 2**20:.1f} MiB) from {src}")


if __name__ == "__main__":
    main()
