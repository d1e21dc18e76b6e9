"""`lahan predict`: label texts (one per line) with a model folder or an ONNX export."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_label_arguments, label_names_from_args

EXAMPLES = """\
examples:
  lahan predict --model runs/p25-kd --input headlines.txt > predictions.jsonl
  cat headlines.txt | lahan predict --model runs/p25-kd-int8 --format csv --output preds.csv
  lahan predict --model runs/p25-kd --precision int8 --input big.txt --batch-size 64
"""


def register(subparsers) -> None:
    from lahan.deploy.predict import FORMATS, PredictConfig
    from lahan.deploy.predictor import PRECISIONS

    d = PredictConfig()
    p = subparsers.add_parser(
        "predict",
        help="label texts with a model folder or ONNX export",
        description="Read texts, one per line, from a file or stdin and write one row per "
        "line, in input order: label, score and every label's probability. Inputs stream "
        "through in chunks; texts are batched by length inside each chunk. An empty line "
        "gets a row with no label and error 'empty text'; a text longer than the model's "
        "max length is truncated (as in training) and marked truncated: true.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="a model folder or an exported ONNX folder")
    p.add_argument("--input", default="-", help="text file, one text per line (default: stdin)")
    p.add_argument("--output", default="-", help="where to write (default: stdout)")
    p.add_argument("--format", choices=FORMATS, default=d.format, help=f"default {d.format}")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="torch model folders: fp32, bf16, fp16 (GPU) or int8 (CPU); default fp32",
    )
    add_label_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from lahan.deploy.predict import (
        PredictConfig,
        open_text,
        predict_rows,
        read_lines,
        write_rows,
    )
    from lahan.deploy.predictor import load_predictor
    from lahan.io import atomic_text_stream

    config = PredictConfig(batch_size=args.batch_size, format=args.format)
    predictor = load_predictor(args.model, args.precision, label_names_from_args(args))
    with open_text(args.input) as stream:
        rows = predict_rows(predictor, read_lines(stream, args.input), config)
        if args.output == "-":
            n = write_rows(rows, sys.stdout, config.format, predictor.labels)
        else:
            with atomic_text_stream(args.output) as out:  # appears whole or not at all
                n = write_rows(rows, out, config.format, predictor.labels)
    print(f"{n} rows written to {args.output if args.output != '-' else 'stdout'}", file=sys.stderr)
    return 0
