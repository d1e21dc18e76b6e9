"""The WordPiece vocabulary is learned deterministically, so from-scratch runs reproduce."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lahan.cli import main
from lahan.data import load_dataset
from lahan.wordpiece import learn_vocab, word_counts

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_ties_are_broken_by_text_not_by_order():
    # every pair occurs once: which merges make the cut is decided by ties alone
    texts = ["ab cd ef gh", "gh ef cd ab"]
    vocab = learn_vocab(texts, 16, SPECIAL)
    assert vocab == learn_vocab(list(reversed(texts)), 16, SPECIAL)
    assert vocab[:5] == SPECIAL and "ab" in vocab  # the smallest merged text wins the tie


def test_merges_rebuild_frequent_words():
    counts = word_counts(["पुण्यात पाऊस पुण्यात"])
    assert counts["पुण्यात"] == 2
    vocab = learn_vocab(["पुण्यात पाऊस पुण्यात"] * 3, 200, SPECIAL)
    assert "पुण्यात" in vocab and "पाऊस" in vocab and len(set(vocab)) == len(vocab)


LEARN = (
    "import hashlib, json, sys; from lahan.data import load_dataset; "
    "from lahan.models import train_wordpiece; "
    "texts = [r.text for r in load_dataset('demo').split('train')]; "
    "print(hashlib.sha256(train_wordpiece(texts, 600).backend_tokenizer.to_str().encode())"
    ".hexdigest())"
)


@pytest.mark.slow
def test_the_same_vocabulary_in_other_processes_and_thread_counts():
    # Python's string hashing and the thread counts differ from process to process
    runs = [
        subprocess.run(
            [sys.executable, "-c", LEARN],
            env={"PYTHONHASHSEED": seed, "RAYON_NUM_THREADS": threads, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
        for seed, threads in (("1", "1"), ("2", "2"), ("3", "4"))
    ]
    assert len(set(runs)) == 1 and len(runs[0]) == 64


def test_a_from_scratch_run_is_reproducible_from_its_seed(tmp_path, demo_csv):
    """Same command twice: byte-identical tokenizer.json and identical weights."""
    from safetensors.torch import load_file

    for name in ("a", "b"):
        argv = [
            "finetune", "--model", "preset:tiny", "--vocab-size", "600", "--data",
            str(demo_csv), "--epochs", "1", "--batch-size", "16", "--max-length", "32",
            "--seed", "7", "--no-progress", "--out", str(tmp_path / name),
        ]  # fmt: skip
        assert main(argv) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    assert len(load_dataset(str(demo_csv)).labels) > 1
