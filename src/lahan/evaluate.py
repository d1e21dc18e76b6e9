"""Prediction and classification metrics, shared by training, evaluation and the demo."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
)
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.data.types import Record
from lahan.io import atomic_write_json, save_figure
from lahan.models import label_ids, model_labels
from lahan.precision import AutocastFactory
from lahan.records import SCORE_KEYS


@torch.no_grad()
def predict_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    pad_to_max_length: bool = False,
) -> np.ndarray:
    """Logits for ``texts`` in input order, as float32 [n, num_labels].

    Texts are batched by length (longest first) so each batch pads to a similar
    length; the rows are put back in input order at the end. ``pad_to_max_length``
    pads every batch to ``max_length`` instead (how paper-style baselines run: the
    comparison that shows what dynamic padding saves).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    lengths = [
        len(ids)
        for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    ]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenizer(
            [texts[i] for i in idx],
            truncation=True,
            max_length=max_length,
            padding="max_length" if pad_to_max_length else True,
            return_tensors="pt",
        ).to(device)
        with autocast():
            logits = model(**batch).logits
        out[idx] = logits.float().cpu().numpy()
    model.train(was_training)
    return out


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int]) -> dict:
    """Accuracy and macro precision / recall / F1, as scikit-learn computes them: the macro
    average runs over the labels that occur in ``y_true`` or ``y_pred`` (a label of the
    model that the evaluated data never has nor gets predicted does not count as a 0)."""
    present = sorted(set(labels) & (set(y_true) | set(y_pred)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=present or None, average="macro", zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(precision),
        "macro_recall": float(recall),
        "macro_f1": float(f1),
        "n": len(y_true),
    }


def metrics_by_group(
    y_true: Sequence[int], y_pred: Sequence[int], groups: Sequence[str]
) -> dict[str, dict]:
    """Accuracy and macro-F1 per sub-dataset (e.g. MahaNews' SHC headlines and LPC
    paragraphs), when the split holds more than one; macro over the labels present in
    that group. Empty for a single-group split."""
    names = sorted(set(groups))
    if len(names) < 2:
        return {}
    out = {}
    for name in names:
        idx = [i for i, g in enumerate(groups) if g == name]
        truth = [y_true[i] for i in idx]
        metrics = compute_metrics(truth, [y_pred[i] for i in idx], sorted(set(truth)))
        out[name] = {k: metrics[k] for k in ("accuracy", "macro_f1", "n")}
    return out


def full_report(y_true: Sequence[int], y_pred: Sequence[int], label_names: list[str]) -> dict:
    """Metrics plus the per-class report and the confusion matrix (rows: true, cols: predicted)."""
    ids = list(range(len(label_names)))
    metrics = compute_metrics(y_true, y_pred, ids)
    metrics["per_class"] = classification_report(
        y_true, y_pred, labels=ids, target_names=label_names, output_dict=True, zero_division=0
    )
    metrics["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=ids).tolist()
    metrics["labels"] = label_names
    return metrics


def plot_confusion(matrix: list[list[int]], label_names: list[str], path: Path, title: str) -> Path:
    """Write the confusion matrix as a PNG (row-normalised colours, raw counts printed).

    Uses matplotlib's object API with the Agg canvas: no pyplot, so no global
    backend switch in the caller's process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(matrix)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.55 * len(label_names) + 2)
    fig = Figure(figsize=(size, size * 0.9))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(label_names)):
        for j in range(len(label_names)):
            if counts[i, j]:
                colour = "white" if rates[i, j] > 0.5 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8, color=colour)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


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
    y_true = label_ids(rows, names, label_map)
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
    return {k: report[k] for k in SCORE_KEYS}


def format_metrics_table(rows: list[tuple[str, dict]]) -> str:
    """A small fixed-width table: one row per (name, metrics)."""
    w = max(12, *(len(name) + 1 for name, _ in rows))
    header = f"{'':<{w}}{'n':>7}{'accuracy':>10}{'macro-P':>9}{'macro-R':>9}{'macro-F1':>10}"
    lines = [header]
    for name, m in rows:
        lines.append(
            f"{name:<{w}}{m['n']:>7}{m['accuracy']:>10.4f}{m['macro_precision']:>9.4f}"
            f"{m['macro_recall']:>9.4f}{m['macro_f1']:>10.4f}"
        )
    return "\n".join(lines)
