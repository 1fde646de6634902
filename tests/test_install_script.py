"""scripts/install.sh picks PyTorch's build by the rule in README: keep an installed torch, the CPU-only
index without an NVIDIA GPU (the default index when that fails), the default index with one. pip is
stubbed: a fake python records its pip calls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install.sh"

FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1" = "-c" ]; then  # `python -c "import torch; ..."`
  [ -n "$FAKE_TORCH" ] && { echo "$FAKE_TORCH"; exit 0; }
  exit 1
fi
echo "$*" >> "$PIP_LOG"  # `python -m pip ...`
case "$*" in *--index-url*) exit "${FAKE_CPU_INDEX_FAILS:-0}";; esac
exit 0
"""


def run_install(tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    log = tmp_path / "pip.log"
    full = {**os.environ, "PYTHON": str(python), "PIP_LOG": str(log), "MIMIC_NO_APT": "1",
            "MIMIC_TORCH_CPU_INDEX": "https://cpu.example/whl", **env}
    done = subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, log.read_text().splitlines() if log.is_file() else []


@pytest.mark.parametrize("gpu", ["0", "1"])
def test_keeps_an_installed_torch(tmp_path, gpu):
    out, calls = run_install(tmp_path, FAKE_TORCH="2.9.1+cu128", MIMIC_HAS_NVIDIA=gpu)
    assert out.splitlines() == ["install: keeping the installed torch 2.9.1+cu128"]
    assert calls == ["-m pip install -q -e .[dev]"]  # no torch install at all


def test_cpu_index_without_an_nvidia_gpu(tmp_path):
    out, calls = run_install(tmp_path, MIMIC_HAS_NVIDIA="0")
    assert calls[0] == "-m pip install -q torch==2.13.0 --index-url https://cpu.example/whl"
    assert calls[1:] == ["-m pip install -q -e .[dev]"]
    assert "no NVIDIA GPU: installed torch 2.13.0 (CPU-only build) from https://cpu.example/whl" in out


def test_default_index_when_the_cpu_index_cannot_be_reached(tmp_path):
    out, calls = run_install(tmp_path, MIMIC_HAS_NVIDIA="0", FAKE_CPU_INDEX_FAILS="1")
    assert calls[:2] == ["-m pip install -q torch==2.13.0 --index-url https://cpu.example/whl",
                         "-m pip install -q torch==2.13.0"]
    assert "unreachable: installed torch 2.13.0 from the default index" in out


def test_default_index_with_an_nvidia_gpu(tmp_path):
    out, calls = run_install(tmp_path, MIMIC_HAS_NVIDIA="1")
    assert calls[0] == "-m pip install -q torch==2.13.0"
    assert "NVIDIA GPU found" in out
