#!/usr/bin/env bash
# Prepare build/gpu/ (ignored by git) on a machine with internet, for a GPU machine that has Python and
# PyTorch but can download nothing (scripts/gpu_check.sh installs from it):
#   build/gpu/wheels/  wheels of MuJoCo (mujoco-core: simulation without the viewer), MuJoCo Warp and Warp
#                      for that machine's Python, without dependencies (numpy, torch, pyyaml, tqdm, matplotlib,
#                      tensorboard and etils are expected there);
#   build/gpu/shim/    a stand-in `pybullet_data` with only the clip files Mimic reads (the pybullet wheel
#                      is ~100 MB for 1.4 MB of clips).
# Warp's wheel is ~150 MB: files above 56 MiB are split into numbered parts (`NAME.whl.partNN`), so that a
# transfer limited to 64 MiB (the repository included) can take them a part at a time; gpu_check.sh joins them.
#
# Environment: PYTHON (default python3), MIMIC_GPU_PYTHON (the GPU machine's Python version, default 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PYVER=${MIMIC_GPU_PYTHON:-3.12}
DEST=build/gpu
rm -rf "$DEST"
mkdir -p "$DEST/wheels" "$DEST/shim/pybullet_data/data"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$DEST/wheels" \
  mujoco-core==4.0.0 mujoco-warp==4.0.0 warp-lang==1.19.0
data=$("$PY" -c "import pybullet_data; print(pybullet_data.getDataPath())")
cp -r "$data/data/motions" "$DEST/shim/pybullet_data/data/"
printf 'import os\n\n\ndef getDataPath():\n    return os.path.dirname(__file__)\n' > "$DEST/shim/pybullet_data/__init__.py"
for f in "$DEST"/wheels/*.whl; do
  if [ "$(stat -c %s "$f")" -gt $((56 * 1024 * 1024)) ]; then
    split -b 56M -d "$f" "$f.part" && rm "$f"
  fi
done
du -ah "$DEST/wheels" | sort -h
echo "build/gpu is ready: $(du -sh "$DEST" | cut -f1) (carry it, or its parts, to the GPU machine; see scripts/gpu_check.sh)"
