"""The one timer: every speed figure in lahan and in bench/ comes from here.

Models are compared on the same calls, interleaved round by round after warm-up rounds
(so a change in machine load hits all of them alike); each call is timed alone, with
CUDA synchronised on both sides when a GPU is in use; figures are medians, with p95.

Every summary says what was inside the timed region: ``tokenization_timed`` is True
when a call took raw texts (tokenizer + model, as a user's request does) and False when
it took ready tensors (the model alone). Ratios are only compared between figures
with the same value: "speed-up" in ``result.json`` (compress) and in a sweep's
``results.jsonl`` (bench) name which one they are.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence


def interleaved_times(
    calls: Mapping[str, Sequence[Callable[[], object]]],
    repeats: int,
    warmup: int = 1,
    cuda: bool = False,
) -> dict[str, list[float]]:
    """Seconds of each name's calls: ``warmup + repeats`` rounds, and in every round
    each name runs all its calls once (names in turn); warm-up rounds are not kept."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
    sync = _cuda_sync if cuda else _nothing
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(warmup + repeats):
        for name, name_calls in calls.items():
            for call in name_calls:
                sync()  # time the kernels, not their launch
                started = time.perf_counter()
                call()
                sync()
                if round_ >= warmup:
                    times[name].append(time.perf_counter() - started)
    return times


def summarize(values: Sequence[float], examples_per_call: float, tokenization_timed: bool) -> dict:
    """Median and p95 seconds per call, examples per second (from the median), and what
    the timed region held."""
    ordered = sorted(values)
    median = statistics.median(ordered)
    return {
        "median_s": median,
        "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "docs_per_s": examples_per_call / median if median else 0.0,
        "calls": len(ordered),
        "tokenization_timed": tokenization_timed,
    }


def timed_for(seconds: float, call: Callable[[], object]) -> tuple[int, float]:
    """Run ``call`` until ``seconds`` have passed (at least once): (calls, seconds taken)."""
    started = time.perf_counter()
    calls = 0
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls, elapsed


def _nothing() -> None:
    pass


def _cuda_sync() -> None:
    import torch

    torch.cuda.synchronize()
