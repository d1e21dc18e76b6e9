"""The paper's grid at BERT-base shape on a GPU: precision x pruning, KD step time, memory.

    python bench/gpu_study.py [--repeats 5] [--out gpu.json]      # on the GPU machine
    python bench/gpu_study.py --smoke                               # tiny shape, any CPU

BERT-base with MuRIL's vocabulary (12 layers, 768 hidden, 12 heads, 3072 FFN, 197,285
tokens, 12 labels), random weights (timing depends on shapes only), pruned by heads at
25/50/75% with lahan's movement pruning (random scores) and shrunk to dense. On one
batch of 32 x 128 tokens:
  * inference latency of every model in fp32, fp16 and bf16 autocast, all combinations
    interleaved in one run through lahan's one timer (CUDA synchronised around each
    call), median and p95; ratios against unpruned fp32;
  * peak GPU memory of one forward pass per model and precision;
  * one knowledge-distillation training step (teacher forward, student forward and
    backward, AdamW) of each pruned student against the unpruned teacher, fp32 vs fp16
    and bf16 autocast: median seconds per step.
Prints one JSON object (and writes it with --out); the machine is recorded with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
from pathlib import Path

import torch
from precision_speed import BASE, SMOKE
from prune_speed import pruned_copy
from transformers import BertConfig, BertForSequenceClassification

from lahan.distill.loss import kd_loss
from lahan.measure import batch_latency
from lahan.measure.machine import machine_info
from lahan.measure.timing import interleaved_times

LEVELS = (0.25, 0.5, 0.75)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kd-steps", type=int, default=5, help="timed KD steps per setting")
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="a tiny shape: checks the script")
    args = parser.parse_args()
    if args.smoke:
        BASE.update(SMOKE)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    # fp16 autocast needs a GPU; on a CPU (the smoke run) only fp32 and bf16 are timed
    precisions = ("fp32", "fp16", "bf16") if cuda else ("fp32", "bf16")
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16}

    def autocast(precision: str):
        if precision == "fp32":
            return contextlib.nullcontext
        return lambda: torch.autocast(device_type=device.type, dtype=dtypes[precision])

    torch.manual_seed(0)
    models = {"unpruned": BertForSequenceClassification(BertConfig(**BASE)).eval()}
    for level in LEVELS:
        models[f"heads-{level:.2f}"] = pruned_copy(level, "heads", seed=1)
    for model in models.values():
        model.to(device)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, BASE["vocab_size"], (args.batch_size, args.seq_len), generator=g)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    labels = torch.randint(0, BASE["num_labels"], (args.batch_size,), generator=g).to(device)

    # Inference: every (model, precision) in one interleaved run.
    combos = {f"{m}@{p}": (m, p) for m in models for p in precisions}
    latency = batch_latency(
        {name: models[m] for name, (m, _) in combos.items()},
        {name: [batch] for name in combos},
        args.batch_size,
        repeats=args.repeats,
        autocasts={name: autocast(p) for name, (_, p) in combos.items()},
    )
    base = latency["unpruned@fp32"]["batch_median_s"]
    inference = {}
    for name, (m, p) in combos.items():
        peak = extra = None
        if cuda:  # every model is resident: the forward's own share is the peak's excess
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            resident = torch.cuda.memory_allocated()
            with torch.no_grad(), autocast(p)():
                models[m](**{k: v.to(device) for k, v in batch.items()})
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
            extra = peak - resident
        inference[name] = {
            "model": m,
            "precision": p,
            "params": sum(t.numel() for t in models[m].parameters()),
            "median_s": latency[name]["batch_median_s"],
            "p95_s": latency[name]["batch_p95_s"],
            "speedup_vs_unpruned_fp32": base / latency[name]["batch_median_s"],
            "peak_gpu_bytes": peak,  # all models resident + this forward
            "forward_gpu_bytes": extra,  # this forward's activations and casts
            "weights_bytes": sum(t.numel() * t.element_size() for t in models[m].parameters()),
        }

    # Distillation: one training step of each pruned student against the teacher.
    teacher = models["unpruned"]
    on_device = {k: v.to(device) for k, v in batch.items()}
    steps = {}
    for m in models:
        if m == "unpruned":
            continue
        student = models[m]
        optimizer = torch.optim.AdamW(student.parameters(), lr=1e-5)
        for p in precisions:
            step = _kd_step(teacher, student, optimizer, on_device, labels, autocast(p))
            steps[f"{m}@{p}"] = [step]
    times = interleaved_times(steps, repeats=args.kd_steps, warmup=1, cuda=cuda)
    kd = {
        name: {"median_s": statistics.median(v), "steps": len(v), "tokenization_timed": False}
        for name, v in times.items()
    }

    report = {
        "machine": machine_info(device.type)
        | ({"gpu": torch.cuda.get_device_name(0)} if cuda else {}),
        "shape": dict(BASE),
        "batch": [args.batch_size, args.seq_len],
        "tokenization_timed": False,  # ready token ids go in: the model alone
        "inference": inference,
        "kd_step": kd,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


def _kd_step(teacher, student, optimizer, batch, labels, autocast):
    def call():
        student.train()
        with autocast():
            with torch.no_grad():
                teacher_logits = teacher(**batch).logits
            loss = kd_loss(student(**batch).logits, teacher_logits, labels, 2.0, 0.1)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return call


if __name__ == "__main__":
    main()
