"""A bounded loopback load on a running `lahan serve`: fixed request count, fixed
concurrency, stops by itself; used by `bench/serve_load.py` and the server's tests.

Each payload is a JSON-able object (sent as JSON) or raw bytes (sent as the body as is,
to test malformed input); payloads are sent in turn, cycling, ``requests`` times.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any


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
