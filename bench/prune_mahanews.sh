#!/usr/bin/env bash
# Study: teacher + block movement pruning at 25/50/75% on real MahaNews (CPU).
#   bash bench/prune_mahanews.sh [DATA] [OUT]
# DATA defaults to ../shared/data/mahanews, OUT to runs/prune-study. About 20 minutes
# for the teacher and 4 minutes per pruning run on 2 CPU cores.
set -euo pipefail
data="${1:-../shared/data/mahanews}"
out="${2:-runs/prune-study}"
mkdir -p "$out"

python bench/tfidf_svm.py --data "$data" > "$out/tfidf_svm.json"
if [ ! -f "$out/teacher/lahan.json" ]; then
  lahan finetune --model preset:small --data "$data" --out "$out/teacher" \
    --epochs 12 --patience 3 --batch-size 32 --max-length 128 --group-by-length
fi
for granularity in heads hybrid; do
  for sparsity in 0.25 0.5 0.75; do
    lahan prune --teacher "$out/teacher" --data "$data" --sparsity "$sparsity" \
      --granularity "$granularity" --epochs 5 --lr 2e-4 --batch-size 32 --max-length 128 \
      --group-by-length --out "$out/$granularity-$sparsity"
  done
done
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
t = json.loads((out / "teacher" / "lahan.json").read_text())["metrics"]["dev"]
print(f"{'model':<14}{'dev acc':>9}{'macro-F1':>10}{'heads':>8}{'FFN':>8}{'params':>12}{'speedup':>9}")
print(f"{'teacher':<14}{t['accuracy']:>9.4f}{t['macro_f1']:>10.4f}")
for run in sorted(p for p in out.iterdir() if (p / "lahan.json").exists() and p.name != "teacher"):
    r = json.loads((run / "lahan.json").read_text())
    m, s = r["metrics"]["dev"], r["structure"]
    print(f"{run.name:<14}{m['accuracy']:>9.4f}{m['macro_f1']:>10.4f}"
          f"{s['heads_after']:>4}/{s['heads_before']:<3}{s['ffn_after']:>5}/{s['ffn_before']:<5}"
          f"{r['params']['pruned']['total']:>12,}{r['latency']['speedup_vs_teacher']:>8.2f}x")
PY
