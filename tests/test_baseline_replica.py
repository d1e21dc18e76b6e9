"""The paper's baseline as users get it from the Hub, end to end through the README's path.

l3cube-pune/marathi-topic-all-doc-v2 is a BertForSequenceClassification on MuRIL: a
197,285-token cased WordPiece vocabulary, 12 outputs. Published folders of that era
hold ``pytorch_model.bin`` and ``vocab.txt`` only, and often name their outputs
LABEL_0..LABEL_11. The replica has all of that (tiny widths), and goes through
``compress --labels ... --prune 0.25 --distill --trim-vocab`` -> ``export --format onnx
--quantize int8`` -> ``predict`` and ``serve``.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from transformers import AutoTokenizer

from lahan.cli import main
from lahan.deploy.predictor import load_predictor
from lahan.deploy.serve import create_app
from tests.family import MURIL_VOCAB, build_baseline_replica

# The demo corpus has 9 of these; the replica's 12 outputs get the paper's 12 names.
NAMES = (
    "Auto,Bhakti,Crime,Education,Fashion,Health,International,Manoranjan,Politics,Sports,"
    "Tech,Travel"
)


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    from lahan.data.demo_corpus import demo_examples

    folder = build_baseline_replica(
        tmp_path_factory.mktemp("hub") / "marathi-topic-all-doc-v2",
        [text for text, _ in demo_examples(0)],
    )
    assert len(AutoTokenizer.from_pretrained(folder)) == MURIL_VOCAB
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "pytorch_model.bin",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    return folder


def test_placeholder_labels_are_refused_without_names(replica, tmp_path, demo_csv, capsys):
    out = tmp_path / "p25"
    code = main(
        ["compress", "--teacher", str(replica), "--data", str(demo_csv), "--prune", "0.25"]
        + ["--out", str(out)]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert "LABEL_0" in err and "--labels" in err and not out.exists()


def test_wrong_number_of_names_is_one_line(replica, tmp_path, demo_csv, capsys):
    code = main(
        ["compress", "--teacher", str(replica), "--data", str(demo_csv), "--prune", "0.25"]
        + ["--labels", "Auto,Bhakti", "--out", str(tmp_path / "x")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "gives 2 names but" in err and "12 outputs" in err


def test_baseline_replica_end_to_end(replica, tmp_path, demo_csv, capsys, caplog):
    compressed, onnx = tmp_path / "p25-kd", tmp_path / "p25-kd-int8"
    compress = ["compress", "--teacher", str(replica), "--data", str(demo_csv)]
    compress += ["--labels", NAMES, "--prune", "0.25", "--distill", "--trim-vocab"]
    compress += ["--epochs", "1", "--max-length", "32", "--out", str(compressed)]
    with caplog.at_level("WARNING", logger="lahan.models"):
        assert main(compress) == 0
    assert "restricted loader" in caplog.text  # the .bin was read with weights_only
    config = json.loads((compressed / "config.json").read_text())
    assert config["id2label"]["0"] == "Auto" and config["id2label"]["11"] == "Travel"
    assert config["model_type"] == "lahan_pruned_bert"
    assert config["vocab_size"] < 2_000  # trimmed to the tokens the data uses
    assert sum(config["layer_heads"]) < 2 * 12  # whole heads removed
    assert list(compressed.glob("*.safetensors")) and not list(compressed.glob("*.bin"))
    result = json.loads((compressed / "result.json").read_text())
    assert result["size_on_disk_bytes"] < result["size_on_disk_teacher_bytes"] / 10

    export = ["export", "--model", str(compressed), "--format", "onnx", "--quantize", "int8"]
    assert main([*export, "--data", str(demo_csv), "--out", str(onnx)]) == 0
    manifest = json.loads((onnx / "lahan-onnx.json").read_text())
    assert manifest["labels"] == NAMES.split(",")

    texts = ["भारताने सामना जिंकला", "राज्य सरकारची नवी योजना"]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(onnx), "--input", str(tmp_path / "in.txt")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] in NAMES.split(",") for r in rows] == [True, True]

    with TestClient(create_app(load_predictor(onnx))) as client:
        served = client.post("/predict", json={"texts": texts}).json()["predictions"]
    assert [p["label"] for p in served] == [r["label"] for r in rows]


def test_labels_name_a_placeholder_export_for_predict_serve_and_bench(
    replica, tmp_path, demo_csv, capsys
):
    """An export made without names keeps LABEL_i; --labels names them at predict/serve
    time (and is refused for a model that already names its outputs)."""
    onnx = tmp_path / "onnx"
    export = ["export", "--model", str(replica), "--format", "onnx", "--out", str(onnx)]
    assert main([*export, "--max-length", "32"]) == 0
    assert json.loads((onnx / "lahan-onnx.json").read_text())["labels"][0] == "LABEL_0"
    texts = tmp_path / "in.txt"
    texts.write_text("भारताने सामना जिंकला\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(onnx), "--input", str(texts), "--labels", NAMES]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["label"] in NAMES.split(",") and set(row["probs"]) == set(NAMES.split(","))
    named = load_predictor(onnx, labels=tuple(NAMES.split(",")))
    with TestClient(create_app(named)) as client:
        (served,) = client.post("/predict", json={"texts": ["राज्य"]}).json()["predictions"]
    assert served["label"] in NAMES.split(",")
    # bench: names apply to placeholder-labelled models, so accuracy can be computed
    capsys.readouterr()
    bench = ["bench", "--model", str(onnx), "--data", str(demo_csv), "--split", "dev"]
    bench += ["--labels", NAMES, "--repeats", "1", "--latency-texts", "4"]
    assert main([*bench, "--json", str(tmp_path / "bench.json")]) == 0
    (report,) = json.loads((tmp_path / "bench.json").read_text())["models"].values()
    assert 0.0 <= report["accuracy"] <= 1.0
