"""The data layer: read a source, clean it, split it, guard against leakage, audit it.

``load_dataset(config)`` is what training and evaluation use; ``audit_dataset`` is
what ``lahan data check`` prints. Both go through the same read -> clean -> split
steps, so the audit describes exactly the data a model would see.
"""

from __future__ import annotations

from lahan.config import DataConfig
from lahan.data.audit import audit_dataset, render_audit
from lahan.data.clean import clean_tables, normalize_label, normalize_text
from lahan.data.read import read_source
from lahan.data.split import build_dataset
from lahan.data.types import SPLITS, Dataset, DroppedRows, Record


def load_dataset(config: DataConfig | str) -> Dataset:
    """Read, clean and split ``config.source`` (a str is taken as the source).

    Raises ``LahanError`` with a one-line, actionable message for unreadable input.
    ``Dataset.report`` says which files were read, what was dropped and why, how the
    splits were made and what the leakage guard removed.
    """
    if not isinstance(config, DataConfig):
        config = DataConfig(source=str(config))
    tables, dropped = clean_tables(read_source(config))
    return build_dataset(tables, dropped, config)


def data_summary(dataset: Dataset) -> dict:
    """What a model record keeps about its data: source, fingerprint, split sizes, report."""
    return {
        "fingerprint": dataset.fingerprint(),
        "labels": dataset.labels,
        "split_sizes": {name: len(rows) for name, rows in dataset.splits.items()},
        "report": dataset.report,
    }


__all__ = [
    "SPLITS",
    "Dataset",
    "DroppedRows",
    "Record",
    "audit_dataset",
    "data_summary",
    "load_dataset",
    "normalize_label",
    "normalize_text",
    "render_audit",
]
