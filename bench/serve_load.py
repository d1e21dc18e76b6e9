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
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

import httpx

from lahan.data import DataConfig, load_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(base: str, texts: list[str], requests: int, concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(texts[i % len(texts)])

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                text = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            r = await client.post(f"{base}/predict", json={"texts": [text]})
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "requests": requests,
        "requests_per_s": requests / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    texts = [r.text for r in load_dataset(DataConfig(source=args.data)).split("dev")]
    report = {}
    for model in args.model:
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lahan",
                "serve",
                "--model",
                model,
                "--port",
                str(port),
                "--max-texts",
                "64",
            ],
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            asyncio.run(load(base, texts, 20, 4))  # warm-up
            report[model] = [
                asyncio.run(load(base, texts, args.requests, int(c)))
                for c in args.concurrency.split(",")
            ]
            for row in report[model]:
                print(
                    f"{model:<30} c={row['concurrency']:<3} {row['requests_per_s']:7.1f} req/s "
                    f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                    f"{row['statuses']}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
