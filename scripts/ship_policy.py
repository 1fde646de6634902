"""Ship a trained controller inside the package: ``mimic play CLIP`` and ``mimic eval CLIP`` then use it.

Writes a policy-only copy (actor and normalizer; see ``mimic.agents.checkpoint.export_policy``) of a
run's ``best.pt`` (or any checkpoint) to ``src/mimic/policies/CLIP.pt``.

Run: ``python scripts/ship_policy.py runs/walk-long walk``.
"""

from __future__ import annotations

import argparse

from mimic.agents.checkpoint import export_policy
from mimic.training.commands import POLICIES_DIR, resolve_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="run directory (its best.pt) or checkpoint file")
    parser.add_argument("clip", help="bundled clip name the policy is shipped under, e.g. walk")
    args = parser.parse_args()
    src = resolve_checkpoint(args.policy)
    dst = export_policy(src, POLICIES_DIR / f"{args.clip}.pt")
    print(f"wrote {dst} ({dst.stat().st_size / 2**20:.1f} MiB) from {src}")


if __name__ == "__main__":
    main()
