"""`lahan sweep`: run a grid of configurations against one teacher, resumably.

Each row trains (or derives) its model under ``OUT/models/<row>``, is measured side by
side with the teacher in one `lahan bench` run (so its ratios are same-run ratios),
and becomes one line of ``OUT/results.jsonl``. Rows share the teacher-output cache
(``OUT/cache``). Killed at any point and started again, the sweep skips finished rows
and redoes the one that was running; no row is written twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from lahan.checkpoint import checkpoint_folder, has_checkpoint
from lahan.config import BenchConfig, CompressConfig, SweepConfig, fingerprint_precision
from lahan.errors import LahanError
from lahan.io import atomic_write_text
from lahan.measure.energy import track_energy
from lahan.recipes.bench import run_bench
from lahan.recipes.compress import run_compress
from lahan.records import SweepRow
from lahan.sweep.grid import BEST_ROWS, Row, load_grid, variant_rows
from lahan.sweep.results import append_result, read_results

log = logging.getLogger(__name__)

FAILURES_DIR = "failures"  # OUT/failures/<row>.txt: the traceback of a failed row
# Row options added after results were first written, at their defaults: left out of a
# row's fingerprint, so a sweep from before them resumes
ROW_DEFAULTS_BEFORE = (
    ("padding", "dynamic"),
    ("reference", False),
    ("train", None),
    ("trim", False),
)


def _model_dir(cfg: SweepConfig, row_id: str, rows: dict[str, Row]) -> str:
    """Where a row's (trained) model is: the teacher for baseline-derived rows."""
    row = rows[row_id]
    if row.derive_from:
        return _model_dir(cfg, row.derive_from, rows)
    if not row.makes and not row.reference:
        return cfg.teacher
    return str(Path(cfg.out) / "models" / row.id)


def _compress_config(cfg: SweepConfig, row: Row) -> CompressConfig:
    """The `lahan compress` run of a row that makes its model (rows share one cache)."""
    out = Path(cfg.out) / "models" / row.id
    return row.compress_config(
        teacher=cfg.teacher,
        data=cfg.data,
        out=str(out),
        train=cfg.train,
        granularity=cfg.granularity,
        cache_dir=str(Path(cfg.out) / "cache"),
        # a row killed while training continues from its checkpoint
        resume=has_checkpoint(checkpoint_folder(out)),
    )


def _train(cfg: SweepConfig, row: Row) -> dict:
    compress = _compress_config(cfg, row)
    with track_energy(cfg.country) as energy:
        record = run_compress(compress, made_by="sweep")
    return {
        "train_seconds": record.train_seconds or 0.0,
        "train_kwh": energy["kwh"],
        "train_kg_co2": energy["kg_co2"],
        "distill_cache": record.distill_cache,
        "configuration": record.configuration,
    }


def _train_reference(cfg: SweepConfig, row: Row) -> dict:
    """The TF-IDF + linear SVM on the sweep's train split (seconds: trained again on a
    resume rather than trusted from a folder a killed run may have left)."""
    from lahan.config import ReferenceConfig
    from lahan.data import load_dataset
    from lahan.reference import train_reference

    dataset = load_dataset(cfg.data)
    train = dataset.split("train")
    out = Path(cfg.out) / "models" / row.id
    started = time.perf_counter()
    with track_energy(cfg.country) as energy:
        train_reference(
            [r.text for r in train],
            [r.label for r in train],
            dataset.labels,
            out,
            ReferenceConfig(),
        )
    return {
        "train_seconds": time.perf_counter() - started,
        "train_kwh": energy["kwh"],
        "train_kg_co2": energy["kg_co2"],
        "configuration": "TF-IDF (character 2-5-grams) + linear SVM",
    }


def _spec(cfg: SweepConfig, row: Row, rows: dict[str, Row]) -> str:
    """What `lahan bench` measures for this row (exports ONNX rows first)."""
    model = _model_dir(cfg, row.id, rows)
    if row.runtime == "onnx":
        from lahan.config import ExportConfig
        from lahan.deploy.export import export_onnx
        from lahan.deploy.onnx_runtime import MANIFEST

        target = Path(cfg.out) / "models" / row.id
        if not (target / MANIFEST).exists():
            quantize = "int8" if row.precision == "int8" else None
            export_onnx(model, target, ExportConfig(quantize=quantize))
        return str(target)
    options = [row.precision] if row.precision != "fp32" else []
    options += ["padded"] if row.padding == "fixed" else []
    return f"{model}@{','.join(options)}" if options else model


# training options that do not change a row's result: how often checkpoints are written,
# whether bars are drawn
NOT_RESULT_SHAPING = ("checkpoint_every", "progress")


def _unwritten(train: dict | None) -> dict | None:
    """A row's own training options, less those that do not change its result."""
    kept = {k: v for k, v in (train or {}).items() if k not in NOT_RESULT_SHAPING}
    return kept or None


def fingerprint(cfg: SweepConfig, row: Row) -> str:
    """What a row's result depends on: its settings, the training and the inputs."""
    material = json.dumps(
        {
            # rows written before an option existed keep their fingerprint
            "row": {
                k: v
                for k, v in (row.to_dict() | {"train": _unwritten(row.train)}).items()
                if (k, v) not in ROW_DEFAULTS_BEFORE
            },
            "teacher": str(Path(cfg.teacher).resolve()),
            "data": asdict(cfg.data),
            # how often checkpoints are written does not change a row's result
            "train": {k: v for k, v in asdict(cfg.train).items() if k != "checkpoint_every"}
            | {"progress": None, "precision": fingerprint_precision(cfg.train.precision)},
            "granularity": cfg.granularity,
            "split": cfg.split,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def run_row(
    cfg: SweepConfig, row: Row, rows: dict[str, Row], done: dict[str, SweepRow]
) -> SweepRow:
    def result(**fields) -> SweepRow:
        # from a dict: the line written has exactly these keys, in this order
        head = {"id": row.id, "row": row.to_dict(), "fingerprint": fingerprint(cfg, row)}
        return SweepRow.from_dict(head | fields)

    if row.skip:
        return result(status="skipped", reason=row.skip)
    source = row.derive_from
    if source and not (source in done and done[source].ok):
        return result(status="skipped", reason=f"row '{source}' did not finish")
    started = time.perf_counter()
    train = {"train_seconds": 0.0, "train_kwh": 0.0, "train_kg_co2": 0.0}
    if row.makes:
        train = _train(cfg, row)
    elif row.reference:
        train = _train_reference(cfg, row)
    elif source:  # derived rows inherit the training cost of what they derive from
        parent = done[source]
        train = {
            "train_seconds": parent.train_seconds,
            "train_kwh": parent.train_kwh,
            "train_kg_co2": parent.train_kg_co2,
        }
    spec = _spec(cfg, row, rows)
    models, names = [cfg.teacher], ["baseline"]
    if row.id != "baseline":
        models, names = [cfg.teacher, spec], ["baseline", row.id]
    bench = run_bench(
        BenchConfig(
            models=models,
            names=names,
            data=cfg.data,
            split=cfg.split,
            repeats=cfg.repeats,
            min_energy_seconds=cfg.min_energy_seconds,
            country=cfg.country,
        ),
        progress=lambda m: log.info(m),
    )
    measured, base = bench.models[names[-1]], bench.models["baseline"]
    ratios = measured.ratios_vs_first
    return result(
        status="ok",
        spec=spec,
        **train,
        accuracy=measured.accuracy,
        macro_f1=measured.macro_f1,
        by_group=measured.by_group,  # per sub-dataset (e.g. headlines vs paragraphs)
        baseline_accuracy=base.accuracy,
        baseline_macro_f1=base.macro_f1,
        throughput_docs_per_s=measured.throughput_docs_per_s,
        speedup_vs_baseline=ratios["throughput"],
        speedup_tokenization_timed=True,  # `bench`: texts in, logits out
        # lowest and highest round-by-round ratio over the repeats (the spread)
        speedup_range_vs_baseline=[
            min(ratios["throughput_rounds"]),
            max(ratios["throughput_rounds"]),
        ],
        baseline_throughput_docs_per_s=base.throughput_docs_per_s,
        speedup_batch1_vs_baseline=ratios["speed_batch1"],
        speedup_batch32_vs_baseline=ratios["speed_batch32"],
        latency_batch1_p50_s=measured.latency[1]["median_s"],
        latency_batch1_p95_s=measured.latency[1]["p95_s"],
        latency_batch32_p50_s=measured.latency[32]["median_s"],
        latency_batch32_p95_s=measured.latency[32]["p95_s"],
        peak_memory_bytes=measured.memory["peak_bytes"],  # this model's own
        size_on_disk_bytes=measured.size_on_disk_bytes,
        params=measured.total_params,
        flops_per_example=measured.flops_per_example,
        inference_kwh_per_1000=measured.energy["kwh_per_1000"],
        inference_kg_co2_per_1000=measured.energy["kg_co2_per_1000"],
        power_method=measured.energy["power_method"],
        split=cfg.split,
        machine=bench.machine,
        row_seconds=time.perf_counter() - started,
    )


def best_rows(results: dict[str, SweepRow], within: float, count: int = BEST_ROWS) -> list[str]:
    """The fastest finished torch fp32 rows within ``within`` accuracy points of baseline."""
    ok = [
        r
        for r in results.values()
        if r.ok
        and r.row["runtime"] == "torch"
        and r.row["precision"] == "fp32"
        and r.row.get("padding", "dynamic") == "dynamic"  # a padded row is a slower baseline
        and not r.row.get("reference")  # int8 / ONNX variants are for transformers
    ]
    if not ok:
        return []
    close = [r for r in ok if r.accuracy >= r.baseline_accuracy - within / 100]
    close.sort(key=lambda r: -r.speedup_vs_baseline)  # same-run ratios, not raw docs/s
    return [r.id for r in close[:count]]


def _failure_file(out: Path, row_id: str) -> Path:
    """OUT/failures/<row>.txt, the row id made safe as a file name."""
    safe = "".join(c if c.isalnum() or c in "+-_." else "_" for c in row_id).lstrip(".")
    return out / FAILURES_DIR / f"{safe or 'row'}.txt"


def run_sweep(cfg: SweepConfig, progress: bool = True) -> dict[str, SweepRow]:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = load_grid(cfg.grid, cuda=torch.cuda.is_available())
    rows = {r.id: r for r in grid.rows}
    # every row's compress run built now: a mix `compress` refuses fails here, not after
    # hours of the rows before it
    for row in grid.rows:
        if row.makes:
            _compress_config(cfg, row)
    # Failed rows are tried again; finished and skipped ones are kept.
    done = {k: r for k, r in read_results(out, repair=True).items() if r.status != "failed"}
    for row_id, result in done.items():
        row = rows.get(row_id)
        if row is not None and result.fingerprint != fingerprint(cfg, row):
            raise LahanError(
                f"'{out}' holds a result for row '{row_id}' made with other settings (grid row, "
                "teacher, data or training options changed): pass a new --out, or the same "
                "options as before to resume"
            )

    def run(todo: list[Row], desc: str) -> None:
        bar = tqdm(todo, desc=desc, disable=None if progress else True)
        for row in bar:
            bar.set_postfix(row=row.id)
            if row.id in done:
                continue
            try:
                result = run_row(cfg, row, rows, done)
            except Exception as err:  # noqa: BLE001 - Ctrl-C and kills still stop the sweep
                # One broken row must not cost the others (a bug in a quantizer included):
                # record it with its traceback, go on, retry it next time.
                reason = " ".join(str(err).split())[:300]
                trace = _failure_file(out, row.id)
                try:
                    atomic_write_text(trace, traceback.format_exc())
                except OSError:  # a full disk must not stop the sweep over a log file
                    trace = "not written"
                result = SweepRow.from_dict(
                    {
                        "id": row.id,
                        "row": row.to_dict(),
                        "status": "failed",
                        "reason": f"{type(err).__name__}: {reason} (traceback: {trace})",
                        "fingerprint": fingerprint(cfg, row),
                    }
                )
            if result.status != "failed":  # an old traceback would mislead
                _failure_file(out, row.id).unlink(missing_ok=True)
            append_result(out, result)
            done[row.id] = result
            status = result.status
            if result.ok:
                extra = f"accuracy {result.accuracy:.4f}, {result.speedup_vs_baseline:.2f}x"
            else:
                extra = result.reason
            tqdm.write(f"row {row.id}: {status} ({extra})")

    run(grid.rows, "sweep")
    if grid.best_variants:
        variants = [r for r in variant_rows(best_rows(done, cfg.within)) if r.id not in rows]
        rows.update({r.id: r for r in variants})
        if variants:
            tqdm.write(
                f"adding {len(variants)} rows beyond the grid: torch int8, ONNX and ONNX int8 "
                f"of the best rows ({', '.join(r.id for r in variants[:3])}, ...)"
            )
        run(variants, "sweep: int8/ONNX of the best rows")
    return done
