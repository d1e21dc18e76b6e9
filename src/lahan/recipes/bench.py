"""`lahan bench`: measure several models on the same texts, in one run, as ratios.

Models are a lahan/HF model folder, optionally at a precision as ``DIR@int8`` /
``DIR@bf16`` and/or padded to its max length as ``DIR@padded`` / ``DIR@int8,padded``,
or an exported ONNX folder. Every timed figure is measured with the models
interleaved, so a machine that gets busier or quieter during the run moves all of them
alike instead of whichever model happened to run then:
  1. load every model; predict the whole split once each (warm-up): accuracy and
     macro-F1; FLOPs per example from the per-layer shapes and the real token lengths;
  2. throughput and energy in ``repeats`` rounds; in each round every model (in an
     order rotated round by round) predicts the split (length-sorted batches of 32,
     dynamic padding) under CodeCarbon, repeated until the block lasts
     ``min_energy_seconds / repeats``: docs/s is the median over rounds (its spread is
     reported), energy and CO2 per 1,000 predictions are summed over the blocks;
  3. latency at each batch size (the first texts of the split, in order), models
     interleaved round by round after a warm-up: median and p95 per batch;
  4. memory: each model alone in a fresh process (the same predictions), so a model's
     figure does not depend on what was loaded before it: peak resident memory (CPU) or
     the allocator's peak (CUDA) above the process's memory before loading the model.
Ratios are against the first model. Timing includes tokenisation: it is what a caller
of ``lahan predict`` waits for.
"""

from __future__ import annotations

import gc
import statistics
from pathlib import Path

import psutil
import torch

from lahan.config import BenchConfig, parse_model_spec
from lahan.data import load_dataset
from lahan.deploy.predictor import (
    OnnxPredictor,
    ReferencePredictor,
    TorchPredictor,
    is_onnx_folder,
)
from lahan.errors import LahanError, OptionError
from lahan.evaluate import compute_metrics, metrics_by_group
from lahan.measure.energy import track_energy
from lahan.measure.flops import flops_for_lengths
from lahan.measure.machine import gemm_rate, machine_info
from lahan.measure.memory import peak_memory
from lahan.measure.size import count_parameters, weights_size_on_disk
from lahan.measure.timing import interleaved_times, summarize, timed_for
from lahan.models import has_placeholder_labels, label_ids, resolve_label_map
from lahan.records import BenchMeasurement, BenchReport
from lahan.reference import is_reference_folder


def _load(spec: str, threads: int | None = None, labels: tuple | None = None):
    path, precision, padded = parse_model_spec(spec)
    # --labels names the placeholder-labelled models; the others keep their own names
    labels = labels if labels is not None and has_placeholder_labels(path) else None
    if is_onnx_folder(path):
        if precision != "fp32" or padded:
            raise OptionError(
                "model",
                f" '{spec}': an ONNX folder's precision is fixed at export and it "
                "pads dynamically; pass the folder alone",
            )
        return OnnxPredictor(path, threads or torch.get_num_threads(), labels)
    if is_reference_folder(path):
        if precision != "fp32" or padded:
            raise OptionError(
                "model",
                f" '{spec}': a TF-IDF + linear SVM reference runs as it is; pass the folder alone",
            )
        return ReferencePredictor(path)
    return TorchPredictor(path, precision, padded=padded, labels=labels)


def _structure_source(spec: str, predictor) -> torch.nn.Module | None:
    """The torch model whose shapes give the FLOPs (an ONNX export's source if present)."""
    if isinstance(predictor, TorchPredictor):
        return predictor.model
    if isinstance(predictor, ReferencePredictor):
        return None  # not a transformer: no layer shapes to count FLOPs from
    source = predictor.runtime.manifest.get("source")
    if source and Path(source).is_dir() and not is_onnx_folder(source):
        from lahan.models import load_model

        return load_model(source)[0]
    return None


def _size_on_disk(spec: str) -> int:
    path = Path(parse_model_spec(spec)[0])
    if is_onnx_folder(path):
        return sum(p.stat().st_size for p in path.glob("*.onnx*"))
    if is_reference_folder(path):  # its vocabulary is as much the model as its weights
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return weights_size_on_disk(path)


def _predict(predictor, batch: list[str], batch_size: int):
    def call():
        predictor.logits(batch, batch_size)

    return call


def _throughput_and_energy(
    config: BenchConfig, predictors: dict, texts: list[str], results: dict[str, BenchMeasurement]
) -> None:
    """Interleaved rounds of whole-split passes: docs/s per round, energy summed."""
    names = list(predictors)
    rates: dict[str, list[float]] = {name: [] for name in names}
    energy = {name: {"kwh": 0.0, "kg_co2": 0.0, "predictions": 0} for name in names}
    block_seconds = config.min_energy_seconds / config.repeats
    for round_ in range(config.repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # no model always first after another
            predictor = predictors[name]
            passes = 0
            with track_energy(config.country) as tracked:
                # the clock starts inside: the tracker's set-up is not timed
                passes, seconds = timed_for(
                    block_seconds,
                    lambda p=predictor: p.logits(texts, config.throughput_batch_size),
                )
            rates[name].append(passes * len(texts) / seconds)
            energy[name]["kwh"] += tracked["kwh"]
            energy[name]["kg_co2"] += tracked["kg_co2"]
            energy[name]["predictions"] += passes * len(texts)
            energy[name]["power_method"] = tracked["power_method"]
            energy[name]["country"] = tracked["country"]
    for name in names:
        e, measured = energy[name], results[name]
        measured.throughput_docs_per_s = statistics.median(rates[name])
        measured.throughput_tokenization_timed = True  # texts in, as a request
        measured.throughput_rounds_docs_per_s = rates[name]
        measured.energy = {
            "kwh_per_1000": e["kwh"] / e["predictions"] * 1000,
            "kg_co2_per_1000": e["kg_co2"] / e["predictions"] * 1000,
            "power_method": e["power_method"],
            "country": e["country"],
        }


def memory_in_fresh_process(spec: str, texts: list[str], config: BenchConfig) -> dict:
    """One model's memory, measured alone in a new Python process (spawned, not forked:
    nothing of this process's models or allocator state comes along)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(
            _memory_child,
            (spec, texts, config.threads, config.labels, config.throughput_batch_size),
        )


def _memory_child(spec, texts, threads, labels, batch_size) -> dict:
    """Runs in the fresh process: load, predict the split once, report the peak."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a measurement's child: no "Loading weights" bars
    if threads:
        torch.set_num_threads(threads)
    gc.collect()
    before = psutil.Process().memory_info().rss
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with peak_memory("cpu") as memory:
        predictor = _load(spec, threads, labels)
        loaded = psutil.Process().memory_info().rss - before
        predictor.logits(texts, batch_size)
    result = {
        "peak_bytes": memory["peak_bytes"] - before,
        "load_added_bytes": loaded,
        "method": "process RSS sampled in a fresh process, above its RSS before loading",
    }
    if device == "cuda" and predictor.info["device"].startswith("cuda"):
        result["cuda_peak_bytes"] = torch.cuda.max_memory_allocated()
        result["method"] += "; CUDA: torch.cuda.max_memory_allocated"
    return result


def run_bench(config: BenchConfig, progress=print) -> BenchReport:
    if config.threads:
        torch.set_num_threads(config.threads)
    dataset = load_dataset(config.data)
    rows = dataset.split(config.split)
    if not rows:
        raise LahanError(f"the {config.split} split is empty: pick another with --split")
    texts = [r.text for r in rows]
    cuda = torch.cuda.is_available()
    machine = machine_info("cuda" if cuda else "cpu")
    gemm: dict[str, float] = {}  # measured GEMM rate per device type, when first needed
    names = config.names or list(config.models)
    with track_energy(config.country):  # imports and starts CodeCarbon once, untimed
        pass
    predictors, targets, flops = {}, {}, {}
    results: dict[str, BenchMeasurement] = {}
    for name, spec in zip(names, config.models, strict=True):
        predictor = _load(spec, config.threads, config.labels)
        predictors[name] = predictor
        device = "cuda" if predictor.info["device"].startswith("cuda") else "cpu"
        if device not in gemm:
            gemm[device] = gemm_rate(device=device)
        label_map = resolve_label_map(predictor.labels, dataset.labels, config.relabel)
        targets[name] = label_ids(rows, predictor.labels, label_map)
        logits = predictor.logits(texts, config.throughput_batch_size)  # also the warm-up
        predicted = logits.argmax(-1).tolist()
        metrics = compute_metrics(targets[name], predicted, list(range(len(predictor.labels))))
        model = _structure_source(spec, predictor)
        lengths = [min(n, predictor.max_length) for n in predictor.token_counts(texts)]
        if getattr(predictor, "padded", False):  # the padding is computed too: count it
            lengths = [predictor.max_length] * len(texts)
        flops[name] = flops_for_lengths(model, lengths) if model is not None else None
        params = count_parameters(model) if model is not None else None
        if isinstance(predictor, ReferencePredictor):
            params = {"total": predictor.model.parameter_count}
        del model
        results[name] = BenchMeasurement(
            spec=spec,
            runtime=predictor.info["runtime"],
            precision=predictor.precision,
            padding=predictor.info["padding"],
            accuracy=metrics["accuracy"],
            macro_f1=metrics["macro_f1"],
            by_group=metrics_by_group(targets[name], predicted, [r.group for r in rows]),
            n=len(texts),
            device=device,
            size_on_disk_bytes=_size_on_disk(spec),
            params=params,
        )
        progress(f"loaded {name}: accuracy {metrics['accuracy']:.4f}")

    _throughput_and_energy(config, predictors, texts, results)
    progress("measured throughput and energy")
    for name, r in results.items():
        total = flops[name]
        rate = r.throughput_docs_per_s * total / len(texts) if total else None
        r.flops_per_example = total / len(texts) if total else None
        r.achieved_flops_per_s = rate
        r.fraction_of_gemm_rate = rate / gemm[r.device] if rate else None

    for batch_size in config.batch_sizes:
        count = min(len(texts), config.latency_texts if batch_size > 1 else 16)
        batches = [texts[i : i + batch_size] for i in range(0, count, batch_size)]
        # texts in, logits out: the tokenizer is inside the timed region, as in a request
        calls = {
            name: [_predict(predictor, batch, batch_size) for batch in batches]
            for name, predictor in predictors.items()
        }
        times = interleaved_times(calls, repeats=config.repeats, warmup=config.warmup, cuda=cuda)
        for name, values in times.items():
            timing = summarize(values, batch_size, tokenization_timed=True)
            results[name].latency[batch_size] = {
                "median_s": timing["median_s"],
                "p95_s": timing["p95_s"],
                "docs_per_s": timing["docs_per_s"],
                "batches": len(batches),
                "repeats": config.repeats,
                "tokenization_timed": True,
            }
        progress(f"timed batch size {batch_size}")
    predictors.clear()  # the timing is over: free them before the memory processes

    for name, spec in zip(names, config.models, strict=True):
        results[name].memory = memory_in_fresh_process(spec, texts, config)
        progress(f"memory of {name}: {results[name].memory['peak_bytes'] / 1e6:.0f} MB")

    first = results[names[0]]
    for r in results.values():
        r.ratios_vs_first = {
            "throughput": r.throughput_docs_per_s / first.throughput_docs_per_s,
            # round by round (the same round of both models: adjacent in time)
            "throughput_rounds": [
                mine / theirs
                for mine, theirs in zip(
                    r.throughput_rounds_docs_per_s, first.throughput_rounds_docs_per_s, strict=True
                )
            ],
            "size": r.size_on_disk_bytes / first.size_on_disk_bytes,
            **{
                f"speed_batch{b}": first.latency[b]["median_s"] / r.latency[b]["median_s"]
                for b in config.batch_sizes
            },
        }
    return BenchReport(
        split=config.split,
        data_fingerprint=dataset.fingerprint(),
        machine=machine
        | {"gemm_flops_per_s": gemm.get("cuda", gemm.get("cpu"))}
        | {"gemm_flops_per_s_by_device": gemm},
        config={
            "batch_sizes": list(config.batch_sizes),
            "repeats": config.repeats,
            "warmup": config.warmup,
            "latency_texts": config.latency_texts,
            "min_energy_seconds": config.min_energy_seconds,
            "country": config.country,
        },
        models=results,
    )


def format_bench_table(report: BenchReport) -> str:
    """A plain-text table whose columns are as wide as their widest cell (never run
    together, whatever the figures), separated by two spaces; numbers right-aligned."""
    batch_sizes = report.batch_sizes
    header = ["model", "acc", "F1", "docs/s", "x"]
    header += [h for b in batch_sizes for h in (f"p50 b{b} ms", "x")]
    header += ["peak MB", "disk MB", "GFLOP/ex", "%GEMM", "Wh/1k", "gCO2/1k"]
    rows = [header]
    for name, r in report.models.items():
        ratio = r.ratios_vs_first
        flops = r.flops_per_example
        frac = r.fraction_of_gemm_rate
        rows.append(
            [
                name,
                f"{r.accuracy:.4f}",
                f"{r.macro_f1:.4f}",
                f"{r.throughput_docs_per_s:.1f}",
                f"{ratio['throughput']:.2f}",
                *(
                    cell
                    for b in batch_sizes
                    for cell in (
                        f"{1000 * r.latency[b]['median_s']:.1f}",
                        f"{ratio[f'speed_batch{b}']:.2f}",
                    )
                ),
                f"{r.memory['peak_bytes'] / 1e6:.0f}",
                f"{r.size_on_disk_bytes / 1e6:.1f}",
                f"{flops / 1e9:.3f}" if flops else "-",
                f"{100 * frac:.1f}" if frac else "-",
                f"{1000 * r.energy['kwh_per_1000']:.3f}",
                f"{1000 * r.energy['kg_co2_per_1000']:.3f}",
            ]
        )
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if c == 0 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
