"""Why are 25%/50% head-pruned models slower than the unpruned one under fp16 on a GPU?

    python bench/gpu_shapes.py [--batch-size 256] [--out shapes.json]   # on the GPU machine
    python bench/gpu_shapes.py --smoke                                   # tiny shape, any CPU

§12 of BENCHMARKS.md: at BERT-base shape, batch 256, fp16/bf16 autocast, lahan's 25% and
50% head-pruned models ran slower than the unpruned model while fp32 scaled. Movement
pruning leaves every layer its own head count and FFN width (e.g. 2,291 neurons), so the
GEMMs get dimensions that are not multiples of 8/64, which half-precision tensor-core
kernels want. This script tests that, all models interleaved in one run (lahan's timer,
CUDA synchronised), at fp32 and at fp16 (bf16 on a CPU):
  * ``movement``: the pruned model as lahan makes it (random movement scores, §2);
  * ``ffnM``: the same heads, each layer's FFN width rounded down to a multiple of M
    (``--multiple``, default 64);
  * ``uniform``: the same totals spread evenly (heads per layer and FFN width, a
    multiple of 64);
  * ``unpruned``.
Random weights: timing depends on shapes only. Prints one JSON object (``--out`` too).
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import torch
from precision_speed import BASE, SMOKE
from prune_speed import pruned_copy
from transformers import BertConfig, BertForSequenceClassification

from lahan.measure import batch_latency
from lahan.measure.machine import machine_info
from lahan.pruned_models import LahanPrunedBertConfig, LahanPrunedBertForSequenceClassification

LEVELS = (0.25, 0.5)


def sized(layer_heads: list[int], layer_ffn: list[int]) -> torch.nn.Module:
    """A pruned-class BERT with these per-layer sizes (random weights)."""
    config = LahanPrunedBertConfig(**BASE, layer_heads=layer_heads, layer_intermediate=layer_ffn)
    return LahanPrunedBertForSequenceClassification(config).eval()


def variants(level: float, multiple: int) -> dict[str, torch.nn.Module]:
    moved = pruned_copy(level, "heads", seed=1)
    heads, ffn = list(moved.config.layer_heads), list(moved.config.layer_intermediate)
    layers = len(heads)
    even_heads = round(sum(heads) / layers)
    even_ffn = max(multiple, round(sum(ffn) / layers / multiple) * multiple)
    return {
        f"movement-{level:.2f}": moved,
        f"ffn{multiple}-{level:.2f}": sized(
            heads, [max(multiple, n // multiple * multiple) for n in ffn]
        ),
        f"uniform-{level:.2f}": sized([even_heads] * layers, [even_ffn] * layers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--multiple", type=int, default=64, help="FFN widths rounded to this")
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="a tiny shape: checks the script")
    args = parser.parse_args()
    multiple = args.multiple
    if args.smoke:
        BASE.update(SMOKE)
        multiple = min(multiple, 8)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    half = torch.float16 if cuda else torch.bfloat16  # fp16 autocast needs a GPU

    torch.manual_seed(0)
    models = {"unpruned": BertForSequenceClassification(BertConfig(**BASE)).eval()}
    for level in LEVELS:
        models.update(variants(level, multiple))
    shapes = {
        name: {
            "layer_heads": list(getattr(m.config, "layer_heads", [m.config.num_attention_heads])),
            "layer_intermediate": list(
                getattr(m.config, "layer_intermediate", [m.config.intermediate_size])
            ),
        }
        for name, m in models.items()
    }
    ids = torch.randint(1000, BASE["vocab_size"], (args.batch_size, args.seq_len))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    timed, batches, autocasts = {}, {}, {}
    for name, model in models.items():
        model.to(device)
        for precision in ("fp32", "half"):
            key = f"{name}/{precision}"
            timed[key], batches[key] = model, [batch]
            if precision == "half":
                autocasts[key] = lambda: torch.autocast(device.type, dtype=half)
            else:
                autocasts[key] = contextlib.nullcontext
    results = batch_latency(
        timed, batches, args.batch_size, repeats=args.repeats, warmup=2, autocasts=autocasts
    )
    base = {p: results[f"unpruned/{p}"]["batch_median_s"] for p in ("fp32", "half")}
    table = {
        key: {
            "median_ms": 1000 * r["batch_median_s"],
            "p95_ms": 1000 * r["batch_p95_s"],
            "speed_vs_unpruned_same_precision": base[key.split("/")[1]] / r["batch_median_s"],
        }
        for key, r in results.items()
    }
    report = {
        "half": str(half).removeprefix("torch."),
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "repeats": args.repeats,
        "multiple": multiple,
        "shapes": shapes,
        "latency": table,
        "machine": machine_info(device.type),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
