"""`lahan prune`: block movement pruning of a trained classifier, shrunk to a smaller model."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_train_arguments, train_config_from_args
from lahan.data.config import add_data_arguments, data_config_from_args
from lahan.errors import LahanError
from lahan.prune.movement import GRANULARITIES, METHODS, PruneConfig
from lahan.recipes.prune import TrimConfig
from lahan.train import TrainConfig

EXAMPLES = """\
examples:
  lahan prune --teacher runs/teacher --data ../shared/data/mahanews --sparsity 0.5 --out runs/p50
  lahan prune --teacher runs/teacher --data news.csv --sparsity 0.25 --granularity heads \\
      --trim-vocab --out runs/p25-heads
"""


def _block(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(x) for x in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLS like 32x32, got '{text}'") from err
    return rows, cols


def register(subparsers) -> None:
    d = PruneConfig()
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
    p.add_argument("--teacher", required=True, help="a trained classifier folder (lahan or HF)")
    add_data_arguments(p)
    g = p.add_argument_group("pruning")
    g.add_argument(
        "--sparsity",
        type=float,
        default=d.sparsity,
        help=f"fraction of encoder linear weights removed (default {d.sparsity})",
    )
    g.add_argument(
        "--granularity",
        choices=GRANULARITIES,
        default=d.granularity,
        help="hybrid: attention blocks + FFN neurons; heads: whole heads + FFN "
        f"neurons (default {d.granularity})",
    )
    g.add_argument(
        "--block",
        type=_block,
        default=d.block,
        help=f"attention block for hybrid, ROWSxCOLS; ignored by heads "
        f"(default {d.block[0]}x{d.block[1]})",
    )
    g.add_argument(
        "--method",
        choices=METHODS,
        default=d.method,
        help=f"hard: exact top-k; soft: sigmoid threshold + L1 (default {d.method})",
    )
    g.add_argument(
        "--score-lr",
        type=float,
        default=d.score_lr,
        help=f"learning rate of the pruning scores (default {d.score_lr})",
    )
    g.add_argument(
        "--trim-vocab",
        action="store_true",
        help="keep only the tokens of the training data (+ special tokens)",
    )
    g.add_argument(
        "--trim-vocab-top",
        type=int,
        default=TrimConfig().keep_top_n,
        help="with --trim-vocab, also keep the N most common tokens",
    )
    add_train_arguments(p, TrainConfig(epochs=4, patience=0))
    p.add_argument("--relabel", action="store_true", help="map labels by name")
    p.add_argument("--out", required=True, help="folder to write the pruned model to")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from lahan.evaluate import format_metrics_table
    from lahan.recipes.prune import run_prune

    if args.trim_vocab_top and not args.trim_vocab:
        raise LahanError("--trim-vocab-top needs --trim-vocab")
    prune_config = PruneConfig(
        sparsity=args.sparsity,
        granularity=args.granularity,
        block=args.block,
        method=args.method,
        score_lr=args.score_lr,
    )
    record = run_prune(
        args.teacher,
        data_config_from_args(args),
        prune_config,
        train_config_from_args(args),
        args.out,
        TrimConfig(args.trim_vocab, args.trim_vocab_top),
        relabel=args.relabel,
    )
    if not PartialState().is_main_process:
        return 0
    m = record["metrics"]
    print(record["table"])
    print(format_metrics_table([("teacher", m["dev_teacher"]), ("pruned", m["dev"])]))
    params = record["params"]
    print(
        f"parameters {params['teacher']['total']:,} -> {params['pruned']['total']:,}; "
        f"heads {record['structure']['heads_after']}/{record['structure']['heads_before']}; "
        f"FFN {record['structure']['ffn_after']}/{record['structure']['ffn_before']}"
    )
    print(
        f"speed (batch 32, dev texts, same run): {record['latency']['speedup_vs_teacher']:.2f}x "
        "the teacher's"
    )
    print(f"saved to {args.out}")
    return 0
