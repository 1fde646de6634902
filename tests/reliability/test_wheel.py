"""The distributable wheel: built with ``python -m build``, it holds the assets, presets, datasets and shipped
policies, and installed into a new virtual environment it lists clips, evaluates the shipped walk and trains.

Slow (about a minute): ``python -m pytest -m slow tests/reliability/test_wheel.py -s``. The virtual
environment reuses this interpreter's installed dependencies (``--system-site-packages``) so the test needs no
network; ``MIMIC_WHEEL_FRESH=1`` installs the dependencies into it too, from the package index, this
interpreter's torch version first (with ``MIMIC_TORCH_INDEX``, e.g. PyTorch's CPU index, if set): left to
itself pip takes the default index's CUDA build of torch (a 6 GB environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_the_wheel_installs_into_a_new_venv_and_runs(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)], tmp_path)
    (wheel,) = dist.glob("mimic_character-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = "mimic/character/assets"
    for needed in (f"{assets}/humanoid3d/humanoid3d.xml", f"{assets}/humanoid3d/character.yaml",
                   f"{assets}/dog3d/motions/dog3d_trot.txt", f"{assets}/laikago/laikago.xml",
                   "mimic/configs/fast.yaml", "mimic/configs/datasets/humanoid_locomotion.yaml",
                   "mimic/policies/walk.pt"):
        assert needed in names, needed
    print(f"\nwheel: {wheel.name}, {wheel.stat().st_size / 2**20:.1f} MiB")

    venv = tmp_path / "venv"
    fresh = os.environ.get("MIMIC_WHEEL_FRESH") == "1"
    run([sys.executable, "-m", "venv", *([] if fresh else ["--system-site-packages"]), str(venv)], tmp_path)
    py, mimic = venv / "bin" / "python", venv / "bin" / "mimic"
    if fresh:
        import torch

        index = os.environ.get("MIMIC_TORCH_INDEX")
        run([str(py), "-m", "pip", "install", "-q", f"torch=={torch.__version__.split('+')[0]}",
             *(["--index-url", index] if index else [])], tmp_path, 1800)
    run([str(py), "-m", "pip", "install", "-q", *([] if fresh else ["--no-deps"]), str(wheel)], tmp_path, 1800)
    where = run([str(py), "-c", "import mimic; print(mimic.__file__)"], tmp_path).strip()
    assert where.startswith(str(venv)), where  # the wheel's copy, not the repository's

    assert "walk" in run([str(mimic), "clips"], tmp_path)
    result = json.loads(run([str(mimic), "eval", "walk", "--episodes", "2", "--json"], tmp_path))
    assert result["episodes"] == 2 and result["fall_rate"] == 0.0
    run([str(mimic), "train", "walk", "--max-samples", "20000", "--out", str(tmp_path / "run"), "--no-progress"],
        tmp_path)
    assert (tmp_path / "run" / "latest.pt").is_file()
