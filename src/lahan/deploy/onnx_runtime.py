"""Run an exported lahan ONNX classifier with onnxruntime + tokenizers alone.

This file is copied into every exported folder as ``predict.py``: it imports neither
torch nor lahan, so the folder runs anywhere onnxruntime and tokenizers install.

    python predict.py --input texts.txt            # one text per line -> JSON lines
    echo "भारताने सामना जिंकला" | python predict.py

Inside lahan, ``OnnxClassifier`` is what ``lahan predict`` and ``lahan serve`` use
for ONNX folders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MANIFEST = "lahan-onnx.json"


def _threads_from_env() -> int | None:
    """$LAHAN_THREADS (set by ``lahan --threads`` too), when it is a positive number."""
    raw = os.environ.get("LAHAN_THREADS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


class OnnxClassifier:
    """An exported folder: ``model.onnx`` (or ``model.int8.onnx``), tokenizer, labels."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        folder = Path(folder)
        self.manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        self.labels: list[str] = self.manifest["labels"]
        self.max_length: int = self.manifest["max_length"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # this file also runs alone as an export's predict.py: read lahan's setting directly
        threads = threads or _threads_from_env()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / self.manifest["model_file"]), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.pad_id = int(self.manifest["pad_token_id"])

    def encode(self, texts: list[str]) -> list:
        return self.tokenizer.encode_batch(list(texts))

    def logits(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Logits [n, labels] in input order; batches sorted by length (less padding)."""
        encodings = self.encode(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            feeds = {
                "input_ids": np.full((len(idx), width), self.pad_id, dtype=np.int64),
                "attention_mask": np.zeros((len(idx), width), dtype=np.int64),
                "token_type_ids": np.zeros((len(idx), width), dtype=np.int64),
            }
            for row, i in enumerate(idx):
                ids = encodings[i].ids
                feeds["input_ids"][row, : len(ids)] = ids
                feeds["attention_mask"][row, : len(ids)] = 1
                feeds["token_type_ids"][row, : len(ids)] = encodings[i].type_ids
            feeds = {k: v for k, v in feeds.items() if k in self.input_names}
            out[idx] = self.session.run(None, feeds)[0]
        return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classify texts (one per line) with this model.")
    parser.add_argument("--input", default="-", help="text file, one text per line (- = stdin)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    model = OnnxClassifier(Path(__file__).resolve().parent)
    stream = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    with stream:
        texts = [line.rstrip("\n") for line in stream]
    kept = [i for i, text in enumerate(texts) if text.strip()]
    probs = softmax(model.logits([texts[i] for i in kept], args.batch_size)) if kept else []
    by_line = dict(zip(kept, probs, strict=True))
    for i, text in enumerate(texts):
        if i not in by_line:  # an empty line has no label
            row = {"text": text, "label": None, "score": None, "error": "empty text"}
        else:
            best = int(by_line[i].argmax())
            row = {"text": text, "label": model.labels[best], "score": float(by_line[i][best])}
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
