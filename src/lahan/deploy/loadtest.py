"""A bounded loopback load on a running `lahan serve`: fixed request count, fixed
concurrency, stops by itself; used by `bench/serve_load.py` and the server's tests.

Each payload is a JSON-able object (sent as JSON) or raw bytes (sent as the body as is,
to test malformed input); payloads are sent in turn, cycling, ``requests`` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

from lahan.errors import LahanError


async def _load(base: str, payloads: Sequence[Any], requests: int, concurrency: int) -> dict:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    by_payload: list[list[int]] = [[] for _ in payloads]
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i % len(payloads))

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                which = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            payload = payloads[which]
            t0 = time.perf_counter()
            if isinstance(payload, bytes):
                r = await client.post(
                    f"{base}/predict", content=payload, headers={"content-type": "application/json"}
                )
            else:
                r = await client.post(f"{base}/predict", json=payload)
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            by_payload[which].append(r.status_code)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "requests": requests,
        "answered": len(latencies),
        "requests_per_s": requests / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "statuses": statuses,
        # which payloads (by index) got anything but 200, and what
        "non_200_payloads": {i: sorted(set(s)) for i, s in enumerate(by_payload) if set(s) - {200}},
    }


def run_load(base: str, payloads: Sequence[Any], requests: int, concurrency: int) -> dict:
    """Send ``requests`` POST /predict requests, ``concurrency`` at a time; wait for all."""
    return asyncio.run(_load(base, payloads, requests, concurrency))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(model: str, *options: str, start_timeout: float = 60.0) -> Iterator[str]:
    """Run `lahan serve --model MODEL` on a free loopback port until the block ends;
    yields its base URL once /health answers (a LahanError if it never does)."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "lahan", "serve", "--model", str(model), "--port", str(port)]
    # the server's log goes to a file: a pipe nobody reads would fill and stall it
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen([*command, *options], stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                reason = log.read() if server.poll() is not None else "timed out"
                raise LahanError(f"`lahan serve --model {model}` did not start: {reason[-300:]}")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
