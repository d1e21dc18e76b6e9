"""`lahan sweep`: the paper's grid (or yours) against one teacher, resumable."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_data_arguments,
    add_train_arguments,
    config_from_flags,
    data_config_from_args,
    train_config_from_args,
)
from lahan.config import SweepConfig, train_defaults

EXAMPLES = """\
examples:
  lahan sweep --teacher runs/teacher --data ../shared/data/mahanews --grid paper --out runs/sweep
  lahan sweep --teacher runs/teacher --data news.csv --grid my-grid.toml --out runs/sweep2
  lahan report runs/sweep

a grid file (TOML; YAML has the same keys):
  [[rows]]
  id = "baseline"
  [[rows]]
  id = "p50-kd"
  prune = 0.5
  distill = true
  [[rows]]
  id = "p50-taylor-kd"        # prune and distill take the fields of `lahan compress`
  prune = {sparsity = 0.5, method = "taylor", allocation = "uniform"}
  distill = {temperature = 4.0, alpha = 0.5}
  train = {epochs = 8, lr = 1e-4, group_by_length = true}
  trim = {keep_top_n = 20000}  # vocabulary trimming; trim = true keeps the train texts'
  [[rows]]
  id = "p50-kd-int8"
  derive_from = "p50-kd"
  precision = "int8"          # fp32 | bf16 | fp16 | int8; runtime = "onnx" for ONNX
"""

DEFAULTS = train_defaults("compress")  # what every row trains with

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "sweep",
        help="run an experiment grid (the paper's by default), resumably",
        description="Run every configuration of a grid against one teacher: the paper's "
        "(baseline; pruning 25/50/75%; distillation into half the layers; pruning + "
        "distillation; each of those at fp16 and bf16) then int8 and ONNX variants of the "
        "three fastest rows within --within points of the baseline; and in every grid a "
        "'reference' row, a TF-IDF + linear SVM trained on the same split (a grid file "
        "leaves it out with `reference = false`). Each row becomes one "
        "line of OUT/results.jsonl, measured side by side with the teacher. Run it again "
        "after a crash: finished rows are kept, the interrupted one is redone.",
        examples=EXAMPLES,
    )
    add_config_flags(p, SweepConfig, names=("teacher",))
    add_data_arguments(p)
    add_config_flags(p.add_argument_group("the sweep"), SweepConfig, skip=("teacher", "out"))
    add_train_arguments(p, DEFAULTS)
    add_config_flags(p, SweepConfig, names=("out",))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.config import ReportConfig
    from lahan.recipes.report import write_report
    from lahan.recipes.sweep import run_sweep

    config = config_from_flags(
        SweepConfig, args, data=data_config_from_args(args), train=train_config_from_args(args)
    )
    done = run_sweep(config, progress=not args.no_progress)
    ok = sum(1 for r in done.values() if r.ok)
    report = write_report(args.out, ReportConfig(within=args.within))
    print(f"{ok} rows measured, {len(done) - ok} skipped; results: {args.out}/results.jsonl")
    print(f"recommended: {report['recommended']}; report: {args.out}/report.md")
    return 0
