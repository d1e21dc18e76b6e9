"""`lahan export`: a model folder -> an ONNX folder that runs with onnxruntime + tokenizers."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_data_arguments,
    add_label_arguments,
    config_from_flags,
    data_config_from_args,
    label_names_from_args,
)
from lahan.config import ExportConfig

EXAMPLES = """\
examples:
  lahan export --model runs/p25-kd --format onnx --out runs/p25-kd-onnx
  lahan export --model runs/p25-kd --format onnx --quantize int8 --out runs/p25-kd-int8 \\
      --data ../shared/data/mahanews          # also records dev accuracy vs fp32
  python runs/p25-kd-int8/predict.py --input texts.txt   # no torch, no lahan needed
  lahan export --model published-clf --labels Auto,Bhakti,Crime --format onnx --out runs/pub-onnx
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "export",
        help="export a model to ONNX (optionally int8)",
        description="Export a lahan (or Hugging Face) classifier folder to ONNX with "
        "dynamic batch and sequence sizes, optionally int8-quantized with ONNX Runtime, "
        "and check its logits against torch. The folder holds the graph, tokenizer.json, "
        "lahan-onnx.json (labels, max length, check, dev deltas) and predict.py, which "
        "runs it with onnxruntime and tokenizers alone.",
        examples=EXAMPLES,
    )
    p.add_argument("--model", required=True, help="a model folder (or hub id)")
    add_config_flags(p, ExportConfig)
    add_data_arguments(p, required=False)
    p.add_argument("--relabel", action="store_true", help="map dataset labels by name")
    add_label_arguments(p)
    p.add_argument("--out", required=True, help="folder to write the export to")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.export import run_export

    config = config_from_flags(ExportConfig, args, labels=label_names_from_args(args))
    data = data_config_from_args(args) if args.data else None
    out = args.out
    manifest = run_export(args.model, out, config, data, relabel=args.relabel)
    check = manifest["check"]
    same = round(check["argmax_agreement"] * check["texts"])
    print(
        f"exported {manifest['model_file']} ({manifest['quantize'] or 'fp32'}); smoke check vs "
        f"torch on {check['texts']} built-in texts (not your data): max logit difference "
        f"{check['max_abs_logit_diff']:.2e}, same class for {same} of {check['texts']}"
        + ("" if args.data else "; pass --data to measure agreement and accuracy on dev")
    )
    for name, v in (manifest.get("variants") or {}).items():
        if name == "split":
            continue
        print(
            f"dev {name:<10} accuracy {v['accuracy']:.4f} ({v['delta_accuracy_vs_fp32']:+.4f}) "
            f"macro-F1 {v['macro_f1']:.4f} ({v['delta_macro_f1_vs_fp32']:+.4f}) "
            f"agreement {v['agreement_with_fp32']:.4f}"
        )
    print(f"saved to {out}; run it anywhere with: python {out}/predict.py --input FILE")
    return 0
