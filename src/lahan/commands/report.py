"""`lahan report DIR`: tables, plots and a recommendation from a sweep's results."""

from __future__ import annotations

import argparse

from lahan.config import REPORT_METRICS, ReportConfig

EXAMPLES = """\
examples:
  lahan report runs/sweep
  lahan report runs/sweep --metric macro_f1 --within 0.5
"""


def register(subparsers) -> None:
    d = ReportConfig()
    p = subparsers.add_parser(
        "report",
        help="write report.md / report.html and plots for a sweep",
        description="Read DIR/results.jsonl and write report.md, a self-contained "
        "report.html and PNGs: the results sorted by throughput, accuracy vs throughput "
        "with the Pareto front, training and inference CO2, sizes, and the recommended "
        "configuration: the fastest within --within points of the baseline on --metric.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", metavar="DIR", help="a sweep folder (holds results.jsonl)")
    p.add_argument("--metric", default=d.metric, choices=REPORT_METRICS)
    p.add_argument("--within", type=float, default=d.within, help=f"default {d.within}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lahan.recipes.report import write_report

    report = write_report(args.folder, ReportConfig(metric=args.metric, within=args.within))
    print(f"recommended: {report['recommended']}")
    print("pareto front: " + ", ".join(report["pareto_front"]))
    print("wrote " + ", ".join(report["files"]))
    return 0
