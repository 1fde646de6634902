"""Ship a trained controller inside the package: ``mimic play CLIP`` and ``mimic eval CLIP`` then use it.

Writes a policy-only copy (actor and normalizer; see ``mimic.agents.checkpoint.export_policy``) of a
run's ``best.pt`` (or any checkpoint) to ``src/mimic/policies/CLIP.pt``.

Run: ``python scripts/ship_policy.py runs/walk-long walk``. ``--set env.KEY=VALUE`` changes the stored run
configuration that ``mimic play`` and ``mimic eval`` rebuild the environment from, for a controller trained on
another setting than the one it is measured on (``amp_steer``: fine-tuned with the run clip weighted up,
measured on the ``humanoid_locomotion`` dataset's own weights).
"""

from __future__ import annotations

import argparse

from mimic.agents.checkpoint import export_policy
from mimic.config import load_yaml_text
from mimic.policies import POLICIES_DIR, resolve_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="run directory (its best.pt) or checkpoint file")
    parser.add_argument("clip", help="name the policy is shipped under: the clip (walk), or CHARACTER/CLIP for "
                                     "another character than the humanoid (dog3d/trot)")
    parser.add_argument("--set", nargs="*", default=[], metavar="env.KEY=VALUE",
                        help="stored environment settings to change (YAML values), e.g. env.clip_weights=[2,1,1]")
    args = parser.parse_args()
    src = resolve_checkpoint(args.policy)
    dst = POLICIES_DIR / f"{args.clip}.pt"
    dst.parent.mkdir(parents=True, exist_ok=True)
    changes = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not key.startswith("env.") or not eq:
            parser.error(f"--set {item}: expected env.KEY=VALUE")
        changes[key[4:]] = load_yaml_text(value)
    dst = export_policy(src, dst, env_changes=changes)
    print(f"wrote {dst} ({dst.stat().st_size / 2**20:.1f} MiB) from {src}")


if __name__ == "__main__":
    main()
