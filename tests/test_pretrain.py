"""`lahan pretrain`: MLM loss falls, the output loads into finetune and distill, dev/test
texts stay out, a crashed run resumes to the same encoder, bad corpus files get one line."""

from __future__ import annotations

import gzip
import json
import math
from itertools import pairwise
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lahan.cli import main
from lahan.config import DataConfig, FinetuneConfig, ModelConfig, PretrainConfig, TrainConfig
from lahan.data import load_dataset
from lahan.errors import LahanError
from lahan.pretrain import MaskingCollator, pack, read_corpus
from lahan.records import ModelRecord

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/marathi-text/corpus.txt"


def _run(out: Path, texts: list[Path], data: DataConfig | None = None, **train) -> dict:
    from lahan.recipes.pretrain import run_pretrain

    settings = dict(epochs=3, batch_size=16, max_length=32, lr=2e-3, progress=False, seed=1)
    return run_pretrain(
        ModelConfig(source="preset:tiny", vocab_size=600),
        TrainConfig(**(settings | train)),
        PretrainConfig(heldout_ratio=0.1),
        out,
        text_files=texts,
        data_config=data,
    )


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory) -> Path:
    """Unlabeled text: the demo corpus's texts, one per line, gzipped (the .gz path)."""
    texts = [r.text for r in load_dataset("demo").split("train")]
    path = tmp_path_factory.mktemp("corpus") / "texts.txt.gz"
    path.write_bytes(gzip.compress("\n".join(texts).encode()))
    return path


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, corpus_file) -> tuple[Path, ModelRecord]:
    out = tmp_path_factory.mktemp("pt") / "enc"
    return out, _run(out, [corpus_file], epochs=5, batch_size=4)


def test_mlm_loss_falls_and_the_folder_records_the_corpus(pretrained):
    out, record = pretrained
    curve = [h["dev_mlm_loss"] for h in record.train["history"]]
    # held-out loss falls every epoch, and ends well below guessing (ln of the vocabulary:
    # an untrained model's loss); a tiny model leaves the unigram plateau only slowly
    assert all(b < a for a, b in pairwise(curve)), curve
    assert curve[-1] < curve[0] - 0.1 and curve[-1] < math.log(600) - 0.5, curve
    saved = json.loads((out / "lahan.json").read_text())
    assert saved["made_by"] == "pretrain" and saved["labels"] == []
    assert saved["corpus"]["train_tokens"] > 0 and saved["corpus"]["fingerprint"]
    assert [h["dev_perplexity"] for h in saved["train"]["history"]] == [
        h["dev_perplexity"] for h in record.train["history"]
    ]
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_the_encoder_loads_into_finetune_with_a_new_head(pretrained, demo_csv, tmp_path):
    from lahan.recipes.finetune import run_finetune

    record = run_finetune(
        FinetuneConfig(
            model=ModelConfig(source=str(pretrained[0])),
            data=DataConfig(source=str(demo_csv), seed=0),
            out=str(tmp_path / "clf"),
            train=TrainConfig(epochs=1, batch_size=16, max_length=32, progress=False),
        )
    )
    enc = load_file(str(pretrained[0] / "model.safetensors"))
    clf = load_file(str(tmp_path / "clf" / "model.safetensors"))
    # the embedding table came from pretraining (fine-tuning moved it only a little)
    key = "bert.embeddings.word_embeddings.weight"
    assert torch.allclose(enc[key], clf[key], atol=0.05)
    assert record.metrics["dev"]["n"] > 0


def test_the_encoder_is_taken_as_a_distillation_student(trained_tiny, corpus_file, tmp_path):
    """A well-read student: pretrained on the teacher's tokenizer, then distilled into."""
    from lahan.distill.students import make_student
    from lahan.models import load_model
    from lahan.recipes.pretrain import run_pretrain

    teacher, tokenizer, _ = load_model(trained_tiny[0])
    run_pretrain(
        ModelConfig(source="preset:tiny", tokenizer=str(trained_tiny[0])),
        TrainConfig(epochs=1, batch_size=16, max_length=32, progress=False),
        PretrainConfig(heldout_ratio=0.1),
        tmp_path / "student",
        text_files=[corpus_file],
    )
    texts = read_corpus(corpus_file)
    student = make_student(str(tmp_path / "student"), teacher, tokenizer, texts, 32)
    assert student.kind == "model" and not student.from_scratch
    assert student.model.config.num_labels == teacher.config.num_labels
    assert student.tokenizer.get_vocab() == tokenizer.get_vocab()


def test_data_source_gives_only_train_texts(tmp_path, demo_csv):
    from lahan.recipes.pretrain import gather_texts

    config = DataConfig(source=str(demo_csv), seed=0)
    dataset = load_dataset(config)
    texts, sources = gather_texts([], config)
    held = {r.text for r in dataset.split("dev") + dataset.split("test")}
    assert texts == [r.text for r in dataset.split("train")]
    assert not held & set(texts) and sources[0]["split"] == "train"


def test_a_crashed_run_resumes_to_the_same_encoder(corpus_file, tmp_path, monkeypatch):
    import lahan.recipes.pretrain as recipe

    whole = _run(tmp_path / "whole", [corpus_file], checkpoint_every=3)

    calls = {"n": 0}
    real_loss = recipe.mlm_loss

    def crashing(outputs, batch):  # a crash after 7 optimizer steps (checkpoint at 6)
        calls["n"] += 1
        if calls["n"] == 8:
            raise RuntimeError("simulated crash")
        return real_loss(outputs, batch)

    crashing.model_inputs = real_loss.model_inputs
    monkeypatch.setattr(recipe, "mlm_loss", crashing)
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(out, [corpus_file], checkpoint_every=3)
    assert not out.exists()
    monkeypatch.setattr(recipe, "mlm_loss", real_loss)
    with pytest.raises(LahanError, match="--resume"):
        _run(out, [corpus_file], checkpoint_every=3)
    from lahan.recipes.pretrain import run_pretrain

    resumed = run_pretrain(
        ModelConfig(source="preset:tiny", vocab_size=600),
        TrainConfig(
            epochs=3,
            batch_size=16,
            max_length=32,
            lr=2e-3,
            progress=False,
            seed=1,
            checkpoint_every=3,
        ),  # fmt: skip
        PretrainConfig(heldout_ratio=0.1),
        out,
        text_files=[corpus_file],
        resume=True,
    )
    drop = ("epoch_seconds",)
    assert [{k: v for k, v in h.items() if k not in drop} for h in resumed.train["history"]] == [
        {k: v for k, v in h.items() if k not in drop} for h in whole.train["history"]
    ]
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(out / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (b"\x00\x01binary\x00", "looks binary"),
        ("हे\nते\n".encode("utf-16"), "is UTF-16"),
        ("चांगले\n".encode() * 3 + b"bad \xff byte\n", "line 4 is not UTF-8"),
    ],
)
def test_a_bad_corpus_file_gets_one_clear_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(LahanError, match=message):
        read_corpus(path)
    code = main(["pretrain", "--model", "preset:tiny", "--text", str(path), "--out",
                 str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


def test_packing_fills_blocks_and_whole_word_masking_masks_words(corpus_file):
    from lahan.models import train_wordpiece

    texts = read_corpus(corpus_file)
    tokenizer = train_wordpiece(texts, 400)
    blocks = pack(tokenizer, texts, 24, progress=False)
    assert all(n == 24 for n in blocks.lengths()[:-1]) and blocks.lengths()[-1] <= 24
    # every text's tokens are there, in order, with one separator after each text
    body = [t for b in blocks.blocks for t in b[1:-1]]
    assert body.count(tokenizer.sep_token_id) >= len(texts) - len(blocks)
    collator = MaskingCollator(tokenizer, PretrainConfig(whole_word_mask=True, mlm_probability=0.3))
    torch.manual_seed(0)
    batch = collator([blocks[i] for i in range(min(16, len(blocks)))])
    labels = batch["labels"]
    special = set(tokenizer.all_special_ids)
    for i, row in enumerate(labels.tolist()):
        item = blocks[i]
        words, current = [], None
        for k, (token, first) in enumerate(
            zip(item["input_ids"], item["word_starts"], strict=True)
        ):
            if token in special:
                current = None
                continue
            if first or current is None:
                current = []
                words.append(current)
            current.append(row[k] != -100)
        assert all(len(set(w)) == 1 for w in words), "a word was masked only in part"
    assert (labels != -100).any()
    special = torch.isin(batch["input_ids"], torch.tensor([tokenizer.cls_token_id]))
    assert not (labels[special] != -100).any()  # [CLS] is never a target


@pytest.mark.skipif(not CORPUS.is_file(), reason=f"{CORPUS} is absent (unlabeled Marathi corpus)")
def test_the_marathi_corpus_reads_whole():
    texts = read_corpus(CORPUS)
    assert len(texts) == 72_333
