"""`lahan demo`: the whole pipeline on a built-in corpus, offline, in about a minute."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_command
from lahan.config import DemoConfig

EXAMPLES = """\
examples:
  lahan demo                                   # built-in Marathi headlines, writes runs/demo
  lahan demo --data ../shared/data/mahanews --out runs/demo-mahanews
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    d = DemoConfig()
    p = add_command(
        subparsers,
        "demo",
        help="run the pipeline offline on a built-in corpus",
        description="Train a tiny BERT teacher from scratch on a built-in Marathi news-topic "
        "corpus (synthetic headlines), evaluate it, and write a report. Offline.",
        examples=EXAMPLES,
    )
    p.add_argument("--data", default=d.data, help="data to use instead of the built-in corpus")
    p.add_argument("--out", default=d.out, help=f"output folder (default {d.out})")
    p.add_argument(
        "--epochs",
        type=int,
        default=d.train.epochs,
        help=f"teacher epochs (default {d.train.epochs})",
    )
    p.add_argument(
        "--compress-epochs",
        type=int,
        default=d.compress_train.epochs,
        help=f"epochs of the pruning + distillation step (default {d.compress_train.epochs})",
    )
    p.add_argument(
        "--seed", type=int, default=d.train.seed, help=f"training seed (default {d.train.seed})"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from lahan.recipes.demo import run_demo

    d = DemoConfig()
    config = replace(
        d,
        data=args.data,
        out=args.out,
        train=replace(d.train, epochs=args.epochs, seed=args.seed),
        compress_train=replace(d.compress_train, epochs=args.compress_epochs, seed=args.seed),
    )
    result = run_demo(config)
    print(result["table"])
    print(f"\ndone in {result['total_seconds']:.0f}s; report: {result['report']}")
    return 0
