"""The offline demo: built-in corpus -> tiny teacher from scratch -> prune 50% + KD
-> evaluation of both on the test split -> report.

It runs the same recipes a user runs by hand (finetune, compress, evaluate), with
settings small enough to finish in well under a minute on two CPU cores.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from lahan.checkpoint import checkpoint_folder, remove_checkpoint
from lahan.config import CompressConfig, DataConfig, DemoConfig, EvaluateConfig, FinetuneConfig
from lahan.data import load_dataset
from lahan.errors import OptionError
from lahan.evaluate import format_metrics_table
from lahan.io import atomic_write_json, atomic_write_text
from lahan.recipes.compress import run_compress
from lahan.recipes.evaluate import run_evaluate
from lahan.recipes.finetune import run_finetune
from lahan.records import EvaluateReport

RESULT_FILE = "result.json"


def check_demo_folder(out: Path) -> None:
    """Refuse an --out that holds anything but an earlier demo's output: the demo writes
    result.json, report.md and its model folders there, and must never replace a user's
    files of the same name."""
    if out.exists() and not out.is_dir():
        raise OptionError("out", f" '{out}' is a file: pass a folder path")
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        made_by = json.loads((out / RESULT_FILE).read_text(encoding="utf-8")).get("made_by")
    except (OSError, ValueError, AttributeError):
        made_by = None
    if made_by != "demo":
        raise OptionError(
            "out",
            f" '{out}' holds files that lahan demo did not write: pass a new or empty "
            "folder (the demo writes result.json, report.md, teacher/, compressed/ there)",
        )


def run_demo(config: DemoConfig) -> dict:
    out = Path(config.out)
    check_demo_folder(out)
    started = time.perf_counter()
    data_config = DataConfig(source=config.data)  # default split, so `lahan evaluate` matches
    dataset = load_dataset(data_config)
    teacher_dir, compressed_dir = out / "teacher", out / "compressed"
    for folder in (teacher_dir, compressed_dir):  # a killed demo simply starts over
        remove_checkpoint(checkpoint_folder(folder))
    say = print if config.train.progress else (lambda *a, **k: None)
    say(
        f"[1/2] teacher: {config.model.source} from scratch, {config.train.epochs} epochs",
        file=sys.stderr,
    )
    record = run_finetune(
        FinetuneConfig(config.model, data_config, str(teacher_dir), config.train), dataset=dataset
    )
    say(
        f"[2/2] compress: prune {config.prune.sparsity:.0%} {config.prune.granularity} + KD, "
        f"{config.compress_train.epochs} epochs",
        file=sys.stderr,
    )
    # The demo keeps its teacher-output cache inside its own folder.
    distill = replace(config.distill, cache_dir=config.distill.cache_dir or str(out / "cache"))
    compressed = run_compress(
        CompressConfig(
            teacher=str(teacher_dir),
            data=data_config,
            out=str(compressed_dir),
            train=replace(config.compress_train, progress=config.train.progress),
            prune=config.prune,
            distill=distill,
        )
    )
    has_test = bool(dataset.splits.get("test"))
    split = "test" if has_test else "dev"
    teacher_eval = run_evaluate(EvaluateConfig(str(teacher_dir), data_config, split=split))
    compressed_eval = run_evaluate(EvaluateConfig(str(compressed_dir), data_config, split=split))
    seconds = time.perf_counter() - started

    rows = [
        ("teacher dev", record.metrics["dev"]),
        ("compressed dev", compressed.metrics["dev"]),
    ]
    if has_test:
        rows += [
            (f"teacher {split}", teacher_eval.scores()),
            (f"compressed {split}", compressed_eval.scores()),
        ]
    table = format_metrics_table(rows)
    result = {
        "made_by": "demo",
        "data": config.data,
        "split_sizes": {k: len(v) for k, v in dataset.splits.items()},
        "labels": dataset.labels,
        "teacher": str(teacher_dir),
        "compressed": str(compressed_dir),
        "configuration": compressed.configuration,
        "dev": record.metrics["dev"],
        split: teacher_eval.scores(),
        "compressed_dev": compressed.metrics["dev"],
        f"compressed_{split}": compressed_eval.scores(),
        "params": {
            "teacher": compressed.params["teacher"]["total"],
            "compressed": compressed.params["compressed"]["total"],
        },
        "speedup_vs_teacher": compressed.latency["speedup_vs_teacher"],
        "train_seconds": record.train_seconds,
        "compress_seconds": compressed.train_seconds,
        "total_seconds": seconds,
    }
    atomic_write_json(out / RESULT_FILE, result)
    report = out / "report.md"
    atomic_write_text(report, _report_markdown(result, table, compressed_eval, split))
    result["report"] = str(report)
    result["table"] = table
    return result


def _report_markdown(result: dict, table: str, evaluation: EvaluateReport, split: str) -> str:
    png = Path(evaluation.files["confusion_png"]).name
    per_class = evaluation.per_class
    params = result["params"]
    lines = [
        "# lahan demo report",
        "",
        f"Data: `{result['data']}`; splits {json.dumps(result['split_sizes'])}; "
        f"{len(result['labels'])} labels.",
        f"Teacher: BERT `preset:tiny` trained from scratch, saved in `{result['teacher']}` "
        f"({result['train_seconds']:.1f}s of training).",
        f"Compressed: {result['configuration']} (into the teacher while it is pruned), saved "
        f"in `{result['compressed']}` ({result['compress_seconds']:.1f}s of training).",
        f"Parameters {params['teacher']:,} -> {params['compressed']:,}; "
        f"{result['speedup_vs_teacher']:.2f}x the teacher's speed on the same dev batches "
        "(tiny models on a busy CPU: a rough figure). "
        f"The whole demo took {result['total_seconds']:.1f}s.",
        "",
        "```",
        table,
        "```",
        "",
        f"## Compressed model, per class ({split})",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in evaluation.labels:
        c = per_class[name]
        lines.append(
            f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | "
            f"{c['f1-score']:.3f} | {int(c['support'])} |"
        )
    lines += ["", f"![confusion matrix](compressed/eval/{png})", ""]
    return "\n".join(lines)
