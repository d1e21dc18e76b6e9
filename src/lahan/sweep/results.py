"""``results.jsonl``: one line per finished row, appended whole; read back tolerantly.

A row is appended only once it is finished, as one line written and fsynced in one
call, so a run killed at any point leaves every finished row and at most one partial
last line; reading drops that line (the row is then redone) and rewrites the file
clean. Rows are keyed by id: a finished row is never run or written twice.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from lahan.errors import LahanError
from lahan.io import atomic_write_text
from lahan.records import SweepRow

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"


def read_results(folder: str | Path, repair: bool = False) -> dict[str, SweepRow]:
    """Rows by id, in file order; a damaged line is skipped (and, with ``repair``, removed).

    Only the sweep itself repairs the file: a reader (``lahan report``) running while a
    sweep appends must not rewrite it under the sweep.
    """
    path = Path(folder) / RESULTS_FILE
    if not path.exists():
        return {}
    rows: dict[str, SweepRow] = {}
    damaged = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            rows[data["id"]] = SweepRow.from_dict(data)
        except (json.JSONDecodeError, KeyError, TypeError, LahanError):
            damaged += 1
    if damaged and repair:
        log.warning("%s: dropped %d incomplete line(s); those rows run again", path, damaged)
        atomic_write_text(
            path,
            "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in rows.values()),
        )
    return rows


def append_result(folder: str | Path, row: SweepRow) -> None:
    path = Path(folder) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(row.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
