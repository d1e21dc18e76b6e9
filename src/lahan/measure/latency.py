"""Measurements that compare models honestly: same inputs, same run, warm-up, repeats.

Latency is timed per batch over the same fixed batches for every model, models
interleaved repeat by repeat (so drift in machine load hits all of them alike),
after warm-up; the median and p95 are reported, and ratios come from medians.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.measure.timing import interleaved_times, summarize


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
    """Per-batch latency (seconds) of each model over the same texts, interleaved.

    Texts are batched in input order with dynamic padding (each batch to its longest
    text) and tokenised before timing: the figures are the model's forward passes alone
    (``tokenization_timed`` False). ``autocasts`` runs the named models under a
    precision's autocast (others in fp32).
    """
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
    return batch_latency(models, batches, batch_size, repeats, warmup, autocasts)


@torch.no_grad()
def batch_latency(
    models: dict[str, PreTrainedModel],
    batches: dict[str, list[Mapping[str, torch.Tensor]]],
    batch_size: int,
    repeats: int = 5,
    warmup: int = 1,
    autocasts: dict[str, Callable[[], contextlib.AbstractContextManager]] | None = None,
) -> dict[str, dict]:
    """Per-batch latency of each model on its ready batches (model inputs), through the
    one timer (lahan.measure.timing): interleaved, warm-up, median and p95."""
    autocasts = autocasts or {}
    calls = {}
    cuda = False
    for name, model in models.items():
        model.eval()
        device = next(model.parameters()).device
        cuda = cuda or device.type == "cuda"
        on_device = [{k: v.to(device) for k, v in batch.items()} for batch in batches[name]]
        autocast = autocasts.get(name, contextlib.nullcontext)
        calls[name] = [_forward(model, batch, autocast) for batch in on_device]
    times = interleaved_times(calls, repeats=repeats, warmup=warmup, cuda=cuda)
    out = {}
    for name, values in times.items():
        examples = sum(len(next(iter(b.values()))) for b in batches[name])
        timing = summarize(values, examples / len(batches[name]), tokenization_timed=False)
        total = sum(values) / repeats
        out[name] = {
            "batch_median_s": timing["median_s"],
            "batch_p95_s": timing["p95_s"],
            "examples_per_s": examples / total if total else 0.0,
            "batch_size": batch_size,
            "batches": len(batches[name]),
            "repeats": repeats,
            "tokenization_timed": False,
        }
    return out


def _forward(model, batch, autocast):
    def call():
        with autocast():
            model(**batch)

    return call
