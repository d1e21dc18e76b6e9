"""`lahan bench`: latency, throughput, memory, size, FLOPs and energy of several models."""

from __future__ import annotations

import argparse
from dataclasses import fields

from lahan.commands._args import (
    add_data_arguments,
    add_label_arguments,
    data_config_from_args,
    label_names_from_args,
)
from lahan.config import DEFAULT_COUNTRY, BenchConfig

EXAMPLES = """\
examples:
  lahan bench --model runs/teacher --model runs/p25-kd --data ../shared/data/mahanews
  lahan bench --model runs/teacher@padded --model runs/teacher --data ../shared/data/mahanews
  lahan bench --model runs/teacher --model runs/teacher@int8 --model runs/p25-kd-onnx \\
      --data news.csv --split dev --json bench.json
"""


def register(subparsers) -> None:
    d = {f.name: f.default for f in fields(BenchConfig)}
    p = subparsers.add_parser(
        "bench",
        help="measure models side by side (speed, memory, size, FLOPs, CO2)",
        description="Measure every --model on the same split in one run and report ratios "
        "against the first: latency (median, p95) at batch 1 and 32 with the models "
        "interleaved, throughput over the split, peak memory, size on disk, parameters, "
        "FLOPs per example and the share of the machine's GEMM rate achieved, energy and "
        "CO2 per 1,000 predictions (CodeCarbon, offline), and the machine. A model is a "
        "folder, DIR@bf16 / DIR@int8 for another precision, DIR@padded to pad every batch to "
        "the model's max length (how paper-style baselines run), or an exported ONNX folder.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", action="append", required=True, help="repeat for each model")
    add_data_arguments(p)
    p.add_argument("--split", default=d["split"], help=f"default {d['split']}")
    p.add_argument("--repeats", type=int, default=d["repeats"], help=f"default {d['repeats']}")
    p.add_argument("--warmup", type=int, default=d["warmup"], help=f"default {d['warmup']}")
    p.add_argument(
        "--latency-texts", type=int, default=d["latency_texts"], help="texts timed per batch size"
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument(
        "--country",
        default=DEFAULT_COUNTRY,
        help=f"grid for CO2 (ISO code, default {d['country']})",
    )
    p.add_argument("--relabel", action="store_true", help="map dataset labels by name")
    p.add_argument("--json", default=None, help="also write the full report to this file")
    add_label_arguments(p, what="every placeholder-labelled --model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from lahan.recipes.bench import format_bench_table, run_bench

    config = BenchConfig(
        models=args.model,
        data=data_config_from_args(args),
        split=args.split,
        repeats=args.repeats,
        warmup=args.warmup,
        latency_texts=args.latency_texts,
        threads=args.threads,
        country=args.country,
        relabel=args.relabel,
        labels=label_names_from_args(args),
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
