"""`lahan finetune`: train a classifier (from a checkpoint or a preset) and save it."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_data_arguments,
    add_model_arguments,
    add_resume_arguments,
    add_train_arguments,
    data_config_from_args,
    model_config_from_args,
    train_config_from_args,
)

EXAMPLES = """\
examples:
  lahan finetune --model preset:small --data ../shared/data/mahanews --out runs/teacher
  lahan finetune --model l3cube-pune/marathi-bert-v2 --data news.csv --epochs 3 --out runs/mb
  # several processes (CPU: gloo; GPUs: one per process), same loop, same results:
  torchrun --nproc_per_node 2 -m lahan finetune --model preset:tiny --data demo --out runs/ddp
  # killed? the same command with --resume continues from OUT.checkpoint:
  lahan finetune --model preset:small --data ../shared/data/mahanews --out runs/teacher --resume
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "finetune",
        help="train a classifier and save it",
        description="Train a classifier on the train split, keep the best epoch by dev "
        "macro-F1, and save it as a Hugging Face folder plus lahan.json.",
        examples=EXAMPLES,
    )
    add_model_arguments(p)
    add_data_arguments(p)
    add_train_arguments(p)
    p.add_argument("--out", required=True, help="folder to write the trained model to")
    add_resume_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from lahan.config import FinetuneConfig
    from lahan.evaluate import format_metrics_table
    from lahan.recipes.finetune import run_finetune

    config = FinetuneConfig(
        model=model_config_from_args(args),
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        resume=args.resume,
    )
    record = run_finetune(config)
    if not PartialState().is_main_process:
        return 0  # under several processes, only the first one reports
    train = record.train
    print(format_metrics_table([("dev", record.metrics["dev"])]))
    print(
        f"best epoch {train['best_epoch']}, {train['steps']} steps, "
        f"{train['train_seconds']:.1f}s ({train['examples_per_second']:.0f} examples/s)"
    )
    print(f"saved to {args.out}")
    return 0
