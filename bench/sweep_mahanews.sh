#!/usr/bin/env bash
# The paper's grid on MahaNews against the preset:small teacher (issue 6/7, Study 1).
# 4 epochs per trained row so the whole grid fits in about an hour on 2 CPU cores.
set -euo pipefail
DATA=${DATA:-../shared/data/mahanews}
RUNS=${RUNS:-runs}
lahan sweep --teacher $RUNS/small --data $DATA --grid paper --epochs 4 --lr 2e-4 \
  --batch-size 32 --max-length 128 --group-by-length --no-progress --out $RUNS/sweep
lahan report $RUNS/sweep
