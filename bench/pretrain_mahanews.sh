#!/usr/bin/env bash
# Study 1b (BENCHMARKS.md section 10): the paper's rows on a *pretrained* teacher.
#   1. pretrain preset:small (MLM) on the unlabeled Marathi corpus + MahaNews train texts
#   2. fine-tune it (the pretrained teacher) and, for comparison, preset:small from scratch
#   3. prune 25/50/75% (whole heads + FFN neurons), alone and + KD, of the pretrained teacher;
#      and the hybrid block variant (32x32 attention blocks) alone, same epochs, to choose
#      the default granularity
#   4. a well-read student: preset:tiny pretrained on the teacher's tokenizer, distilled,
#      next to the same student distilled from random weights
#   5. the character n-gram TF-IDF SVM on the same split
# Every step skips itself when its output folder exists, so a killed study resumes
# (and a killed step resumes with --resume where it left a checkpoint).
set -euo pipefail
DATA=${DATA:-../shared/data/mahanews}
CORPUS=${CORPUS:-../shared/data/marathi-text/corpus.txt}
RUNS=${RUNS:-runs}
COMMON="--data $DATA --batch-size 32 --max-length 128 --no-progress"

step() {  # step OUT lahan ARGS...: run unless OUT is done; resume a killed run
  local out=$1; shift
  [ -f "$out/lahan.json" ] && { echo "done: $out"; return; }
  local resume=""; [ -d "$out.checkpoint" ] && resume="--resume"
  echo "== $out"; "$@" --out "$out" $resume
}

step $RUNS/pt-small lahan pretrain --model preset:small --text $CORPUS --vocab-size 16000 \
  --epochs 3 $COMMON
step $RUNS/teacher-pt lahan finetune --model $RUNS/pt-small --lr 2e-4 --epochs 10 --patience 3 \
  --group-by-length $COMMON
step $RUNS/small lahan finetune --model preset:small --epochs 12 --patience 3 --group-by-length \
  $COMMON
for s in 25 50 75; do
  step $RUNS/pt-p$s lahan prune --teacher $RUNS/teacher-pt --sparsity 0.$s --granularity heads \
    --epochs 4 --lr 2e-4 --group-by-length $COMMON
  step $RUNS/pt-p$s-kd lahan compress --teacher $RUNS/teacher-pt --prune 0.$s --granularity heads \
    --distill --epochs 4 --lr 2e-4 --group-by-length $COMMON
  step $RUNS/pt-h$s lahan prune --teacher $RUNS/teacher-pt --sparsity 0.$s --granularity hybrid \
    --epochs 4 --lr 2e-4 --group-by-length $COMMON
done
step $RUNS/pt-tiny lahan pretrain --model preset:tiny --tokenizer $RUNS/pt-small --text $CORPUS \
  --epochs 1 $COMMON
step $RUNS/student-wellread lahan distill --teacher $RUNS/teacher-pt --student $RUNS/pt-tiny \
  --epochs 6 --lr 5e-4 --group-by-length $COMMON
step $RUNS/student-scratch lahan distill --teacher $RUNS/teacher-pt --student preset:tiny \
  --epochs 6 --lr 5e-4 --group-by-length $COMMON
python bench/tfidf_svm.py --data $DATA
