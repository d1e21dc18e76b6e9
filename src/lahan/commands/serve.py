"""`lahan serve`: an HTTP server for a model folder or ONNX export (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse

from lahan.commands._args import add_label_arguments, label_names_from_args
from lahan.config import INFERENCE_PRECISIONS, ServeConfig

EXAMPLES = """\
examples:
  lahan serve --model runs/p25-kd                      # http://127.0.0.1:8000
  lahan serve --model runs/p25-kd-int8 --port 9000 --max-texts 16
  curl -s localhost:8000/predict -H 'content-type: application/json' \\
       -d '{"texts": ["भारताने सामना जिंकला"]}'
"""

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:

    d = ServeConfig()
    p = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP",
        description="Serve a model folder or an exported ONNX folder: POST /predict "
        '{"texts": [...]} -> labels and scores; GET /health; GET /info (how the model was '
        "made, its metrics, the limits). Concurrent requests are micro-batched. Too large "
        "requests get 413, malformed JSON 400, wrong shapes 422, a full queue 503.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="a model folder or an exported ONNX folder")
    p.add_argument("--host", default=d.host, help=f"default {d.host} (loopback only)")
    p.add_argument("--port", type=int, default=d.port, help=f"default {d.port}")
    p.add_argument(
        "--precision", choices=INFERENCE_PRECISIONS, default="fp32", help="torch folders only"
    )
    p.add_argument("--max-texts", type=int, default=d.max_texts, help="texts per request")
    p.add_argument("--max-chars", type=int, default=d.max_chars, help="characters per text")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, help="request body")
    p.add_argument(
        "--batch-window-ms", type=float, default=d.batch_window_ms, help="micro-batch window"
    )
    p.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds per request")
    add_label_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import uvicorn

    from lahan.config import ServeConfig
    from lahan.deploy.predictor import load_predictor
    from lahan.deploy.serve import create_app

    config = ServeConfig(
        host=args.host,
        port=args.port,
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
        batch_window_ms=args.batch_window_ms,
        timeout_s=args.timeout,
    )
    predictor = load_predictor(args.model, args.precision, label_names_from_args(args))
    app = create_app(predictor, config)
    print(f"serving {args.model} on http://{config.host}:{config.port}", file=sys.stderr)
    # an access line per request (method, path, status) on stderr, as servers usually log
    uvicorn.run(app, host=config.host, port=config.port, log_level="info", access_log=True)
    return 0
