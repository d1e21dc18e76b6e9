"""`lahan predict`: label texts (lines, or a CSV/TSV/JSONL table) with a model or ONNX export."""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_command,
    add_config_flags,
    add_label_arguments,
    config_from_flags,
    label_names_from_args,
)
from lahan.config import INFERENCE_PRECISIONS, PredictConfig

EXAMPLES = """\
examples:
  lahan predict --model runs/p25-kd --input headlines.txt > predictions.jsonl
  cat headlines.txt | lahan predict --model runs/p25-kd-int8 --format csv --output preds.csv
  lahan predict --model runs/p25-kd --precision int8 --input big.txt --batch-size 64
  lahan predict --model runs/p25-kd --input news.csv --text-col headline > predictions.jsonl
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "predict",
        help="label texts with a model folder or ONNX export",
        description="Read texts, one per line, from a file or stdin (or the text column of "
        "a .csv/.tsv/.jsonl file, found as for --data) and write one row per text, in input "
        "order: its input line, label, score and every label's probability. Plain text "
        "streams through in chunks; texts are batched by length inside each chunk. An "
        "empty text gets a row with no label and error 'empty text'; a text longer than "
        "the model's max length is truncated (as in training) and marked truncated: true.",
        examples=EXAMPLES,
    )
    p.add_argument("--model", required=True, help="a model folder or an exported ONNX folder")
    p.add_argument(
        "--input",
        default="-",
        help="text file, one text per line, or a .csv/.tsv/.jsonl table (default: stdin)",
    )
    p.add_argument(
        "--text-col", default=None, help="text column of a table --input (default: auto-detect)"
    )
    p.add_argument("--output", default="-", help="where to write (default: stdout)")
    add_config_flags(p, PredictConfig)
    p.add_argument(
        "--precision",
        choices=INFERENCE_PRECISIONS,
        default="fp32",
        help="torch model folders: fp32, bf16, fp16 (GPU) or int8 (CPU); default fp32",
    )
    add_label_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from contextlib import nullcontext
    from pathlib import Path

    from lahan.deploy.predict import (
        TABLE_SUFFIXES,
        open_text,
        predict_rows,
        read_lines,
        read_table,
        write_rows,
    )
    from lahan.deploy.predictor import load_predictor
    from lahan.errors import LahanError
    from lahan.io import atomic_text_stream

    config = config_from_flags(PredictConfig, args)
    table = args.input != "-" and Path(args.input).suffix.lower() in TABLE_SUFFIXES
    if args.text_col and not table:
        raise LahanError(
            f"--text-col names a column of a table, but --input '{args.input}' is read as "
            f"plain text (one text per line); tables end in {', '.join(TABLE_SUFFIXES)}"
        )
    predictor = load_predictor(args.model, args.precision, label_names_from_args(args))
    with nullcontext() if table else open_text(args.input) as stream:
        if table:
            texts = read_table(args.input, args.text_col)
        else:
            texts = enumerate(read_lines(stream, args.input), start=1)
        rows = predict_rows(predictor, texts, config)
        if args.output == "-":
            n = write_rows(rows, sys.stdout, config.format, predictor.labels)
        else:
            with atomic_text_stream(args.output) as out:  # appears whole or not at all
                n = write_rows(rows, out, config.format, predictor.labels)
    print(f"{n} rows written to {args.output if args.output != '-' else 'stdout'}", file=sys.stderr)
    return 0
