#!/usr/bin/env bash
# Prepare build/gpu/ (ignored by git) on a machine with internet, for a GPU machine that has Python, PyTorch,
# NumPy, PyYAML, tqdm, matplotlib, TensorBoard, imageio, absl-py and etils but can download nothing
# (scripts/gpu_check.sh unpacks it):
#   site/ (packed): MuJoCo (mujoco-core: simulation without the viewer), MuJoCo Warp, Warp without its CPU
#   JIT (warp-clang.so, 69 MB: the GPU needs only NVRTC, inside warp.so), examples or tests, Gymnasium, and a
#   stand-in `pybullet_data` holding only the clip files Mimic reads (the pybullet wheel is ~100 MB for
#   1.4 MB of clips), installed for the GPU machine's Python with `pip install --target`;
#   a/site.tar.xz.part00, b/site.tar.xz.part01, ...: that folder as one xz archive (~90 MB) cut into parts of
#   at most MIMIC_GPU_PART_MB (default 56) MiB, one part per folder, so that each device call can carry one
#   folder inside its 64 MiB limit (the repository's tracked files count too: see scripts/gpu_check.sh).
#
# Environment: PYTHON (default python3), MIMIC_GPU_PYTHON (the GPU machine's Python version, default 3.12),
# MIMIC_GPU_PART_MB (default 56).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PYVER=${MIMIC_GPU_PYTHON:-3.12}
PART_MB=${MIMIC_GPU_PART_MB:-56}
DEST=build/gpu
rm -rf "$DEST"
mkdir -p "$DEST/wheels" "$DEST/site/pybullet_data/data"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$DEST/wheels" \
  mujoco-core==4.0.1 mujoco-warp==4.0.0 warp-lang==1.19.0 gymnasium==1.4.0 farama-notifications==0.0.4
"$PY" -m pip install -q --no-index --no-deps --no-compile --only-binary=:all: --python-version "$PYVER" \
  --implementation cp --platform manylinux_2_28_x86_64 --target "$DEST/site" "$DEST"/wheels/*.whl
rm -rf "$DEST/site/bin" "$DEST/site/warp/examples" "$DEST/site/warp/tests" "$DEST/site/warp/bin/warp-clang.so"
data=$("$PY" -c "import pybullet_data; print(pybullet_data.getDataPath())")
cp -r "$data/data/motions" "$DEST/site/pybullet_data/data/"
printf 'import os\n\n\ndef getDataPath():\n    return os.path.dirname(__file__)\n' > "$DEST/site/pybullet_data/__init__.py"
tar -C "$DEST" -cf - site | xz -T0 -9 > "$DEST/site.tar.xz"
split -b "${PART_MB}M" -d "$DEST/site.tar.xz" "$DEST/site.tar.xz.part"
rm "$DEST/site.tar.xz"
i=0
for part in "$DEST"/site.tar.xz.part*; do
  folder="$DEST/$(printf "\\x$(printf %x $((97 + i)))")"  # a, b, c, ...
  mkdir -p "$folder" && mv "$part" "$folder/"
  i=$((i + 1))
done
rm -rf "$DEST/wheels" "$DEST/site"
du -ah "$DEST" | sort -h
echo "build/gpu is ready: $i parts (carry build/gpu/a, build/gpu/b, ... one per call; see scripts/gpu_check.sh)"
