"""`lahan distill`: train a student on a teacher's soft targets (knowledge distillation)."""

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
    add_teacher_argument,
    distill_config_from_args,
    run_and_print,
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
    add_teacher_argument(p)
    p.add_argument("--student", required=True, help=STUDENT_HELP)
    add_data_arguments(p)
    add_distill_arguments(p)
    add_train_arguments(p, DEFAULTS)
    add_resume_arguments(p)
    add_output_arguments(p, "student")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.compress import CompressConfig

    config = CompressConfig(
        teacher=args.teacher,
        teacher_labels=label_names_from_args(args),
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        distill=distill_config_from_args(args),
        student=args.student,
        relabel=args.relabel,
        resume=args.resume,
    )
    return run_and_print(config, made_by="distill")
