"""Ship a trained controller inside the package: ``mimic play CLIP`` and ``mimic eval CLIP`` then use it.

Writes a policy-only copy (actor and normalizer; see ``mimic.agents.checkpoint.export_policy``) of a
run's ``best.pt`` (or any checkpoint) to ``src/mimic/policies/CLIP.pt``.

Run: ``python scripts/ship_policy.py runs/walk-long walk``.
"""

from __future__ import annotations

import argparse

from mimic.agents.checkpoint import export_policy
from mimic.policies import POLICIES_DIR, resolve_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="run directory (its best.pt) or checkpoint file")
    parser.add_argument("clip", help="name the policy is shipped under: the clip (walk), or CHARACTER/CLIP for "
                                     "another character than the humanoid (dog3d/trot)")
    args = parser.parse_args()
    src = resolve_checkpoint(args.policy)
    dst = POLICIES_DIR / f"{args.clip}.pt"
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst = export_policy(src, dst)
    print(f"wrote {dst} ({dst.stat().st_size / 2**20:.1f} MiB) from {src}")


if __name__ == "__main__":
    main()
