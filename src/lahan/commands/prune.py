"""`lahan prune`: block movement pruning of a trained classifier, shrunk to a smaller model."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_resume_arguments,
    add_train_arguments,
    label_names_from_args,
    train_config_from_args,
)
from lahan.commands._compress_args import (
    add_output_arguments,
    add_prune_arguments,
    add_teacher_argument,
    add_trim_arguments,
    prune_config_from_args,
    run_and_print,
    trim_config_from_args,
)
from lahan.data.config import add_data_arguments, data_config_from_args
from lahan.train import TrainConfig

EXAMPLES = """\
examples:
  lahan prune --teacher runs/teacher --data ../shared/data/mahanews --sparsity 0.5 --out runs/p50
  lahan prune --teacher runs/teacher --data news.csv --sparsity 0.25 --granularity heads \\
      --trim-vocab --out runs/p25-heads
  (pruning with distillation: lahan compress --prune 0.25 --distill ...)
"""

DEFAULTS = TrainConfig(epochs=4, patience=0)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "prune",
        help="prune a trained classifier (block movement pruning) and shrink it",
        description="Prune a trained classifier with block movement pruning while training "
        "on the train split, then shrink the masks into a smaller dense model that reloads "
        "exactly. Writes the model, a per-layer table, a structure heatmap, parameters "
        "before/after, dev accuracy and the latency ratio against the teacher.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_teacher_argument(p)
    add_data_arguments(p)
    add_prune_arguments(p, "--sparsity")
    add_trim_arguments(p)
    add_train_arguments(p, DEFAULTS)
    add_resume_arguments(p)
    add_output_arguments(p, "pruned model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.compress import CompressConfig

    config = CompressConfig(
        teacher=args.teacher,
        teacher_labels=label_names_from_args(args),
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        prune=prune_config_from_args(args, args.sparsity),
        trim=trim_config_from_args(args),
        relabel=args.relabel,
        resume=args.resume,
    )
    return run_and_print(config, made_by="prune")
