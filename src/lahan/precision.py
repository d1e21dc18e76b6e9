"""Inference precision: the autocast context a precision name stands for."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from lahan.config import canonical_precision
from lahan.errors import LahanError

AutocastFactory = Callable[[], contextlib.AbstractContextManager]


def autocast_for(precision: str, device: torch.device | str) -> AutocastFactory:
    """A factory of autocast contexts for ``precision`` (fp32 | fp16 | bf16) on ``device``.

    fp16 needs CUDA; bf16 runs on CPUs too, but is slower than fp32 on CPUs without
    bf16 matrix instructions (AMX/AVX512-BF16): measure before choosing it.
    """
    device = torch.device(device)
    precision = canonical_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext
    if precision == "fp16" and device.type != "cuda":
        raise LahanError("fp16 inference needs a CUDA GPU: use bf16 or fp32 on a CPU")
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16}
    if precision not in dtypes:
        raise LahanError(f"unknown precision '{precision}': use fp32, fp16 or bf16")
    dtype = dtypes[precision]
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)
