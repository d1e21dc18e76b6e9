"""`lahan evaluate`: accuracy, macro P/R/F1, per-class report and confusion matrix."""

from __future__ import annotations

import argparse
import json

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_data_arguments,
    add_label_arguments,
    config_from_flags,
    data_config_from_args,
    label_names_from_args,
)
from lahan.config import EvaluateConfig

EXAMPLES = """\
examples:
  lahan evaluate --model runs/teacher --data ../shared/data/mahanews --split test
  lahan evaluate --model runs/teacher --data data/news.csv --json
  lahan evaluate --model runs/p25-kd-int8 --data heldout_test.csv --split all   # ONNX, whole file
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "evaluate",
        help="measure a saved classifier on a split",
        description="Evaluate a saved classifier: accuracy, macro precision/recall/F1, "
        "per-class report, confusion matrix (PNG) and a JSON result.",
        examples=EXAMPLES,
    )
    add_config_flags(p, EvaluateConfig, names=("model",))
    add_data_arguments(p)
    add_config_flags(p, EvaluateConfig, skip=("model",))
    add_label_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.evaluate import format_metrics_table
    from lahan.recipes.evaluate import run_evaluate

    config = config_from_flags(
        EvaluateConfig, args, data=data_config_from_args(args), labels=label_names_from_args(args)
    )
    report = run_evaluate(config)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(format_metrics_table([(config.split, report.scores())]))
    print()
    per_class = report.per_class
    print(f"{'label':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for name in report.labels:
        c = per_class[name]
        print(
            f"{name:<16}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1-score']:>8.3f}"
            f"{int(c['support']):>9}"
        )
    for group, m in report.by_group.items():
        print(
            f"{group}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} ({m['n']} texts)"
        )
    if report.same_data_as_training is False:
        print("note: this data differs from the data the model was trained on")
    print(f"\nwrote {report.files['json']} and {report.files['confusion_png']}")
    return 0
