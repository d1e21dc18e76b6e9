"""The path a user with a pretrained multilingual encoder takes, on a tiny e5 look-alike.

``tests.family.build_e5_like`` writes what ``shared/tools/make-e5-small`` writes for
intfloat/multilingual-e5-small: a bare BertModel (no pooler, no head) with an XLM-R
SentencePiece tokenizer. It goes through finetune -> compress --prune --distill
--trim-vocab -> export (ONNX int8) -> predict and serve, and the vocabulary can be
trimmed on its own (no training) with a corpus of unlabeled text.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from transformers import AutoTokenizer, XLMRobertaTokenizer

from lahan.cli import main
from lahan.config import DataConfig
from lahan.data import load_dataset
from lahan.deploy.predictor import load_predictor
from lahan.deploy.serve import create_app
from lahan.records import ModelRecord
from tests.family import build_e5_like


@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    from lahan.data.demo_corpus import demo_examples

    folder = build_e5_like(
        tmp_path_factory.mktemp("hub") / "multilingual-e5-small",
        [text for text, _ in demo_examples(0)],
    )
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert isinstance(tokenizer, XLMRobertaTokenizer) and len(tokenizer) > 500
    return folder


@pytest.fixture(scope="module")
def teacher(e5, tmp_path_factory, demo_csv):
    out = tmp_path_factory.mktemp("runs") / "e5-teacher"
    args = ["finetune", "--model", str(e5), "--data", str(demo_csv), "--epochs", "2"]
    args += ["--lr", "1e-3", "--max-length", "32", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    return out


def test_e5_like_through_compress_export_predict_and_serve(teacher, tmp_path, demo_csv, capsys):
    compressed, onnx = tmp_path / "p50-kd-trim", tmp_path / "p50-kd-trim-int8"
    args = ["compress", "--teacher", str(teacher), "--data", str(demo_csv), "--prune", "0.5"]
    args += ["--granularity", "heads", "--distill", "--trim-vocab", "--epochs", "1"]
    args += ["--max-length", "32", "--no-progress", "--out", str(compressed)]
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "vocabulary " in printed and "texts that split differently: train 0, dev" in printed
    record = ModelRecord.in_folder(compressed)
    vocab = record.vocabulary
    assert vocab["vocabulary_kind"] == "Unigram" and vocab["train_texts_changed"] == 0
    teacher_tok = AutoTokenizer.from_pretrained(teacher)
    tok = AutoTokenizer.from_pretrained(compressed)
    assert isinstance(tok, XLMRobertaTokenizer) and len(tok) == vocab["vocab_size_after"]
    assert len(vocab["kept_ids"]) == len(tok) < len(teacher_tok)
    train = [r.text for r in load_dataset(DataConfig(source=str(demo_csv))).split("train")]
    assert [tok.tokenize(t) for t in train] == [teacher_tok.tokenize(t) for t in train]

    export = ["export", "--model", str(compressed), "--format", "onnx", "--quantize", "int8"]
    assert main([*export, "--data", str(demo_csv), "--out", str(onnx)]) == 0
    texts = ["भारताने सामना जिंकला", "राज्य सरकारची नवी योजना"]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(onnx), "--input", str(tmp_path / "in.txt")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all(r["label"] in record.data["labels"] for r in rows)
    # the torch folder predicts through the trimmed tokenizer too, with the same labels
    assert main(["predict", "--model", str(compressed), "--input", str(tmp_path / "in.txt")]) == 0
    torch_rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(torch_rows) == 2
    with TestClient(create_app(load_predictor(onnx))) as client:
        served = client.post("/predict", json={"texts": texts}).json()["predictions"]
    assert [p["label"] for p in served] == [r["label"] for r in rows]


def test_trimming_alone_keeps_the_teacher_and_a_corpus_exact(teacher, tmp_path, demo_csv):
    """--trim-vocab without --prune or --distill: no training, the teacher's weights less
    the unused rows; the corpus' texts split as before; dev measured, not assumed."""
    from lahan.data.demo_corpus import demo_examples

    corpus_texts = [text for text, _ in demo_examples(1)][:200]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_texts) + "\n", encoding="utf-8")
    out = tmp_path / "trimmed"
    args = ["compress", "--teacher", str(teacher), "--data", str(demo_csv), "--trim-vocab"]
    args += ["--trim-vocab-text", str(corpus), "--max-length", "32", "--out", str(out)]
    assert main(args) == 0
    record = ModelRecord.in_folder(out)
    assert record.train is None and record.configuration == "trimmed vocabulary"
    assert record.vocabulary["corpus_texts"] == len(corpus_texts)
    teacher_tok, tok = AutoTokenizer.from_pretrained(teacher), AutoTokenizer.from_pretrained(out)
    assert [tok.tokenize(t) for t in corpus_texts] == [
        teacher_tok.tokenize(t) for t in corpus_texts
    ]
    # no training: on text that splits as before, the trimmed model is the teacher
    import torch
    from transformers import AutoModelForSequenceClassification

    def logits(folder, tokenizer):
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        with torch.no_grad():
            return model(**tokenizer(corpus_texts[:16], padding=True, return_tensors="pt")).logits

    torch.testing.assert_close(logits(out, tok), logits(teacher, teacher_tok), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--trim-vocab-text", "corpus.txt"],
            "--trim-vocab-text is read only when trimming is on (enabled; --trim-vocab)",
        ),
        (["--trim-vocab-top", "5"], "--trim-vocab-top is read only when trimming is on"),
        (
            ["--trim-vocab", "--trim-vocab-text", "missing.txt"],
            "--trim-vocab-text 'missing.txt': no such file",
        ),
    ],
)
def test_trim_vocab_text_errors_are_one_line(
    teacher, tmp_path, demo_csv, capsys, extra, message, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus.txt").write_text("एक\n", encoding="utf-8")
    args = ["compress", "--teacher", str(teacher), "--data", str(demo_csv), "--prune", "0.5"]
    code = main([*args, *extra, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("field, value", [("text_files", ("c.txt",)), ("keep_top_n", 5)])
def test_the_library_refuses_trim_options_without_trimming(field, value):
    """The same rule as the CLI's, in TrimConfig itself."""
    from lahan.config import ConfigError, TrimConfig

    with pytest.raises(ConfigError, match=rf"TrimConfig.{field} is read only when trimming"):
        TrimConfig(enabled=False, **{field: value})
    assert getattr(TrimConfig(enabled=True, **{field: value}), field) == value
