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

import torch

from mimic.character.spec import CharacterSpec, load_spec
from mimic.motion import MotionLibrary, load_clip
from mimic.motion.clip import LoopMode

WINDOWS: tuple[float | None, ...] = (None, 1.0, 0.5, 0.3, 0.2)
NEAR_GROUND_M = 0.08


def contact_shift(clip_name: str, spec: CharacterSpec, windows: tuple[float | None, ...] = WINDOWS,
                  samples: int = 600) -> dict:
    """Per window: (mean cm, max cm, added speed m/s) of closing ``clip_name``'s loop, plus its mismatch."""
    model = spec.model
    clip = load_clip(clip_name, model, character=spec)
    ends = [model.body_names.index(b) for b in spec.end_effectors]
    t = torch.linspace(0.0, clip.duration - 1e-6, samples, dtype=torch.float64)
    ids = torch.zeros(samples, dtype=torch.long)
    raw = MotionLibrary([clip], model, dtype=torch.float64, close_loops=False).state(ids, t)
    rel = raw.body_pos - raw.body_pos[:, :1]
    out = {"mismatch": (rel[-1] - rel[0]).norm(dim=-1).max().item(), "windows": {}}
    near = raw.body_pos[:, ends, 2] < NEAR_GROUND_M
    for w in windows:
        s = MotionLibrary([clip], model, dtype=torch.float64, loop_blend_seconds=[w]).state(ids, t)
        dz = (s.body_pos[:, ends, 2] - raw.body_pos[:, ends, 2]).abs()[near] * 100
        dv = (s.body_vel - raw.body_vel).norm(dim=-1).max().item()
        out["windows"][w] = (dz.mean().item() if dz.numel() else 0.0, dz.max().item() if dz.numel() else 0.0, dv)
    return out


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
        r = contact_shift(name, spec)
        used = spec.loop_blend_seconds_for(name)
        cells = [f"{m:.1f} / {x:.1f}, {v:.2f}{' *' if w == used else ''}" for w, (m, x, v) in r["windows"].items()]
        print(f"| {name} | {r['mismatch']:.3f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
