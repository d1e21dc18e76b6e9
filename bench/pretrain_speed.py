"""Pretraining throughput: tokens/s of MLM training steps, fp32 vs bf16 autocast, and the
vocabulary projection at masked positions only (lahan's MaskedLM) vs at every position
(transformers' own loss), interleaved in one run.

    python bench/pretrain_speed.py                      # preset:small, 16k vocab, corpus
    python bench/pretrain_speed.py --preset tiny --vocab-size 2000 --steps 2 --rounds 1

Each variant times full optimizer steps (forward, backward, AdamW) on the same packed,
masked batches; variants take turns round by round so load drift hits all alike; the
median step time per variant gives tokens/s, and ratios are against fp32 + masked-only.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import time
from pathlib import Path

import torch
from transformers import BertForMaskedLM

from lahan.config import ModelConfig, PretrainConfig
from lahan.data import load_dataset
from lahan.measure.machine import machine_info
from lahan.models import preset_bert_config, train_wordpiece
from lahan.pretrain import MaskedLM, MaskingCollator, pack

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/marathi-text/corpus.txt"


def texts_for(n: int) -> tuple[list[str], str]:
    if CORPUS.is_file():
        with CORPUS.open(encoding="utf-8") as f:
            return [line.strip() for line in itertools.islice(f, n) if line.strip()], str(CORPUS)
    return [r.text for r in load_dataset("demo").split("train")], "demo (corpus absent)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--texts", type=int, default=20000, help="corpus lines for vocab and batches")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per variant per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    texts, source = texts_for(args.texts)
    tokenizer = train_wordpiece(texts, args.vocab_size)
    blocks = pack(tokenizer, texts, args.max_length, progress=False)
    collator = MaskingCollator(tokenizer, PretrainConfig())
    torch.manual_seed(0)
    need = args.batch_size * args.steps
    batches = [
        collator([blocks[i % len(blocks)] for i in range(s, s + args.batch_size)])
        for s in range(0, need, args.batch_size)
    ]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)

    config = preset_bert_config(ModelConfig(source=f"preset:{args.preset}"), tokenizer)
    variants = {}
    for precision in ("fp32", "bf16"):
        for head in ("masked", "full"):
            torch.manual_seed(0)
            base = BertForMaskedLM(config)
            model = MaskedLM(base)
            if head == "full":
                model.head_name = None  # transformers' own forward: projection everywhere
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            autocast = (
                (lambda: torch.autocast("cpu", dtype=torch.bfloat16))
                if precision == "bf16"
                else contextlib.nullcontext
            )
            variants[f"{precision} {head}"] = (model, opt, autocast)

    def step_all(model, opt, autocast) -> float:
        started = time.perf_counter()
        for batch in batches:
            with autocast():
                out = model(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    labels=batch["labels"],
                )
            out.loss.backward()
            opt.step()
            opt.zero_grad()
        return time.perf_counter() - started

    for v in variants.values():  # warm-up round (allocations, oneDNN kernels)
        step_all(*v)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, v in variants.items():
            times[name].append(step_all(*v))
    reference = statistics.median(times["fp32 masked"])
    results = {
        name: {
            "tokens_per_s": tokens / statistics.median(t),
            "seconds_per_step": statistics.median(t) / len(batches),
            "speed_vs_fp32_masked": reference / statistics.median(t),
        }
        for name, t in times.items()
    }
    print(
        f"preset:{args.preset}, vocab {len(tokenizer):,}, batch {args.batch_size} x "
        f"{args.max_length}, {len(batches)} steps x {args.rounds} rounds; texts: {source}"
    )
    print(f"{'variant':<14}{'tokens/s':>10}{'s/step':>9}{'ratio':>8}")
    for name, r in results.items():
        print(
            f"{name:<14}{r['tokens_per_s']:>10,.0f}{r['seconds_per_step']:>9.3f}"
            f"{r['speed_vs_fp32_masked']:>7.2f}x"
        )
    info = machine_info()
    print(
        f"cpu: {info['processor']}; features {','.join(info['cpu_features'])}; "
        f"torch threads {info['torch_threads']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "machine": info}, indent=2))


if __name__ == "__main__":
    main()
