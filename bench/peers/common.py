"""What every peer step shares, in every peer's own virtual environment.

Runs beside TextPruner, Torch-Pruning, Optimum, INC and TextBrewer, some of which pin
transformers 4.x, so it imports only the standard library, torch, numpy and
transformers (4.x or 5.x), never lahan; the one thing it takes from lahan is its timer,
``src/lahan/measure/timing.py``, loaded by file path (that module is standard library
only), so peers and lahan are timed by the same code.

A step reads the split ``study.py prepare`` wrote (texts with label ids in the teacher's
label order), does its peer's job, and writes one JSON row: accuracy and macro-F1 on the
dev texts (per sub-dataset too), the throughput ratio against the teacher measured in
the same process, interleaved, and the stored size.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
_TIMING = HERE.parents[1] / "src" / "lahan" / "measure" / "timing.py"


def _load_timing():
    spec = importlib.util.spec_from_file_location("lahan_timing", _TIMING)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


timing = _load_timing()

LogitsFn = Callable[[list[str]], torch.Tensor]


@dataclass
class Row:
    text: str
    label: int
    group: str


@dataclass
class Split:
    train: list[Row]
    dev: list[Row]
    labels: list[str]
    max_length: int
    meta: dict


def load_split(folder: str | Path) -> Split:
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))

    def rows(name: str) -> list[Row]:
        with open(folder / f"{name}.jsonl", encoding="utf-8") as f:
            return [Row(**json.loads(line)) for line in f]

    return Split(rows("train"), rows("dev"), meta["labels"], meta["max_length"], meta)


def step_args(description: str) -> argparse.ArgumentParser:
    """The options every peer step takes (``study.py`` passes them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--split", required=True, help="folder written by study.py prepare")
    parser.add_argument("--teacher", required=True, help="the teacher's model folder")
    parser.add_argument("--task", required=True, help="which job of this peer to run")
    parser.add_argument("--sparsity", type=float, default=0.0)
    parser.add_argument("--finetune", action="store_true", help="fine-tune after pruning")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1, help="torch threads when timing")
    parser.add_argument(
        "--train-threads", type=int, default=None, help="torch threads when training (--threads)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", required=True, help="scratch folder for this step")
    parser.add_argument("--out", required=True, help="where the JSON row is written")
    return parser


def setup(args: argparse.Namespace) -> Split:
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    return load_split(args.split)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Train with ``n`` threads (None: unchanged), then time with the previous setting."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_teacher(folder: str | Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    return model, tokenizer


def hf_logits(
    model: torch.nn.Module, tokenizer, max_length: int, pad_to_max: bool = False
) -> LogitsFn:
    """Texts in, logits out: the tokenizer is inside, as in a request (and in lahan bench).
    Batches pad to their longest text, or with ``pad_to_max`` to ``max_length`` (as the
    paper's baseline ran)."""
    padding = "max_length" if pad_to_max else True

    @torch.inference_mode()
    def call(texts: list[str]) -> torch.Tensor:
        enc = tokenizer(
            texts, truncation=True, max_length=max_length, padding=padding, return_tensors="pt"
        )
        return model(**enc).logits.float()

    return call


def logits_over(fn: LogitsFn, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    return torch.cat(
        [fn(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
    )


def metrics(predicted: Sequence[int], rows: Sequence[Row], n_labels: int) -> dict:
    """Accuracy, macro-F1 over the labels, and both per sub-dataset (group)."""

    def score(pairs: list[tuple[int, int]]) -> dict:
        correct = sum(p == t for p, t in pairs)
        f1s = []
        for label in range(n_labels):
            tp = sum(p == label and t == label for p, t in pairs)
            fp = sum(p == label and t != label for p, t in pairs)
            fn = sum(p != label and t == label for p, t in pairs)
            if tp + fp + fn:  # labels absent from both sides do not count (as scikit-learn)
                f1s.append(2 * tp / (2 * tp + fp + fn))
        return {
            "accuracy": correct / len(pairs),
            "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
            "n": len(pairs),
        }

    pairs = [(int(p), r.label) for p, r in zip(predicted, rows, strict=True)]
    out = score(pairs)
    groups = sorted({r.group for r in rows})
    out["by_group"] = {
        g: score([pair for pair, r in zip(pairs, rows, strict=True) if r.group == g])
        for g in groups
    }
    return out


def evaluate(fn: LogitsFn, split: Split) -> tuple[dict, list[int]]:
    predicted = logits_over(fn, [r.text for r in split.dev]).argmax(-1).tolist()
    return metrics(predicted, split.dev, len(split.labels)), predicted


def speed(
    fns: dict[str, LogitsFn],
    texts: Sequence[str],
    batch_sizes: Sequence[int] = (32,),
    repeats: int = 5,
    texts_per_batch_size: int = 256,
) -> dict:
    """Docs/s per model and batch size, interleaved round by round through lahan's
    timer, and each model's ratio to the first one (the teacher). Batch 1 times the
    first 16 texts."""
    out: dict = {}
    first = next(iter(fns))
    for batch_size in batch_sizes:
        count = min(len(texts), texts_per_batch_size if batch_size > 1 else 16)
        chosen = list(texts[:count])
        calls = {
            name: [lambda fn=fn, b=batch_size, t=chosen: logits_over(fn, t, b)]
            for name, fn in fns.items()
        }
        times = timing.interleaved_times(calls, repeats=repeats, warmup=1)
        for name, values in times.items():
            summary = timing.summarize(values, count, tokenization_timed=True)
            out.setdefault(name, {})[f"batch{batch_size}"] = summary
        for name in fns:
            out[name][f"batch{batch_size}"]["ratio_vs_teacher"] = (
                out[first][f"batch{batch_size}"]["median_s"]
                / out[name][f"batch{batch_size}"]["median_s"]
            )
    return out


def adamw(model: torch.nn.Module, lr: float) -> torch.optim.AdamW:
    """lahan's optimizer: AdamW, weight decay 0.01 except on biases and LayerNorms."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )


def finetune(
    model: torch.nn.Module,
    tokenizer,
    split: Split,
    epochs: int,
    lr: float,
    batch_size: int = 32,
    seed: int = 42,
    log: Callable[[str], None] = print,
    threads: int | None = None,
) -> dict:
    """lahan's fine-tuning recipe in plain PyTorch, for models lahan cannot load: AdamW
    (weight decay 0.01), 10% linear warm-up then linear decay, batch 32, shuffled with
    ``seed``, dev macro-F1 after every epoch, the best epoch's weights kept (lahan's
    TrainConfig defaults; patience off as in lahan prune)."""
    with torch_threads(threads):
        return _finetune(model, tokenizer, split, epochs, lr, batch_size, seed, log)


def _finetune(model, tokenizer, split, epochs, lr, batch_size, seed, log) -> dict:
    seed_everything(seed)
    fn = hf_logits(model, tokenizer, split.max_length)
    texts = [r.text for r in split.train]
    labels = torch.tensor([r.label for r in split.train])
    steps_per_epoch = math.ceil(len(texts) / batch_size)
    total = steps_per_epoch * epochs
    warmup = int(0.1 * total)
    optimizer = adamw(model, lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
        ),
    )
    generator = torch.Generator().manual_seed(seed)
    best, history = None, []
    started, cpu_started = time.perf_counter(), time.process_time()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(texts), generator=generator).tolist()
        for i in range(0, len(order), batch_size):
            index = order[i : i + batch_size]
            enc = tokenizer(
                [texts[j] for j in index],
                truncation=True,
                max_length=split.max_length,
                padding=True,
                return_tensors="pt",
            )
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, labels[index])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        scores, _ = evaluate(fn, split)
        history.append(
            {"epoch": epoch, "dev_accuracy": scores["accuracy"], "dev_macro_f1": scores["macro_f1"]}
        )
        log(f"epoch {epoch}: dev accuracy {scores['accuracy']:.4f} F1 {scores['macro_f1']:.4f}")
        if best is None or scores["macro_f1"] > best[0]:
            best = (
                scores["macro_f1"],
                epoch,
                {k: v.detach().clone() for k, v in model.state_dict().items()},
            )
    model.load_state_dict(best[2])
    model.eval()
    return {
        "epochs": history,
        "best_epoch": best[1],
        "train_seconds": time.perf_counter() - started,
        # CPU seconds of all threads: less moved than wall time by other jobs on the machine
        "train_cpu_seconds": time.process_time() - cpu_started,
    }


def parameters(model: torch.nn.Module) -> int:
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:  # tied weights once
            seen.add(id(p))
            total += p.numel()
    return total


def stored_size(model: torch.nn.Module) -> int:
    """Bytes of the model's weights written as one safetensors file (shared tensors once)."""
    from safetensors.torch import save_file

    state, seen = {}, set()
    for name, tensor in model.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if key not in seen:
            seen.add(key)
            state[name] = tensor.contiguous()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        save_file(state, str(path))
        return path.stat().st_size


def versions(*modules: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "numpy", *modules):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def write_row(path: str | Path, row: dict) -> None:
    """Write atomically: a killed step leaves no half row (study.py reruns it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(row, f, indent=1)
    os.replace(tmp, path)


def pruned_row(
    args: argparse.Namespace,
    split: Split,
    peer: str,
    teacher: torch.nn.Module,
    tokenizer,
    model: torch.nn.Module,
    compress_seconds: float,
    compress_cpu_seconds: float,
    extra: dict | None = None,
) -> dict:
    """The row of a pruned model: fine-tune it when asked, evaluate, time vs the teacher."""
    trained = None
    if args.finetune:
        trained = finetune(
            model,
            tokenizer,
            split,
            args.epochs,
            args.lr,
            args.batch_size,
            args.seed,
            threads=args.train_threads,
        )
    scores, _ = evaluate(hf_logits(model, tokenizer, split.max_length), split)
    timed = speed(
        {
            "teacher": hf_logits(teacher, tokenizer, split.max_length),
            peer: hf_logits(model, tokenizer, split.max_length),
        },
        [r.text for r in split.dev],
        repeats=args.repeats,
    )
    return {
        "peer": peer,
        "task": args.task,
        "sparsity": args.sparsity,
        "finetuned": bool(args.finetune),
        "dev": scores,
        "speed": timed[peer],
        "teacher_speed": timed["teacher"],
        "params": parameters(model),
        "teacher_params": parameters(teacher),
        "size_bytes": stored_size(model),
        "teacher_size_bytes": stored_size(teacher),
        # the peer's own pruning step (wall and CPU seconds); fine-tuning is in "train"
        "compress_seconds": compress_seconds,
        "compress_cpu_seconds": compress_cpu_seconds,
        "train": trained,
        "threads": args.threads,
        "seed": args.seed,
        "train_threads": args.train_threads or args.threads,
        "versions": versions(),
        **(extra or {}),
    }
