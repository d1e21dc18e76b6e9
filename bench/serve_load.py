"""Bounded loopback load on `lahan serve`: requests/s and latency, model against model.

    python bench/serve_load.py --model runs/small --model runs/prune-kd-0.5 \\
        --data ../shared/data/mahanews [--requests 300] [--concurrency 1,8,32]

For each model: starts `lahan serve` on a free loopback port, sends ``--requests``
POST /predict requests (one dev text each, cycling) at each concurrency level with
httpx, stops by itself, and reports requests/s, p50/p95 latency and any non-200s.
Models are served one at a time (the server gets the CPU to itself).
"""

from __future__ import annotations

import argparse
import json
import sys

from lahan.config import DataConfig
from lahan.data import load_dataset
from lahan.deploy.loadtest import run_load, serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    texts = [r.text for r in load_dataset(DataConfig(source=args.data)).split("dev")]
    payloads = [{"texts": [text]} for text in texts]
    report = {}
    for model in args.model:
        with serving(model, "--max-texts", "64") as base:
            run_load(base, payloads, 20, 4)  # warm-up
            report[model] = [
                run_load(base, payloads, args.requests, int(c)) for c in args.concurrency.split(",")
            ]
        for row in report[model]:
            print(
                f"{model:<30} c={row['concurrency']:<3} {row['requests_per_s']:7.1f} req/s "
                f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                f"{row['statuses']}",
                file=sys.stderr,  # stdout holds the JSON alone
                flush=True,
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
