"""Stream texts (one per line) through a predictor, writing one row per line in order.

Lines are read in chunks, so inputs larger than memory stream through; inside a
chunk texts are batched by length and the rows come back in input order.
Documented behaviour: an empty (or whitespace-only) line gets a row with no label and
``error: "empty text"``; a text longer than the model's max length is truncated to
it (as in training) and its row says ``truncated: true``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from lahan.deploy.predictor import softmax
from lahan.errors import LahanError

FORMATS = ("jsonl", "csv")


@dataclass
class PredictConfig:
    batch_size: int = 32
    chunk_lines: int = 2048  # lines read before predicting: bounds memory on huge inputs
    format: str = "jsonl"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise LahanError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.chunk_lines < 1:
            raise LahanError(f"chunk size must be >= 1, got {self.chunk_lines}")
        if self.format not in FORMATS:
            raise LahanError(f"--format must be jsonl or csv, got '{self.format}'")


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


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_rows(predictor, lines: Iterable[str], config: PredictConfig) -> Iterator[dict]:
    """One dict per input line, in input order."""
    number = 0
    for chunk in _chunks(lines, config.chunk_lines):
        kept = [i for i, text in enumerate(chunk) if text.strip()]
        texts = [chunk[i] for i in kept]
        probs = softmax(predictor.logits(texts, config.batch_size)) if texts else []
        counts = predictor.token_counts(texts) if texts else []
        by_index = {i: (p, c) for i, p, c in zip(kept, probs, counts, strict=True)}
        for i in range(len(chunk)):
            number += 1
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
        raise LahanError(f"--input '{path}': no such file") from err
    except IsADirectoryError as err:
        raise LahanError(
            f"--input '{path}' is a folder: pass a text file, one text per line"
        ) from err
