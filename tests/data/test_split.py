"""Split policy, stratification, grouping of duplicates and the leakage guard."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lahan.config import DataConfig
from lahan.data import load_dataset
from lahan.errors import LahanError

LABELS = ["Auto", "Crime", "Sports", "Tech"]


def write_csv(path: Path, rows, header="text,label") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join([header] + [f"{t},{lab}" for t, lab in rows]) + "\n", encoding="utf-8"
    )
    return path


def pool_rows(per_label=50, copies=0):
    rows = [(f"बातमी {label} क्रमांक {i}", label) for label in LABELS for i in range(per_label)]
    rows += [(f"बातमी {LABELS[i % 4]} क्रमांक {i}", LABELS[i % 4]) for i in range(copies)]
    return rows


def load(source, **kw):
    return load_dataset(DataConfig(source=str(source), **kw))


def test_pool_split_is_seeded_reproducible_and_stratified(tmp_path):
    path = write_csv(tmp_path / "pool.csv", pool_rows(50))
    a, b = load(path, seed=7), load(path, seed=7)
    assert a.fingerprint() == b.fingerprint()
    assert load(path, seed=8).fingerprint() != a.fingerprint()
    assert [len(a.splits[s]) for s in ("train", "dev", "test")] == [160, 20, 20]
    for split in ("dev", "test"):
        assert Counter(r.label for r in a.splits[split]) == {label: 5 for label in LABELS}
    assert a.report["split_policy"]["mode"] == "pooled"
    assert a.labels == LABELS


def test_pool_keeps_copies_of_a_text_together(tmp_path):
    path = write_csv(tmp_path / "pool.csv", pool_rows(50, copies=40))
    ds = load(path)
    train = {r.text for r in ds.splits["train"]}
    held = {r.text for s in ("dev", "test") for r in ds.splits[s]}
    assert not train & held
    assert ds.report["leakage"]["train_rows_in_dev_or_test"] == 0
    assert sum(len(v) for v in ds.splits.values()) == 240  # nothing lost to the guard


def test_single_pool_from_valid_only_folder(tmp_path):
    write_csv(tmp_path / "SHC" / "SHC_Valid.csv", pool_rows(10))
    write_csv(tmp_path / "LPC" / "LPC_Valid.csv", [(f"{t} LPC", lab) for t, lab in pool_rows(10)])
    ds = load(tmp_path)
    assert ds.report["split_policy"]["mode"] == "pooled"
    assert all(ds.splits[s] for s in ("train", "dev", "test"))
    assert {r.group for r in ds.splits["train"]} == {"SHC", "LPC"}


def test_given_splits_and_leakage_guard(tmp_path):
    train = pool_rows(5) + [("हीच बातमी", "Auto"), ("हीच बातमी", "Auto"), ("दुसरी प्रत", "Tech")]
    write_csv(tmp_path / "train.csv", train)
    write_csv(tmp_path / "dev.csv", [("हीच बातमी", "Auto"), ("देव", "Crime")])
    write_csv(tmp_path / "test.csv", [("दुसरी\u00a0प्रत", "Tech"), ("टेस्ट", "Sports")])
    ds = load(tmp_path)
    assert ds.report["split_policy"]["mode"] == "given"
    assert len(ds.splits["train"]) == 20
    assert ds.report["leakage"]["removed_from_train"] == 3
    assert ds.report["dropped"]["in dev/test (leakage guard)"]["count"] == 3
    assert not {r.text for r in ds.splits["train"]} & {"हीच बातमी", "दुसरी प्रत"}
    off = load(tmp_path, leakage_guard=False)
    assert len(off.splits["train"]) == 23
    assert off.report["leakage"]["train_rows_in_dev_or_test"] == 3


def test_drop_train_duplicates(tmp_path):
    write_csv(tmp_path / "train.csv", pool_rows(5) + pool_rows(5)[:4])
    write_csv(tmp_path / "dev.csv", [("देव", "Crime"), ("देव 2", "Auto")])
    assert len(load(tmp_path).splits["train"]) == 24
    ds = load(tmp_path, drop_train_duplicates=True)
    assert len(ds.splits["train"]) == 20
    assert ds.report["dropped"]["duplicate within train"]["count"] == 4
    assert ds.report["leakage"]["train_duplicates_dropped"] == 4


def test_dev_carved_from_train_when_missing(tmp_path):
    write_csv(tmp_path / "x_Train.csv", pool_rows(20))
    write_csv(tmp_path / "x_Test.csv", [("टेस्ट", "Sports"), ("टेस्ट 2", "Auto")])
    ds = load(tmp_path, dev_ratio=0.25)
    assert ds.report["split_policy"]["mode"] == "given+carved-dev"
    assert len(ds.splits["dev"]) == 20 and len(ds.splits["train"]) == 60
    assert Counter(r.label for r in ds.splits["dev"]) == {label: 5 for label in LABELS}


def test_no_test_split_is_fine(tmp_path):
    write_csv(tmp_path / "train.csv", pool_rows(5))
    write_csv(tmp_path / "dev.csv", [("देव", "Crime"), ("देव 2", "Auto")])
    ds = load(tmp_path)
    assert ds.splits["test"] == []
    assert "no test split" in ds.report["split_policy"]["description"]


def test_tiny_classes_do_not_crash(tmp_path):
    rows = pool_rows(10) + [("एकटी बातमी", "Rare")]
    ds = load(write_csv(tmp_path / "tiny.csv", rows))
    assert "Rare" in ds.labels
    assert any("Rare" in note for note in ds.report["split_policy"]["notes"])
    assert [r.label for r in ds.splits["train"]].count("Rare") == 1
    # far too few rows per class to stratify dev and test: falls back, still splits
    ds = load(
        write_csv(tmp_path / "few.csv", [("a", "X"), ("b", "Y"), ("c", "X"), ("d", "Y")]),
        dev_ratio=0.25,
        test_ratio=0.25,
    )
    assert sum(len(v) for v in ds.splits.values()) == 4


def test_single_class_is_an_error(tmp_path):
    path = write_csv(tmp_path / "one.csv", [("a", "Auto"), ("b", "Auto")])
    with pytest.raises(LahanError) as err:
        load(path)
    assert str(err.value).startswith(f"found only one label 'Auto' in {path}: a classifier needs")


def test_demo_source_is_split_as_one_pool():
    pytest.importorskip("lahan.data.demo_corpus")
    ds = load("demo")
    assert ds.report["split_policy"]["mode"] == "pooled"
    assert {r.group for r in ds.splits["train"]} == {"demo"}
    assert ds.splits["train"][0].origin.startswith("demo:")
