"""`lahan predict` and the predictors: order, empty lines, truncation, int8 agreement."""

import csv
import io
import json

import numpy as np
import pytest

from lahan.cli import main
from lahan.config import DataConfig, PredictConfig
from lahan.data import load_dataset
from lahan.deploy.predict import predict_rows
from lahan.deploy.predictor import TorchPredictor, load_predictor
from lahan.errors import LahanError


def test_int8_agrees_with_fp32_on_98_percent(trained_tiny, demo_csv):
    dataset = load_dataset(DataConfig(source=str(demo_csv), seed=0))
    texts = [r.text for r in dataset.split("train")] + [r.text for r in dataset.split("dev")]
    fp32 = TorchPredictor(trained_tiny[0]).logits(texts)
    int8 = TorchPredictor(trained_tiny[0], precision="int8").logits(texts)
    agreement = (fp32.argmax(-1) == int8.argmax(-1)).mean()
    assert agreement >= 0.98, agreement
    assert not np.array_equal(fp32, int8)  # really quantized, not the fp32 model again


def test_rows_keep_input_order_whatever_the_lengths(trained_tiny):
    predictor = TorchPredictor(trained_tiny[0])
    texts = [("शब्द " * n).strip() for n in (1, 30, 2, 0, 15, 3, 40, 1)]
    texts[3] = "   "  # whitespace only
    numbered = list(enumerate(texts, start=1))
    rows = list(predict_rows(predictor, numbered, PredictConfig(batch_size=3, chunk_lines=5)))
    assert [r["line"] for r in rows] == list(range(1, 9))
    assert rows[3]["label"] is None and rows[3]["error"] == "empty text"
    one_by_one = [predictor.logits([t]).argmax(-1)[0] for t in texts if t.strip()]
    labels = [r["label"] for r in rows if r["label"] is not None]
    assert labels == [predictor.labels[i] for i in one_by_one]
    # max_length is 48: the 40-word text is longer and marked truncated
    assert rows[6]["truncated"] and not rows[0]["truncated"]
    assert abs(sum(rows[0]["probs"].values()) - 1) < 1e-5


def test_predict_cli_jsonl_csv_and_errors(trained_tiny, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("भारताने सामना जिंकला\n\nराज्य सरकार\n", encoding="utf-8")
    assert main(["predict", "--model", str(trained_tiny[0]), "--input", str(source)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and rows[1]["error"] == "empty text"
    out = tmp_path / "p.csv"
    rc = main(
        [
            "predict",
            "--model",
            str(trained_tiny[0]),
            "--input",
            str(source),
            "--format",
            "csv",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["line"] for r in table] == ["1", "2", "3"] and table[0]["label"] == rows[0]["label"]

    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    rc = main(["predict", "--model", str(trained_tiny[0]), "--input", str(tmp_path / "latin1.txt")])
    err = capsys.readouterr().err
    assert rc == 2 and "line 1 is not UTF-8" in err
    # a bad byte far down the file is reported on its own line, not the block's first
    good = "भारताने सामना जिंकला\n" * 99
    (tmp_path / "late.txt").write_bytes(good.encode() + "caf\xe9\n".encode("latin-1"))
    rc = main(["predict", "--model", str(trained_tiny[0]), "--input", str(tmp_path / "late.txt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "line 100 is not UTF-8" in err[0]
    rc = main(["predict", "--model", str(trained_tiny[0]), "--input", str(tmp_path / "missing")])
    assert rc == 2 and "no such file" in capsys.readouterr().err


def test_onnx_folder_refuses_another_precision(trained_tiny, tmp_path):
    from lahan.config import ExportConfig
    from lahan.deploy.export import export_onnx

    export_onnx(trained_tiny[0], tmp_path / "o", ExportConfig())
    with pytest.raises(LahanError, match="fixed at export"):
        load_predictor(tmp_path / "o", "int8")
    with pytest.raises(LahanError, match="^precision must be one of"):
        load_predictor(trained_tiny[0], "int4")


def test_predict_reads_tables_through_the_data_layer(trained_tiny, tmp_path, capsys):
    """A CSV/TSV/JSONL --input is a table: its text column is classified (header and label
    column are not text), rows say their line in the file, broken rows are refused."""
    model = str(trained_tiny[0])
    texts = ["भारताने सामना जिंकला", "राज्य सरकार, नवी योजना"]  # a comma inside a quoted cell
    source = tmp_path / "news.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["headline", "label"], [texts[0], "Sports"], [texts[1], "X"]])
    assert main(["predict", "--model", model, "--input", str(source)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["line"] for r in rows] == [2, 3]  # the header is line 1
    expected = TorchPredictor(trained_tiny[0]).logits(texts).argmax(-1)
    labels = TorchPredictor(trained_tiny[0]).labels
    assert [r["label"] for r in rows] == [labels[i] for i in expected]

    tsv = tmp_path / "texts.tsv"  # no label column at all, text column named
    tsv.write_text("id\tbody\n7\t" + texts[0] + "\n", encoding="utf-8")
    assert main(["predict", "--model", model, "--input", str(tsv), "--text-col", "body"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["line"] == 2 and row["label"] == labels[expected[0]]

    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(json.dumps({"text": texts[1]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["predict", "--model", model, "--input", str(jsonl)]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["label"] == labels[expected[1]]

    broken = tmp_path / "broken.csv"
    broken.write_text("text,label\nएक,a\nदोन,b,extra\n", encoding="utf-8")
    assert main(["predict", "--model", model, "--input", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "broken.csv:3" in err and "wrong number of fields" in err
    no_text = tmp_path / "nums.csv"
    no_text.write_text("id,score\n1,2\n", encoding="utf-8")
    assert main(["predict", "--model", model, "--input", str(no_text)]) == 2
    assert "no text column found" in capsys.readouterr().err
    plain = tmp_path / "p.txt"
    plain.write_text(texts[0] + "\n", encoding="utf-8")
    assert main(["predict", "--model", model, "--input", str(plain), "--text-col", "x"]) == 2
    assert "read as plain text" in capsys.readouterr().err
