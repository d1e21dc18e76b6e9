"""Peak memory while a block of code runs: resident set size on CPU, allocator on CUDA."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import psutil
import torch


@contextmanager
def peak_memory(device: str = "cpu", interval_s: float = 0.005):
    """Yields a dict filled on exit with ``peak_bytes`` and ``baseline_bytes``.

    CPU: the process RSS, sampled every ``interval_s`` by a thread (a peak shorter than
    the interval can be missed). CUDA: ``torch.cuda.max_memory_allocated``, reset on entry.
    """
    result: dict = {"device": device}
    if device != "cpu":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        result["baseline_bytes"] = torch.cuda.memory_allocated()
        yield result
        torch.cuda.synchronize()
        result["peak_bytes"] = torch.cuda.max_memory_allocated()
        result["method"] = "torch.cuda.max_memory_allocated"
        return
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            stop.wait(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        result.update(baseline_bytes=baseline, peak_bytes=peak[0], method="process RSS, sampled")
