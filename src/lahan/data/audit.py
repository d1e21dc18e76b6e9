"""The audit behind ``lahan data check``: what is in the data before anyone trusts a score.

It looks at every file as read (before pooling and splitting, so row counts match
the files on disk) and at every split as a model would see it: sizes, label
distributions, duplicates, texts with conflicting labels, overlap between files and
splits, mis-decoded (mojibake) text, lengths in characters and tokens, and every row
dropped on the way. Findings are reported, never fatal: an audit that stops at the
first problem hides the others.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

from lahan.config import DataConfig
from lahan.data.clean import CleanTable, clean_tables, dropped_to_dict
from lahan.data.read import read_source
from lahan.data.split import build_dataset
from lahan.data.types import SPLITS, Dataset, Record
from lahan.errors import LahanError

EXAMPLES = 5
NOT_DATA_ROWS = ("repeated header", "blank line")
# Devanagari UTF-8 read through a Cyrillic DOS code page (cp866) turns every letter
# into "р" + "д"/"е" + a Cyrillic letter or a box-drawing character: "рд╕реНрдЯ".
_MOJIBAKE_RUN = re.compile("[\u0400-\u04ff\u2500-\u257f]{4,}")
_BOX = re.compile("[\u2500-\u257f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def mojibake_run(text: str) -> str | None:
    """The first run of Cyrillic letters mixed with box-drawing characters, if any."""
    for match in _MOJIBAKE_RUN.finditer(text):
        run = match.group()
        if _BOX.search(run) and _CYRILLIC.search(run):
            return run
    return None


def repairable(text: str) -> bool:
    """Whether the text decodes back to UTF-8 through cp866, the usual culprit here."""
    try:
        text.encode("cp866").decode("utf-8")
    except UnicodeError:
        return False
    return True


def percentiles(values: list[int]) -> dict[str, int]:
    """p50/p90/p99/max by nearest rank: exact integers a reader can check by hand."""
    if not values:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0}
    ordered = sorted(values)

    def rank(q: int) -> int:
        return ordered[max(0, math.ceil(len(ordered) * q / 100) - 1)]

    return {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": ordered[-1]}


def _preview(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def text_stats(records: list[Record], token_lengths: dict[str, int] | None = None) -> dict:
    """Rows, labels, duplicates, conflicts, mojibake and lengths of one file or split."""
    labels_of: dict[str, Counter] = defaultdict(Counter)
    origins: dict[str, list[str]] = defaultdict(list)
    for r in records:
        labels_of[r.text][r.label] += 1
        origins[r.text].append(r.origin)
    conflicts = [t for t, c in labels_of.items() if len(c) > 1]
    mojibake = [(r, run) for r in records if (run := mojibake_run(r.text))]
    stats = {
        "rows": len(records),
        "labels": dict(sorted(Counter(r.label for r in records).items())),
        "unique_texts": len(labels_of),
        "duplicates": len(records) - len(labels_of),
        "conflicting_labels": {
            "count": len(conflicts),
            "examples": [
                {"text": _preview(t), "labels": dict(labels_of[t]), "origins": origins[t][:3]}
                for t in conflicts[:EXAMPLES]
            ],
        },
        "mojibake": {
            "count": len(mojibake),
            "repairable_cp866": sum(repairable(r.text) for r, _ in mojibake),
            "examples": [
                {"origin": r.origin, "preview": _preview(run, 40)} for r, run in mojibake[:EXAMPLES]
            ],
        },
        "length_chars": percentiles([len(r.text) for r in records]),
    }
    if token_lengths is not None:
        stats["length_tokens"] = percentiles([token_lengths[r.text] for r in records])
    return stats


def token_lengths(texts: list[str], tokenizer) -> dict[str, int]:
    """Tokens per unique text (special tokens included, no truncation)."""
    unique = list(dict.fromkeys(texts))
    lengths: dict[str, int] = {}
    quiet = logging.getLogger("transformers.tokenization_utils_base")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "longer than the model's maximum" is what we measure
    try:
        for start in range(0, len(unique), 512):
            batch = unique[start : start + 512]
            ids = tokenizer(batch, add_special_tokens=True, truncation=False)["input_ids"]
            lengths.update((t, len(i)) for t, i in zip(batch, ids, strict=True))
    finally:
        quiet.setLevel(level)
    return lengths


def _overlaps(named: dict[str, set[str]]) -> list[dict]:
    return [
        {"a": a, "b": b, "shared_texts": len(named[a] & named[b])}
        for a, b in combinations(named, 2)
    ]


def _short_name(path: str, source: str) -> str:
    try:
        return str(Path(path).relative_to(source)) if os.path.isdir(source) else Path(path).name
    except ValueError:
        return path


def _tables_from_dataset(dataset: Dataset) -> list[CleanTable]:
    """Per-file views rebuilt from a loaded Dataset (after splitting and the guard)."""
    by_file: dict[str, list[Record]] = defaultdict(list)
    for name in SPLITS:
        for r in dataset.splits.get(name, []):
            by_file[r.origin.rsplit(":", 1)[0]].append(r)
    return [
        CleanTable(path, recs[0].group, None, recs, len(recs)) for path, recs in by_file.items()
    ]


def audit_dataset(data: Dataset | DataConfig | str | os.PathLike, tokenizer=None) -> dict:
    """Audit a source (path, id, DataConfig) as read and as split, or a loaded Dataset.

    Only unreadable input raises; everything else (one class, leakage, mojibake)
    becomes a finding so the whole picture is reported at once.
    """
    problems: list[str] = []
    if isinstance(data, Dataset):
        dataset, source = data, str(data.report.get("source", ""))
        tables = _tables_from_dataset(dataset)
        dropped = dict(data.report.get("dropped", {}))
    else:
        config = data if isinstance(data, DataConfig) else DataConfig(source=os.fspath(data))
        source = str(config.source)
        tables, dropped_rows = clean_tables(read_source(config))
        try:
            dataset = build_dataset(tables, dropped_rows, config)
            dropped = dataset.report["dropped"]
        except LahanError as err:
            dataset, dropped = None, dropped_to_dict(dropped_rows)
            problems.append(f"cannot be used for training: {err}")
    every = [r for t in tables for r in t.records]
    if dataset is not None:
        every += [r for name in SPLITS for r in dataset.splits.get(name, [])]
    lengths = token_lengths([r.text for r in every], tokenizer) if tokenizer else None
    files = []
    for t in tables:
        entry = {
            "name": _short_name(t.path, source),
            "path": t.path,
            "group": t.group,
            "split": t.split,
            "rows_read": t.rows_read,
            "dropped": {k: d["count"] for k, d in dropped_to_dict(t.dropped).items()},
        }
        entry.update(text_stats(t.records, lengths))
        # "rows" of a file: its data rows as a person counts them (no header copies or
        # blank lines); "usable": those that survived cleaning (non-empty text and label).
        entry["usable"] = entry["rows"]
        entry["rows"] = t.rows_read - sum(entry["dropped"].get(r, 0) for r in NOT_DATA_ROWS)
        files.append(entry)
    audit: dict = {
        "source": source,
        "files": files,
        "overall": text_stats([r for t in tables for r in t.records], lengths),
        "dropped": dropped,
        "overlap": {
            "files": _overlaps(
                {f["name"]: {r.text for r in t.records} for f, t in zip(files, tables, strict=True)}
            ),
        },
        "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer else None,
    }
    if dataset is not None:
        audit["labels"] = dataset.labels
        audit["splits"] = {n: text_stats(dataset.splits.get(n, []), lengths) for n in SPLITS}
        audit["overlap"]["splits"] = _overlaps(
            {n: {r.text for r in dataset.splits.get(n, [])} for n in SPLITS}
        )
        audit["split_policy"] = dataset.report.get("split_policy")
        audit["leakage"] = dataset.report.get("leakage")
    else:
        audit["labels"] = sorted({r.label for r in every})
    audit["findings"] = problems + findings(audit)
    return audit


def findings(audit: dict) -> list[str]:
    """One plain sentence per thing a user should look at, most serious first."""
    out: list[str] = []
    for f in audit["files"]:
        moj = f["mojibake"]
        if moj["count"]:
            ex = moj["examples"][0]
            out.append(
                f"{f['name']}: {moj['count']:,} texts look mis-decoded (Devanagari read as a "
                f"Cyrillic code page), e.g. {_origin_tail(ex['origin'])} '{ex['preview']}'; "
                f"{moj['repairable_cp866']:,} of them decode back with "
                "text.encode('cp866').decode('utf-8'): fix them at the source or drop them"
            )
    overall = audit["overall"]
    conf = overall["conflicting_labels"]
    if conf["count"]:
        ex = conf["examples"][0]
        out.append(
            f"{conf['count']:,} texts occur with different labels, "
            f"e.g. '{_preview(ex['text'], 40)}' {ex['labels']}: "
            "such rows cap the accuracy any model can reach"
        )
    if overall["duplicates"]:
        out.append(f"{overall['duplicates']:,} extra copies of texts across all files")
    for o in audit["overlap"]["files"]:
        if o["shared_texts"]:
            out.append(f"{o['shared_texts']:,} texts occur in both {o['a']} and {o['b']}")
    for reason, d in audit["dropped"].items():
        ex = d["examples"][0][0] if d["examples"] else ""
        out.append(f"{d['count']:,} {drop_phrase(reason)} dropped (e.g. {_origin_tail(ex)})")
    leakage = audit.get("leakage") or {}
    if leakage.get("train_rows_in_dev_or_test") and not leakage.get("guard"):
        out.append(
            f"{leakage['train_rows_in_dev_or_test']:,} train rows also occur in dev/test "
            "and were kept (leakage guard off): scores will be optimistic"
        )
    return out


def drop_phrase(reason: str) -> str:
    """'repeated header' -> 'repeated header rows' for human sentences."""
    return {
        "wrong number of fields": "rows with the wrong number of fields",
        "missing field": "rows missing the text or label field",
        "blank line": "blank lines",
        "in dev/test (leakage guard)": "train rows whose text is in dev/test (leakage guard)",
        "duplicate within train": "duplicate train rows",
    }.get(reason, f"{reason} rows")


def _origin_tail(origin: str) -> str:
    """'/long/path/SHC/SHC_Valid.csv:210' -> 'SHC_Valid.csv:210'."""
    return origin.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- text


def _table(headers: list[str], rows: list[list], indent: str = "  ") -> list[str]:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        bool(rows) and all(isinstance(row[i], int) for row in rows) for i in range(len(headers))
    ]
    lines = []
    for r in cells:
        parts = [
            c.rjust(w) if numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append((indent + "  ".join(parts)).rstrip())
    return lines


def _fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def _lengths(stats: dict, key: str) -> str:
    p = stats.get(key)
    return "-" if p is None else f"{p['p50']}/{p['p90']}/{p['p99']}/{p['max']}"


def _stat_row(name: str, stats: dict, with_tokens: bool) -> list:
    row = [
        name,
        stats["rows"],
        len(stats["labels"]),
        stats["duplicates"],
        stats["conflicting_labels"]["count"],
        stats["mojibake"]["count"],
        _lengths(stats, "length_chars"),
    ]
    return row + [_lengths(stats, "length_tokens")] if with_tokens else row


def render_audit(audit: dict) -> str:
    """The audit as compact text tables for a terminal."""
    tok = audit.get("tokenizer") is not None
    head = ["", "rows", "labels", "dup copies", "conflicts", "mojibake", "chars p50/p90/p99/max"]
    head += ["tokens p50/p90/p99/max"] if tok else []
    out = [f"data: {audit['source']}", ""]
    out.append("files (as read, before splitting)")
    for f in audit["files"]:
        drops = ", ".join(f"{n:,} {drop_phrase(r)} dropped" for r, n in f["dropped"].items())
        given = f", split {f['split']}" if f["split"] else ""
        out.append(
            f"  {f['name']} (group {f['group']}{given}): {f['rows']:,} rows, "
            f"{f['usable']:,} usable, {len(f['labels'])} labels" + (f"; {drops}" if drops else "")
        )
    out.append("")
    file_rows = [_stat_row(f["name"], f | {"rows": f["usable"]}, tok) for f in audit["files"]]
    out += _table(
        ["file", "usable"] + head[2:], file_rows + [_stat_row("all files", audit["overall"], tok)]
    )
    splits = audit.get("splits")
    if splits:
        out += ["", "splits (what a model sees)"]
        policy = audit.get("split_policy") or {}
        if policy.get("description"):
            out.append(f"  {policy['description']}")
        out += [f"  note: {n}" for n in policy.get("notes", [])]
        out += _table(["split"] + head[1:], [_stat_row(n, s, tok) for n, s in splits.items()])
    out += ["", "labels"] + _label_table(audit)
    overlaps = audit["overlap"]["files"] + audit["overlap"].get("splits", [])
    if overlaps:
        out += ["", "overlap (unique texts in both)"]
        out += _table(["a", "b", "shared"], [[o["a"], o["b"], o["shared_texts"]] for o in overlaps])
    out += _leakage_lines(audit.get("leakage"))
    if audit["dropped"]:
        out += ["", "dropped rows"]
        for reason, d in audit["dropped"].items():
            out.append(f"  {d['count']:,} {drop_phrase(reason)} dropped")
            out += [f"    {_origin_tail(o)}  {p!r}" for o, p in d["examples"]]
    out += _example_lines(audit)
    out += ["", "findings"] + ([f"  - {x}" for x in audit["findings"]] or ["  none"])
    return "\n".join(out) + "\n"


def _label_table(audit: dict) -> list[str]:
    columns = [(f["name"].rsplit("/", 1)[-1], f["labels"]) for f in audit["files"]]
    columns += [(n, s["labels"]) for n, s in (audit.get("splits") or {}).items()]
    rows = [[label] + [counts.get(label, 0) for _, counts in columns] for label in audit["labels"]]
    return _table(["label"] + [name for name, _ in columns], rows)


def _leakage_lines(leakage: dict | None) -> list[str]:
    if not leakage:
        return []
    verb = "removed from train" if leakage["guard"] else "kept in train (guard off)"
    lines = [
        "",
        "leakage guard " + ("on" if leakage["guard"] else "OFF"),
        f"  {leakage['train_rows_in_dev_or_test']:,} train rows whose text is in dev/test: {verb}",
        f"  {leakage['dev_test_overlap']:,} texts shared by dev and test",
    ]
    if leakage.get("train_duplicates_dropped"):
        lines.append(f"  {leakage['train_duplicates_dropped']:,} duplicate train rows dropped")
    return lines


def _example_lines(audit: dict) -> list[str]:
    lines: list[str] = []
    conf = audit["overall"]["conflicting_labels"]
    if conf["count"]:
        lines += ["", f"conflicting labels ({conf['count']:,} texts), e.g."]
        lines += [
            f"  {ex['labels']}  {ex['text']!r}  ({_origin_tail(ex['origins'][0])})"
            for ex in conf["examples"]
        ]
    moj = audit["overall"]["mojibake"]
    if moj["count"]:
        lines += ["", f"suspected mojibake ({moj['count']:,} texts), e.g."]
        lines += [f"  {_origin_tail(ex['origin'])}  {ex['preview']!r}" for ex in moj["examples"]]
    return lines
