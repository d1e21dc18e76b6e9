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
