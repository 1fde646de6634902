#!/usr/bin/env bash
# Install Mimic and everything it needs on a fresh machine: CPU PyTorch (never the CUDA wheels),
# the package in editable mode with test tools, and OpenGL libraries for headless video.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# Headless rendering needs EGL or OSMesa. On Debian/Ubuntu as root, install them when missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    && ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so\.1|libOSMesa\.so"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1-mesa-dri libosmesa6
fi

# CPU PyTorch first, so that no dependency resolution pulls the multi-gigabyte CUDA build.
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  "$PY" -m pip install torch==2.13.0
fi
"$PY" -m pip install -q -e ".[dev]"
