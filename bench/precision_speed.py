"""Inference precision and runtime at the paper's baseline shape, on a CPU.

    python bench/precision_speed.py [--repeats 3] [--out bench-precision.json]

A randomly initialised BERT-base classifier with MuRIL's vocabulary (12 layers, 768
hidden, 12 heads, 3072 FFN, 197,285 tokens, 12 labels; timing depends on shapes, not
on weight values) run five ways on the same inputs in the same run, interleaved:
torch fp32, torch bf16 autocast, torch int8 (torchao dynamic quantization of the
encoder's Linear layers), ONNX Runtime fp32 and ONNX Runtime int8 (dynamic
quantization), all with graph optimisations on and the same thread count.

Inputs: MahaNews-like lengths. Headlines ~30 tokens (normal, sd 8, 8..64) and
paragraphs ~150 tokens (normal, sd 40, 40..400), truncated at 128 like the paper's
baseline; each set run with dynamic padding (each batch padded to its longest text,
texts sorted by length) and with fixed padding to 128, at batch 1 and batch 32.
Reported per setting: median seconds per batch, documents per second, and the ratio
to torch fp32 in the same setting; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification

from lahan.deploy.export import onnx_graph, quantize_onnx_int8
from lahan.deploy.quantize import quantize_int8
from lahan.io import atomic_write_text
from lahan.measure.machine import machine_info
from lahan.measure.timing import interleaved_times

BASE = dict(
    vocab_size=197_285,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    num_labels=12,
)
MAX_LENGTH = 128
# --smoke: a tiny shape with the same structure, so a script is checked in seconds
SMOKE = dict(
    vocab_size=2000,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
)


def emit(report: dict, out: str | None) -> None:
    """Print the report as JSON and, with ``out``, write it there atomically."""
    text = json.dumps(report, indent=2, default=str)
    if out:
        atomic_write_text(out, text + "\n")
    print(text)


def lengths(kind: str, n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    mean, sd, lo, hi = {"headlines": (30, 8, 8, 64), "paragraphs": (150, 40, 40, 400)}[kind]
    raw = np.clip(rng.normal(mean, sd, n).round(), lo, hi).astype(int)
    return [int(min(x, MAX_LENGTH)) for x in raw]


def make_batches(lens: list[int], batch_size: int, fixed: bool, seed: int) -> list[dict]:
    """Token-id batches: dynamic (sorted by length, padded per batch) or fixed to 128."""
    g = torch.Generator().manual_seed(seed)
    order = sorted(range(len(lens)), key=lambda i: -lens[i]) if not fixed else range(len(lens))
    order = list(order)
    out = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = MAX_LENGTH if fixed else max(lens[i] for i in idx)
        ids = torch.zeros(len(idx), width, dtype=torch.long)
        mask = torch.zeros(len(idx), width, dtype=torch.long)
        for row, i in enumerate(idx):
            ids[row, : lens[i]] = torch.randint(1000, BASE["vocab_size"], (lens[i],), generator=g)
            mask[row, : lens[i]] = 1
        out.append(
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts-batch32", type=int, default=64, help="texts timed at batch 32")
    parser.add_argument("--texts-batch1", type=int, default=12, help="texts timed at batch 1")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="a tiny shape: checks the script")
    args = parser.parse_args()
    if args.smoke:  # shrink the shared shape in place: every helper reads BASE
        BASE.update(SMOKE)
    torch.set_num_threads(args.threads)
    import onnxruntime as ort

    torch.manual_seed(0)
    fp32 = BertForSequenceClassification(BertConfig(**BASE)).eval()
    started = time.perf_counter()
    int8 = quantize_int8(fp32)
    setup = {"torch_int8_quantize_s": time.perf_counter() - started}
    tmp = Path(tempfile.mkdtemp(prefix="lahan-bench-"))
    example = make_batches([20, 12], 2, False, 0)[0]
    started = time.perf_counter()
    onnx_graph(fp32, example, tmp / "model.onnx")
    setup["onnx_export_s"] = time.perf_counter() - started
    started = time.perf_counter()
    quantize_onnx_int8(tmp / "model.onnx", tmp / "model.int8.onnx")
    setup["onnx_quantize_s"] = time.perf_counter() - started
    sizes = {
        "onnx_fp32_mb": sum(p.stat().st_size for p in tmp.glob("model.onnx*")) / 1e6,
        "onnx_int8_mb": (tmp / "model.int8.onnx").stat().st_size / 1e6,
    }

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads
    sessions = {
        name: ort.InferenceSession(str(tmp / f), options, providers=["CPUExecutionProvider"])
        for name, f in (("onnx_fp32", "model.onnx"), ("onnx_int8", "model.int8.onnx"))
    }

    def torch_runner(model, autocast=None):
        @torch.no_grad()
        def run(batch):
            if autocast:
                with torch.autocast("cpu", dtype=autocast):
                    return model(**batch).logits.float()  # numpy has no bfloat16
            return model(**batch).logits

        return run

    def ort_runner(session):
        def run(batch):
            return session.run(None, {k: v.numpy() for k, v in batch.items()})[0]

        return run

    runners = {
        "torch_fp32": torch_runner(fp32),
        "torch_bf16": torch_runner(fp32, torch.bfloat16),
        "torch_int8": torch_runner(int8),
        "onnx_fp32": ort_runner(sessions["onnx_fp32"]),
        "onnx_int8": ort_runner(sessions["onnx_int8"]),
    }

    results = []
    for kind in ("headlines", "paragraphs"):
        for batch_size in (32, 1):
            n = args.texts_batch32 if batch_size == 32 else args.texts_batch1
            lens = lengths(kind, n, seed=1)
            for fixed in (False, True):
                batches = make_batches(lens, batch_size, fixed, seed=2)
                tokens = sum(int(b["attention_mask"].sum()) for b in batches)
                padded = sum(b["input_ids"].numel() for b in batches)
                # one call = a pass over every batch; runtimes interleaved round by round
                passes = {name: [_pass(run, batches)] for name, run in runners.items()}
                times = interleaved_times(passes, repeats=args.repeats, warmup=1)
                base = statistics.median(times["torch_fp32"])
                row = {
                    "texts": kind,
                    "batch_size": batch_size,
                    "padding": "fixed-128" if fixed else "dynamic",
                    "n": n,
                    "real_tokens": tokens,
                    "padded_tokens": padded,
                }
                for name, values in times.items():
                    median = statistics.median(values)
                    row[name] = {
                        "seconds_per_batch": median / len(batches),
                        "docs_per_s": n / median,
                        "speedup_vs_torch_fp32": base / median,
                    }
                results.append(row)
                print(
                    f"{kind:<10} batch {batch_size:>2} {row['padding']:<9} "
                    + "  ".join(f"{k} {row[k]['speedup_vs_torch_fp32']:.2f}x" for k in runners),
                    flush=True,
                )

    # The same inputs must give the same predictions, or the speed means nothing.
    check = make_batches(lengths("headlines", 32, seed=3), 32, False, seed=4)[0]
    reference = runners["torch_fp32"](check).float().numpy()
    agreement = {
        name: float(
            (np.asarray(run(check), dtype=np.float32).argmax(-1) == reference.argmax(-1)).mean()
        )
        for name, run in runners.items()
    }
    report = {
        "machine": machine_info() | {"threads": args.threads},
        "tokenization_timed": False,  # ready token ids go in: the runtimes alone
        "setup": setup,
        "sizes": sizes | {"torch_fp32_mb": sum(p.numel() for p in fp32.parameters()) * 4 / 1e6},
        "argmax_agreement_with_torch_fp32_random_weights": agreement,
        "results": results,
    }
    emit(report, args.out)


def _pass(run, batches):
    def call():
        for b in batches:
            run(b)

    return call


if __name__ == "__main__":
    main()
