"""How many CPU threads lahan computes with: ``--threads``, else ``LAHAN_THREADS``, else
the cores this process may run on.

PyTorch's intra-op pool spins while it waits for its other threads; on a machine whose
cores are busy with other work, two threads can spend most of their time waiting on
each other (an epoch took minutes instead of seconds on a loaded 2-core machine), so a
user sharing the machine wants to say how many. The same number goes to PyTorch's
intra- and inter-op pools and to ONNX Runtime's sessions.
"""

from __future__ import annotations

import os

from lahan.errors import LahanError, OptionError

ENV = "LAHAN_THREADS"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None = None) -> int:
    """``threads``, else $LAHAN_THREADS, else the available cores; validated."""
    if threads is None:
        raw = os.environ.get(ENV, "").strip()
        if raw:
            try:
                threads = int(raw)
            except ValueError:
                raise LahanError(f"{ENV}='{raw}' is not a whole number of threads") from None
    if threads is None:
        return available_cores()
    if threads < 1:
        raise OptionError("threads", f" must be >= 1, got {threads}")
    return threads


def apply_threads(threads: int) -> None:
    """Use ``threads`` for PyTorch (intra- and inter-op) and for ONNX Runtime sessions."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only settable before the first inter-op work; keep what is set
        pass
    os.environ[ENV] = str(threads)  # read by ONNX Runtime sessions (deploy.onnx_runtime)
