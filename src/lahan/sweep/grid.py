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
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lahan.config import (
    INFERENCE_PRECISIONS,
    CompressConfig,
    ConfigError,
    DataConfig,
    DistillConfig,
    PruneConfig,
    TrainConfig,
    TrimConfig,
    flag_of,
)
from lahan.errors import LahanError, OptionError

LEVELS = (0.25, 0.5, 0.75)
MIXED_PRECISIONS = ("fp16", "bf16")  # the paper grid's mixed-precision rows
RUNTIMES = ("torch", "onnx")
BEST_ROWS = 3  # int8 / ONNX variants of this many best rows
REFERENCE_ROW = "reference"  # the TF-IDF + linear SVM every grid is measured against
# a row's parts: partial configs of `lahan compress`, each read with its config's own checks
ROW_PARTS = {
    "prune": PruneConfig,
    "distill": DistillConfig,
    "train": TrainConfig,
    "trim": TrimConfig,
}


def _on(value: bool | dict) -> bool:
    """A distill / trim part is on when true or a table of fields (an empty one included)."""
    return value is True or isinstance(value, dict)


def _flag_value(cls: type, name: str, value: Any) -> Any:
    """A row's value read as its flag reads text: ``block = "16x16"`` through the flag's
    parser, a single file for a repeatable one (``text_files = "a.txt"``) as a tuple."""
    spec = flag_of(cls, name)
    if spec is None or not isinstance(value, str):
        return value
    if spec.repeat:
        return (value,)
    return spec.parse(value) if spec.parse else value


def _part(row_id: str, part: str, values: dict, required: tuple[str, ...] = ()) -> Any:
    """``values`` as the config of ``part`` (PruneConfig for "prune", ...), refusing keys
    it does not have and values its own checks refuse, with the row named."""
    cls = ROW_PARTS[part]
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise LahanError(
            f"row '{row_id}': {part} has unknown keys {unknown}; it takes {', '.join(names)}"
        )
    missing = [k for k in required if k not in values]
    if missing:
        raise LahanError(f"row '{row_id}': {part} needs {', '.join(missing)}")
    try:
        return cls(**{k: _flag_value(cls, k, v) for k, v in values.items()})
    except ConfigError as err:
        raise LahanError(f"row '{row_id}': {part}.{err.field} {err.problem}") from err
    except (TypeError, ValueError) as err:
        raise LahanError(f"row '{row_id}': {part}: {err}") from err


@dataclass
class Row:
    """One configuration. ``prune``, ``distill``, ``train`` and ``trim`` are partial
    `lahan compress` configs: ``prune = 0.5`` or a table of PruneConfig's fields
    (``{sparsity = 0.5, method = "taylor"}``), ``distill = true`` or DistillConfig's
    fields, ``train`` TrainConfig's fields over the sweep's own, ``trim = true`` or
    TrimConfig's fields. Whatever `compress` can say, a row can."""

    id: str
    prune: float | dict | None = None
    distill: bool | dict = False
    student: str | None = None
    train: dict | None = None  # TrainConfig fields over the sweep's training options
    trim: bool | dict = False  # vocabulary trimming (TrimConfig fields; on when given)
    precision: str = "fp32"  # fp32 | fp16 | bf16 | int8
    runtime: str = "torch"  # torch | onnx
    padding: str = "dynamic"  # dynamic | fixed (every batch padded to the max length)
    derive_from: str | None = None  # a row id: reuse its model
    skip: str | None = None  # why this row cannot run here
    # a TF-IDF + linear SVM trained on the same split (lahan.reference), not a transformer
    reference: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.prune, (int, float)) and not isinstance(self.prune, bool):
            if not 0 < self.prune < 1:
                raise LahanError(f"row '{self.id}': prune must be in (0, 1), got {self.prune}")
        elif self.prune is not None and not isinstance(self.prune, dict):
            raise LahanError(
                f"row '{self.id}': prune is a sparsity in (0, 1) or a table of PruneConfig "
                f"fields, got {self.prune!r}"
            )
        for name in ("distill", "trim"):
            if not isinstance(getattr(self, name), (bool, dict)):
                raise LahanError(f"row '{self.id}': {name} is true/false or a table of fields")
        if self.train is not None and not isinstance(self.train, dict):
            raise LahanError(f"row '{self.id}': train is a table of TrainConfig fields")
        if self.precision not in INFERENCE_PRECISIONS:
            raise LahanError(
                f"row '{self.id}': precision must be one of {', '.join(INFERENCE_PRECISIONS)}, "
                f"got '{self.precision}'"
            )
        if self.runtime not in RUNTIMES:
            raise LahanError(f"row '{self.id}': runtime must be torch or onnx")
        if self.runtime == "onnx" and self.precision not in ("fp32", "int8"):
            raise LahanError(f"row '{self.id}': ONNX rows are fp32 or int8")
        if self.padding not in ("dynamic", "fixed"):
            raise LahanError(f"row '{self.id}': padding must be dynamic or fixed")
        if self.padding == "fixed" and self.runtime == "onnx":
            raise LahanError(f"row '{self.id}': fixed padding is for torch rows")
        if self.student and not _on(self.distill):
            raise LahanError(f"row '{self.id}': a student needs distill = true")
        made = (
            self.prune is not None or _on(self.distill) or _on(self.trim) or self.train is not None
        )
        if self.derive_from and made:
            raise LahanError(
                f"row '{self.id}': a derived row reuses '{self.derive_from}''s model as it is; "
                "give it no prune, distill, train or trim (make a row of its own instead)"
            )
        if self.train is not None and self.prune is None and not _on(self.distill):
            raise LahanError(
                f"row '{self.id}': train options are for a row that trains: give it prune "
                "or distill too"
            )
        plain = (self.derive_from, self.precision, self.runtime)
        if self.reference and (made or plain != (None, "fp32", "torch")):
            raise LahanError(
                f"row '{self.id}': a reference row is the TF-IDF + linear SVM as it is; "
                "give it no prune, distill, train, trim, derive_from, precision or runtime"
            )
        self.parts()  # every part checked now, not hours into the sweep

    def parts(self, granularity: str | None = None) -> dict[str, Any]:
        """The row's configs: ``prune`` (PruneConfig or None), ``distill`` (DistillConfig
        or None), ``trim`` (TrimConfig) and ``train`` (the TrainConfig fields it sets).
        ``granularity``: the sweep's, for prune tables that do not say theirs."""
        prune = None
        if self.prune is not None:
            values = self.prune if isinstance(self.prune, dict) else {"sparsity": self.prune}
            if granularity is not None:
                values = {"granularity": granularity, **values}
            prune = _part(self.id, "prune", values, required=("sparsity",))
            if not 0 < prune.sparsity < 1:
                raise LahanError(
                    f"row '{self.id}': prune.sparsity must be in (0, 1), got {prune.sparsity}"
                )
        distill = None
        if _on(self.distill):
            distill = _part(
                self.id, "distill", self.distill if isinstance(self.distill, dict) else {}
            )
        trim = TrimConfig()
        if _on(self.trim):
            values = self.trim if isinstance(self.trim, dict) else {}
            trim = _part(self.id, "trim", {"enabled": True, **values})
        train = dict(self.train or {})
        _part(self.id, "train", train)  # its values checked alone; merged in compress_config
        return {"prune": prune, "distill": distill, "trim": trim, "train": train}

    def compress_config(
        self,
        *,
        teacher: str,
        data: DataConfig,
        out: str,
        train: TrainConfig,
        granularity: str,
        cache_dir: str,
        resume: bool = False,
    ) -> CompressConfig:
        """The `lahan compress` run that makes this row's model."""
        parts = self.parts(granularity)
        distill = parts["distill"]
        if distill is not None and distill.cache_dir is None:
            distill = replace(distill, cache_dir=cache_dir)
        try:
            return CompressConfig(
                teacher=teacher,
                data=data,
                out=out,
                train=replace(train, **parts["train"]),
                prune=parts["prune"],
                distill=distill,
                student=self.student,
                trim=parts["trim"],
                resume=resume,
            )
        except ConfigError as err:
            raise LahanError(f"row '{self.id}': {err.owner}.{err.field} {err.problem}") from err
        except LahanError as err:
            raise LahanError(f"row '{self.id}': {err}") from err

    @property
    def makes(self) -> bool:
        """It makes a model of its own with `lahan compress` (trains or trims)."""
        made = self.prune is not None or _on(self.distill) or _on(self.trim)
        return self.derive_from is None and not self.reference and made

    @property
    def trains(self) -> bool:
        return self.makes and (self.prune is not None or _on(self.distill))

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
    for precision in MIXED_PRECISIONS:
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
        trains_fp16 = (row.train or {}).get("precision") == "fp16"
        if (row.precision == "fp16" or trains_fp16) and not cuda and not row.skip:
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
