"""The machine a measurement ran on, and the GEMM rate it can reach."""

from __future__ import annotations

import os
import platform
import time

import torch

from lahan.versions import library_versions


def gemm_rate(size: int = 1024, repeats: int = 10, device: str = "cpu") -> float:
    """Best achieved FLOP/s of an fp32 ``size`` x ``size`` matrix product (the roofline).

    The best of ``repeats`` runs after a warm-up: the rate the hardware and BLAS
    can reach, against which a model's achieved FLOP/s is read as a fraction.
    """
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for i in range(repeats + 1):
        if device != "cpu":
            torch.cuda.synchronize()
        started = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        if i:
            best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def machine_info(device: str = "cpu") -> dict:
    info = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_features": cpu_features(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        **library_versions(),
    }
    if device != "cpu" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# The instruction sets that decide which precision is fast on a CPU: bf16 runs on
# AVX-512 BF16 or AMX, int8 on VNNI or AMX; without them both are emulated and slow.
SPEED_FEATURES = (
    "avx2",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
)


def cpu_features() -> list[str]:
    """Which of SPEED_FEATURES the CPU reports (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [x for x in SPEED_FEATURES if x in flags]
    except OSError:
        pass
    return []


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
