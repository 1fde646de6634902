#!/usr/bin/env bash
# Install Mimic and everything it needs on a fresh machine: PyTorch (the CPU-only build unless an
# NVIDIA GPU is present), the package in editable mode with test tools, and OpenGL libraries for
# headless video.
#
# The PyTorch rule: an installed torch is kept as it is. Otherwise, on a machine without an NVIDIA GPU,
# torch comes from PyTorch's CPU-only wheel index (the default index serves the CUDA build, with
# gigabytes of nvidia-* packages); when that index cannot be reached, from the default index. With an
# NVIDIA GPU, the default index's CUDA build. To get a GPU build on purpose, install it first
# (e.g. `pip install torch==2.13.0`), then run this script.
#
# Environment: PYTHON (default python3); MIMIC_TORCH_CPU_INDEX (the CPU-only index URL);
# MIMIC_HAS_NVIDIA=0/1 overrides the GPU detection; MIMIC_NO_APT=1 skips the system libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0
CPU_INDEX=${MIMIC_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

# Headless rendering needs EGL or OSMesa. On Debian/Ubuntu as root, install them when missing.
if [ "${MIMIC_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    && ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so\.1|libOSMesa\.so"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1-mesa-dri libosmesa6
fi

has_nvidia() {
  if [ -n "${MIMIC_HAS_NVIDIA:-}" ]; then [ "$MIMIC_HAS_NVIDIA" = 1 ]; return; fi
  [ -e /proc/driver/nvidia/version ] || { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }
}

# PyTorch first, so that no dependency resolution pulls the CUDA build on a CPU-only machine.
if version=$("$PY" -c "import torch; print(torch.__version__)" 2>/dev/null); then
  echo "install: keeping the installed torch $version"
elif has_nvidia; then
  "$PY" -m pip install -q "torch==$TORCH_VERSION"
  echo "install: NVIDIA GPU found: installed torch $TORCH_VERSION (CUDA build) from the default index"
elif "$PY" -m pip install -q "torch==$TORCH_VERSION" --index-url "$CPU_INDEX"; then
  echo "install: no NVIDIA GPU: installed torch $TORCH_VERSION (CPU-only build) from $CPU_INDEX"
else
  "$PY" -m pip install -q "torch==$TORCH_VERSION"
  echo "install: no NVIDIA GPU, $CPU_INDEX unreachable: installed torch $TORCH_VERSION from the default index"
fi
"$PY" -m pip install -q -e ".[dev]"
