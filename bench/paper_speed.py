"""Study 2: speed at the paper's scale, every lever side by side, on a CPU.

    python bench/paper_speed.py [--structure prune25=runs/sweep/models/prune25+kd ...]
                                [--best prune75] [--repeats 3] [--out bench-paper-speed.json]

The paper's baseline shape (BERT-base: 12 layers, 768 hidden, 12 heads, 3072 FFN,
MuRIL's 197,285-token vocabulary, 12 labels) with random weights: timing depends on
shapes, not on values. Pruned shapes come from real movement-pruning runs, scaled up:
``--structure NAME=FOLDER`` reads the heads and FFN neurons each layer of a pruned lahan
model kept (e.g. a 4-layer, 4-head MahaNews run) and gives BERT-base layer i the same
fractions as the small model's layer ``i * small_layers // 12``. Without --structure,
25/50/75% structures come from movement pruning with random scores (their size is
what timing depends on).

Configurations, timed interleaved in one run on the same inputs, each a ratio to the
first (torch fp32, every batch padded to 128 tokens: how the paper-style baseline runs):
dynamic padding; each pruned structure alone (padded to 128, then dynamic); torch int8
(torchao); ONNX Runtime fp32 and int8; and the best combination (``--best`` structure
with torch int8 and with ONNX Runtime int8, dynamic padding). Lengths: MahaNews-like
headlines (~30 tokens) and paragraphs (~150, truncated at 128), batch 32 and batch 1.
For torch fp32 rows it also reports achieved FLOP/s (FLOPs the padded batches really
execute, per `lahan.measure.flops`) as a fraction of the machine's measured fp32 GEMM
rate. Prints one JSON object (and writes it to --out).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from precision_speed import BASE, MAX_LENGTH, SMOKE, emit, lengths, make_batches
from prune_speed import pruned_copy
from transformers import BertConfig, BertForSequenceClassification

from lahan.deploy.export import onnx_graph, quantize_onnx_int8
from lahan.deploy.quantize import quantize_int8
from lahan.measure.flops import flops_for_lengths
from lahan.measure.machine import gemm_rate, machine_info
from lahan.measure.timing import interleaved_times
from lahan.prune import structure
from lahan.pruned_models import (
    LahanPrunedBertConfig,
    LahanPrunedBertForSequenceClassification,
)


def scaled_structure(folder: Path) -> tuple[list[int], list[int]]:
    """Per-layer heads and FFN sizes of a pruned lahan model, scaled to BERT-base."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not config.get("layer_heads"):
        sys.exit(f"{folder}: no per-layer sizes in config.json; pass a pruned lahan model")
    layers, heads, ffn = (
        config["num_hidden_layers"],
        config["num_attention_heads"],
        config["intermediate_size"],
    )
    big_layers, big_heads, big_ffn = (
        BASE["num_hidden_layers"],
        BASE["num_attention_heads"],
        BASE["intermediate_size"],
    )
    small = [i * layers // big_layers for i in range(big_layers)]
    kept_heads = [round(config["layer_heads"][j] / heads * big_heads) for j in small]
    kept_ffn = [round(config["layer_intermediate"][j] / ffn * big_ffn) for j in small]
    return kept_heads, kept_ffn


def pruned_base(heads: list[int], ffn: list[int], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = LahanPrunedBertConfig(**BASE, layer_heads=heads, layer_intermediate=ffn)
    return LahanPrunedBertForSequenceClassification(config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--structure",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="a pruned lahan model whose per-layer sizes are scaled to BERT-base (repeatable)",
    )
    parser.add_argument("--best", default=None, help="structure used in the best combination")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts-batch32", type=int, default=64)
    parser.add_argument("--texts-batch1", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny BERT instead of BERT-base: checks the script"
    )
    args = parser.parse_args()
    if args.smoke:  # shrink the shared shape in place: every helper reads BASE
        BASE.update(SMOKE)
    torch.set_num_threads(args.threads)
    import onnxruntime as ort

    started = time.perf_counter()
    gemm = gemm_rate(size=2048)
    torch.manual_seed(0)
    models = {"unpruned": BertForSequenceClassification(BertConfig(**BASE)).eval()}
    sources = {}
    for item in args.structure:
        name, _, folder = item.partition("=")
        if not folder:
            sys.exit(f"--structure {item!r}: expected NAME=FOLDER")
        heads, ffn = scaled_structure(Path(folder))
        models[name] = pruned_base(heads, ffn, seed=1)
        sources[name] = folder
    if not args.structure:
        for level in (0.25, 0.5, 0.75):
            name = f"prune{int(level * 100)}"
            models[name] = pruned_copy(level, "heads", seed=1)
            sources[name] = "movement pruning, random scores"
    pruned = [n for n in models if n != "unpruned"]
    best = args.best or pruned[-1]
    if best not in models:
        sys.exit(f"--best {best!r}: not one of {pruned}")

    tmp = Path(tempfile.mkdtemp(prefix="lahan-paper-speed-"))
    try:
        example = make_batches([20, 12], 2, False, 0)[0]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = args.threads
        sessions = {}
        for name in ("unpruned", best):
            onnx_graph(models[name], example, tmp / f"{name}.onnx")
            quantize_onnx_int8(tmp / f"{name}.onnx", tmp / f"{name}.int8.onnx")
            for kind, file in (("onnx_fp32", f"{name}.onnx"), ("onnx_int8", f"{name}.int8.onnx")):
                sessions[name, kind] = ort.InferenceSession(
                    str(tmp / file), options, providers=["CPUExecutionProvider"]
                )
        int8 = {name: quantize_int8(models[name]) for name in ("unpruned", best)}
        setup_s = time.perf_counter() - started

        def torch_run(model):
            @torch.no_grad()
            def run(batch):
                return model(**batch).logits.numpy()

            return run

        def ort_run(session):
            def run(batch):
                return session.run(None, {k: v.numpy() for k, v in batch.items()})[0]

            return run

        # (label, model the FLOPs are counted on, runner, fixed padding to 128)
        configs = [
            ("fp32, padded to 128 (baseline)", "unpruned", torch_run(models["unpruned"]), True)
        ]
        configs.append(("fp32, dynamic padding", "unpruned", torch_run(models["unpruned"]), False))
        for name in pruned:
            configs.append((f"{name}, padded to 128", name, torch_run(models[name]), True))
            configs.append((f"{name}, dynamic", name, torch_run(models[name]), False))
        configs += [
            ("int8 (torchao), dynamic", "unpruned", torch_run(int8["unpruned"]), False),
            (
                "ONNX Runtime fp32, dynamic",
                "unpruned",
                ort_run(sessions["unpruned", "onnx_fp32"]),
                False,
            ),
            (
                "ONNX Runtime int8, dynamic",
                "unpruned",
                ort_run(sessions["unpruned", "onnx_int8"]),
                False,
            ),
            (f"{best} + int8 (torchao), dynamic", best, torch_run(int8[best]), False),
            (
                f"{best} + ONNX Runtime int8, dynamic",
                best,
                ort_run(sessions[best, "onnx_int8"]),
                False,
            ),
        ]

        # Every runtime must compute the same function as its torch fp32 model.
        check = make_batches(lengths("headlines", 16, seed=3), 16, False, seed=4)[0]
        reference = {n: torch_run(models[n])(check) for n in ("unpruned", best)}
        agreement = {
            label: float((run(check).argmax(-1) == reference[name].argmax(-1)).mean())
            for label, name, run, _ in configs
            if name in reference
        }

        results = []
        for kind in ("headlines", "paragraphs"):
            for batch_size in (32, 1):
                n = args.texts_batch32 if batch_size == 32 else args.texts_batch1
                lens = lengths(kind, n, seed=1)
                batches = {
                    fixed: make_batches(lens, batch_size, fixed, seed=2) for fixed in (False, True)
                }
                # one call = a pass over the setting's batches; configs interleaved
                passes = {
                    i: [_pass(run, batches[fixed])] for i, (_, _, run, fixed) in enumerate(configs)
                }
                by_config = interleaved_times(passes, repeats=args.repeats, warmup=1)
                times = [by_config[i] for i in range(len(configs))]
                base = statistics.median(times[0])
                setting = {"texts": kind, "batch_size": batch_size, "n": n, "configs": {}}
                for (label, name, _, fixed), values in zip(configs, times, strict=True):
                    median = statistics.median(values)
                    executed = sum(
                        flops_for_lengths(
                            models[name], [b["input_ids"].shape[1]] * len(b["input_ids"])
                        )
                        for b in batches[fixed]
                    )
                    row = {
                        "docs_per_s": n / median,
                        "speedup_vs_baseline": base / median,
                        "p95_over_median": float(np.percentile(values, 95) / median),
                        "padded_tokens": sum(b["input_ids"].numel() for b in batches[fixed]),
                        "gflops_executed": executed / 1e9,
                        "achieved_gflop_per_s": executed / median / 1e9,
                    }
                    if "ONNX" not in label and "int8" not in label:
                        row["fraction_of_gemm_rate"] = executed / median / gemm
                    setting["configs"][label] = row
                results.append(setting)
                print(
                    f"{kind:<10} batch {batch_size:>2}: "
                    + "; ".join(
                        f"{k} {v['speedup_vs_baseline']:.2f}x"
                        for k, v in setting["configs"].items()
                    ),
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    report = {
        "machine": machine_info() | {"threads": args.threads},
        "tokenization_timed": False,  # ready token ids go in: the runtimes alone
        "gemm_rate_gflop_per_s": gemm / 1e9,
        "setup_s": setup_s,
        "total_s": time.perf_counter() - started,
        "max_length": MAX_LENGTH,
        "structures": {
            name: {
                "source": sources.get(name, "unpruned"),
                "params": sum(p.numel() for p in models[name].parameters()),
                "heads": structure(models[name])["heads_after"],
                "ffn": structure(models[name])["ffn_after"],
                "layer_heads": getattr(models[name].config, "layer_heads", None),
                "layer_intermediate": getattr(models[name].config, "layer_intermediate", None),
            }
            for name in models
        },
        "best": best,
        "argmax_agreement_with_own_fp32_random_weights": agreement,
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
