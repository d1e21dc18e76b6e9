"""Stopping a training run cleanly: SIGINT (Ctrl-C) or SIGTERM ask the loop to stop at
the next step boundary, after writing its checkpoint, instead of killing it mid-step."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run at a step boundary, after writing its checkpoint."""

    def __init__(self, signal_name: str, checkpoint: Path | None, steps: int):
        super().__init__(signal_name)
        self.signal_name, self.checkpoint, self.steps = signal_name, checkpoint, steps


class StopRequest:
    """Set by the handler: the name of the signal that asked the run to stop."""

    signal: str | None = None


@contextlib.contextmanager
def stop_signals(enabled: bool = True) -> Iterator[StopRequest]:
    """While training, SIGINT (Ctrl-C) and SIGTERM ask the loop to stop at the next step
    boundary, checkpoint included, instead of killing it mid-step and losing the work since
    the last checkpoint. A second signal stops at once (the previous handlers are back)."""
    stop = StopRequest()
    # Off under several processes: each would see the signal at its own step and the
    # checkpoint's barrier would meet another process's all-reduce (a hang).
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def request(signum, frame) -> None:
        stop.signal = signal.Signals(signum).name
        for s, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(s, handler)
        print(
            f"lahan: {stop.signal} received: stopping after this step (again to stop now)",
            file=sys.stderr,
            flush=True,
        )

    for s in previous:
        signal.signal(s, request)
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)
