"""The data layer's shared types: what a loaded dataset looks like to the rest of lahan."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Record:
    """One labelled text after cleaning."""

    text: str
    label: str
    group: str  # sub-dataset it came from: "SHC", "LPC", a file stem, or "demo"
    origin: str  # where it was read: "path:line" (1-based, header is line 1)


@dataclass
class DroppedRows:
    """Rows removed for one reason: the count and a few examples (origin, preview)."""

    reason: str
    count: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)

    def add(self, origin: str, preview: str, keep: int = 5) -> None:
        self.count += 1
        if len(self.examples) < keep:
            self.examples.append((origin, preview[:80]))


@dataclass
class Dataset:
    """Labelled splits ready for training: ``splits`` maps train/dev/test to records.

    ``labels`` is the sorted label set over all splits; ``label_ids`` maps each label
    to its index. ``report`` holds what loading did (files read, rows dropped, how
    the splits were made, leakage removed) so commands can print and record it.
    """

    splits: dict[str, list[Record]]
    labels: list[str]
    report: dict = field(default_factory=dict)

    @property
    def label_ids(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def texts(self, split: str) -> list[str]:
        return [r.text for r in self.split(split)]

    def targets(self, split: str) -> list[int]:
        ids = self.label_ids
        return [ids[r.label] for r in self.split(split)]

    def split(self, name: str) -> list[Record]:
        from lahan.errors import LahanError

        if name not in self.splits or not self.splits[name]:
            have = ", ".join(s for s in SPLITS if self.splits.get(s)) or "none"
            raise LahanError(f"the dataset has no '{name}' split (it has: {have})")
        return self.splits[name]

    def fingerprint(self) -> str:
        """A short hash of every split's texts and labels, in order."""
        h = hashlib.sha256()
        for name in SPLITS:
            for r in self.splits.get(name, []):
                h.update(f"{name}\t{r.label}\t{r.text}\n".encode())
        return h.hexdigest()[:16]
