"""`lahan report DIR`: tables, plots and a recommendation from a sweep's results."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_command, add_config_flags, config_from_flags
from lahan.config import ReportConfig

EXAMPLES = """\
examples:
  lahan report runs/sweep
  lahan report runs/sweep --metric macro_f1 --within 0.5
"""

# computes nothing heavy: no --threads, PyTorch never loaded
COMPUTES = False


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "report",
        help="write report.md / report.html and plots for a sweep",
        description="Read DIR/results.jsonl and write report.md, a self-contained "
        "report.html and PNGs: the results sorted by throughput, accuracy vs throughput "
        "with the Pareto front, training and inference CO2, sizes, and the recommended "
        "configuration: the fastest within --within points of the baseline on --metric.",
        examples=EXAMPLES,
    )
    p.add_argument("folder", metavar="DIR", help="a sweep folder (holds results.jsonl)")
    add_config_flags(p, ReportConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.report import write_report

    report = write_report(args.folder, config_from_flags(ReportConfig, args))
    print(f"recommended: {report['recommended']}")
    print("pareto front: " + ", ".join(report["pareto_front"]))
    print("wrote " + ", ".join(report["files"]))
    return 0
