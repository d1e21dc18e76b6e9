"""`lahan distill`: train a student on a teacher's soft targets (knowledge distillation)."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_train_arguments, train_config_from_args
from lahan.commands._compress_args import (
    STUDENT_HELP,
    add_distill_arguments,
    distill_config_from_args,
    print_summary,
)
from lahan.data.config import add_data_arguments, data_config_from_args
from lahan.train import TrainConfig

EXAMPLES = """\
examples:
  lahan distill --teacher runs/teacher --student layers:3 --data ../shared/data/mahanews \\
      --out runs/kd-3layers
  lahan distill --teacher runs/teacher --student layers:0,2,5 --hidden-weight 1 --data news.csv \\
      --out runs/kd-hidden
  lahan distill --teacher l3cube-pune/marathi-topic-all-doc-v2 --student preset:small \\
      --data ../shared/data/mahanews --epochs 10 --out runs/kd-small
"""

DEFAULTS = TrainConfig(epochs=6, patience=2)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "distill",
        help="distill a trained classifier into a smaller student",
        description="Train a student on the teacher's soft targets (KL at temperature T, "
        "scaled by T^2) mixed with the labels (weight --alpha), optionally also matching "
        "hidden states and attention maps of mapped layers. The teacher's outputs are "
        "computed once and cached on disk. Writes the student, its dev scores, train time, "
        "size and speed against the teacher.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--teacher", required=True, help="a trained classifier folder or hub id")
    p.add_argument("--student", required=True, help=STUDENT_HELP)
    add_data_arguments(p)
    add_distill_arguments(p)
    add_train_arguments(p, DEFAULTS)
    p.add_argument("--relabel", action="store_true", help="map labels by name")
    p.add_argument("--out", required=True, help="folder to write the student to")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from lahan.recipes.compress import CompressConfig, run_compress

    config = CompressConfig(
        teacher=args.teacher,
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        distill=distill_config_from_args(args),
        student=args.student,
        relabel=args.relabel,
    )
    record = run_compress(config, made_by="distill")
    if PartialState().is_main_process:
        print_summary(record)
        print(f"saved to {args.out} (summary: {args.out}/result.json)")
    return 0
