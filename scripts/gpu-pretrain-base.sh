#!/usr/bin/env bash
# Pre-trains the shared base (masked-LM teacher, general-distilled student) on a CUDA GPU within a
# time budget and packs it to bring back; runs where there is no node and no network. The steps and
# the pack are in trainer/distillery_trainer/gpu_base.py, the round trip in tools/build/gpu-base.ts:
#
#   npm run models:build -- --prepare-gpu-base data/gpu-base      # here, once (~17 MB)
#   bash scripts/gpu-pretrain-base.sh data/gpu-base "$OUT"         # on the device, data/gpu-base carried
#   npm run models:build -- --base-from DIR                        # here, DIR = what came back
#
# Settings (environment): GPU_BASE_MINUTES (training minutes to fit; default the plan's, 6), PYTHON.
# Extra arguments go to the driver (--allow-cpu for a dry run without CUDA, --work DIR to keep its
# scratch). Exit: 0 packed, 1 a trainer run failed, 2 bad inputs or no CUDA.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/gpu-pretrain-base.sh INPUTS_DIR OUT_DIR [--allow-cpu] [--work DIR]" >&2
  exit 2
fi
# shellcheck source=lib/torch-python.sh
. "$ROOT/scripts/lib/torch-python.sh"
inputs="$1"
out="$2"
shift 2
export PYTHONPATH="$ROOT/trainer${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$PYTHON" -m distillery_trainer.gpu_base --inputs "$inputs" --out "$out" ${GPU_BASE_MINUTES:+--minutes "$GPU_BASE_MINUTES"} "$@"
