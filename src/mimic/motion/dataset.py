"""Motion datasets: a YAML list of clips with sampling weights, for AMP and for tracking alike.

```yaml
motions:
  - {file: walk, weight: 2}                      # a bundled clip of the character
  - {file: my_clips/turn.npz, weight: 1}         # a path, relative to this file
  - {file: "pybullet_data:data/motions/walker/turn_left0.txt"}   # a file in the pybullet wheel (weight 1)
```

MimicKit's format (``motions: [{file, weight}]``). ``mimic train --dataset NAME|FILE.yaml`` sets
``env.clips`` and ``env.clip_weights`` from it; bundled datasets live in ``mimic/configs/datasets/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mimic.config import build
from mimic.errors import MimicError, input_error
from mimic.motion.bundled import pybullet_data_path

DATASETS_DIR = Path(__file__).resolve().parent.parent / "configs" / "datasets"
_PYBULLET = "pybullet_data:"


@dataclass
class _Entry:
    file: str
    weight: float = 1.0


@dataclass
class _DatasetFile:
    motions: list[_Entry] = field(default_factory=list)


def dataset_names() -> list[str]:
    """Names of the datasets shipped with Mimic."""
    return sorted(p.stem for p in DATASETS_DIR.glob("*.yaml"))


def load_dataset(name_or_path: str | Path) -> tuple[list[str], list[float]]:
    """(clips, weights) of a bundled dataset name or a dataset YAML file: clip names or absolute paths."""
    text = str(name_or_path)
    path = DATASETS_DIR / f"{text}.yaml" if text in dataset_names() else Path(text).expanduser()
    if not path.is_file():
        raise MimicError(f"{text}: dataset file not found; bundled datasets are: {', '.join(dataset_names())}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise input_error(path, f"not valid YAML: {exc}") from None
    raw = build(_DatasetFile, data, source=path)
    if not raw.motions:
        raise input_error(path, "the dataset lists no clips", "motions")
    clips, weights = [], []
    for i, entry in enumerate(raw.motions):
        if not entry.weight > 0:
            raise input_error(path, f"must be positive, got {entry.weight}", f"motions[{i}].weight")
        clips.append(_resolve(entry.file, path, f"motions[{i}].file"))
        weights.append(float(entry.weight))
    return clips, weights


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
