"""Do a character's clips fly as bodies do? Each airborne interval's centre-of-mass fall, in g.

A reference that is in the air longer than its take-off velocity allows cannot be followed from a
start in its take-off: a character started there (reference state initialization) with the
reference's velocities comes down early (``mimic.motion.flight_check``; the humanoid spin's falls,
``docs/skills.md``). For every clip of the character this prints each interval in which every
collision geom is more than 5 cm above the ground for at least 0.1 s (DeepMimic's clips float a
standing foot up to 4 cm), with:

- ``fall``: the centre of mass's fitted downward acceleration, in g (1.0: a ballistic flight; far
  below 1 with a long interval: the clip floats, e.g. a foot hovering where it should stand);
- ``take-off vz``: the fitted COM vertical velocity at the interval's start (m/s);
- ``ballistic vz``: the take-off velocity a ballistic flight to the same landing would need (m/s).

Run: ``python benchmarks/flights.py [--character humanoid3d] [--clips spin backflip ...]`` (seconds).
"""

from __future__ import annotations

import argparse

from mimic.character.spec import load_spec
from mimic.motion import load_clip
from mimic.motion.flight_check import flights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--character", default="humanoid3d", help="a bundled character or a character folder")
    parser.add_argument("--clips", nargs="*", help="clips to check (default: all of the character's)")
    args = parser.parse_args()
    spec = load_spec(args.character)
    print("| clip | airborne (s) | seconds | fall (g) | take-off vz (m/s) | ballistic vz (m/s) |")
    print("|---|---|---|---|---|---|")
    for name in args.clips or spec.clip_names:
        found = flights(spec, load_clip(name, spec.model, character=spec))
        for f in found:
            print(f"| {name} | {f.start:.2f}-{f.end:.2f} | {f.seconds:.2f} | {f.com_fall_g:.2f} | "
                  f"{f.takeoff_vz:+.2f} | {f.ballistic_vz:+.2f} |", flush=True)
        if not found:
            print(f"| {name} | never | - | - | - | - |", flush=True)


if __name__ == "__main__":
    main()
