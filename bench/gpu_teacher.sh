#!/usr/bin/env bash
# The pretrained MahaNews teacher, built on a GPU (BENCHMARKS.md section 13): the recipe of
# bench/pretrain_mahanews.sh steps 1-2 (pretrain preset:small on the Marathi corpus + the
# MahaNews train texts, then fine-tune), with as many pretraining epochs as the GPU affords.
# Run from the repository root on the machine with the GPU; lahan is read from src/:
#     D=DATA_DIR R=RUNS_DIR OUT=OUT_DIR PT_EPOCHS=30 PT_ARGS="--batch-size 64" \
#         bash bench/gpu_teacher.sh
# DATA_DIR holds mahanews/ and corpus.txt (copies of ../shared/data); the two model folders
# are left in RUNS_DIR and come back as OUT_DIR/teacher.tgz.part* (15 MB pieces, the size
# the device tool returns): `cat OUT_DIR/teacher.tgz.part* | tar -xz -C runs/`.
# On a CPU it runs too (PT_EPOCHS=1 and a 300-line corpus took 4 minutes here).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
lahan() { python3 -m lahan "$@"; }
D=${D:-.gpu_data}; R=${R:-/tmp/runs}; O=${OUT:-/tmp/out}
mkdir -p "$O"
COMMON="--data $D/mahanews --batch-size 32 --max-length 128 --no-progress"
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
start=$(date +%s)
lahan pretrain --model preset:small --text $D/corpus.txt --vocab-size 16000 \
  --epochs ${PT_EPOCHS:-3} $COMMON ${PT_ARGS:-} --out $R/pt-small 2>&1 | tail -5
echo "pretrain done at +$(( $(date +%s) - start ))s"
lahan finetune --model $R/pt-small --lr 2e-4 --epochs ${FT_EPOCHS:-10} --patience 3 \
  --group-by-length $COMMON --out $R/teacher-pt 2>&1 | tail -8
echo "finetune done at +$(( $(date +%s) - start ))s"
lahan evaluate --model $R/teacher-pt --data $D/mahanews --split test \
  --out $R/teacher-pt-test 2>&1 | tail -6
tar -C $R -czf /tmp/teacher.tgz teacher-pt pt-small
split -b 15M -d /tmp/teacher.tgz $O/teacher.tgz.part
cp $R/teacher-pt/lahan.json $O/teacher-pt.lahan.json
cp $R/pt-small/lahan.json $O/pt-small.lahan.json
ls -la $O; echo "all done at +$(( $(date +%s) - start ))s"
