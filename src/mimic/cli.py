"""The ``mimic`` command line: ``mimic clips | view | convert | import | bench | train | eval | play | plot``.

User errors (missing files, malformed clips, bad options) print one ``mimic: error: ...`` line and
exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mimic import __version__
from mimic.errors import MimicError


def add_character_arg(parser: argparse.ArgumentParser) -> None:
    """``--character NAME|FOLDER``: which character a command works on (see :mod:`mimic.character.spec`)."""
    parser.add_argument("--character", metavar="NAME|FOLDER", default=None,
                        help="a bundled character (see `mimic characters`) or a character folder with its "
                             "character.yaml (default: humanoid3d, DeepMimic's humanoid)")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


# ---------------------------------------------------------------------------------------------- clips


def cmd_clips(args: argparse.Namespace) -> int:
    """Print the bundled clips as a table."""
    from mimic.character.spec import load_spec
    from mimic.motion import load_clip

    spec = load_spec(args.character)
    rows = [("name", "frames", "fps", "duration_s", "loop") + (("path",) if args.paths else ())]
    for name in spec.clip_names:
        clip = load_clip(name, character=spec)
        row = (name, str(clip.num_frames), f"{clip.fps:.4g}", f"{clip.duration:.3f}", clip.loop.value)
        rows.append(row + ((str(spec.clip_path(name)),) if args.paths else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_characters(args: argparse.Namespace) -> int:
    """Print the bundled characters (or the given character folders) as a table."""
    from mimic.character.spec import bundled_characters, load_spec

    rows = [("name", "bodies", "dofs", "mass_kg", "clips", "description")]
    for name in args.folders or bundled_characters():
        spec = load_spec(name)
        m = spec.model
        try:
            clips = str(len(spec.clip_names))
        except MimicError:  # clips in a package that is not installed
            clips = "?"
        rows.append((spec.name, str(m.num_bodies), str(m.num_dofs), f"{m.total_mass:.2f}", clips,
                     spec.description or str(spec.folder)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_check_character(args: argparse.Namespace) -> int:
    """Check a model file for use as a character; status 2 when it has problems."""
    from mimic.character.check import check_model

    report = check_model(args.model)
    print(report.text())
    if not report.ok:
        print(f"mimic: error: {args.model}: {len(report.problems)} problem(s) above; the model cannot be a "
              "character until they are fixed", file=sys.stderr)
        return 2
    return 0


# -------------------------------------------------------------------------------------------- convert


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert a clip between DeepMimic ``.txt`` and Mimic ``.npz``, or write it as BVH."""
    from mimic.character.spec import load_spec
    from mimic.motion import load_clip, save_clip

    spec = load_spec(args.character)
    model = spec.model
    clip = load_clip(args.input, character=spec)
    out = Path(args.output)
    save_clip(clip, out, model)
    print(f"wrote {out} ({clip.num_frames} frames, {clip.duration:.3f} s, loop {clip.loop.value})")
    return 0


# ----------------------------------------------------------------------------------------------- view


def cmd_view(args: argparse.Namespace) -> int:
    """Kinematic playback of a clip: the MuJoCo viewer, or a headless mp4."""
    from mimic.render.video import play_clip

    out = play_clip(args.clip, out=Path(args.out) if args.out else None, seconds=args.seconds, fps=args.fps,
                    width=args.width, height=args.height, character=args.character)
    if out is not None:
        print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------------------------------------- bench


def cmd_bench_env(args: argparse.Namespace) -> int:
    """Throughput of the full environment against raw MuJoCo stepping, measured in one run."""
    import json

    from mimic import config as config_lib
    from mimic.envs.bench import bench_env
    from mimic.envs.config import EnvConfig

    data = config_lib.apply_overrides({}, args.overrides)
    if args.physics_hz:
        data.setdefault("engine", {})["physics_hz"] = args.physics_hz
    if args.engine:
        data.setdefault("engine", {})["name"] = args.engine
    if args.character:
        data["character"] = args.character
    cfg = config_lib.build(EnvConfig, data, source="command line")
    result = bench_env(num_envs=args.num_envs, seconds=args.seconds, config=cfg)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"env:   {result['env_steps_per_s']:>10,.0f} policy steps/s (obs, reward, resets included)")
        print(f"raw:   {result['raw_steps_per_s']:>10,.0f} policy steps/s (MuJoCo stepping alone)")
        print(f"ratio: {result['ratio']:.3f}   ({result['num_envs']} envs, physics {result['physics_hz']} Hz, "
              f"control {result['control_hz']} Hz)")
    return 0


# ---------------------------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with our error format: one line, ``mimic: error: ...``, exit status 2 (no usage block)."""

    def error(self, message: str):  # type: ignore[override]
        print(f"mimic: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The ``mimic`` argument parser with every subcommand."""
    parser = _Parser(
        prog="mimic",
        description="Mimic: physics-based character animation by imitation of motion clips (DeepMimic).",
    )
    parser.add_argument("--version", action="version", version=f"mimic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("clips", help="list a character's bundled clips",
                       description="List a character's bundled clips (DeepMimic's humanoid clips come with pybullet): "
                                   "name, keyframes, keyframes per second, duration and loop mode.")
    p.add_argument("--paths", action="store_true", help="also print each clip's file path")
    add_character_arg(p)
    p.set_defaults(func=cmd_clips)

    p = sub.add_parser("characters", help="list the characters",
                       description="List the characters shipped with Mimic (or the character folders given): "
                                   "bodies, degrees of freedom, mass, bundled clips. A character is a folder with "
                                   "its MJCF and a character.yaml spec (README, 'Characters').")
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="character folders to describe instead")
    p.set_defaults(func=cmd_characters)

    p = sub.add_parser("check-character", help="check a model (MJCF or URDF) for use as a character",
                       description="Check that a model can be a Mimic character (a free-floating root, ball or hinge "
                                   "joints at the body origins, masses and inertias, PD gains and torque limits, a "
                                   "plane ground, collision geoms the engine handles), print what was found, every "
                                   "problem with its fix, and a starting character.yaml. Exit status 2 when the "
                                   "model has problems. URDF goes through MuJoCo's own URDF compiler.")
    p.add_argument("model", help="PATH.xml (MJCF) or PATH.urdf")
    p.set_defaults(func=cmd_check_character)

    p = sub.add_parser("view", help="play a clip kinematically (viewer or mp4)",
                       description="Kinematic playback of a clip on DeepMimic's humanoid. Opens MuJoCo's viewer when "
                                   "a display exists; otherwise, or with --out, renders headless to an mp4 with a "
                                   "tracking camera.")
    p.add_argument("clip", help="bundled clip name (see `mimic clips`) or path to a .txt / .npz clip")
    p.add_argument("--out", metavar="FILE.mp4", help="write an mp4 here instead of opening the viewer")
    p.add_argument("--seconds", type=_positive_float, default=None,
                   help="length of the playback (default: 3 cycles for looping clips, one clip otherwise)")
    p.add_argument("--fps", type=_positive_float, default=30.0, help="video frames per second (default 30)")
    p.add_argument("--width", type=_positive_int, default=640, help="video width in pixels (default 640)")
    p.add_argument("--height", type=_positive_int, default=480, help="video height in pixels (default 480)")
    add_character_arg(p)
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("convert", help="convert a clip between .txt and .npz, or to .bvh",
                       description="Convert a clip between DeepMimic's .txt (JSON, y-up) and Mimic's .npz (z-up, with "
                                   "world body positions from forward kinematics), or write it as .bvh on the "
                                   "character's own skeleton (metres, y-up: Blender's importer defaults). Formats "
                                   "follow the extensions; `mimic import` reads BVH.")
    p.add_argument("input", help="bundled clip name or path to a .txt / .npz clip")
    p.add_argument("output", help="output path ending in .txt, .npz or .bvh")
    add_character_arg(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("bench", help="throughput benchmarks",
                       description="Throughput benchmarks measured against a baseline in the same run.")
    bench = p.add_subparsers(dest="bench_command", metavar="WHAT", help="what to measure: env")
    bench.required = True
    b = bench.add_parser("env", help="environment steps/s vs raw MuJoCo stepping",
                         description="Policy steps per second of the full imitation environment (PD at every "
                                     "physics step, observations, reward, terminations, resets) and, in the same "
                                     "run, of raw MuJoCo batch stepping of the same model at the same physics rate, "
                                     "with their ratio.")
    b.add_argument("--num-envs", type=_positive_int, default=1024,
                   help="characters simulated together (default 1024)")
    b.add_argument("--seconds", type=_positive_float, default=10.0,
                   help="total measuring time, split between env and raw (default 10)")
    b.add_argument("--physics-hz", type=_positive_int, default=None, help="physics rate (default: the engine's)")
    b.add_argument("--engine", choices=("mujoco_cpu", "mujoco_warp"), default=None,
                   help="physics engine (default mujoco_cpu; mujoco_warp needs the gpu extra and runs on "
                        "cuda:0, or engine.device=cpu)")
    b.add_argument("--json", action="store_true",
                   help="print one JSON object: env_steps_per_s, raw_steps_per_s, ratio, num_envs, physics_hz, "
                        "control_hz (plus resets_per_s, physics_time_fraction: share of the env run spent "
                        "inside MuJoCo, threads)")
    b.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="env config overrides, e.g. obs=mimickit engine.num_threads=2")
    add_character_arg(b)
    b.set_defaults(func=cmd_bench_env)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


def _register_training(sub: argparse._SubParsersAction) -> None:
    from mimic.training.commands import register

    register(sub)


def _register_import(sub: argparse._SubParsersAction) -> None:
    from mimic.motion.retarget.commands import register

    register(sub)


# Command groups kept in their own modules.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_register_import, _register_training]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # KEY=VALUE overrides may follow options; argparse leaves them over
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*(args.overrides or []), *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except MimicError as exc:
        print(f"mimic: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mimic: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
