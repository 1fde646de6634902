"""What closing each clip's loop does to its contacts (issue #11, item 5).

A looping clip rarely ends in the pose it starts with. The motion library closes the loop by
spreading that end-to-start mismatch over a window at the end of the cycle: the whole cycle by
default, or the character's per-clip ``loop_blend_seconds`` (README, "Motion library"). A whole-cycle
window moves every frame, including the frames where a foot or hand is on the ground: it can sink a
stance foot into the floor or float a landing foot above it. For each looping clip and window this
prints, over 600 times across one cycle:

- ``mismatch``: the largest root-relative body distance between the clip's last and first frame (m);
- ``contact shift``: how far the closing moves the end effectors' height (mean / max, cm) at the
  times they are within 8 cm of the ground in the raw clip;
- ``added speed``: the largest body speed the closing adds (m/s), the price of a short window.

The window in use (``*``) is the character's setting. Run: ``python benchmarks/loop_closure.py
[--character humanoid3d] [--clips run jump ...]`` (about 20 s).
"""

from __future__ import annotations

import argparse

from mimic.character.spec import load_spec
from mimic.motion import load_clip
from mimic.motion.clip import LoopMode
from mimic.motion.loop_check import contact_shift, end_to_start_mismatch

WINDOWS: tuple[float | None, ...] = (None, 1.0, 0.5, 0.3, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--character", default="humanoid3d")
    parser.add_argument("--clips", nargs="*", help="looping clips to measure (default: all of the character's)")
    args = parser.parse_args()
    spec = load_spec(args.character)
    names = args.clips or [c for c in spec.clip_names
                           if load_clip(c, spec.model, character=spec).loop == LoopMode.WRAP]
    label = ["whole" if w is None else f"{w:g} s" for w in WINDOWS]
    print(f"Contact shift (mean / max cm) and added speed (m/s) per loop-closing window; "
          f"* = {args.character}'s setting")
    print("| clip | mismatch (m) | " + " | ".join(label) + " |")
    print("|---|---|" + "---|" * len(WINDOWS))
    for name in names:
        clip = load_clip(name, spec.model, character=spec)
        used = spec.loop_blend_seconds_for(name)
        cells = [f"{100 * c.mean_m:.1f} / {100 * c.max_m:.1f}, {c.added_speed_mps:.2f}{' *' if w == used else ''}"
                 for w, c in contact_shift(clip, spec.model, spec.end_effectors, WINDOWS).items()]
        print(f"| {name} | {end_to_start_mismatch(clip, spec.model):.3f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
