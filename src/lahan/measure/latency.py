"""Measurements that compare models honestly: same inputs, same run, warm-up, repeats.

Latency is timed per batch over the same fixed batches for every model, models
interleaved repeat by repeat (so drift in machine load hits all of them alike),
after warm-up; the median and p95 are reported, and ratios come from medians.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@torch.no_grad()
def compare_latency(
    models: dict[str, PreTrainedModel],
    tokenizers: dict[str, PreTrainedTokenizerBase],
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    repeats: int = 5,
    warmup: int = 1,
    autocasts: dict[str, Callable[[], contextlib.AbstractContextManager]] | None = None,
) -> dict[str, dict]:
    """Per-batch latency (seconds) of each model over the same batches, interleaved.

    Returns, per model: median and p95 per batch, and examples per second. Texts
    are batched in input order with dynamic padding (each batch to its longest text).
    ``autocasts`` runs the named models under a precision's autocast (others in fp32).
    """
    autocasts = autocasts or {}
    batches = {
        name: [
            tokenizers[name](
                list(texts[i : i + batch_size]),
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            for i in range(0, len(texts), batch_size)
        ]
        for name in models
    }
    for name, model in models.items():
        model.eval()
        device = next(model.parameters()).device
        batches[name] = [batch.to(device) for batch in batches[name]]
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(warmup + repeats):
        for name, model in models.items():
            cuda = next(model.parameters()).is_cuda
            for batch in batches[name]:
                if cuda:  # time the kernels, not their launch
                    torch.cuda.synchronize()
                started = time.perf_counter()
                with autocasts.get(name, contextlib.nullcontext)():
                    model(**batch)
                if cuda:
                    torch.cuda.synchronize()
                if round_ >= warmup:
                    times[name].append(time.perf_counter() - started)
    out = {}
    for name, values in times.items():
        values.sort()
        total = sum(values) / repeats
        out[name] = {
            "batch_median_s": statistics.median(values),
            "batch_p95_s": values[min(len(values) - 1, int(0.95 * len(values)))],
            "examples_per_s": len(texts) / total if total else 0.0,
            "batch_size": batch_size,
            "batches": len(batches[name]),
            "repeats": repeats,
        }
    return out
