"""``lahan data check``: audit a dataset before trusting any number trained on it."""

from __future__ import annotations

import argparse
import json

from lahan.commands._args import add_data_arguments, data_config_from_args

CHECK_EPILOG = """\
examples:
  lahan data check ../shared/data/mahanews           # a MahaNews/IndicNews folder (SHC/LDC/LPC)
  lahan data check ../shared/data/mahanews --subset SHC  # only the SHC sub-dataset
  lahan data check news.csv --text-col body --label-col topic
  lahan data check train.jsonl --json > audit.json   # machine-readable
  lahan data check ../shared/data/mahanews --tokenizer runs/teacher   # lengths in tokens too

exit status: 0 when the data could be read (findings are reported, not fatal);
2 when it could not (missing path, not UTF-8, no text column, ...).
"""

# computes nothing heavy: no --threads, PyTorch never loaded
COMPUTES = False


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data",
        help="inspect a dataset (lahan data check DATA)",
        description="Inspect datasets before training on them.",
        epilog="example:\n  lahan data check ../shared/data/mahanews",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    check = data_sub.add_parser(
        "check",
        help="audit a dataset: rows, labels, duplicates, conflicts, leakage, mojibake, lengths",
        description=(
            "Read DATA the way training would and report, per file and per split: rows, "
            "label distribution, duplicates, texts with conflicting labels, overlap between "
            "files and splits, suspected mojibake, length percentiles, and every dropped row."
        ),
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(check, positional=True)
    check.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables"
    )
    check.add_argument(
        "--tokenizer",
        metavar="DIR",
        help="a saved tokenizer/model folder: also report lengths in tokens",
    )
    check.set_defaults(func=run_check)
    data.set_defaults(func=lambda args: _need_subcommand(data))


def _need_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    from lahan.data import audit_dataset, render_audit

    config = data_config_from_args(args)
    tokenizer = None
    if args.tokenizer:  # only then load transformers (a plain audit stays fast)
        from lahan.models import load_tokenizer

        tokenizer = load_tokenizer(args.tokenizer, flag="--tokenizer")
    audit = audit_dataset(config, tokenizer=tokenizer)
    if args.json:
        print(json.dumps(audit, ensure_ascii=False, indent=2))
    else:
        print(render_audit(audit), end="")
    return 0
