"""Training steps under CPU contention, with PyTorch's default threads vs --threads 1.

Issue 18 saw a training run print nothing for ~10 minutes on a busy 2-core machine:
PyTorch's intra-op threads (one per core by default) wait on each other at every
parallel region, and when another process holds a core the waiting thread spins or
sleeps until the OS schedules its partner. This script reproduces it: it times
forward + backward + AdamW steps of a preset:small-shaped classifier (batch 16 x 128
tokens) in a fresh process per setting, alone and next to ``--hogs`` busy processes,
with torch's default thread count and with ``torch.set_num_threads(1)`` (what
``lahan ... --threads 1`` / ``LAHAN_THREADS=1`` sets). Settings are interleaved over
``--rounds`` so a machine that changes load moves all of them alike.

    python bench/thread_contention.py --seconds 20 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time


def hog(stop) -> None:
    """A busy process: pure-Python arithmetic until told to stop."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x * 31 + i) % 1_000_003


def steps(threads: int | None, seconds: float, queue) -> None:
    """Run training steps for ``seconds``; report step times (runs in a fresh process)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    import lahan  # noqa: F401  (quietens torchao's import-time noise in this process)

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=16000,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        num_labels=12,
    )
    model = BertForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(5, 16000, (16, 128))
    labels = torch.randint(0, 12, (16,))
    times = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - t)
    queue.put({"threads": torch.get_num_threads(), "step_seconds": times})


def measure(threads: int | None, seconds: float, hogs: int) -> dict:
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    busy = [context.Process(target=hog, args=(stop,)) for _ in range(hogs)]
    for p in busy:
        p.start()
    queue = context.Queue()
    worker = context.Process(target=steps, args=(threads, seconds, queue))
    worker.start()
    result = queue.get()
    worker.join()
    stop.set()
    for p in busy:
        p.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per setting and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hogs", type=int, default=os.cpu_count(), help="busy processes")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    settings = [
        ("default threads, idle", None, 0),
        ("1 thread, idle", 1, 0),
        (f"default threads, {args.hogs} busy processes", None, args.hogs),
        (f"1 thread, {args.hogs} busy processes", 1, args.hogs),
    ]
    results: dict[str, list] = {name: [] for name, _, _ in settings}
    threads_used = {}
    for _ in range(args.rounds):
        for name, threads, hogs in settings:
            r = measure(threads, args.seconds, hogs)
            results[name] += r["step_seconds"][1:] or r["step_seconds"]  # first: warm-up
            threads_used[name] = r["threads"]
    from lahan.measure.machine import machine_info

    machine = machine_info("cpu")
    print(f"{machine.get('processor')}, {os.cpu_count()} cores; {args.rounds} rounds x "
          f"{args.seconds:g} s per setting, interleaved")  # fmt: skip
    print(f"{'setting':<40} {'threads':>7} {'steps':>6} {'median s':>9} {'p95 s':>7} {'max s':>7}")
    summary = {}
    for name, values in results.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        summary[name] = {
            "threads": threads_used[name],
            "steps": len(values),
            "median_s": statistics.median(values),
            "p95_s": p95,
            "max_s": values[-1],
        }
        s = summary[name]
        print(
            f"{name:<40} {s['threads']:>7} {s['steps']:>6} {s['median_s']:>9.3f} "
            f"{s['p95_s']:>7.3f} {s['max_s']:>7.3f}"
        )
    busy_default = summary[settings[2][0]]["median_s"]
    busy_one = summary[settings[3][0]]["median_s"]
    print(f"under contention, 1 thread is {busy_default / busy_one:.2f}x the speed of default")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "settings": summary}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
