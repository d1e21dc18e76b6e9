"""Reading raw rows from a data source: a folder, a CSV/TSV/JSONL file, a hub id, or "demo".

Reading is kept separate from cleaning so that ``lahan data check`` can report every
file exactly as it was read (row counts, repeated headers, encoding problems) before
anything is normalised, pooled or split. Everything here raises ``LahanError`` with
the file name, the problem and what to do, because a traceback from deep inside the
csv or json module tells a user nothing about which of their files is at fault.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from lahan.config import DataConfig
from lahan.data.types import DroppedRows
from lahan.errors import LahanError, OptionError
from lahan.hub import hub_unreachable, looks_like_hub_id

# Long news paragraphs exceed csv's default 128 KiB field limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

TEXT_COLUMN_NAMES = ("text", "sentence", "headline", "content", "news", "body", "article")
LABEL_COLUMN_NAMES = ("label", "labels", "category", "class", "target")
DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FOLDER_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")  # .txt is too often a README

# The split a file holds, from the end of its name: "Marathi_SHC_Train", "valid", "test".
_SPLIT_RE = re.compile(r"(?:^|[_\-.\s])(train|training|valid|validation|val|dev|test)$", re.I)
_SPLIT_NAMES = {
    "train": "train", "training": "train",
    "valid": "dev", "validation": "dev", "val": "dev", "dev": "dev",
    "test": "test",
}  # fmt: skip


class RawRow(NamedTuple):
    """One data row as read: where it came from and its two raw cells."""

    origin: str  # "path:line" (1-based, the header is line 1) or "hf:id:split:index"
    text: str
    label: str


@dataclass
class RawTable:
    """One file (or one hub split) as read, before any cleaning.

    ``dropped`` holds rows that could not even be parsed into a text and a label
    (wrong number of fields, blank lines); cleaning adds its own reasons later.
    """

    path: str
    group: str
    split: str | None  # "train"/"dev"/"test" when the source names it, else None
    columns: list[str]
    text_col: str
    label_col: str | None  # None: a table of texts only (read for `lahan predict`)
    rows: list[RawRow] = field(default_factory=list)
    dropped: dict[str, DroppedRows] = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # encoding, delimiter, format

    def drop(self, reason: str, origin: str, preview: str) -> None:
        self.dropped.setdefault(reason, DroppedRows(reason)).add(origin, preview)


# --------------------------------------------------------------------------- sources


def read_source(config: DataConfig) -> list[RawTable]:
    """Every table of ``config.source``, in a stable order (group, then train/dev/test)."""
    source = str(config.source)
    if source == "demo":
        return [read_demo()]
    if source.startswith("hf:"):
        return read_hub(source[3:], config)
    path = Path(source).expanduser()
    if path.is_dir():
        return read_folder(path, config)
    if path.is_file():
        if config.subsets:
            raise OptionError(
                "subset",
                f" {','.join(config.subsets)} applies to folders with sub-datasets, "
                f"but {source} is a single file: drop --subset or pass the folder",
            )
        return [read_file(path, group=path.stem, split=None, config=config)]
    if path.exists():
        raise LahanError(f"{source} is neither a file nor a folder: pass a CSV/TSV/JSONL file")
    if looks_like_hub_id(source):
        return read_hub(source, config)
    raise LahanError(
        f"{source} does not exist: pass an existing CSV/TSV/JSONL file or folder, "
        "'demo' for the built-in corpus, or a Hugging Face dataset id as hf:owner/name"
    )


def read_demo(seed: int = 0) -> RawTable:
    """The built-in Marathi corpus as one unsplit table (group "demo").

    The corpus is the same for every run (seed 0 by default); --data-seed changes
    only how it is split, so a model trained on "demo" evaluates on the same texts.
    """
    try:
        from lahan.data.demo_corpus import demo_examples
    except ImportError as err:  # pragma: no cover - only in a broken install
        raise LahanError(
            "the built-in demo corpus is missing from this install: reinstall lahan "
            "or pass --data with a file or folder"
        ) from err
    table = RawTable("demo", "demo", None, ["text", "label"], "text", "label")
    table.info = {"format": "builtin"}
    for i, (text, label) in enumerate(demo_examples(seed), start=1):
        table.rows.append(RawRow(f"demo:{i}", text, label))
    return table


def split_of(path: Path) -> str | None:
    """The split a file name announces ("SHC_Valid.csv" -> "dev"), or None."""
    match = _SPLIT_RE.search(path.stem)
    return _SPLIT_NAMES[match.group(1).lower()] if match else None


def _data_files(folder: Path) -> list[Path]:
    files = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in FOLDER_SUFFIXES
    ]  # fmt: skip
    order = {"train": 0, "dev": 1, "test": 2, None: 3}
    return sorted(files, key=lambda p: (order[split_of(p)], p.name))


def read_folder(folder: Path, config: DataConfig) -> list[RawTable]:
    """A MahaNews-style folder (SHC/, LDC/, LPC/ with *_Train/_Valid/_Test files) or a
    folder of train/dev/test files. Files whose names announce no split are ignored
    (and listed in the error when nothing else is there): a folder may hold READMEs,
    predictions or other CSVs that are not training data.
    """
    subdirs = sorted(
        d for d in folder.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(map(split_of, _data_files(d)))
    )  # fmt: skip
    top = [f for f in _data_files(folder) if split_of(f)]
    if config.subsets:
        if not subdirs:
            raise OptionError(
                "subset",
                f" {','.join(config.subsets)}: {folder} has no sub-dataset folders "
                "(like SHC/ or LPC/): drop --subset",
            )
        by_name = {d.name.lower(): d for d in subdirs}
        unknown = [s for s in config.subsets if s.lower() not in by_name]
        if unknown:
            raise OptionError(
                "subset",
                f" {','.join(unknown)} not found in {folder}: "
                f"choose from {', '.join(d.name for d in subdirs)}",
            )
        wanted = {s.lower() for s in config.subsets}
        subdirs = [d for d in subdirs if d.name.lower() in wanted]
        top = []
    tables = [
        read_file(f, group=d.name, split=split_of(f), config=config)
        for d in subdirs for f in _data_files(d) if split_of(f)
    ]  # fmt: skip
    tables += [read_file(f, group=folder.name, split=split_of(f), config=config) for f in top]
    if not tables:
        found = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        raise LahanError(
            f"no train/valid/test data files found in {folder} (it holds: "
            f"{', '.join(found[:10]) or 'nothing'}): expected subfolders like SHC/ with "
            "*_Train.csv/*_Valid.csv/*_Test.csv, or train.csv/dev.csv/test.csv; "
            "to read one file, pass the file itself"
        )
    return tables


# --------------------------------------------------------------------------- files


def read_file(
    path: Path, group: str, split: str | None, config: DataConfig, need_label: bool = True
) -> RawTable:
    """One CSV/TSV/JSONL file as a RawTable (columns detected, rows not yet cleaned).

    ``need_label=False`` reads texts to classify: the label column is used when present
    (rows get "" otherwise) and not required."""
    suffix = path.suffix.lower()
    if suffix not in DELIMITED_SUFFIXES + JSONL_SUFFIXES:
        raise LahanError(
            f"{path}: unsupported file type '{suffix or '(none)'}': "
            "use a .csv, .tsv, .txt (delimited) or .jsonl file"
        )
    text = decode_bytes(path.read_bytes(), path)
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(text, path, group, split, config, need_label)
    return _read_delimited(text, path, group, split, config, need_label)


def decode_bytes(data: bytes, path: Path | str) -> str:
    """UTF-8 text (a UTF-8 BOM is fine), or a LahanError saying what the bytes look like."""
    if not data.strip():
        raise LahanError(f"{path} is empty: point --data at a file with a header and rows")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        raise _not_utf8(path, "UTF-16", "UTF-16")
    if b"\x00" in data:
        raise LahanError(
            f"{path} contains NUL bytes: it looks like a binary file, not CSV/TSV/JSONL text; "
            "pass the exported text file instead"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if _looks_single_byte_text(data):
            raise _not_utf8(path, "cp1252/latin-1", "CP1252") from err
        raise LahanError(
            f"{path} is not text (undecodable bytes at offset {err.start}): "
            "pass a UTF-8 CSV/TSV/JSONL file"
        ) from err
    if not text.strip():
        raise LahanError(f"{path} is empty: point --data at a file with a header and rows")
    return text


def _not_utf8(path: Path | str, looks: str, iconv_name: str) -> LahanError:
    return LahanError(
        f"{path} is not UTF-8 (looks like {looks}): re-save it as UTF-8, "
        f"e.g. iconv -f {iconv_name} -t UTF-8 {path} > out{Path(path).suffix or '.csv'}"
    )


def _looks_utf16(data: bytes) -> bool:
    """BOM-less UTF-16, ASCII-heavy (NULs on the even or the odd bytes) or not: for
    Devanagari the high bytes are 0x09, not 0x00, so also try decoding as UTF-16."""
    sample = data[:4096]
    half = len(sample) / 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if half >= 2 and max(even, odd) >= 0.3 * half and min(even, odd) <= 0.05 * half:
        return True
    if b"\x00" not in sample and _is_utf8(sample):
        return False  # plain UTF-8 text; not worth a second look
    return any(
        _decodes_as_table(sample[: len(sample) // 2 * 2], enc) for enc in ("utf-16-le", "utf-16-be")
    )


def _is_utf8(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(sample) - 3  # only a character cut at the sample's end
    return True


def _decodes_as_table(sample: bytes, encoding: str) -> bool:
    """Strictly decodable, nearly all printable, with line breaks and delimiters: random
    bytes almost never pass (unpaired surrogates), a UTF-16 CSV/JSONL always does."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError as err:
        if err.start < len(sample) - 4:
            return False
        text = sample[: err.start].decode(encoding)
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n")
    return (
        len(text) >= 8
        and printable >= 0.95 * len(text)
        and "\n" in text
        and any(d in text for d in ",\t{")
    )


def _looks_single_byte_text(data: bytes) -> bool:
    """Invalid UTF-8 that decodes as latin-1 into mostly printable text (cp1252 exports)."""
    sample = data[:65536].decode("latin-1")
    bad = sum(1 for c in sample if (c < " " and c not in "\t\r\n") or "\x7f" <= c < "\xa0")
    # cp1252 uses 0x80-0x9f for quotes/dashes, so allow some of those.
    c1_printable = sum(1 for c in sample if c in "\x80\x82\x84\x85\x91\x92\x93\x94\x96\x97\x99")
    return (bad - c1_printable) <= 0.01 * len(sample)


def _sniff_delimiter(first_line: str, suffix: str) -> str:
    """The header line decides: it rarely holds free text, unlike the rows below it."""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if suffix == ".tsv" else ","


def find_column(
    columns: list[str], wanted: str | None, names: tuple[str, ...], kind: str, path: Path | str
) -> str:
    """The column to use for ``kind`` ("text"/"label"): given, or the first known name."""
    by_lower = {c.strip().lower(): c for c in columns}
    shown = ", ".join(repr(c) for c in columns) or "none"
    if wanted:
        if wanted.strip().lower() in by_lower:
            return by_lower[wanted.strip().lower()]
        raise LahanError(
            f"{path} has no column '{wanted}' (columns found: {shown}): "
            f"pass --{kind}-col with one of them"
        )
    for name in names:
        if name in by_lower:
            return by_lower[name]
    raise LahanError(
        f"no {kind} column found in {path} (columns found: {shown}): name it one of "
        f"{'/'.join(names)} or pass --{kind}-col NAME"
    )


def _pick_columns(
    columns: list[str], path: Path | str, config: DataConfig, need_label: bool = True
) -> tuple[str, str | None]:
    text_col = find_column(columns, config.text_col, TEXT_COLUMN_NAMES, "text", path)
    if not need_label and config.label_col is None:
        lower = {c.strip().lower() for c in columns}
        if not any(name in lower for name in LABEL_COLUMN_NAMES):
            return text_col, None
    label_col = find_column(columns, config.label_col, LABEL_COLUMN_NAMES, "label", path)
    if text_col == label_col:
        raise LahanError(
            f"{path}: text and label would both be column '{text_col}': "
            "pass --text-col and --label-col explicitly"
        )
    return text_col, label_col


def _read_delimited(
    text: str,
    path: Path,
    group: str,
    split: str | None,
    config: DataConfig,
    need_label: bool = True,
) -> RawTable:
    # splitlines, not split("\n"): a file whose lines end in "\r" is one "line" otherwise
    first = (text.lstrip("\r\n").splitlines() or [""])[0]
    delimiter = _sniff_delimiter(first, path.suffix.lower())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for cells in reader:
            rows.append((previous_end + 1, cells))
            previous_end = reader.line_num
    except csv.Error as err:
        raise LahanError(
            f"{path}:{previous_end + 1}: cannot parse the file as delimited text ({err}): "
            "check the quoting on that line"
        ) from err
    while rows and not rows[0][1]:
        rows.pop(0)
    header_line, header = rows[0]
    columns = [c.strip() for c in header]
    text_col, label_col = _pick_columns(columns, path, config, need_label)
    table = RawTable(str(path), group, split, columns, text_col, label_col)
    table.info = {"format": "delimited", "delimiter": delimiter, "encoding": "utf-8"}
    ti = columns.index(text_col)
    li = None if label_col is None else columns.index(label_col)
    for line, cells in rows[1:]:
        origin = f"{path}:{line}"
        if not cells:
            table.drop("blank line", origin, "")
        elif len(cells) != len(columns):
            table.drop(
                "wrong number of fields",
                origin,
                f"{len(cells)} fields, expected {len(columns)}: {delimiter.join(cells)}",
            )
        else:
            table.rows.append(RawRow(origin, cells[ti], "" if li is None else cells[li]))
    if not table.rows and not table.dropped:
        raise LahanError(f"{path} has a header (line {header_line}) but no data rows: add rows")
    return table


def _read_jsonl(
    text: str,
    path: Path,
    group: str,
    split: str | None,
    config: DataConfig,
    need_label: bool = True,
) -> RawTable:
    objects: list[tuple[int, dict]] = []
    blank: list[int] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            blank.append(line_no)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise LahanError(
                f"{path}:{line_no}: not valid JSON ({err.msg}): JSONL needs one JSON object "
                "per line; fix or remove that line"
            ) from err
        if not isinstance(obj, dict):
            raise LahanError(
                f"{path}:{line_no}: expected a JSON object like "
                f'{{"text": ..., "label": ...}}, got {type(obj).__name__}'
            )
        objects.append((line_no, obj))
    columns = list(dict.fromkeys(k for _, obj in objects for k in obj))
    text_col, label_col = _pick_columns(columns, path, config, need_label)
    table = RawTable(str(path), group, split, columns, text_col, label_col)
    table.info = {"format": "jsonl", "encoding": "utf-8"}
    for line_no in blank:
        if line_no <= objects[-1][0]:  # blank lines at the very end are just file endings
            table.drop("blank line", f"{path}:{line_no}", "")
    for line_no, obj in objects:
        origin = f"{path}:{line_no}"
        if text_col not in obj or (label_col is not None and label_col not in obj):
            table.drop("missing field", origin, json.dumps(obj, ensure_ascii=False))
        else:
            label = "" if label_col is None else _cell(obj[label_col])
            table.rows.append(RawRow(origin, _cell(obj[text_col]), label))
    return table


def _cell(value: object) -> str:
    """A JSON value as a cell: labels are often ints (0/1); null is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


# --------------------------------------------------------------------------- hub


def read_hub(name: str, config: DataConfig) -> list[RawTable]:
    """A Hugging Face dataset (train/validation/test splits) through ``datasets``.

    ``--subset`` picks the dataset's configuration. Any failure to fetch (offline,
    unknown id, no network) becomes one LahanError: the user most often meant a local
    path and mistyped it, so the message says both things.
    """
    subset = config.subsets[0] if config.subsets else None
    unreachable = hub_unreachable()
    if unreachable:
        raise LahanError(
            f"could not fetch Hugging Face dataset '{name}' (the hub is unreachable: "
            f"{unreachable}); no local file or folder named '{name}' exists either: pass a "
            "local CSV/TSV/JSONL file or folder (or set HF_HUB_OFFLINE=1 to use a cached copy)"
        )
    try:
        import datasets

        loaded = datasets.load_dataset(name, subset)
    except Exception as err:  # noqa: BLE001 - any hub/network failure means "cannot fetch"
        reason = " ".join(str(err).split())[:160] or type(err).__name__
        raise LahanError(
            f"could not fetch Hugging Face dataset '{name}' ({type(err).__name__}: {reason}); "
            f"no local file or folder named '{name}' exists either: pass a local "
            "CSV/TSV/JSONL file or folder, or check the id and your network"
        ) from err
    tables = []
    for split_name in loaded:
        split = _SPLIT_NAMES.get(split_name.lower())
        if split is None:
            continue
        tables.append(_hub_table(name, split_name, split, loaded[split_name], config))
    if not tables:
        raise LahanError(
            f"Hugging Face dataset '{name}' has no train/validation/test split "
            f"(it has: {', '.join(loaded)}): pass a local file instead"
        )
    return tables


def _hub_table(name: str, split_name: str, split: str, part, config: DataConfig) -> RawTable:
    path = f"hf:{name}:{split_name}"
    columns = list(part.column_names)
    text_col, label_col = _pick_columns(columns, path, config)
    table = RawTable(path, name.split("/")[-1], split, columns, text_col, label_col)
    table.info = {"format": "hub"}
    names = getattr(part.features.get(label_col), "names", None)
    for i, (text, label) in enumerate(zip(part[text_col], part[label_col], strict=True)):
        if names is not None and isinstance(label, int):
            label = names[label] if 0 <= label < len(names) else ""  # -1 = unlabelled
        table.rows.append(RawRow(f"{path}:{i}", _cell(text), _cell(label)))
    return table
