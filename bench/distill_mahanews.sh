#!/usr/bin/env bash
# Issue 4's study on MahaNews: pruning + distillation, a 6->3 layer distilled student,
# and the time the teacher-output cache saves. About 70 minutes on 2 CPU cores.
# Needs a preset:small teacher in runs/small (see BENCHMARKS.md section 1).
set -euo pipefail
DATA=${DATA:-../shared/data/mahanews}
RUNS=${RUNS:-runs}
export LAHAN_CACHE_DIR=${LAHAN_CACHE_DIR:-$RUNS/cache}
COMMON="--data $DATA --batch-size 32 --max-length 128 --group-by-length --no-progress"

# 1. prune + KD into the pruned teacher, same settings as the pruning-only rows (section 3)
for s in 0.25 0.5 0.75; do
  lahan compress --teacher $RUNS/small --prune $s --granularity heads --distill \
    --epochs 5 --lr 2e-4 $COMMON --out $RUNS/prune-kd-$s
done
# 2. the same 50% + KD with the teacher run on every batch (no cache), 2 epochs: per-epoch time
lahan compress --teacher $RUNS/small --prune 0.5 --granularity heads --distill --no-cache \
  --epochs 2 --lr 2e-4 $COMMON --out $RUNS/prune-kd-0.5-nocache
# 3. a preset:mini teacher (6 layers) and a 3-layer student from its layers 0, 3, 5
lahan finetune --model preset:mini $COMMON --epochs 10 --patience 3 --out $RUNS/mini
lahan distill --teacher $RUNS/mini --student layers:3 --epochs 6 --patience 0 --lr 3e-4 \
  $COMMON --out $RUNS/mini-kd-3
# 4. control: the same student and schedule on the labels alone (alpha = 1: no soft targets)
lahan distill --teacher $RUNS/mini --student layers:3 --alpha 1 --epochs 6 --patience 0 \
  --lr 3e-4 $COMMON --out $RUNS/mini-ce-3
# 5. the student with the teacher run on every batch, 2 epochs: per-epoch time
lahan distill --teacher $RUNS/mini --student layers:3 --no-cache --epochs 2 --patience 0 \
  --lr 3e-4 $COMMON --out $RUNS/mini-kd-3-nocache
