"""Flags shared by several commands, with defaults read from the config dataclasses."""

from __future__ import annotations

import argparse

from lahan.config import (
    PRECISION_ALIASES,
    PRECISIONS,
    PRESETS,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from lahan.errors import LahanError


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    d = ModelConfig(source="preset:tiny")
    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        required=True,
        help="hub id (owner/name), a local model folder, or preset:"
        + "|".join(PRESETS)
        + " to build a BERT from scratch",
    )
    # Preset-only options default to None so that giving one for a checkpoint is caught.
    g.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help=f"presets: WordPiece vocabulary trained on train (default {d.vocab_size})",
    )
    g.add_argument(
        "--dropout", type=float, default=None, help=f"presets: dropout (default {d.dropout})"
    )
    g.add_argument(
        "--tokenizer",
        default=None,
        help="presets: reuse this tokenizer folder instead of training one",
    )
    g.add_argument(
        "--relabel", action="store_true", help="map dataset labels onto the model's labels by name"
    )
    g.add_argument(
        "--new-head",
        action="store_true",
        help="replace the checkpoint's classification head by a new one",
    )
    add_label_arguments(parser)


def add_label_arguments(parser: argparse.ArgumentParser, what: str = "--model") -> None:
    """--labels / --label-map: names for a classifier published with LABEL_0, LABEL_1, ..."""
    g = parser.add_argument_group("labels of a placeholder-labelled classifier")
    g.add_argument(
        "--labels",
        default=None,
        metavar="A,B,...",
        help=f"names of {what}'s outputs in output order, for a classifier whose config says "
        "LABEL_0, LABEL_1, ... (saved into the output's config)",
    )
    g.add_argument(
        "--label-map",
        default=None,
        metavar="FILE",
        help='the same from a file: JSON list, JSON {"0": "Auto", ...}, or CSV lines id,name',
    )


def label_names_from_args(args: argparse.Namespace) -> tuple | None:
    from lahan.models import read_label_names

    return read_label_names(getattr(args, "labels", None), getattr(args, "label_map", None))


def preset_options_from_args(args: argparse.Namespace) -> dict:
    """The preset-only options given (--vocab-size, --dropout, --tokenizer), refused for
    a --model that is not a preset."""
    preset_only = {
        "vocab_size": args.vocab_size,
        "dropout": args.dropout,
        "tokenizer": args.tokenizer,
    }
    given = {k: v for k, v in preset_only.items() if v is not None}
    if given and not args.model.startswith("preset:"):
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise LahanError(f"{flags} only apply to --model preset:NAME, not to '{args.model}'")
    return given


def model_config_from_args(args: argparse.Namespace) -> ModelConfig:
    given = preset_options_from_args(args)
    return ModelConfig(
        source=args.model,
        relabel=args.relabel,
        new_head=args.new_head,
        labels=label_names_from_args(args),
        **given,
    )


def add_train_arguments(
    parser: argparse.ArgumentParser, defaults: TrainConfig | None = None
) -> None:
    d = defaults or TrainConfig()
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    g.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help=f"global batch size (default {d.batch_size})",
    )
    g.add_argument(
        "--grad-accum",
        type=int,
        default=d.grad_accum,
        help=f"gradient accumulation steps (default {d.grad_accum})",
    )
    g.add_argument(
        "--lr",
        type=float,
        default=d.lr,
        help=f"learning rate (default {TrainConfig.LR_PRETRAINED} for pretrained "
        f"models, {TrainConfig.LR_SCRATCH} for presets)",
    )
    g.add_argument(
        "--max-length",
        type=int,
        default=d.max_length,
        help=f"tokens per text, longer ones truncated (default {d.max_length})",
    )
    g.add_argument(
        "--group-by-length",
        action="store_true",
        default=d.group_by_length,
        help="batch texts of similar length together (less padding)",
    )
    g.add_argument(
        "--precision",
        choices=(*PRECISIONS, *PRECISION_ALIASES),
        default=d.precision,
        help="training and inference precision: fp32, or fp16/bf16 autocast (fp16 needs "
        f"CUDA; bf16 works on CPU); 'no' is an older name for fp32 (default {d.precision})",
    )
    g.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help="early stopping: epochs without gain on dev (macro-F1; pretrain: held-out MLM "
        f"loss) (0: off; default {d.patience})",
    )
    g.add_argument(
        "--max-steps",
        type=int,
        default=d.max_steps,
        help="stop after this many optimizer steps (quick runs)",
    )
    g.add_argument("--seed", type=int, default=d.seed, help=f"training seed (default {d.seed})")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_resume_arguments(parser: argparse.ArgumentParser) -> None:
    """--checkpoint-every and --resume, for the commands that train."""
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=TrainConfig.checkpoint_every,
        help="optimizer steps between checkpoints in OUT.checkpoint, written also at each "
        f"epoch end and removed when the run finishes (default {TrainConfig.checkpoint_every})",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed run from OUT.checkpoint (same options as that run)",
    )


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        lr=args.lr,
        max_length=args.max_length,
        group_by_length=args.group_by_length,
        precision=args.precision,
        patience=args.patience,
        max_steps=args.max_steps,
        seed=args.seed,
        progress=not args.no_progress,
        checkpoint_every=getattr(args, "checkpoint_every", TrainConfig.checkpoint_every),
    )


# --------------------------------------------------------------------------- data

DATA_HELP = (
    "a MahaNews-style folder, a CSV/TSV/JSONL file, a Hugging Face dataset id "
    "(hf:owner/name), or 'demo' for the built-in corpus"
)


def add_data_arguments(
    parser: argparse.ArgumentParser, positional: bool = False, required: bool = True
) -> None:
    """The data flags every command shares (--data or DATA, columns, splits, leakage)."""
    d = DataConfig()
    g = parser.add_argument_group("data")
    if positional:
        g.add_argument("data", metavar="DATA", help=DATA_HELP)
    else:
        g.add_argument("--data", required=required, default=None, help=DATA_HELP)
    g.add_argument("--text-col", default=d.text_col, help="text column (default: auto-detect)")
    g.add_argument("--label-col", default=d.label_col, help="label column (default: auto-detect)")
    g.add_argument(
        "--subset",
        default=",".join(d.subsets),
        help="comma-separated sub-datasets of a folder to read, e.g. SHC or SHC,LPC (default: all)",
    )
    g.add_argument(
        "--dev-ratio",
        type=float,
        default=d.dev_ratio,
        help=f"dev share when one pool is split (default {d.dev_ratio})",
    )
    g.add_argument(
        "--test-ratio",
        type=float,
        default=d.test_ratio,
        help=f"test share when one pool is split (default {d.test_ratio})",
    )
    g.add_argument(
        "--data-seed",
        type=int,
        default=d.seed,
        help=f"seed of the stratified split (default {d.seed})",
    )
    g.add_argument(
        "--no-leakage-guard",
        action="store_true",
        help="keep train texts that also occur in dev/test (not recommended)",
    )
    g.add_argument(
        "--drop-train-duplicates",
        action="store_true",
        help="keep one copy of each text within train",
    )


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    return DataConfig(
        source=args.data,
        text_col=args.text_col,
        label_col=args.label_col,
        subsets=tuple(s.strip() for s in (args.subset or "").split(",") if s.strip()),
        dev_ratio=args.dev_ratio,
        test_ratio=args.test_ratio,
        seed=args.data_seed,
        leakage_guard=not args.no_leakage_guard,
        drop_train_duplicates=args.drop_train_duplicates,
    )
