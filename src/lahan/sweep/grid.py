"""Experiment grids: the paper's, or one read from a TOML/YAML file.

A row is one configuration. ``train`` rows run `lahan compress` (pruning and/or
distillation, in fp32); ``derive`` rows take a finished row's model and change how it
runs (a precision, torch int8, ONNX, ONNX int8) without training again. On a CPU,
mixed precision is applied at inference to the fp32-trained row (bf16 training is
slower than fp32 there); fp16 rows are skipped without a CUDA GPU, and say why. Every
grid also has a ``reference`` row: a TF-IDF + linear SVM trained on the same split and
measured like the others, so the report shows when a cheap model is enough.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lahan.errors import LahanError, OptionError

LEVELS = (0.25, 0.5, 0.75)
PRECISIONS = ("fp16", "bf16")
RUNTIMES = ("torch", "onnx")
BEST_ROWS = 3  # int8 / ONNX variants of this many best rows
REFERENCE_ROW = "reference"  # the TF-IDF + linear SVM every grid is measured against


@dataclass
class Row:
    id: str
    prune: float | None = None
    distill: bool = False
    student: str | None = None
    precision: str = "fp32"  # fp32 | fp16 | bf16 | int8
    runtime: str = "torch"  # torch | onnx
    padding: str = "dynamic"  # dynamic | fixed (every batch padded to the max length)
    derive_from: str | None = None  # a row id: reuse its model
    skip: str | None = None  # why this row cannot run here
    # a TF-IDF + linear SVM trained on the same split (lahan.reference), not a transformer
    reference: bool = False

    def __post_init__(self) -> None:
        if self.prune is not None and not 0 < self.prune < 1:
            raise LahanError(f"row '{self.id}': prune must be in (0, 1), got {self.prune}")
        if self.precision not in ("fp32", "fp16", "bf16", "int8"):
            raise LahanError(f"row '{self.id}': unknown precision '{self.precision}'")
        if self.runtime not in RUNTIMES:
            raise LahanError(f"row '{self.id}': runtime must be torch or onnx")
        if self.runtime == "onnx" and self.precision not in ("fp32", "int8"):
            raise LahanError(f"row '{self.id}': ONNX rows are fp32 or int8")
        if self.padding not in ("dynamic", "fixed"):
            raise LahanError(f"row '{self.id}': padding must be dynamic or fixed")
        if self.padding == "fixed" and self.runtime == "onnx":
            raise LahanError(f"row '{self.id}': fixed padding is for torch rows")
        if self.student and not self.distill:
            raise LahanError(f"row '{self.id}': a student needs distill = true")
        plain = (self.prune, self.distill, self.derive_from, self.precision, self.runtime)
        if self.reference and plain != (None, False, None, "fp32", "torch"):
            raise LahanError(
                f"row '{self.id}': a reference row is the TF-IDF + linear SVM as it is; "
                "give it no prune, distill, derive_from, precision or runtime"
            )

    @property
    def trains(self) -> bool:
        return self.derive_from is None and (self.prune is not None or self.distill)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Grid:
    rows: list[Row] = field(default_factory=list)
    # add int8 / ONNX variants of the best rows at the end (the paper grid does; a grid
    # file only with `best_variants = true`)
    best_variants: bool = True
    # measure the TF-IDF + linear SVM too, as a row (every grid does, unless a grid file
    # says `reference = false`): so a report says when a cheap model is enough
    reference: bool = True

    def __post_init__(self) -> None:
        if self.reference and not any(r.reference for r in self.rows):
            if any(r.id == REFERENCE_ROW for r in self.rows):
                raise LahanError(
                    f"grid: row id '{REFERENCE_ROW}' names the TF-IDF + linear SVM row every "
                    "grid gets: rename your row, or add `reference = false` to leave the SVM out"
                )
            self.rows.append(Row(REFERENCE_ROW, reference=True))
        ids = [r.id for r in self.rows]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise LahanError(f"grid: row ids must be unique, repeated: {sorted(dupes)}")
        known = set(ids)
        for r in self.rows:
            if r.derive_from and r.derive_from not in known:
                raise LahanError(f"row '{r.id}' derives from unknown row '{r.derive_from}'")


def paper_grid(cuda: bool, student: str = "layers:half") -> Grid:
    """The paper's grid, each method alone and in combination, plus the baseline, and the
    baseline padded to the max length as paper-style baselines run."""
    rows = [Row("baseline"), Row("baseline+padded", padding="fixed", derive_from="baseline")]
    rows += [Row(f"prune{int(p * 100)}", prune=p) for p in LEVELS]
    rows += [Row("kd", distill=True, student=student)]
    rows += [Row(f"prune{int(p * 100)}+kd", prune=p, distill=True) for p in LEVELS]
    trained = ["baseline", *(f"prune{int(p * 100)}" for p in LEVELS), "kd"]
    trained += [f"prune{int(p * 100)}+kd" for p in LEVELS]
    for precision in PRECISIONS:
        skip = None if cuda or precision == "bf16" else "fp16 needs a CUDA GPU; none here"
        for base in trained:
            rows.append(
                Row(f"{base}+{precision}", precision=precision, derive_from=base, skip=skip)
            )
    return Grid(rows)


def load_grid(spec: str, cuda: bool) -> Grid:
    """``paper`` or a TOML/YAML file: ``[[rows]]`` tables with Row's fields."""
    if spec == "paper":
        return paper_grid(cuda)
    path = Path(spec)
    if not path.is_file():
        raise OptionError("grid", f" '{spec}': not 'paper' and no such file")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise OptionError("grid", f" '{spec}': use a .toml or .yaml file")
    except (tomllib.TOMLDecodeError, ValueError) as err:
        raise OptionError("grid", f" '{spec}' could not be parsed: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise OptionError("grid", f" '{spec}': expected a list of rows under 'rows'")
    rows = []
    for i, raw in enumerate(data["rows"]):
        if not isinstance(raw, dict) or "id" not in raw:
            raise OptionError("grid", f" '{spec}': row {i + 1} needs an 'id'")
        unknown = set(raw) - set(Row.__dataclass_fields__)
        if unknown:
            raise OptionError(
                "grid", f" '{spec}': row '{raw['id']}' has unknown keys {sorted(unknown)}"
            )
        rows.append(Row(**raw))
    for row in rows:
        if row.precision == "fp16" and not cuda and not row.skip:
            row.skip = "fp16 needs a CUDA GPU; none here"
    # a custom grid runs the rows it lists; int8/ONNX variants only when it asks for them
    return Grid(
        rows,
        best_variants=bool(data.get("best_variants", False)),
        reference=bool(data.get("reference", True)),
    )


def variant_rows(best: list[str]) -> list[Row]:
    """Beyond the paper: torch int8, ONNX and ONNX int8 of the best rows."""
    rows = []
    for base in best:
        rows += [
            Row(f"{base}+int8", precision="int8", derive_from=base),
            Row(f"{base}+onnx", runtime="onnx", derive_from=base),
            Row(f"{base}+onnx-int8", runtime="onnx", precision="int8", derive_from=base),
        ]
    return rows
