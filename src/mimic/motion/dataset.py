"""Motion datasets: a YAML list of clips with sampling weights, for AMP and for tracking alike.

```yaml
motions:
  - {file: walk, weight: 2}                      # a bundled clip of the character
  - {file: my_clips/turn.npz, weight: 1}         # a path, relative to this file
  - {file: "pybullet_data:data/motions/walker/turn_left0.txt"}   # a file in the pybullet wheel (weight 1)
  - {file: walk, rate: 1.5}                      # the walk played 1.5x as fast (env.clip_rates)
```

MimicKit's format (``motions: [{file, weight}]``) plus an optional playback ``rate`` (default 1).
``mimic train --dataset NAME|FILE.yaml`` sets ``env.clips``, ``env.clip_weights`` and, where a rate is
not 1, ``env.clip_rates`` from it; bundled datasets live in ``mimic/configs/datasets/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mimic.config import build, load_yaml_text
from mimic.errors import MimicError, input_error
from mimic.motion.bundled import pybullet_data_path

DATASETS_DIR = Path(__file__).resolve().parent.parent / "configs" / "datasets"
_PYBULLET = "pybullet_data:"


@dataclass
class _Entry:
    file: str
    weight: float = 1.0
    rate: float = 1.0


@dataclass(frozen=True)
class Dataset:
    """A dataset's clips (bundled names, ``pybullet_data:`` references or absolute paths), their sampling
    weights and playback rates, in the order of the file."""

    clips: list[str]
    weights: list[float]
    rates: list[float]

    @property
    def env_rates(self) -> list[float] | None:
        """``env.clip_rates``: None when every clip plays at its own rate."""
        return self.rates if any(r != 1 for r in self.rates) else None


@dataclass
class _DatasetFile:
    motions: list[_Entry] = field(default_factory=list)


def dataset_names() -> list[str]:
    """Names of the datasets shipped with Mimic."""
    return sorted(p.stem for p in DATASETS_DIR.glob("*.yaml"))


def load_dataset(name_or_path: str | Path) -> Dataset:
    """The clips, weights and rates of a bundled dataset name or a dataset YAML file."""
    text = str(name_or_path)
    path = DATASETS_DIR / f"{text}.yaml" if text in dataset_names() else Path(text).expanduser()
    if not path.is_file():
        raise MimicError(f"{text}: dataset file not found; bundled datasets are: {', '.join(dataset_names())}")
    try:
        data = load_yaml_text(path.read_text())
    except yaml.YAMLError as exc:
        raise input_error(path, f"not valid YAML: {exc}") from None
    raw = build(_DatasetFile, data, source=path)
    if not raw.motions:
        raise input_error(path, "the dataset lists no clips", "motions")
    clips, weights, rates = [], [], []
    for i, entry in enumerate(raw.motions):
        for key in ("weight", "rate"):
            if not getattr(entry, key) > 0:
                raise input_error(path, f"must be positive, got {getattr(entry, key)}", f"motions[{i}].{key}")
        clips.append(_resolve(entry.file, path, f"motions[{i}].file"))
        weights.append(float(entry.weight))
        rates.append(float(entry.rate))
    return Dataset(clips, weights, rates)


def _resolve(file: str, source: Path, field_name: str) -> str:
    """A bundled clip name or a ``pybullet_data:`` reference as it is (so a run's config works on any machine),
    a relative path made absolute; files are checked to exist."""
    if file.startswith(_PYBULLET):
        path = pybullet_data_path(file)
        if not path.is_file():
            raise input_error(source, f"{path} not found in the pybullet wheel", field_name)
        return file
    if "/" in file or Path(file).suffix:
        path = (source.parent / file).expanduser()
    else:
        return file  # a bundled clip name, checked by the env against its character
    if not path.is_file():
        raise input_error(source, f"{path} not found", field_name)
    return str(path.resolve())
