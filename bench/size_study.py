"""Study 3: size on disk at the paper's scale: pruning, vocabulary trimming and int8.

    python bench/size_study.py --data ../shared/data/mahanews \\
        [--structure runs/sweep/models/prune50+kd] [--out bench-size.json]

The baseline's shape (BERT-base, 12 labels) with a 197,285-token WordPiece vocabulary,
random weights (size does not depend on values). MuRIL's own vocabulary cannot be
downloaded here, so the vocabulary is a stand-in: a WordPiece trained on the Marathi
training split (``--learned-vocab`` pieces), padded with filler pieces no Marathi text
can produce up to MuRIL's 197,285. How many pieces trimming keeps therefore depends on
this stand-in (with MuRIL it is the pieces Marathi news text uses, not measurable
here); the rest is measured: each configuration is saved as lahan saves it
(safetensors folder) or exported as `lahan export --quantize int8` does (ONNX Runtime
int8: int8 MatMul weights and an int8 embedding table), and its files are weighed.
The 50% structure is a real movement-pruning run's per-layer sizes scaled to
BERT-base (``--structure``), or random-score movement pruning at 50% without it.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import torch
from paper_speed import pruned_base, scaled_structure
from precision_speed import BASE, MAX_LENGTH, SMOKE, emit
from prune_speed import pruned_copy
from transformers import BertConfig, BertForSequenceClassification

from lahan.config import DataConfig, ExportConfig
from lahan.data import load_dataset
from lahan.deploy.export import export_onnx
from lahan.measure.size import weights_size_on_disk
from lahan.models import save_model, train_wordpiece, wordpiece_from_vocab
from lahan.prune.vocab import trim_vocabulary
from lahan.records import ModelRecord

FILLER = "ꙮ"  # a Cyrillic ornament: no Marathi word contains it, so no text uses a filler


def stand_in_vocabulary(texts: list[str], learned: int) -> tuple[dict[str, int], int]:
    """(vocabulary of BASE's size, how many of its pieces were learned from ``texts``)."""
    vocab = dict(train_wordpiece(texts, learned).get_vocab())
    learned_pieces = len(vocab)
    i = 0
    while len(vocab) < BASE["vocab_size"]:
        vocab.setdefault(f"{FILLER}{i}", len(vocab))
        i += 1
    return vocab, learned_pieces


def onnx_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.onnx*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--structure", default=None, help="a pruned lahan model (50%%)")
    parser.add_argument("--learned-vocab", type=int, default=32_000)
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="a tiny shape: checks the script")
    args = parser.parse_args()
    if args.smoke:  # shrink the shared shape in place: every helper reads BASE
        BASE.update(SMOKE, vocab_size=20_000)
        args.learned_vocab = 2_000
    started = time.perf_counter()
    dataset = load_dataset(DataConfig(source=args.data))
    texts = dataset.texts("train")
    labels = dataset.labels
    vocab, learned = stand_in_vocabulary(texts, args.learned_vocab)
    tokenizer = wordpiece_from_vocab(vocab)
    label_maps = {
        "id2label": dict(enumerate(labels)),
        "label2id": {x: i for i, x in enumerate(labels)},
    }

    torch.manual_seed(0)
    base = BertForSequenceClassification(BertConfig(**BASE, **label_maps)).eval()
    if args.structure:
        heads, ffn = scaled_structure(Path(args.structure))
        pruned = pruned_base(heads, ffn, seed=1)
        pruned.config.id2label, pruned.config.label2id = (
            label_maps["id2label"],
            label_maps["label2id"],
        )
    else:
        pruned = pruned_copy(0.5, "heads", seed=1)
    # the models here are built, not trained: the record says so, and the max length
    # the study's inputs use (what `lahan export` and the predictors read back)
    record = ModelRecord(
        made_by="bench/size_study.py",
        config={"TrainConfig": {"max_length": MAX_LENGTH}},
    )

    tmp = Path(tempfile.mkdtemp(prefix="lahan-size-"))
    rows, trims = {}, {}
    try:

        def weigh(name: str, model, tok, onnx_int8: bool = False) -> None:
            folder = save_model(model, tok, tmp / name, record)
            row = {
                "params": sum(p.numel() for p in model.parameters()),
                "vocab_size": model.config.vocab_size,
                "format": "safetensors fp32",
                "bytes": weights_size_on_disk(folder),
            }
            rows[name] = row
            if onnx_int8:
                export_onnx(folder, tmp / f"{name}-onnx-int8", ExportConfig(quantize="int8"))
                rows[f"{name} + int8"] = row | {
                    "format": "ONNX Runtime int8",
                    "bytes": onnx_bytes(tmp / f"{name}-onnx-int8"),
                }
            shutil.rmtree(folder)  # the disk holds one BERT-base folder at a time

        weigh("baseline", base, tokenizer, onnx_int8=True)
        weigh("prune50", pruned, tokenizer)
        trimmed, trimmed_tok, trims["baseline"] = trim_vocabulary(
            copy.deepcopy(base), tokenizer, texts, max_length=MAX_LENGTH
        )
        weigh("trim", trimmed, trimmed_tok)
        del trimmed
        both, both_tok, trims["prune50"] = trim_vocabulary(
            pruned, tokenizer, texts, max_length=MAX_LENGTH
        )
        weigh("prune50 + trim", both, both_tok, onnx_int8=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    baseline = rows["baseline"]["bytes"]
    for row in rows.values():
        row["mb"] = row["bytes"] / 1e6
        row["fraction_of_baseline"] = row["bytes"] / baseline
    report = {
        "vocabulary": {
            "size": BASE["vocab_size"],
            "learned_on_train_split": learned,
            "filler": BASE["vocab_size"] - learned,
            "kept_after_trim": trims["prune50"]["vocab_size_after"],
            "train_token_coverage": trims["prune50"]["train_token_coverage"],
        },
        "structure": args.structure or "movement pruning, random scores, 50% heads",
        "rows": rows,
        "seconds": time.perf_counter() - started,
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
