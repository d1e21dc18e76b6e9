"""Checks on the real L3Cube-MahaNews files, where they are present (read-only).

The data lives outside the repository, at ../shared/data/mahanews relative to the
checkout (override with LAHAN_MAHANEWS); these tests skip where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lahan.cli import main
from lahan.config import DataConfig
from lahan.data import audit_dataset, load_dataset

pytestmark = pytest.mark.realdata

MAHANEWS = Path(
    os.environ.get("LAHAN_MAHANEWS") or Path(__file__).resolve().parents[3] / "shared/data/mahanews"
)


def need(*parts: str) -> Path:
    path = MAHANEWS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real MahaNews data not found at {path} (set LAHAN_MAHANEWS to its folder)")
    return path


@pytest.fixture(scope="module")
def audit():
    need()
    return audit_dataset(DataConfig(source=str(MAHANEWS)))


@pytest.mark.parametrize("name", ["SHC/SHC_Valid.csv", "LPC/LPC_Valid.csv"])
def test_each_file_has_2750_rows_after_11_repeated_headers(audit, name):
    need(name)
    entry = next(f for f in audit["files"] if f["name"] == name)
    assert entry["rows"] == 2750
    assert entry["dropped"]["repeated header"] == 11
    assert len(entry["labels"]) == 12
    # LPC also has rows whose text cell is empty; they are dropped and counted, not hidden
    assert entry["usable"] == 2750 - entry["dropped"].get("empty text", 0)


def test_shc_has_no_empty_rows_and_shows_mojibake(audit):
    need("SHC", "SHC_Valid.csv")
    shc = next(f for f in audit["files"] if f["name"] == "SHC/SHC_Valid.csv")
    assert shc["usable"] == 2750
    assert shc["mojibake"]["count"] > 0


def test_pooled_load_has_three_splits_without_leakage():
    need()
    ds = load_dataset(DataConfig(source=str(MAHANEWS)))
    assert len(ds.labels) == 12
    assert ds.report["split_policy"]["mode"] == "pooled"
    assert all(ds.splits[s] for s in ("train", "dev", "test"))
    train = {r.text for r in ds.splits["train"]}
    held = {r.text for s in ("dev", "test") for r in ds.splits[s]}
    assert not train & held


def test_subset_shc_only():
    need("SHC")
    ds = load_dataset(DataConfig(source=str(MAHANEWS), subsets=("SHC",)))
    assert {r.group for s in ds.splits.values() for r in s} == {"SHC"}
    assert sum(len(s) for s in ds.splits.values()) == 2750


def test_cli_reports_2750_rows(capsys):
    need("SHC", "SHC_Valid.csv")
    assert main(["data", "check", str(MAHANEWS)]) == 0
    out = capsys.readouterr().out
    assert "SHC/SHC_Valid.csv (group SHC, split dev): 2,750 rows" in out
    assert "11 repeated header rows dropped" in out
