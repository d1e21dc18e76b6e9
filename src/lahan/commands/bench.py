"""`lahan bench`: latency, throughput, memory, size, FLOPs and energy of several models."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_data_arguments,
    add_label_arguments,
    config_from_flags,
    data_config_from_args,
    label_names_from_args,
)
from lahan.config import BenchConfig

EXAMPLES = """\
examples:
  lahan bench --model runs/teacher --model runs/p25-kd --data ../shared/data/mahanews
  lahan bench --model runs/teacher@padded --model runs/teacher --data ../shared/data/mahanews
  lahan bench --model runs/teacher --model runs/teacher@int8 --model runs/p25-kd-onnx \\
      --data news.csv --split dev --json bench.json
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "bench",
        help="measure models side by side (speed, memory, size, FLOPs, CO2)",
        description="Measure every --model on the same split in one run and report ratios "
        "against the first: latency (median, p95) at each of --batch-sizes with the models "
        "interleaved, throughput over the split, peak memory, size on disk, parameters, "
        "FLOPs per example and the share of the machine's GEMM rate achieved, energy and "
        "CO2 per 1,000 predictions (CodeCarbon, offline), and the machine. A model is a "
        "folder, DIR@bf16 / DIR@int8 for another precision, DIR@padded to pad every batch to "
        "the model's max length (how paper-style baselines run), or an exported ONNX folder.",
        examples=EXAMPLES,
    )
    add_config_flags(p, BenchConfig, names=("models",))
    add_data_arguments(p)
    add_config_flags(p.add_argument_group("measuring"), BenchConfig, skip=("models",))
    p.add_argument("--json", default=None, help="also write the full report to this file")
    add_label_arguments(p, what="every placeholder-labelled --model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from lahan.recipes.bench import format_bench_table, run_bench

    config = config_from_flags(
        BenchConfig, args, data=data_config_from_args(args), labels=label_names_from_args(args)
    )
    report = run_bench(config, progress=lambda m: print(m, file=sys.stderr))
    print(format_bench_table(report))
    m = report.machine
    print(
        f"\n{m['processor']}, {m['torch_threads']} threads, GEMM {m['gemm_flops_per_s'] / 1e9:.0f} "
        f"GFLOP/s; energy: {next(iter(report.models.values())).energy['power_method']}"
    )
    if args.json:
        report.write(args.json)
        print(f"report: {args.json}")
    return 0
