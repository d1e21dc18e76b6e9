"""Text normalisation and row cleaning: raw cells in, Records (and counted drops) out.

Normalisation matters for more than looks: the leakage guard, duplicate counts and
label-conflict checks all compare texts exactly, so two copies of a headline that
differ only by a no-break space or a stray zero-width space must become equal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lahan.data.read import LABEL_COLUMN_NAMES, TEXT_COLUMN_NAMES, RawTable
from lahan.data.types import DroppedRows, Record

ZWNJ = "\u200c"
ZWJ = "\u200d"

# Invisible characters with no meaning in running text: zero width space, BOM/zero
# width no-break space inside a text, soft hyphen, word joiner. ZWSP is removed, not
# turned into a space: in these corpora it sits next to a real space (copy-paste
# residue), and a space in its place would split words that render joined.
# ZWJ/ZWNJ are NOT here: they select Devanagari conjunct/half forms (र्‍य vs र्य).
_REMOVE_RE = re.compile("[\u200b\ufeff\u00ad\u2060]")
# Any whitespace (\s covers NBSP U+00A0, narrow NBSP U+202F and the other Unicode
# space separators, tabs, newlines, U+2028/2029) and control characters -> one space.
_SPACE_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def normalize_text(text: str) -> str:
    """NFC, invisible junk removed, every run of whitespace one ASCII space, stripped.

    Idempotent. NFC runs again at the end because removing a character can bring a
    base letter and its combining mark together.
    """
    text = unicodedata.normalize("NFC", text)
    text = _REMOVE_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text).strip(" ")
    return unicodedata.normalize("NFC", text)


def normalize_label(label: str) -> str:
    """Labels are names: NFC and stripped, otherwise left exactly as written."""
    return unicodedata.normalize("NFC", label).strip()


@dataclass
class CleanTable:
    """One file's usable records after cleaning, with what was dropped from it and why."""

    path: str
    group: str
    split: str | None
    records: list[Record]
    rows_read: int  # data rows in the file (header excluded), before any drop
    dropped: dict[str, DroppedRows] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _header_names(table: RawTable) -> tuple[set[str], set[str]]:
    """Names a repeated header row may show in the text and label cells.

    The file's own header is not enough: in L3Cube's LPC_Valid.csv the header is
    ``text,labels`` while the copies pasted inside are ``Text,Label`` (or ``,Label``
    with the text cell empty), so any known column name counts.
    """
    text_names = {n.lower() for n in TEXT_COLUMN_NAMES} | {table.text_col.lower()}
    label_names = {n.lower() for n in LABEL_COLUMN_NAMES} | {table.label_col.lower()}
    return text_names, label_names


def is_repeated_header(text: str, label: str, text_names: set[str], label_names: set[str]) -> bool:
    """A row whose label cell is a column name and whose text cell is a column name or empty."""
    text, label = text.strip().lower(), label.strip().lower()
    return label in label_names and (text == "" or text in text_names)


def clean_table(table: RawTable) -> CleanTable:
    """Normalise every row of ``table``; drop (and count) headers, empty texts and labels."""
    out = CleanTable(
        table.path,
        table.group,
        table.split,
        [],
        rows_read=len(table.rows) + sum(d.count for d in table.dropped.values()),
        dropped={k: _copy(v) for k, v in table.dropped.items()},
        info=table.info,
    )
    text_names, label_names = _header_names(table)
    for row in table.rows:
        reason = None
        if is_repeated_header(row.text, row.label, text_names, label_names):
            reason = "repeated header"
        else:
            text, label = normalize_text(row.text), normalize_label(row.label)
            if not text:
                reason = "empty text"
            elif not label:
                reason = "empty label"
        if reason:
            preview = f"{row.text},{row.label}"
            out.dropped.setdefault(reason, DroppedRows(reason)).add(row.origin, preview)
            continue
        out.records.append(Record(text, label, table.group, row.origin))
    return out


def clean_tables(tables: list[RawTable]) -> tuple[list[CleanTable], dict[str, DroppedRows]]:
    """Clean every table; also return all drops merged by reason (first 5 examples each)."""
    cleaned = [clean_table(t) for t in tables]
    merged: dict[str, DroppedRows] = {}
    for table in cleaned:
        merge_dropped(merged, table.dropped)
    return cleaned, merged


def merge_dropped(into: dict[str, DroppedRows], more: dict[str, DroppedRows]) -> None:
    """Add ``more``'s counts and (up to 5) examples into ``into``, reason by reason."""
    for reason, rows in more.items():
        target = into.setdefault(reason, DroppedRows(reason))
        target.count += rows.count
        target.examples.extend(rows.examples[: max(0, 5 - len(target.examples))])


# Reasons in the order a reader meets them: file structure, then content, then splitting.
REASON_ORDER = (
    "repeated header",
    "blank line",
    "wrong number of fields",
    "missing field",
    "empty text",
    "empty label",
)


def dropped_to_dict(dropped: dict[str, DroppedRows]) -> dict[str, dict]:
    """JSON-ready form: reason -> {count, examples: [[origin, preview], ...]}."""

    def order(reason: str) -> int:
        return REASON_ORDER.index(reason) if reason in REASON_ORDER else len(REASON_ORDER)

    return {
        reason: {"count": d.count, "examples": [list(e) for e in d.examples]}
        for reason, d in sorted(dropped.items(), key=lambda item: order(item[0]))
        if d.count
    }


def _copy(rows: DroppedRows) -> DroppedRows:
    return DroppedRows(rows.reason, rows.count, list(rows.examples))
