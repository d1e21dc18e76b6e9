"""Progress for long steps: a tqdm bar on a terminal, plain lines in a log file.

tqdm draws nothing when stderr is not a terminal (``disable=None``), so a run logged
to a file would say nothing for minutes; there a line every ``every`` seconds says
how far it got.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
PLAIN_EVERY_SECONDS = 60.0


def _is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(
    items: Iterable[T], desc: str, enabled: bool = True, total: int | None = None
) -> Iterator[T]:
    """``items``, with a bar on a terminal or a plain line now and then in a log."""
    if not enabled:
        yield from items
        return
    if _is_tty():
        yield from tqdm(items, desc=desc, total=total, leave=False)
        return
    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    started = last = time.perf_counter()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.perf_counter()
        if now - last >= PLAIN_EVERY_SECONDS:
            last = now
            of = f"/{total}" if total else ""
            print(f"{desc}: {done}{of} ({now - started:.0f}s)", file=sys.stderr, flush=True)


class TrainProgress:
    """The training loop's progress, kept out of the loop: a bar per epoch on a terminal,
    on a log file a plain line every PLAIN_EVERY_SECONDS (tqdm draws nothing there), and
    one line per epoch. ``enabled`` False (``--no-progress``, or a process other than a
    machine's first) shows nothing."""

    def __init__(self, enabled: bool, epochs: int):
        self.enabled, self.epochs = enabled, epochs
        self.bar: tqdm | None = None
        self.last_line = 0.0

    def batches(self, loader: Iterable[T], epoch: int) -> Iterable[T]:
        """``loader``, with this epoch's bar around it (on a terminal)."""
        # None: tqdm shows the bar on a terminal only, not in logs (the epoch lines stay).
        self.bar = tqdm(
            loader,
            desc=f"epoch {epoch}/{self.epochs}",
            disable=None if self.enabled else True,
            leave=False,
        )
        self.last_line = time.perf_counter()
        return self.bar

    def step(self, epoch: int, batch: int, batches: int, loss: float, lr: float, rate: float):
        """After batch ``batch`` (0-based) of ``batches``: the running loss, the learning
        rate and the examples per second so far."""
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", ex_s=f"{rate:.0f}")
        now = time.perf_counter()
        if self.enabled and not _is_tty() and now - self.last_line >= PLAIN_EVERY_SECONDS:
            self.last_line = now
            print(
                f"epoch {epoch}/{self.epochs}: batch {batch + 1}/{batches}, loss {loss:.4f}, "
                f"{rate:.0f} examples/s",
                file=sys.stderr,
                flush=True,
            )

    def epoch_end(self, epoch: int, loss: float, scores: str, seconds: float) -> None:
        if self.enabled:
            tqdm.write(
                f"epoch {epoch}: loss {loss:.4f}  {scores}  ({seconds:.1f}s)",
                file=sys.stderr,  # progress goes to stderr, unbuffered; results to stdout
            )
