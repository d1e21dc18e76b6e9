"""The offline demo: built-in corpus -> tiny teacher from scratch -> evaluation -> report.

It runs the same recipes a user runs by hand, with settings small enough to
finish in about a minute on two CPU cores.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from lahan.data import DataConfig, load_dataset
from lahan.evaluate import format_metrics_table
from lahan.io import atomic_write_json, atomic_write_text
from lahan.models import ModelConfig
from lahan.recipes.evaluate import run_evaluate
from lahan.recipes.finetune import run_finetune
from lahan.train import TrainConfig


@dataclass
class DemoConfig:
    data: str = "demo"
    out: str = "runs/demo"
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(source="preset:tiny", vocab_size=3000)
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=12, batch_size=16, max_length=64, lr=1e-3, patience=4, seed=0
        )
    )


def run_demo(config: DemoConfig) -> dict:
    out = Path(config.out)
    started = time.perf_counter()
    data_config = DataConfig(source=config.data)  # default split, so `lahan evaluate` matches
    dataset = load_dataset(data_config)
    teacher_dir = out / "teacher"
    record = run_finetune(data_config, config.model, config.train, teacher_dir, dataset=dataset)
    has_test = bool(dataset.splits.get("test"))
    split = "test" if has_test else "dev"
    evaluation = run_evaluate(teacher_dir, data_config, split=split)
    seconds = time.perf_counter() - started

    rows = (
        [("dev", record["metrics"]["dev"]), (split, evaluation)]
        if has_test
        else [("dev", record["metrics"]["dev"])]
    )
    table = format_metrics_table(rows)
    result = {
        "data": config.data,
        "split_sizes": {k: len(v) for k, v in dataset.splits.items()},
        "labels": dataset.labels,
        "teacher": str(teacher_dir),
        "dev": record["metrics"]["dev"],
        split: {
            k: evaluation[k]
            for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "n")
        },
        "train_seconds": record["train"]["train_seconds"],
        "total_seconds": seconds,
    }
    atomic_write_json(out / "result.json", result)
    report = out / "report.md"
    atomic_write_text(report, _report_markdown(result, table, evaluation, split))
    result["report"] = str(report)
    result["table"] = table
    return result


def _report_markdown(result: dict, table: str, evaluation: dict, split: str) -> str:
    png = Path(evaluation["files"]["confusion_png"]).name
    per_class = evaluation["per_class"]
    lines = [
        "# lahan demo report",
        "",
        f"Data: `{result['data']}`; splits {json.dumps(result['split_sizes'])}; "
        f"{len(result['labels'])} labels.",
        f"Teacher: BERT `preset:tiny` trained from scratch, saved in `{result['teacher']}`.",
        f"Training took {result['train_seconds']:.1f}s; "
        f"the whole demo {result['total_seconds']:.1f}s.",
        "",
        "```",
        table,
        "```",
        "",
        f"## Per class ({split})",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in evaluation["labels"]:
        c = per_class[name]
        lines.append(
            f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | "
            f"{c['f1-score']:.3f} | {int(c['support'])} |"
        )
    lines += ["", f"![confusion matrix](teacher/eval/{png})", ""]
    return "\n".join(lines)
