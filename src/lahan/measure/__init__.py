"""Measurements that compare models honestly: same inputs, same run, warm-up, repeats.

timing.py   the one timer: interleaved calls after warm-up, median and p95
latency.py  per-batch latency of several models, through the timer
size.py     parameters by part, bytes on disk
flops.py    analytic FLOPs per example from the real lengths and per-layer shapes
machine.py  the machine: hardware, library versions, threads, measured GEMM rate
memory.py   peak resident memory while a block runs (CUDA: peak allocated)
energy.py   energy and CO2 of a block through CodeCarbon's offline tracker
"""

from lahan.measure.latency import batch_latency, compare_latency
from lahan.measure.size import count_parameters, weights_size_on_disk

__all__ = ["batch_latency", "compare_latency", "count_parameters", "weights_size_on_disk"]
