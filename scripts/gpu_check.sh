#!/usr/bin/env bash
# GPU checks of the MuJoCo Warp engine in one go (< 10 minutes on one H200): installs the `gpu` extra, then
# scripts/gpu_check.py runs the CPU-vs-Warp equivalence tests on cuda:0, `mimic bench env --engine
# mujoco_warp` for 1k/4k/16k characters, the training loop's samples/s on the GPU for the same sizes, and the
# shipped walk controller's evaluation on both engines. Every number goes to $OUT/gpu_check.json (written
# after each step), the log to $OUT/gpu_check.log, each training run's log.csv to $OUT/train_*.csv.
#
# Install: from the parts of build/gpu/site.tar.xz (made by scripts/gpu_bundle.sh where the internet is
# reachable) when there are any, else `pip install -e ".[gpu]"`. A machine that can download nothing and takes
# at most 64 MiB per call needs the parts carried over several calls while it stays warm: the repository's
# tracked files travel each time (~69 MB, 68 MB of them shipped controllers: move all but walk.pt aside for
# these calls and `git checkout src/mimic/policies` after), so each call carries one folder, build/gpu/a,
# build/gpu/b, ..., and copies its part to MIMIC_GPU_PARTS; the call with the last part runs this script,
# which joins the parts found there and under build/gpu/ and unpacks them into /tmp/site.
#
# Environment: PYTHON (default python3), OUT (default runs/gpu_check), MIMIC_GPU_BUDGET_S (default 540),
# MIMIC_GPU_PARTS (default /tmp/mimic_gpu_parts),
# MIMIC_GPU_ARGS (more options of gpu_check.py, e.g. --skip, --walk-minutes, --walk-envs and --walk-extra).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PARTS=${MIMIC_GPU_PARTS:-/tmp/mimic_gpu_parts}
mkdir -p "$PARTS"
shopt -s nullglob
for part in build/gpu/*/site.tar.xz.part*; do [ -e "$PARTS/${part##*/}" ] || cp "$part" "$PARTS/"; done
parts=("$PARTS"/site.tar.xz.part*)
if [ ${#parts[@]} -gt 0 ]; then
  echo "gpu_check: unpacking ${#parts[@]} part(s) of site.tar.xz into /tmp/site"
  cat "${parts[@]}" | xz -d | tar -C /tmp -xf - || exit 1
  export PYTHONPATH="/tmp/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
else
  "$PY" -m pip install -q -e ".[gpu]" || exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
# shellcheck disable=SC2086  # MIMIC_GPU_ARGS: more options of gpu_check.py, split on spaces
"$PY" scripts/gpu_check.py --out "$OUT/gpu_check.json" --budget-s "${MIMIC_GPU_BUDGET_S:-540}" ${MIMIC_GPU_ARGS:-} 2>&1 \
  | tee "$OUT/gpu_check.log"
