"""`lahan compress`: pruning, distillation and precision in any combination, in one run."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_resume_arguments,
    add_train_arguments,
    label_names_from_args,
    train_config_from_args,
)
from lahan.commands._compress_args import (
    STUDENT_HELP,
    add_distill_arguments,
    add_output_arguments,
    add_prune_arguments,
    add_teacher_argument,
    add_trim_arguments,
    distill_config_from_args,
    prune_config_from_args,
    run_and_print,
    trim_config_from_args,
)
from lahan.data.config import add_data_arguments, data_config_from_args
from lahan.train import TrainConfig

EXAMPLES = """\
examples:
  # the paper's best: 25% pruning + distillation into the pruned teacher
  lahan compress --teacher runs/teacher --data ../shared/data/mahanews --prune 0.25 \\
      --granularity heads --distill --out runs/p25-kd
  # a 3-layer student distilled from the teacher, trained in bf16
  lahan compress --teacher runs/teacher --data news.csv --distill --student layers:3 \\
      --precision bf16 --out runs/kd3-bf16
  # mixed precision alone (inference under autocast; fp16 needs a GPU)
  lahan compress --teacher runs/teacher --data news.csv --precision fp16 --out runs/fp16
"""

DEFAULTS = TrainConfig(epochs=5, patience=0)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="prune, distill and/or change precision, in one run",
        description="Apply any combination of block movement pruning (--prune), knowledge "
        "distillation (--distill, into the pruned teacher or a --student) and mixed "
        "precision (--precision, for training and inference), in that order, under one "
        "configuration. Writes one model folder that reloads exactly and records how it "
        "was made, with result.json: dev accuracy and macro-F1, train time, parameters, "
        "size on disk, and the speed ratio against the teacher measured in the same run.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_teacher_argument(p)
    add_data_arguments(p)
    add_prune_arguments(p, "--prune")
    p.add_argument("--distill", action="store_true", help="train with knowledge distillation")
    p.add_argument("--student", default=None, help=STUDENT_HELP + " (with --distill)")
    add_distill_arguments(p)
    add_trim_arguments(p)
    add_train_arguments(p, DEFAULTS)
    add_resume_arguments(p)
    add_output_arguments(p, "compressed model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.compress import CompressConfig

    config = CompressConfig(
        teacher=args.teacher,
        teacher_labels=label_names_from_args(args),
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        prune=prune_config_from_args(args, args.prune) if args.prune is not None else None,
        distill=distill_config_from_args(args) if args.distill else None,
        student=args.student,
        trim=trim_config_from_args(args),
        relabel=args.relabel,
        resume=args.resume,
    )
    return run_and_print(config, made_by="compress")
