#!/usr/bin/env bash
# The GPU study (issue 17): the paper's grid at BERT-base shape on a GPU, in one run that
# fits in a few minutes of device time (about 1 minute of work on an H200, plus start-up).
# Run it on the machine with the GPU, from the repository root, with PyTorch and
# transformers installed there (lahan itself is read from src/):
#     bash bench/gpu_study.sh            # writes $OUT/gpu_study.json (OUT defaults to runs)
# On a CPU it runs too, slowly; `python bench/gpu_study.py --smoke` checks it in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-runs}"
mkdir -p "$out"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
fi
python3 bench/gpu_study.py --repeats "${REPEATS:-5}" --out "$out/gpu_study.json" "$@"
