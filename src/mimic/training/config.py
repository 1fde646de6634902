"""The configuration of a training run: run settings, environment and agent, from YAML presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mimic import config as config_lib
from mimic.agents.config import PPOConfig
from mimic.envs.config import EnvConfig
from mimic.errors import MimicError

PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class RunConfig:
    """How long and how a run trains.

    Attributes:
        num_envs: characters simulated together (per process when training with several).
        max_samples: stop after this many environment samples (0: no limit).
        max_minutes: stop after this much wall time (0: no limit).
        seed: seed of the env and agent random generators.
        device: where the networks run (``cpu`` or ``cuda``).
        test_every: iterations between deterministic test rounds.
        test_episodes: episodes per test round.
        test_envs: characters of the test environment.
        checkpoint_every: iterations between checkpoints (a run loses at most this much).
        keep_every: every this many iterations also keep the checkpoint as ``checkpoints/iter_NNNNNN.pt``
            in the run directory (0: off), to pick among a run's policies afterwards by a measure the test
            rounds cannot afford (``mimic eval --episodes 1536``, ``benchmarks/steer_falls.py``). Each file
            is a full checkpoint (a 1024-512 AMP run's: 61 MB).
        sync_check_every: with several processes, iterations between checks that every rank's
            networks are identical (a cheap checksum; a difference stops the run with an error).
        dist_timeout_s: with several processes, how long a rank waits for the others in a collective
            (or at start-up) before failing with an error instead of hanging.
        init: a trained policy to start from (run directory, checkpoint file or shipped name; ``mimic train
            --init``): its actor and observation normalizer; the critic, the discriminator, the optimizers
            and the counters start afresh; with ``agent.std_type=fixed`` the action noise is this run's
            ``agent.action_std`` (a fine-tune may explore less). Empty: random initial weights. Only read
            when a run starts, not on resume. Pair it with ``agent.actor_warmup_iters`` so the new critic learns first.
    """

    num_envs: int = 256
    max_samples: int = 10_000_000
    max_minutes: float = 0.0
    seed: int = 0
    device: str = "cpu"
    test_every: int = 10
    test_episodes: int = 16
    test_envs: int = 16
    checkpoint_every: int = 5
    keep_every: int = 0
    sync_check_every: int = 10
    dist_timeout_s: float = 120.0
    init: str = ""

    def __post_init__(self) -> None:
        for name in ("num_envs", "test_every", "test_episodes", "test_envs", "checkpoint_every", "sync_check_every",
                     "dist_timeout_s"):
            if getattr(self, name) <= 0:
                raise MimicError(f"run.{name}: must be positive, got {getattr(self, name)}")
        if self.keep_every < 0:
            raise MimicError(f"run.keep_every: must be >= 0 (0: keep no extra checkpoints), got {self.keep_every}")
        if self.max_samples < 0 or self.max_minutes < 0:
            raise MimicError("run.max_samples and run.max_minutes must be >= 0")


@dataclass
class TrainConfig:
    """Everything a run needs; saved as ``config.yaml`` in every run directory."""

    run: RunConfig = field(default_factory=RunConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: PPOConfig = field(default_factory=PPOConfig)

    def __post_init__(self) -> None:
        if (self.agent.teacher_weight > 0) != bool(self.env.teacher.policy):
            raise MimicError("agent.teacher_weight and env.teacher.policy go together: the env labels states with "
                             "the teacher's actions, the agent learns from them (set both or neither)")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def _preset_path(name: str) -> Path:
    """The YAML file of a preset name, or ``name`` itself when it is a path."""
    path = Path(name)
    if not path.suffix:
        path = PRESETS_DIR / f"{name}.yaml"
        if not path.is_file():
            raise MimicError(f"{name}: unknown config preset; presets are {', '.join(preset_names())}")
    return path


def _merge(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay``'s keys set over it, sections merged key by key (lists are replaced)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config_data(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The raw settings of a config file, with its ``base:`` preset (name or path) filled in underneath.

    A preset may start from another (``base: fast``) and give only what differs; bases may chain. A relative
    YAML path is taken from the file's own folder."""
    data = config_lib.load_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise MimicError(f"{path}: base: must be a preset name or a YAML path, got {base!r}")
    if Path(base).suffix and not Path(base).is_absolute():
        base = str(path.parent / base)
    try:
        base_path = _preset_path(base)
    except MimicError as exc:
        raise MimicError(f"{path}: base: {exc}") from None
    if base_path.resolve() in _seen + (path.resolve(),):
        raise MimicError(f"{path}: base: {base} is already in the chain of bases (a cycle)")
    return _merge(load_config_data(base_path, _seen + (path.resolve(),)), data)


def load_train_config(config: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from a preset name or YAML path (default ``deepmimic_humanoid``) plus
    dotted ``key=value`` overrides."""
    path = _preset_path(str(config or "deepmimic_humanoid"))
    data = load_config_data(path)
    config = config_lib.build(TrainConfig, data, source=path)  # the file's own errors name the file
    if not overrides:
        return config
    try:
        return config_lib.build(TrainConfig, config_lib.apply_overrides(data, overrides), source=path)
    except MimicError as exc:  # the file was fine: an override is at fault, name it
        raise override_error(str(exc).removeprefix(f"{path}: "), overrides) from None


def override_error(message: str, overrides: list[str]) -> MimicError:
    """``message`` (``field: problem``) reworded to name the ``KEY=VALUE`` argument that set ``field``."""
    field, _, problem = message.partition(": ")
    for item in reversed(overrides):  # the last one given wins
        key = item.split("=", 1)[0].strip()
        if field == key or field.startswith((f"{key}.", f"{key}[")):
            return MimicError(f"{item}: {problem}" if field == key else f"{item}: {field}: {problem}")
    return MimicError(f"command line: {message}")
