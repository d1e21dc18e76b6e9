"""Accuracy of every inference precision against fp32, on a real dev split.

    python bench/precision_variants.py --model runs/small --data ../shared/data/mahanews

For the model: torch fp32, bf16 autocast, int8 (torchao), ONNX Runtime fp32 and int8.
Per variant: dev accuracy and macro-F1, their deltas against torch fp32, the share of
predictions that agree with fp32, the largest logit difference, and the wall time to
predict the split (batch 64, length-sorted; one pass, so a rough figure). JSON out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lahan.config import DataConfig, ExportConfig
from lahan.data import load_dataset
from lahan.deploy.export import export_onnx
from lahan.deploy.predictor import OnnxPredictor, TorchPredictor
from lahan.deploy.variants import variant_report
from lahan.measure.timing import interleaved_times
from lahan.models import resolve_label_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    dataset = load_dataset(DataConfig(source=args.data))
    rows = dataset.split(args.split)
    texts = [r.text for r in rows]
    tmp = Path(tempfile.mkdtemp(prefix="lahan-variants-"))
    predictors = {
        "torch_fp32": TorchPredictor(args.model),
        "torch_bf16": TorchPredictor(args.model, "bf16"),
        "torch_int8": TorchPredictor(args.model, "int8"),
    }
    for name, quantize in (("onnx_fp32", None), ("onnx_int8", "int8")):
        export_onnx(args.model, tmp / name, ExportConfig(quantize=quantize))
        predictors[name] = OnnxPredictor(tmp / name)
    labels = predictors["torch_fp32"].labels
    label_map = resolve_label_map(labels, dataset.labels, relabel=False)
    y = [labels.index(label_map[r.label]) for r in rows]
    logits = {name: predictor.logits(texts, 64) for name, predictor in predictors.items()}
    # the one timer: one pass each over the split, in turn, after the pass above warmed up
    seconds = interleaved_times(
        {name: [lambda p=predictor: p.logits(texts, 64)] for name, predictor in predictors.items()},
        repeats=1,
        warmup=0,
    )
    report = {
        name: variant_report(y, logits["torch_fp32"], value, len(labels))
        | {"predict_seconds": seconds[name][0]}
        for name, value in logits.items()
    }
    print(json.dumps({"model": args.model, "split": args.split, "variants": report}, indent=2))


if __name__ == "__main__":
    main()
