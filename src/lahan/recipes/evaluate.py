"""Evaluate a saved classifier on one split of a dataset."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.data import SPLITS, DataConfig, Record, load_dataset
from lahan.deploy.predictor import OnnxPredictor, is_onnx_folder
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
    logits = predict_logits(
        model, tokenizer, [r.text for r in rows], batch_size, max_length, autocast
    )
    return report_from_logits(model_labels(model), logits, rows, label_map)


def report_from_logits(
    names: list[str], logits: np.ndarray, rows: list[Record], label_map: dict[str, str]
) -> dict:
    """The report of any model's ``logits`` (output order ``names``) on ``rows``."""
    index = {name: i for i, name in enumerate(names)}
    y_true = [index[label_map[r.label]] for r in rows]
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

    ``split`` is train, dev, test, or ``all``: every row of the source as given (no split,
    no leakage removal), e.g. to score a whole test file. ``model_dir`` may be an ONNX
    folder from ``lahan export``. ``max_length`` defaults to the one the model was
    trained with (an ONNX graph's is fixed at export). Returns the report,
    with ``files`` and whether the data matches the training data's fingerprint.
    """
    if batch_size < 1:
        raise LahanError(f"--batch-size must be >= 1, got {batch_size}")
    out = Path(out) if out else Path(model_dir) / "eval"
    if out.exists() and not out.is_dir():
        raise LahanError(f"--out '{out}' is a file: pass a folder")
    if split == "all":
        # every row of the source as given: nothing held out, nothing removed as leakage
        data_config = replace(data_config, dev_ratio=0.0, test_ratio=0.0, leakage_guard=False)
    dataset = load_dataset(data_config)
    rows = (
        [r for name in SPLITS for r in dataset.splits.get(name, [])]
        if split == "all"
        else dataset.split(split)
    )
    if is_onnx_folder(model_dir):  # an exported graph: scored by ONNX Runtime
        if labels is not None:
            raise LahanError("--labels: an exported ONNX folder has its labels fixed at export")
        predictor = OnnxPredictor(model_dir)
        names, record = predictor.labels, {}
        logits = predictor.logits([r.text for r in rows], batch_size)
    else:
        model, tokenizer, record = load_model(model_dir, labels)
        names = model_labels(model)
        if max_length is None:
            trained = record.get("config", {}).get("TrainConfig", {})
            max_length = trained.get("max_length", TrainConfig.max_length)
        logits = predict_logits(model, tokenizer, [r.text for r in rows], batch_size, max_length)
    label_map = resolve_label_map(names, dataset.labels, relabel)
    report = report_from_logits(names, logits, rows, label_map)
    report["split"] = split
    report["model"] = str(model_dir)
    report["data_fingerprint"] = dataset.fingerprint()
    trained_on = record.get("data", {}).get("fingerprint")
    report["same_data_as_training"] = trained_on == dataset.fingerprint() if trained_on else None
    report["files"] = write_report_files(report, out, split)
    return report
