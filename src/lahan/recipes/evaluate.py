"""Evaluate a saved classifier on one split of a dataset."""

from __future__ import annotations

import contextlib
from pathlib import Path

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.data import DataConfig, Record, load_dataset
from lahan.errors import LahanError
from lahan.evaluate import full_report, metrics_by_group, plot_confusion, predict_logits
from lahan.io import atomic_write_json
from lahan.models import load_model, model_labels, resolve_label_map
from lahan.precision import AutocastFactory
from lahan.train import TrainConfig

SUMMARY_KEYS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "n")


def evaluate_records(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[Record],
    label_map: dict[str, str],
    batch_size: int,
    max_length: int,
    autocast: AutocastFactory = contextlib.nullcontext,
) -> dict:
    """Metrics, per-class report and confusion matrix of ``model`` on ``rows``."""
    names = model_labels(model)
    texts = [r.text for r in rows]
    logits = predict_logits(model, tokenizer, texts, batch_size, max_length, autocast)
    y_true = [model.config.label2id[label_map[r.label]] for r in rows]
    y_pred = logits.argmax(-1).tolist()
    report = full_report(y_true, y_pred, names)
    return report | {"by_group": metrics_by_group(y_true, y_pred, [r.group for r in rows])}


def write_report_files(report: dict, folder: Path, split: str) -> dict[str, str]:
    """``metrics_SPLIT.json`` and ``confusion_SPLIT.png`` in ``folder``; returns their paths."""
    json_path, png_path = folder / f"metrics_{split}.json", folder / f"confusion_{split}.png"
    plot_confusion(
        report["confusion_matrix"], report["labels"], png_path, f"{split} confusion matrix"
    )
    atomic_write_json(json_path, report)
    return {"json": str(json_path), "confusion_png": str(png_path)}


def summary(report: dict) -> dict:
    return {k: report[k] for k in SUMMARY_KEYS}


def run_evaluate(
    model_dir: str | Path,
    data_config: DataConfig,
    split: str = "dev",
    out: str | Path | None = None,
    batch_size: int = TrainConfig.eval_batch_size,
    max_length: int | None = None,
    relabel: bool = False,
    labels: tuple | None = None,
) -> dict:
    """Evaluate ``model_dir`` on ``split``; write JSON + PNG to OUT (default MODEL_DIR/eval).

    ``max_length`` defaults to the one the model was trained with. Returns the report,
    with ``files`` and whether the data matches the training data's fingerprint.
    """
    if batch_size < 1:
        raise LahanError(f"--batch-size must be >= 1, got {batch_size}")
    out = Path(out) if out else Path(model_dir) / "eval"
    if out.exists() and not out.is_dir():
        raise LahanError(f"--out '{out}' is a file: pass a folder")
    model, tokenizer, record = load_model(model_dir, labels)
    dataset = load_dataset(data_config)
    rows = dataset.split(split)
    label_map = resolve_label_map(model_labels(model), dataset.labels, relabel)
    if max_length is None:
        trained = record.get("config", {}).get("TrainConfig", {})
        max_length = trained.get("max_length", TrainConfig.max_length)
    report = evaluate_records(model, tokenizer, rows, label_map, batch_size, max_length)
    report["split"] = split
    report["model"] = str(model_dir)
    report["data_fingerprint"] = dataset.fingerprint()
    trained_on = record.get("data", {}).get("fingerprint")
    report["same_data_as_training"] = trained_on == dataset.fingerprint() if trained_on else None
    report["files"] = write_report_files(report, out, split)
    return report
