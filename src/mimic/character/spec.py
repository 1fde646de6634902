"""A character is a folder: its MJCF and a spec (``character.yaml``) with what tasks need to know.

The spec holds what the MJCF cannot say: which bodies may touch the ground per clip (the rest end an
episode as a fall), end effectors and key bodies for rewards and observations, per-joint reward
weights, the joint order of the character's clip files, where its bundled clips are, and per-clip
episode settings. The environment, rewards, observations and clip readers take a spec and never
import one character's module.

``character.yaml`` (every key but ``mjcf`` optional; bodies are MJCF body names)::

    name: dog3d                        # default: the folder's name
    mjcf: dog3d.xml                    # relative to the folder
    clip_joint_order: [root, ...]      # order of joints in DeepMimic-format clip files (default: MJCF order)
    clip_format: {up: y, quat: wxyz}   # those files' up axis (y | z) and quaternion order (wxyz | xyzw);
                                       # the default is DeepMimic's, z / xyzw is pybullet's world
    clips: {dir: motions, prefix: dog3d_, names: [trot, ...]}   # bundled clips (names default: all files)
    end_effectors: [...]               # DeepMimic's end-effector reward
    key_bodies: [...]                  # MimicKit's observations and key-body reward
    contact_bodies: {default: [...], cartwheel: [...], roll: all}   # allowed to touch the ground, per clip
    deepmimic_joint_weights: {root: 1.0, ...}   # DeepMimic's DiffWeight per body (missing: 1)
    mimickit_joint_weights: {chest: 1.0, ...}   # MimicKit's joint_err_w per non-root body (missing: 1)
    episode_seconds: {default: 20, kick: 4}     # time limit per clip
    end_hold_seconds: {getup_faceup: 0.3}       # last pose held before a non-looping clip succeeds
    pose_termination_dist: {canter: 1.0}        # per clip: a body this far (m) from the reference is a fall
    pd_backend: {jump: python}                  # per clip: the engine's PD backend when the config leaves
                                                # engine.pd_backend unset (default: native)
    loop_blend_seconds: {cartwheel: 0.5}        # per looping clip: close the loop over its last seconds
                                                # (default: over the whole cycle; see MotionLibrary)
    lift_at_reset: {punch: true}                # per clip: raise the character out of the ground at
                                                # reference state initialization (default: false)

``clips.dir`` may be ``pybullet_data:SUBDIR`` for clips that come with the ``pybullet`` wheel.
Characters shipped with Mimic live in ``mimic/character/assets/NAME/``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml

from mimic.character.model import CharacterModel, load_character
from mimic.config import build, load_yaml_text
from mimic.engine.base import PD_BACKENDS, EngineConfig
from mimic.errors import MimicError, input_error

ASSETS_DIR = Path(__file__).parent / "assets"
SPEC_FILE = "character.yaml"
DEFAULT_CHARACTER = "humanoid3d"
_PYBULLET = "pybullet_data:"


@dataclass
class _ClipsEntry:
    dir: str = ""
    prefix: str = ""
    names: list[str] | None = None


@dataclass
class _ClipFormat:
    up: Literal["y", "z"] = "y"
    quat: Literal["wxyz", "xyzw"] = "wxyz"


@dataclass
class _SpecFile:
    """``character.yaml`` as written (see the module docstring)."""

    mjcf: str
    name: str = ""
    description: str = ""
    clip_joint_order: list[str] | None = None
    clip_format: _ClipFormat = field(default_factory=_ClipFormat)
    clips: _ClipsEntry = field(default_factory=_ClipsEntry)
    end_effectors: list[str] = field(default_factory=list)
    key_bodies: list[str] = field(default_factory=list)
    contact_bodies: dict[str, list[str] | str] = field(default_factory=dict)
    deepmimic_joint_weights: dict[str, float] = field(default_factory=dict)
    mimickit_joint_weights: dict[str, float] = field(default_factory=dict)
    episode_seconds: dict[str, float] = field(default_factory=dict)
    end_hold_seconds: dict[str, float] = field(default_factory=dict)
    pose_termination_dist: dict[str, float] = field(default_factory=dict)
    pd_backend: dict[str, str] = field(default_factory=dict)
    loop_blend_seconds: dict[str, float] = field(default_factory=dict)
    lift_at_reset: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class CharacterSpec:
    """A character: its model and what tasks need to know about it (module docstring).

    Attributes:
        name: the character's name (``humanoid3d``).
        folder: the character's folder; ``spec_path`` its ``character.yaml``.
        model: the :class:`CharacterModel` read from the MJCF, with the clip files' joint order and format.
        clips_source: where the bundled clips are, as written (``clips.dir``, resolved by :attr:`clips_dir`);
            ``clip_prefix`` their file-name prefix; :attr:`clip_names` their short names (``walk`` for
            ``humanoid3d_walk.txt``).
        end_effectors, key_bodies: body names.
        contact_bodies: clip name (or ``default``) -> bodies allowed to touch the ground.
        deepmimic_joint_weights: (num_bodies,) DeepMimic's DiffWeight per body, unnormalized.
        mimickit_joint_weights: (num_bodies - 1,) MimicKit's joint weight per non-root body.
        episode_seconds: clip name (or ``default``) -> time limit (s).
        end_hold_seconds: clip name -> seconds the last pose of a non-looping clip is held.
        pose_termination_dist: clip name (or ``default``) -> distance (m) from the reference at which a body
            ends the episode as a fall (MimicKit's pose termination); clips without one have none.
        pd_backend: clip name (or ``default``) -> the engine's PD backend (``native`` | ``python``) used when
            the config leaves ``engine.pd_backend`` unset (see :meth:`pd_backend_for`).
        loop_blend_seconds: clip name -> seconds at the end of a looping clip over which its end-to-start
            mismatch is closed (:class:`~mimic.motion.library.MotionLibrary`); other clips close it over
            the whole cycle.
        lift_at_reset: clip name (or ``default``) -> whether reference state initialization raises the
            simulated character until no collision geom starts below the ground (see
            :class:`~mimic.envs.config.EnvConfig`'s ``lift_at_reset``).
    """

    name: str
    folder: Path
    spec_path: Path
    model: CharacterModel
    clips_source: str
    clip_prefix: str
    declared_clip_names: tuple[str, ...] | None
    end_effectors: tuple[str, ...]
    key_bodies: tuple[str, ...]
    contact_bodies: dict[str, tuple[str, ...]]
    deepmimic_joint_weights: tuple[float, ...]
    mimickit_joint_weights: tuple[float, ...]
    episode_seconds: dict[str, float]
    end_hold_seconds: dict[str, float]
    pose_termination_dist: dict[str, float] = field(default_factory=dict)
    pd_backend: dict[str, str] = field(default_factory=dict)
    loop_blend_seconds: dict[str, float] = field(default_factory=dict)
    lift_at_reset: dict[str, bool] = field(default_factory=dict)
    description: str = ""

    @property
    def mjcf_path(self) -> Path:
        return self.model.mjcf_path

    @cached_property
    def clips_dir(self) -> Path | None:
        """Folder of the bundled clips, None without any (``pybullet_data:`` needs the ``pybullet`` wheel)."""
        if not self.clips_source:
            return None
        if self.clips_source.startswith(_PYBULLET):
            try:
                import pybullet_data
            except ImportError:
                raise MimicError(f"character {self.name!r}: its bundled clips come with the 'pybullet' package: "
                                 "pip install pybullet") from None
            return Path(pybullet_data.getDataPath()) / self.clips_source[len(_PYBULLET):]
        return self.folder / self.clips_source

    @cached_property
    def clip_names(self) -> tuple[str, ...]:
        """Short names of the bundled clips (declared in the spec, else every ``PREFIX*.txt`` in the folder)."""
        if self.declared_clip_names is not None:
            return self.declared_clip_names
        if self.clips_dir is None:
            return ()
        return tuple(sorted(p.stem[len(self.clip_prefix):] for p in self.clips_dir.glob(f"{self.clip_prefix}*.txt")))

    def contact_bodies_for(self, clip_name: str) -> tuple[str, ...]:
        """Bodies allowed to touch the ground while tracking ``clip_name`` (the ``default`` list otherwise)."""
        return _per_clip(self.contact_bodies, clip_name, ())

    def episode_seconds_for(self, clip_name: str) -> float:
        """Time limit of an episode tracking ``clip_name`` (``default``, else 20 s)."""
        return _per_clip(self.episode_seconds, clip_name, 20.0)

    def end_hold_seconds_for(self, clip_name: str) -> float:
        """Seconds the last pose of a non-looping ``clip_name`` is held before success (0 if none)."""
        return self.end_hold_seconds.get(clip_name, 0.0)

    def pose_termination_dist_for(self, clip_name: str) -> float | None:
        """Distance (m) from the reference that ends an episode tracking ``clip_name``, None for none."""
        return _per_clip(self.pose_termination_dist, clip_name, None)

    def loop_blend_seconds_for(self, clip_name: str) -> float | None:
        """Seconds at the end of looping ``clip_name`` that close its loop, None for the whole cycle."""
        return self.loop_blend_seconds.get(clip_name)

    def lift_at_reset_for(self, clip_name: str) -> bool:
        """Whether starts of ``clip_name`` are raised out of the ground (``default``, else False)."""
        return bool(_per_clip(self.lift_at_reset, clip_name, False))

    def pd_backend_for(self, clip_names: list[str] | tuple[str, ...]) -> str:
        """The PD backend for tracking ``clip_names``: their common per-clip choice, else ``default``, else native.

        A dataset whose clips name different backends gets the ``default`` one.
        """
        default = self.pd_backend.get("default", "native")
        chosen = {self.pd_backend.get(c, default) for c in clip_names}
        return chosen.pop() if len(chosen) == 1 else default

    def engine_config_for(self, config: EngineConfig, clip_names: list[str] | tuple[str, ...]) -> EngineConfig:
        """``config`` with the PD backend of :meth:`pd_backend_for` filled in when it leaves it unset (CPU engine)."""
        if config.pd_backend is not None or config.name != "mujoco_cpu":
            return config
        return dataclasses.replace(config, pd_backend=self.pd_backend_for(clip_names))

    def clip_path(self, name: str) -> Path:
        """The file of bundled clip ``name`` (see :attr:`clip_names`)."""
        if self.clips_dir is None or name not in self.clip_names:
            raise MimicError(f"{name}: not a bundled clip of character {self.name!r}"
                             + (f"; its clips are: {', '.join(self.clip_names)}" if self.clip_names else ""))
        return self.clips_dir / f"{self.clip_prefix}{name}.txt"

    def clip_short_name(self, path: str | Path) -> str:
        """``walk`` for ``.../humanoid3d_walk.txt`` (the prefix removed); the file stem otherwise."""
        stem = Path(path).stem
        return stem[len(self.clip_prefix):] if self.clip_prefix and stem.startswith(self.clip_prefix) else stem


def _per_clip(table: dict, clip_name: str, fallback):
    """``table``'s value for ``clip_name``, else its ``default`` entry, else ``fallback``."""
    return table.get(clip_name, table.get("default", fallback))


def bundled_characters() -> list[str]:
    """Names of the characters shipped with Mimic (folders under ``mimic/character/assets``)."""
    return sorted(p.parent.name for p in ASSETS_DIR.glob(f"*/{SPEC_FILE}"))


def load_spec(name_or_path: str | Path | None = None) -> CharacterSpec:
    """The character called ``name_or_path`` (bundled), or read from a folder or its ``character.yaml``.

    None or ``""`` gives DeepMimic's humanoid. Raises :class:`MimicError` naming the file and field when
    the folder has no spec, the MJCF is missing or does not compile, or the spec names unknown bodies.
    """
    text = str(name_or_path) if name_or_path not in (None, "") else DEFAULT_CHARACTER
    if text in bundled_characters():
        return _load(ASSETS_DIR / text / SPEC_FILE)
    path = Path(text).expanduser()
    if path.is_dir():
        path = path / SPEC_FILE
        if not path.is_file():
            raise MimicError(f"{path.parent}: a character folder needs a {SPEC_FILE} (the character's spec: "
                             "see README, 'Characters')")
    elif path.suffix.lower() in (".xml", ".urdf") and path.is_file():
        raise MimicError(f"{path}: a model file is not a character yet: put it in a folder with a {SPEC_FILE} "
                         "naming it (mjcf: " + path.name + ") and the bodies allowed to touch the ground; "
                         f"`mimic check-character {path}` prints a starting spec")
    elif not path.is_file():
        looks_like_path = path.suffix or "/" in text
        what = "character file not found" if looks_like_path else "unknown character"
        raise MimicError(f"{text}: {what}; bundled characters are: {', '.join(bundled_characters())}")
    return _load(path.resolve())


@functools.lru_cache(maxsize=16)
def _load(spec_path: Path) -> CharacterSpec:
    try:
        data = load_yaml_text(spec_path.read_text())
    except yaml.YAMLError as exc:
        raise input_error(spec_path, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "mjcf" not in data:
        raise input_error(spec_path, "a character spec needs at least 'mjcf: FILE.xml'", "mjcf")
    raw = build(_SpecFile, data, source=spec_path)
    folder = spec_path.parent
    mjcf = folder / raw.mjcf
    if not mjcf.is_file():
        raise input_error(spec_path, f"{mjcf} not found", "mjcf")
    model = load_character(mjcf)
    names = set(model.body_names)

    def bodies(values: list[str] | tuple[str, ...], key: str) -> tuple[str, ...]:
        unknown = [b for b in values if b not in names]
        if unknown:
            raise input_error(spec_path, f"unknown bodies {unknown}; {model.name!r} has {', '.join(model.body_names)}",
                              key)
        return tuple(values)

    order = bodies(raw.clip_joint_order, "clip_joint_order") if raw.clip_joint_order is not None else None
    if order is not None and sorted(order) != sorted(model.body_names):
        missing = [b for b in model.body_names if b not in order]
        raise input_error(spec_path, f"must list every body once; missing {missing}", "clip_joint_order")
    model = dataclasses.replace(model, clip_joint_order=order, clip_format=(raw.clip_format.up, raw.clip_format.quat))
    contact = {}
    for clip, value in raw.contact_bodies.items():
        contact[clip] = model.body_names if value == "all" else bodies(
            value if isinstance(value, list) else [value], f"contact_bodies.{clip}")
    dm_w = _weights(raw.deepmimic_joint_weights, model.body_names, spec_path, "deepmimic_joint_weights")
    mk_w = _weights(raw.mimickit_joint_weights, model.body_names[1:], spec_path, "mimickit_joint_weights")
    for key in ("episode_seconds", "end_hold_seconds"):
        for clip, sec in getattr(raw, key).items():
            if not sec >= 0:
                raise input_error(spec_path, f"must be a non-negative number of seconds, got {sec}", f"{key}.{clip}")
    for clip, dist in raw.pose_termination_dist.items():
        if not dist > 0:
            raise input_error(spec_path, f"must be a positive distance in metres, got {dist}",
                              f"pose_termination_dist.{clip}")
    for clip, sec in raw.loop_blend_seconds.items():
        if not sec > 0:
            raise input_error(spec_path, f"must be a positive number of seconds, got {sec}",
                              f"loop_blend_seconds.{clip}")
    for clip, backend in raw.pd_backend.items():
        if backend not in PD_BACKENDS:
            raise input_error(spec_path, f"must be one of {', '.join(PD_BACKENDS)}, got {backend!r}",
                              f"pd_backend.{clip}")
    return CharacterSpec(
        name=raw.name or folder.name, folder=folder, spec_path=spec_path, model=model,
        clips_source=raw.clips.dir, clip_prefix=raw.clips.prefix,
        declared_clip_names=tuple(raw.clips.names) if raw.clips.names is not None else None,
        end_effectors=bodies(raw.end_effectors, "end_effectors"), key_bodies=bodies(raw.key_bodies, "key_bodies"),
        contact_bodies=contact, deepmimic_joint_weights=dm_w, mimickit_joint_weights=mk_w,
        episode_seconds=dict(raw.episode_seconds), end_hold_seconds=dict(raw.end_hold_seconds),
        pose_termination_dist={k: float(v) for k, v in raw.pose_termination_dist.items()},
        pd_backend=dict(raw.pd_backend), loop_blend_seconds={k: float(v) for k, v in raw.loop_blend_seconds.items()},
        lift_at_reset=dict(raw.lift_at_reset),
        description=raw.description,
    )


def _weights(values: dict[str, float], bodies: tuple[str, ...], source: Path, key: str) -> tuple[float, ...]:
    unknown = [b for b in values if b not in bodies]
    if unknown:
        raise input_error(source, f"unknown bodies {unknown}", key)
    for b, w in values.items():
        if not w >= 0:
            raise input_error(source, f"weights must be non-negative, got {w}", f"{key}.{b}")
    return tuple(float(values.get(b, 1.0)) for b in bodies)

