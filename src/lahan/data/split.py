"""Train/dev/test splits and the leakage guard; ``build_dataset`` assembles a Dataset.

Split policy
------------
* The source gives ``train`` and at least one of dev/test: those splits are used.
  A missing dev is carved from train (seeded, stratified); a missing test stays
  missing.
* Otherwise (one file, only ``*_Valid.csv`` files, the demo corpus) every row goes into
  ONE pool that is split into train/dev/test with the configured ratios.

Pool splits are made over UNIQUE texts, stratified by each text's (majority) label,
and every copy of a text follows it to the same side. Splitting rows instead would
scatter the copies of a repeated headline over train and dev/test, and the leakage
guard would then delete them all from train; grouping keeps train intact and the
evaluation honest.

Stratification uses scikit-learn's ``train_test_split``. Classes with a single text
cannot be stratified: they stay in train (they could not be evaluated fairly anyway),
and when stratifying still fails the split falls back to a seeded random one. Each
such fallback is written to ``report["split_policy"]["notes"]``.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from lahan.config import DataConfig
from lahan.data.clean import CleanTable, dropped_to_dict, merge_dropped
from lahan.data.types import SPLITS, Dataset, DroppedRows, Record
from lahan.errors import LahanError

LEAK_REASON = "in dev/test (leakage guard)"
TRAIN_DUP_REASON = "duplicate within train"


def build_dataset(
    tables: list[CleanTable], dropped: dict[str, DroppedRows], config: DataConfig
) -> Dataset:
    """Cleaned tables -> Dataset: check labels, make splits, apply the guard, report it all."""
    records = [r for t in tables for r in t.records]
    _check_labels(records, tables, dropped, config)
    splits, policy = make_splits(tables, config)
    dropped = {k: DroppedRows(v.reason, v.count, list(v.examples)) for k, v in dropped.items()}
    leakage, guard_dropped = apply_leakage_guard(splits, config)
    merge_dropped(dropped, guard_dropped)
    if not splits["train"]:
        raise LahanError(
            f"no training rows left in {config.source} after the leakage guard: every train "
            "text also occurs in dev/test; check the files or pass --no-leakage-guard"
        )
    labels = sorted({r.label for split in splits.values() for r in split})
    dataset = Dataset(splits=splits, labels=labels)
    dataset.report = {
        "source": str(config.source),
        "files": [_file_entry(t) for t in tables],
        "dropped": dropped_to_dict(dropped),
        "split_policy": policy,
        "leakage": leakage,
        "sizes": {name: len(splits[name]) for name in SPLITS},
        "labels": labels,
        "config": config.to_dict(),
        "fingerprint": dataset.fingerprint(),
    }
    return dataset


def _file_entry(table: CleanTable) -> dict:
    return {
        "path": table.path,
        "group": table.group,
        "split": table.split,
        "rows_read": table.rows_read,
        "rows": len(table.records),
        "dropped": {reason: d["count"] for reason, d in dropped_to_dict(table.dropped).items()},
        **{k: v for k, v in table.info.items() if k in ("format", "delimiter")},
    }


def _check_labels(
    records: list[Record],
    tables: list[CleanTable],
    dropped: dict[str, DroppedRows],
    config: DataConfig,
) -> None:
    where = tables[0].path if len(tables) == 1 else str(config.source)
    if not records:
        why = ", ".join(f"{d.count} {reason}" for reason, d in dropped.items()) or "no rows"
        raise LahanError(f"no usable rows in {where} ({why}): check the file's contents")
    labels = {r.label for r in records}
    if len(labels) == 1:
        raise LahanError(
            f"found only one label '{labels.pop()}' in {where}: a classifier needs at least "
            "two; check --label-col or add rows of other classes"
        )


# --------------------------------------------------------------------------- splits


def make_splits(
    tables: list[CleanTable], config: DataConfig
) -> tuple[dict[str, list[Record]], dict]:
    """The train/dev/test records and a description of how they were made."""
    given = {t.split for t in tables}
    notes: list[str] = []
    policy: dict = {"seed": config.seed, "notes": notes}
    if "train" in given and given & {"dev", "test"}:
        splits = {
            name: [r for t in tables if t.split == name for r in t.records] for name in SPLITS
        }
        untagged = [r for t in tables if t.split is None for r in t.records]
        if untagged:
            splits["train"] += untagged
            notes.append(f"{len(untagged)} rows from files without a split name added to train")
        policy["mode"] = "given"
        text = "used the splits the source gives"
        if not splits["dev"]:
            splits["train"], splits["dev"] = split_grouped(
                splits["train"], config.dev_ratio, config.seed, notes, "dev"
            )
            policy["mode"] = "given+carved-dev"
            text += f"; carved dev ({config.dev_ratio:.0%} of train, stratified, grouped by text)"
        if not splits["test"]:
            text += "; the source has no test split"
        policy["description"] = text
        return splits, policy
    pool = [r for t in tables for r in t.records]
    splits = split_pool(pool, config, notes)
    present = [s for s in SPLITS if s in given]
    why = (
        f"the source gives only {'/'.join(present)}, not train plus dev or test"
        if present
        else "the source names no splits"
    )
    policy.update(
        mode="pooled",
        ratios={"dev": config.dev_ratio, "test": config.test_ratio},
        description=(
            f"{why}: pooled all {len(pool):,} rows and split them {_pct(config)} "
            f"(seed {config.seed}, stratified by label, copies of a text kept together)"
        ),
    )
    return splits, policy


def _pct(config: DataConfig) -> str:
    train = 1.0 - config.dev_ratio - config.test_ratio
    return f"{train:.0%}/{config.dev_ratio:.0%}/{config.test_ratio:.0%} train/dev/test"


def split_pool(pool: list[Record], config: DataConfig, notes: list[str]) -> dict[str, list[Record]]:
    """One pool -> train/dev/test, seeded, stratified, copies of a text together."""
    rest, test = split_grouped(pool, config.test_ratio, config.seed, notes, "test")
    dev_share = config.dev_ratio / (1.0 - config.test_ratio) if config.dev_ratio else 0.0
    train, dev = split_grouped(rest, dev_share, config.seed, notes, "dev")
    return {"train": train, "dev": dev, "test": test}


def split_grouped(
    records: list[Record], ratio: float, seed: int, notes: list[str], what: str
) -> tuple[list[Record], list[Record]]:
    """(rest, carved): about ``ratio`` of the unique texts, with all their copies, carved.

    Records keep their original order on both sides, so a split depends only on the
    data and the seed.
    """
    by_text: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_text[r.text].append(r)
    keys = list(by_text)
    strata = [_majority(by_text[k]) for k in keys]
    carved_keys = set(carve(keys, strata, ratio, seed, notes, what))
    rest = [r for r in records if r.text not in carved_keys]
    carved = [r for r in records if r.text in carved_keys]
    return rest, carved


def _majority(records: list[Record]) -> str:
    counts = Counter(r.label for r in records)
    return min(counts, key=lambda label: (-counts[label], label))


def carve(
    keys: list[str], strata: list[str], ratio: float, seed: int, notes: list[str], what: str
) -> list[str]:
    """``round(len(keys) * ratio)`` keys, stratified by ``strata`` when possible."""
    from sklearn.model_selection import train_test_split

    n_carve = round(len(keys) * ratio)
    if ratio <= 0 or n_carve == 0:
        if ratio > 0:
            notes.append(f"{what}: too few texts ({len(keys)}) to carve {ratio:.0%}; none carved")
        return []
    if n_carve >= len(keys):
        n_carve = len(keys) - 1
    counts = Counter(strata)
    rare = sorted(label for label, c in counts.items() if c < 2)
    if rare:
        notes.append(
            f"{what}: classes with a single text kept in train, not stratified: " + ", ".join(rare)
        )
        keep = [i for i, s in enumerate(strata) if s not in rare]
        keys = [keys[i] for i in keep]
        strata = [strata[i] for i in keep]
        n_carve = min(n_carve, len(keys) - 1)
        if n_carve <= 0:
            return []
    try:
        _, carved = train_test_split(keys, test_size=n_carve, random_state=seed, stratify=strata)
    except ValueError as err:
        notes.append(f"{what}: could not stratify ({err}); used a seeded random split")
        _, carved = train_test_split(keys, test_size=n_carve, random_state=seed)
    return list(carved)


# --------------------------------------------------------------------------- guard


def apply_leakage_guard(
    splits: dict[str, list[Record]], config: DataConfig
) -> tuple[dict, dict[str, DroppedRows]]:
    """Remove from train every text that occurs in dev or test (and, if asked, repeats).

    Returns the leakage report and the rows dropped, so both can be counted. With the
    guard off nothing is removed but the overlap is still counted and reported.
    """
    held_out = {r.text for name in ("dev", "test") for r in splits.get(name, [])}
    dev_texts = {r.text for r in splits.get("dev", [])}
    test_texts = {r.text for r in splits.get("test", [])}
    dropped: dict[str, DroppedRows] = {}
    leaked = DroppedRows(LEAK_REASON)
    kept: list[Record] = []
    for r in splits["train"]:
        if r.text in held_out:
            leaked.add(r.origin, r.text)
            if config.leakage_guard:
                continue
        kept.append(r)
    report = {
        "guard": config.leakage_guard,
        "train_rows_in_dev_or_test": leaked.count,
        "removed_from_train": leaked.count if config.leakage_guard else 0,
        "examples": [list(e) for e in leaked.examples],
        "dev_test_overlap": len(dev_texts & test_texts),
        "train_duplicates_dropped": 0,
    }
    if config.leakage_guard and leaked.count:
        dropped[LEAK_REASON] = leaked
    if config.drop_train_duplicates:
        seen: set[str] = set()
        dups = DroppedRows(TRAIN_DUP_REASON)
        unique: list[Record] = []
        for r in kept:
            if r.text in seen:
                dups.add(r.origin, r.text)
            else:
                seen.add(r.text)
                unique.append(r)
        kept = unique
        report["train_duplicates_dropped"] = dups.count
        if dups.count:
            dropped[TRAIN_DUP_REASON] = dups
    splits["train"] = kept
    return report, dropped
