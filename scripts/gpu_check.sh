#!/usr/bin/env bash
# GPU checks of the MuJoCo Warp engine in one go (< 10 minutes on one H200): installs the `gpu` extra, then
# scripts/gpu_check.py runs the CPU-vs-Warp equivalence tests on cuda:0, `mimic bench env --engine
# mujoco_warp` for 1k/4k/16k characters, the training loop's samples/s on the GPU for the same sizes, and the
# shipped walk controller's evaluation on both engines. Every number goes to $OUT/gpu_check.json (written
# after each step), the log to $OUT/gpu_check.log, training runs to $OUT/train_N/.
#
# Install: from build/gpu/ when it is there (made by scripts/gpu_bundle.sh where the internet is reachable;
# wheel parts are joined first, packages go to /tmp/site), else `pip install -e ".[gpu]"`.
# On a machine that can download nothing and takes at most 64 MiB per call (the repository's ~4 MiB included),
# carry build/gpu over three calls while the machine stays warm: the Warp wheel's part00, then part01, then
# part02 with the other wheels and build/gpu/shim, in the call that runs this script.
#
# Environment: PYTHON (default python3), OUT (default runs/gpu_check), MIMIC_GPU_BUDGET_S (default 540).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d build/gpu/wheels ]; then
  shopt -s nullglob
  mkdir -p /tmp/mimic_gpu_wheels
  for first in build/gpu/wheels/*.whl.part00; do
    whl=${first%.part00}
    cat "$whl".part* > "/tmp/mimic_gpu_wheels/$(basename "$whl")" || exit 1
  done
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    build/gpu/wheels/*.whl /tmp/mimic_gpu_wheels/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD/build/gpu/shim:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
else
  "$PY" -m pip install -q -e ".[gpu]" || exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PY" scripts/gpu_check.py --out "$OUT/gpu_check.json" --budget-s "${MIMIC_GPU_BUDGET_S:-540}" 2>&1 \
  | tee "$OUT/gpu_check.log"
