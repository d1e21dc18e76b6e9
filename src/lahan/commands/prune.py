"""`lahan prune`: block movement pruning of a trained classifier, shrunk to a smaller model."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_train_arguments, train_config_from_args
from lahan.commands._compress_args import (
    add_prune_arguments,
    add_trim_arguments,
    print_summary,
    prune_config_from_args,
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
    p.add_argument("--teacher", required=True, help="a trained classifier folder or hub id")
    add_data_arguments(p)
    add_prune_arguments(p, "--sparsity")
    add_trim_arguments(p)
    add_train_arguments(p, DEFAULTS)
    p.add_argument("--relabel", action="store_true", help="map labels by name")
    p.add_argument("--out", required=True, help="folder to write the pruned model to")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from lahan.recipes.compress import CompressConfig, run_compress

    config = CompressConfig(
        teacher=args.teacher,
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        prune=prune_config_from_args(args, args.sparsity),
        trim=trim_config_from_args(args),
        relabel=args.relabel,
    )
    record = run_compress(config, made_by="prune")
    if PartialState().is_main_process:
        print_summary(record)
        print(f"saved to {args.out}")
    return 0
