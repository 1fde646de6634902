"""DeepMimic ``train_humanoid3d_*_args.txt`` files mapped onto Mimic's configuration.

What applies: the motion file (a bundled clip when its name matches, else the path), the fall
contact bodies (Mimic keeps the complement: the bodies allowed to touch the ground), whether
contact ends an episode, and the episode time limit (DeepMimic's end-of-curriculum limit). Every
other key is reported as ignored, with the reason.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from mimic.character.spec import bundled_characters, load_spec
from mimic.errors import MimicError, input_error
from mimic.motion.bundled import bundled_clips, clip_short_name
from mimic.training.config import TrainConfig

# Keys with a Mimic equivalent elsewhere or no meaning here, and why they are not mapped.
_IGNORED = {
    "scene": "Mimic has one task (imitate)",
    "num_update_substeps": "physics rate is engine.physics_hz", "num_sim_substeps": "physics rate is engine.physics_hz",
    "world_scale": "MuJoCo works in metres", "terrain_file": "flat ground only",
    "char_types": "one character type",
    "char_ctrls": "PD control is built in", "char_ctrl_files": "gains live in the MJCF", "kin_ctrl": "always a clip",
    "agent_files": "agent settings come from the preset (agent.*)", "output_path": "use --out",
    "int_output_path": "use --out", "time_lim_min": "no episode-length curriculum yet",
    "time_lim_max": "no episode-length curriculum yet", "time_lim_exp": "no episode-length curriculum yet",
    "time_end_lim_min": "the end limit maps from time_end_lim_max", "time_end_lim_exp": "no curriculum yet",
    "anneal_samples": "no curriculum yet", "enable_char_soft_contact": "MuJoCo contacts",
    "sync_char_root_rot": "not supported (heading is never re-synced)",
}


def parse_arg_file(path: str | Path) -> dict[str, list[str]]:
    """``--key value ...`` tokens of an arg file (``#`` comments) as key -> values."""
    path = Path(path)
    if not path.is_file():
        raise MimicError(f"{path}: arg file not found")
    tokens = shlex.split(path.read_text(), comments=True)
    args: dict[str, list[str]] = {}
    key = None
    for token in tokens:
        if token.startswith("--"):
            key = token[2:]
            args.setdefault(key, [])
        elif key is None:
            raise input_error(path, f"value {token!r} comes before any --key")
        else:
            args[key].append(token)
    return args


def apply_arg_file(cfg: TrainConfig, path: str | Path) -> list[str]:
    """Map a DeepMimic arg file onto ``cfg`` in place; returns warnings about what did not apply."""
    args = parse_arg_file(path)
    warnings = []
    if "character_files" in args:  # first: the clip names and joint ids below are the character's
        stem = Path(args["character_files"][0]).stem if args["character_files"] else ""
        if stem in bundled_characters():
            cfg.env.character = stem
        else:
            warnings.append(f"{path}: --character_files ignored ({stem!r} is not a bundled character; "
                            "set env.character to a character folder)")
    spec = load_spec(cfg.env.character)
    order = spec.model.clip_joint_order or spec.model.body_names
    for key, values in args.items():
        if key == "character_files":
            continue
        if key == "motion_file":
            name = clip_short_name(values[0])
            cfg.env.clips = [name if name in bundled_clips(spec) else values[0]]
        elif key == "fall_contact_bodies":
            try:
                fall = {order[int(v)] for v in values}
            except (ValueError, IndexError):
                raise input_error(path, f"expected joint ids 0-{len(order) - 1} of {spec.name!r}, got {values}",
                                  key) from None
            cfg.env.contact_bodies = [b for b in order if b not in fall]
        elif key == "enable_char_contact_fall":
            cfg.env.early_termination = values[0].lower() == "true"
        elif key == "time_end_lim_max":
            cfg.env.episode_seconds = float(values[0])
        elif key == "sync_char_root_pos":
            cfg.env.sync_root_pos = values[0].lower() == "true"
        elif key == "rand_seed":
            cfg.run.seed = int(values[0])
        else:
            warnings.append(f"{path}: --{key} ignored ({_IGNORED.get(key, 'no Mimic equivalent')})")
    return warnings
