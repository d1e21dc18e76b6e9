"""Stream texts through a predictor, writing one row per text in input order.

Input is plain text, one text per line, or a CSV/TSV/JSONL table read through the data
layer (the text column found as everywhere else, ``--text-col`` to name it; a label
column, if any, is ignored). Rows say the input line each text came from. Plain text
is read in chunks, so inputs larger than memory stream through; inside a chunk texts
are batched by length and the rows come back in input order.
Documented behaviour: an empty (or whitespace-only) line gets a row with no label and
``error: "empty text"``; a text longer than the model's max length is truncated to
it (as in training) and its row says ``truncated: true``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from lahan.config import PredictConfig
from lahan.deploy.predictor import softmax
from lahan.errors import LahanError, OptionError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")  # read as tables; anything else: lines


def read_lines(stream: BinaryIO, name: str) -> Iterator[str]:
    """Lines without their line ending, decoded one by one as UTF-8, so that a bad byte
    is reported on its own line (a text stream decodes 8 KiB at a time and would blame
    the first line of the block)."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise LahanError(
                f"{name}: line {number} is not UTF-8 (byte {raw[err.start]:#04x} at column "
                f"{err.start + 1}): convert the file to UTF-8 (e.g. iconv -t UTF-8)"
            ) from err
        if number == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark is not text
        line = line.rstrip("\r\n")
        if "\r" in line:
            raise LahanError(
                f"{name}: line {number} holds a bare carriage return (old Mac line endings?): "
                "convert the file to \\n line endings, e.g. `tr '\\r' '\\n' < IN > OUT`"
            )
        yield line


def read_table(path: str, text_col: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, text) for every row of a CSV/TSV/JSONL file, through the data layer.

    Rows the data layer cannot read as a text (wrong number of fields, missing field)
    are not skipped silently: the file is refused, naming the first of them."""
    from pathlib import Path

    from lahan.config import DataConfig
    from lahan.data.read import read_file

    file = Path(path)
    if not file.is_file():
        raise OptionError("input", f" '{path}': no such file")
    table = read_file(file, file.stem, None, DataConfig(text_col=text_col), need_label=False)
    for reason, rows in table.dropped.items():
        if reason == "blank line":
            continue
        where = rows.examples[0][0] if rows.examples else path
        raise LahanError(
            f"{where}: {rows.count} row(s) of --input cannot be read as a text ({reason}): "
            "fix them, or pass plain text (one text per line, e.g. a .txt file)"
        )
    for row in table.rows:
        yield int(row.origin.rsplit(":", 1)[1]), row.text


def _chunks(lines: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_rows(
    predictor, lines: Iterable[tuple[int, str]], config: PredictConfig
) -> Iterator[dict]:
    """One dict per (input line, text), in input order."""
    for chunk in _chunks(lines, config.chunk_lines):
        kept = [i for i, (_, text) in enumerate(chunk) if text.strip()]
        texts = [chunk[i][1] for i in kept]
        probs = softmax(predictor.logits(texts, config.batch_size)) if texts else []
        counts = predictor.token_counts(texts) if texts else []
        by_index = {i: (p, c) for i, p, c in zip(kept, probs, counts, strict=True)}
        for i, (number, _) in enumerate(chunk):
            if i not in by_index:
                yield {"line": number, "label": None, "score": None, "error": "empty text"}
                continue
            p, count = by_index[i]
            best = int(p.argmax())
            yield {
                "line": number,
                "label": predictor.labels[best],
                "score": float(p[best]),
                "probs": {label: float(v) for label, v in zip(predictor.labels, p, strict=True)},
                "truncated": count > predictor.max_length,
            }


def write_rows(rows: Iterable[dict], out: TextIO, fmt: str, labels: list[str]) -> int:
    """Write rows as JSON lines or CSV (one probability column per label); returns count."""
    n = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
        return n
    writer = csv.writer(out)
    writer.writerow(["line", "label", "score", "truncated", "error", *(f"p_{x}" for x in labels)])
    for row in rows:
        probs = row.get("probs") or {}
        writer.writerow(
            [
                row["line"],
                row["label"] or "",
                "" if row["score"] is None else f"{row['score']:.6f}",
                row.get("truncated", ""),
                row.get("error", ""),
                *(f"{probs[x]:.6f}" if probs else "" for x in labels),
            ]
        )
        n += 1
    return n


def open_text(path: str) -> BinaryIO:
    """A byte stream for a path or '-' (stdin); read_lines decodes it line by line."""
    import sys

    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115
    except FileNotFoundError as err:
        raise OptionError("input", f" '{path}': no such file") from err
    except IsADirectoryError as err:
        raise OptionError(
            "input", f" '{path}' is a folder: pass a text file, one text per line"
        ) from err
