"""Typed records: what lahan writes about a run, and reads back, in one place.

The files that carry results between commands each have one class here:

- ``ModelRecord``: a model folder's ``lahan.json`` (how it was made: configs, data,
  training, dev scores; for ``compress`` also teacher, student, structure, speed);
- ``CompressResult``: a compressed folder's ``result.json``, the one-row summary;
- ``EvaluateReport``: what ``lahan evaluate`` measured on a split (its ``--json``);
- ``BenchReport`` / ``BenchMeasurement``: what ``lahan bench`` measured, per model;
- ``SweepRow``: one line of a sweep's ``results.jsonl``.

``from_dict`` reads what any lahan version wrote: fields it does not know are kept in
``extra`` and written back unchanged, missing ones read as ``None``. ``to_dict`` gives
the same JSON as the dicts these classes replaced (a ``None`` optional field is left
out, as those dicts left it out). Nested parts whose keys vary with the data (metrics
per split, figures per sub-dataset, machine facts) stay plain dicts.

Standard library only (core layer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

from lahan.config import from_record
from lahan.errors import LahanError
from lahan.io import RECORD_FILE, atomic_write_json

RESULT_FILE = "result.json"


@dataclass
class _Record:
    """Shared reading and writing: known fields typed, unknown ones kept in ``extra``."""

    # Fields written even when None, as the dicts these classes replaced wrote them.
    _ALWAYS: ClassVar[tuple[str, ...]] = ()
    # Fields that live on the object only, never in its file.
    _TRANSIENT: ClassVar[tuple[str, ...]] = ()
    # The keys of the dict it was read from, in order (None: built in code): written back
    # as they were, a null included, so a file read and written again does not change.
    _keys: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def _names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in ("extra", "_keys")]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if not isinstance(data, dict):
            raise LahanError(f"a {cls.__name__} is a JSON object, got {type(data).__name__}")
        names = set(cls._names())
        known = {k: v for k, v in data.items() if k in names and k not in cls._TRANSIENT}
        extra = {k: v for k, v in data.items() if k not in names}
        record = cls(**cls._decode(known), extra=extra)
        record._keys = tuple(k for k in data if k in known)
        return record

    @classmethod
    def _decode(cls, known: dict[str, Any]) -> dict[str, Any]:
        """Turn nested JSON into typed parts (subclasses with nested records)."""
        return known

    def _encode(self, name: str, value: Any) -> Any:
        return value

    def _always(self) -> tuple[str, ...]:
        return self._ALWAYS

    def to_dict(self) -> dict[str, Any]:
        out = {}
        names = self._names()
        # a record read from a file keeps that file's keys; one built in code writes the
        # keys its kind always had
        always = self._keys if self._keys is not None else self._always()
        for name in [*(self._keys or ()), *(n for n in names if n not in (self._keys or ()))]:
            value = getattr(self, name)
            if name in self._TRANSIENT or (value is None and name not in always):
                continue
            out[name] = self._encode(name, value)
        return out | self.extra

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """The record in the JSON file ``path``; a damaged file is one clear line."""
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as err:
            raise LahanError(f"{path} is missing: the folder is not a finished lahan run") from err
        except json.JSONDecodeError as err:
            raise LahanError(f"{path} is not valid JSON ({err}): the folder is damaged") from err

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())


# --------------------------------------------------------------------- model folders


@dataclass
class CompressResult(_Record):
    """``result.json``: the one-row summary of a ``compress`` run, flat for spreadsheets."""

    configuration: str | None = None
    teacher: str | None = None
    student: str | None = None
    precision: str | None = None
    dev_accuracy: float | None = None
    dev_macro_f1: float | None = None
    dev_accuracy_fp32: float | None = None
    agreement_with_fp32: float | None = None
    dev_macro_f1_fp32: float | None = None
    teacher_dev_accuracy: float | None = None
    teacher_dev_macro_f1: float | None = None
    train_seconds: float | None = None
    best_epoch: int | None = None
    distill_cache: dict | None = None
    params: int | None = None
    params_teacher: int | None = None
    size_on_disk_bytes: int | None = None
    size_on_disk_teacher_bytes: int | None = None
    speedup_vs_teacher: float | None = None
    speedup_tokenization_timed: bool | None = None
    latency_batch_median_s: float | None = None
    teacher_latency_batch_median_s: float | None = None
    latency_batch_size: int | None = None
    device: str | None = None
    extra: dict = field(default_factory=dict, repr=False)

    def _always(self) -> tuple[str, ...]:
        return tuple(self._names())  # a flat row: every column, null where it does not apply

    @classmethod
    def from_record(cls, record: ModelRecord) -> CompressResult:
        """The summary of a compressed model's full record (sizes on disk included)."""
        m = record.metrics
        scored = m.get("dev_at_precision") or m["dev"]
        train = record.train or {}
        latency, size = record.latency or {}, record.size_on_disk or {}
        return cls(
            configuration=record.configuration,
            teacher=record.teacher,
            student=(record.student or {}).get("description"),
            precision=record.inference_precision,
            dev_accuracy=scored["accuracy"],
            dev_macro_f1=scored["macro_f1"],
            dev_accuracy_fp32=m["dev"]["accuracy"],
            agreement_with_fp32=(record.precision_variant or {}).get("agreement_with_fp32", 1.0),
            dev_macro_f1_fp32=m["dev"]["macro_f1"],
            teacher_dev_accuracy=m["dev_teacher"]["accuracy"],
            teacher_dev_macro_f1=m["dev_teacher"]["macro_f1"],
            train_seconds=train.get("train_seconds"),
            best_epoch=train.get("best_epoch"),
            distill_cache=record.distill_cache,
            params=record.params["compressed"]["total"],
            params_teacher=record.params["teacher"]["total"],
            size_on_disk_bytes=size["compressed_bytes"],
            size_on_disk_teacher_bytes=size["teacher_bytes"],
            speedup_vs_teacher=latency["speedup_vs_teacher"],
            speedup_tokenization_timed=latency["tokenization_timed"],
            latency_batch_median_s=latency["compressed"]["batch_median_s"],
            teacher_latency_batch_median_s=latency["teacher"]["batch_median_s"],
            latency_batch_size=latency["compressed"]["batch_size"],
            device=latency["device"],
        )


@dataclass
class ModelRecord(_Record):
    """A model folder's ``lahan.json``. Which fields are set depends on the command that
    made it (``made_by``): ``finetune`` (config, data, train, metrics.dev), ``pretrain``
    (corpus, metrics.heldout) or ``compress`` / ``prune`` / ``distill`` / ``sweep``
    (teacher, student, structure, params, latency, size_on_disk, ...). A model published
    elsewhere has no lahan.json: its record is empty."""

    lahan_version: str | None = None
    created: str | None = None
    labels: list[str] | None = None
    made_by: str | None = None
    source_model: str | None = None
    configuration: str | None = None
    teacher: str | None = None
    teacher_data_fingerprint: str | None = None
    student: dict | None = None
    config: dict = field(default_factory=dict)  # {ConfigClassName: fields}
    data: dict | None = None  # data_summary: fingerprint, counts, labels
    corpus: dict | None = None  # pretrain: the corpus summary
    train: dict | None = None  # TrainResult.to_dict()
    distill_cache: dict | None = None
    inference_precision: str | None = None
    precision_variant: dict | None = None
    sparsity: dict | None = None
    structure: dict | None = None
    vocabulary: dict | None = None
    params: dict | None = None  # {"teacher": {...}, "compressed": {...}}
    metrics: dict = field(default_factory=dict)  # split -> summary
    latency: dict | None = None
    size_on_disk: dict | None = None
    versions: dict | None = None
    # set on the record run_compress returns, never written to lahan.json
    table: str | None = None  # the sparsity table, as printed
    result: CompressResult | None = None  # what result.json holds
    extra: dict = field(default_factory=dict, repr=False)

    _ALWAYS = ("config", "metrics")
    _TRANSIENT = ("table", "result")
    # a compress record names every one of these, null where it does not apply
    _COMPRESS = (
        "teacher_data_fingerprint",
        "train",
        "distill_cache",
        "inference_precision",
        "precision_variant",
        "sparsity",
        "structure",
        "vocabulary",
    )

    def _always(self) -> tuple[str, ...]:
        return self._ALWAYS + (self._COMPRESS if self.teacher is not None else ())

    @classmethod
    def in_folder(cls, folder: str | Path) -> ModelRecord:
        """The folder's record; an empty one where there is no lahan.json (a hub model)."""
        path = Path(folder) / RECORD_FILE
        return cls.read(path) if path.is_file() else cls()

    @property
    def max_length(self) -> int | None:
        """Tokens per text the model was trained with (None: not trained by lahan)."""
        value = self.config.get("TrainConfig", {}).get("max_length")
        return None if value is None else int(value)

    @property
    def data_fingerprint(self) -> str | None:
        return (self.data or {}).get("fingerprint")

    def configs(self) -> dict[str, Any]:
        """The run's option dataclasses, rebuilt: ``{"TrainConfig": TrainConfig(...)}``."""
        return from_record(self)

    @property
    def train_seconds(self) -> float | None:
        return (self.train or {}).get("train_seconds")


# --------------------------------------------------------------------------- evaluate

SCORE_KEYS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "n")


@dataclass
class EvaluateReport(_Record):
    """What ``lahan evaluate`` measured on one split (``--json`` prints it;
    ``metrics_SPLIT.json`` holds the same less ``files``)."""

    accuracy: float | None = None
    macro_precision: float | None = None
    macro_recall: float | None = None
    macro_f1: float | None = None
    n: int | None = None
    per_class: dict | None = None  # label -> precision / recall / f1-score / support
    confusion_matrix: list | None = None  # rows: true label, columns: predicted
    labels: list | None = None  # the model's output order
    by_group: dict | None = None  # sub-dataset -> accuracy / macro_f1 / n
    split: str | None = None
    model: str | None = None
    data_fingerprint: str | None = None
    # None: the model's record has no data fingerprint (a model lahan did not train)
    same_data_as_training: bool | None = None
    files: dict | None = None  # json, confusion_png
    extra: dict = field(default_factory=dict, repr=False)

    _ALWAYS: ClassVar[tuple[str, ...]] = ("same_data_as_training",)

    def scores(self) -> dict[str, Any]:
        """Accuracy, macro P/R/F1 and n, as dev scores are stored elsewhere."""
        return {k: getattr(self, k) for k in SCORE_KEYS}


# --------------------------------------------------------------------------- bench


@dataclass
class BenchMeasurement(_Record):
    """One model's figures in a ``lahan bench`` run. ``latency`` is keyed by batch size
    (written as ``latency_batch1``, ``latency_batch32``, ...)."""

    spec: str | None = None
    runtime: str | None = None
    precision: str | None = None
    padding: str | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    by_group: dict | None = None
    n: int | None = None
    device: str | None = None
    size_on_disk_bytes: int | None = None
    params: dict | None = None
    throughput_docs_per_s: float | None = None
    throughput_tokenization_timed: bool | None = None
    throughput_rounds_docs_per_s: list[float] | None = None
    energy: dict | None = None
    flops_per_example: float | None = None
    achieved_flops_per_s: float | None = None
    fraction_of_gemm_rate: float | None = None
    latency: dict[int, dict] = field(default_factory=dict)
    memory: dict | None = None
    ratios_vs_first: dict | None = None
    extra: dict = field(default_factory=dict, repr=False)

    _LATENCY: ClassVar[str] = "latency_batch"

    def _always(self) -> tuple[str, ...]:
        return tuple(self._names())  # every figure, null where it could not be measured

    @classmethod
    def _latency_key(cls, key: str) -> bool:
        return key.startswith(cls._LATENCY) and key.removeprefix(cls._LATENCY).isdigit()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchMeasurement:
        if not isinstance(data, dict):
            return super().from_dict(data)  # the one-line error
        latency = {
            int(k.removeprefix(cls._LATENCY)): v for k, v in data.items() if cls._latency_key(k)
        }
        record = super().from_dict({k: v for k, v in data.items() if not cls._latency_key(k)})
        record.latency = latency
        return record

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        latency = out.pop("latency", {})
        return out | {f"{self._LATENCY}{b}": v for b, v in latency.items()}

    @property
    def total_params(self) -> int | None:
        return (self.params or {}).get("total")


@dataclass
class BenchReport(_Record):
    """A ``lahan bench`` run: models measured side by side, ratios against the first."""

    split: str | None = None
    data_fingerprint: str | None = None
    machine: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # batch_sizes, repeats, warmup, ...
    models: dict[str, BenchMeasurement] = field(default_factory=dict)
    extra: dict = field(default_factory=dict, repr=False)

    @classmethod
    def _decode(cls, known: dict[str, Any]) -> dict[str, Any]:
        models = known.get("models") or {}
        return known | {"models": {k: BenchMeasurement.from_dict(v) for k, v in models.items()}}

    def _encode(self, name: str, value: Any) -> Any:
        if name == "models":
            return {k: v.to_dict() for k, v in value.items()}
        return value

    @property
    def batch_sizes(self) -> list[int]:
        return list(self.config.get("batch_sizes", []))


# --------------------------------------------------------------------------- sweep


@dataclass
class SweepRow(_Record):
    """One line of ``results.jsonl``: a grid row's status and, once ``ok``, its figures
    measured side by side with the baseline in one bench run."""

    id: str = ""
    row: dict = field(default_factory=dict)  # the grid row's settings
    fingerprint: str | None = None
    status: str | None = None  # ok | skipped | failed
    reason: str | None = None
    spec: str | None = None
    train_seconds: float | None = None
    train_kwh: float | None = None
    train_kg_co2: float | None = None
    distill_cache: dict | None = None
    configuration: str | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    by_group: dict | None = None  # per sub-dataset (e.g. headlines vs paragraphs)
    baseline_accuracy: float | None = None
    baseline_macro_f1: float | None = None
    throughput_docs_per_s: float | None = None
    speedup_vs_baseline: float | None = None
    speedup_tokenization_timed: bool | None = None
    speedup_range_vs_baseline: list[float] | None = None  # lowest, highest round ratio
    baseline_throughput_docs_per_s: float | None = None
    speedup_batch1_vs_baseline: float | None = None
    speedup_batch32_vs_baseline: float | None = None
    latency_batch1_p50_s: float | None = None
    latency_batch1_p95_s: float | None = None
    latency_batch32_p50_s: float | None = None
    latency_batch32_p95_s: float | None = None
    peak_memory_bytes: int | None = None
    size_on_disk_bytes: int | None = None
    params: int | None = None
    flops_per_example: float | None = None
    inference_kwh_per_1000: float | None = None
    inference_kg_co2_per_1000: float | None = None
    power_method: str | None = None
    split: str | None = None
    machine: dict | None = None
    row_seconds: float | None = None
    extra: dict = field(default_factory=dict, repr=False)

    _ALWAYS = ("id", "row", "fingerprint", "status")

    def _always(self) -> tuple[str, ...]:
        # a finished row has its columns (null where not measured); others say why not
        if self.ok:
            return tuple(n for n in self._names() if n not in ("reason", "configuration"))
        return self._ALWAYS + ("reason",)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    METRICS: ClassVar[tuple[str, ...]] = ("accuracy", "macro_f1")

    def metric(self, name: str) -> float:
        """A score by name (what the report ranks by): ``accuracy`` or ``macro_f1``, or
        the baseline's, ``baseline_accuracy`` or ``baseline_macro_f1``."""
        if name.removeprefix("baseline_") not in self.METRICS:
            raise LahanError(f"a sweep row has no metric '{name}': use accuracy or macro_f1")
        return getattr(self, name)
