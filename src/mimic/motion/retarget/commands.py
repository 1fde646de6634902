"""``mimic import FILE.bvh OUT``: argument parsing and the command body."""

from __future__ import annotations

import argparse
from pathlib import Path

from mimic.motion.clip import LoopMode


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``import`` to the ``mimic`` parser."""
    from mimic.cli import _positive_float, add_character_arg
    from mimic.motion.retarget import GROUND_MODES, MAP_CHOICES, UP_AXES

    p = sub.add_parser("import", help="import a BVH motion, retargeted onto the character",
                       description="Read a BVH file (any skeleton, channel order and units), map its joints onto the "
                                   "character's bodies, retarget the motion (bone directions from the source, the rest "
                                   "poses aligned: a T-pose source onto the arms-down humanoid works), scale the root "
                                   "motion by leg length, put the feet on the ground, resample, and write a clip that "
                                   "`mimic view` and `mimic train` take. Prints what it chose and guessed.")
    p.add_argument("input", metavar="FILE.bvh", help="the BVH file")
    p.add_argument("output", metavar="OUT", help="OUT.npz (Mimic), OUT.txt (DeepMimic) or OUT.bvh (the character's "
                                                 "own skeleton)")
    p.add_argument("--map", default="auto", metavar="PRESET|MAP.yaml",
                   help=f"joint names: a preset ({', '.join(MAP_CHOICES)}; auto picks one by the names and says "
                        "which) or a YAML file of 'character body: source joint' lines (default auto)")
    p.add_argument("--scale", type=_positive_float, default=None, metavar="S",
                   help="metres per file unit for the root motion, e.g. 0.01 for centimetres: keeps the actor's own "
                        "stride (default: scale by leg length, character's over source's, which also converts units; "
                        "the guessed units are reported)")
    p.add_argument("--up", choices=UP_AXES, default="y", help="the file's up axis (default y, as most BVH files)")
    p.add_argument("--fps", type=_positive_float, default=None, help="keyframes per second (default: the file's)")
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="first second to keep (default 0)")
    p.add_argument("--end", type=_positive_float, default=None, metavar="S", help="last second to keep (default: "
                                                                                  "the end)")
    p.add_argument("--loop", choices=[m.value for m in LoopMode], default="none",
                   help="wrap: the clip is a cycle to repeat; none: it plays once (default none)")
    p.add_argument("--ground", choices=GROUND_MODES, default="feet",
                   help="feet: move the motion up or down so the lowest foot of the clip stands at the character's "
                        "foot height; none: keep the source's heights, scaled (default feet)")
    add_character_arg(p)
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """Import a BVH file as a clip and print the report."""
    from mimic.character.spec import load_spec
    from mimic.motion.formats import clip_writer
    from mimic.motion.retarget import ImportOptions, import_bvh

    out = Path(args.output)
    writer = clip_writer(out)  # a bad output path fails before the work
    model = load_spec(args.character).model
    options = ImportOptions(map=args.map, scale=args.scale, up=args.up, fps=args.fps, start=args.start, end=args.end,
                            loop=LoopMode(args.loop), ground=args.ground)
    result = import_bvh(args.input, model, options)
    for note in result.notes:
        print(note)
    clip = result.clip
    writer(clip, out, model)
    print(f"wrote {out} ({clip.num_frames} frames at {clip.fps:.4g} fps, {clip.duration:.3f} s, loop "
          f"{clip.loop.value})")
    return 0
