"""The architectures L3Cube publishes, each as a tiny local model, through lahan's commands.

For every family: finetune, evaluate and serve a teacher, distill it into a shallower
student; prune + shrink + exact reload + ONNX export + predict where the architecture
allows it (ALBERT's one shared layer cannot be pruned layer by layer: refused, with
the way out). Another architecture gets one line naming the supported ones.
"""

from __future__ import annotations

import json

import pytest
import torch
from fastapi.testclient import TestClient
from transformers import AutoModelForSequenceClassification, ElectraConfig

from lahan.cli import main
from lahan.deploy.predictor import TorchPredictor, load_predictor
from lahan.deploy.serve import create_app
from lahan.models import load_model
from tests.family import FAMILIES, build_family_model

PRUNED_TYPE = {
    "bert": "lahan_pruned_bert",
    "roberta": "lahan_pruned_roberta",
    "xlm-roberta": "lahan_pruned_roberta",
    "distilbert": "lahan_pruned_distilbert",
}
COMMON = ["--data", None, "--max-length", "32", "--epochs", "1", "--batch-size", "32"]


def args(csv, *extra: str) -> list[str]:
    common = [str(csv) if a is None else a for a in COMMON]
    return [*extra, *common]


@pytest.fixture(scope="module")
def texts_and_labels(demo_csv):
    from lahan.data.demo_corpus import demo_examples

    rows = demo_examples(0)
    return [t for t, _ in rows], sorted({label for _, label in rows})


@pytest.mark.parametrize("kind", FAMILIES)
def test_family_through_lahan(kind, tmp_path, demo_csv, texts_and_labels, capsys):
    texts, labels = texts_and_labels
    base = build_family_model(kind, tmp_path / "published", texts, labels)
    teacher, student, pruned = tmp_path / "teacher", tmp_path / "kd", tmp_path / "pruned"
    # a published folder (no lahan.json): inference length capped by its 64 positions
    assert TorchPredictor(base).max_length == 64

    assert main(["finetune", "--model", str(base), "--out", str(teacher), *args(demo_csv)]) == 0
    assert main(["evaluate", "--model", str(teacher), "--data", str(demo_csv)]) == 0
    metrics = json.loads((teacher / "eval" / "metrics_dev.json").read_text())
    assert metrics["n"] > 0 and 0.0 <= metrics["accuracy"] <= 1.0

    with TestClient(create_app(TorchPredictor(teacher))) as client:
        answer = client.post("/predict", json={"texts": texts[:3]})
    assert answer.status_code == 200
    assert [p["label"] in labels for p in answer.json()["predictions"]] == [True] * 3

    distill = ["distill", "--teacher", str(teacher), "--student", "layers:1"]
    assert main([*distill, "--out", str(student), *args(demo_csv)]) == 0
    small, _, _ = load_model(student)
    assert small.config.num_hidden_layers == 1

    prune = ["prune", "--teacher", str(teacher), "--sparsity", "0.5", "--out", str(pruned)]
    if kind == "albert":
        capsys.readouterr()
        assert main([*prune, *args(demo_csv)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "ALBERT models share one layer" in err
        assert "--student preset:small" in err and not pruned.exists()
        return
    assert main([*prune, *args(demo_csv)]) == 0
    config = json.loads((pruned / "config.json").read_text())
    assert config["model_type"] == PRUNED_TYPE[kind]
    assert sum(config["layer_heads"]) < 2 * 4  # whole heads went (2 layers x 4 heads)
    # exact reload: the saved folder gives the logits the in-memory shrunk model gave
    loaded, tokenizer, _ = load_model(pruned)
    again = AutoModelForSequenceClassification.from_pretrained(pruned).eval()
    batch = tokenizer(texts[:4], padding=True, truncation=True, max_length=32, return_tensors="pt")
    batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        assert torch.equal(loaded(**batch).logits, again(**batch).logits)

    onnx = tmp_path / "onnx"
    export = ["export", "--model", str(pruned), "--format", "onnx", "--out", str(onnx)]
    assert main([*export, "--data", str(demo_csv), "--max-length", "32"]) == 0
    exported = load_predictor(onnx)
    torch_logits = TorchPredictor(pruned).logits(texts[:8])
    assert abs(exported.logits(texts[:8]) - torch_logits).max() < 1e-3
    inputs = tmp_path / "in.txt"
    inputs.write_text("\n".join(texts[:5]) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(onnx), "--input", str(inputs)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5 and all(r["label"] in labels for r in rows)


def test_other_architectures_get_one_line_naming_the_supported_ones(tmp_path, demo_csv, capsys):
    """ELECTRA finetunes like any Hugging Face classifier, but pruning needs to know its
    layers: refused with the list of what lahan prunes."""
    from transformers import ElectraForSequenceClassification

    texts = ["अ", "ब"]
    labels = ["x", "y"]
    base = build_family_model("bert", tmp_path / "tok", texts, labels)
    torch.manual_seed(0)
    model = ElectraForSequenceClassification(
        ElectraConfig(
            vocab_size=len(json.loads((base / "tokenizer.json").read_text())["model"]["vocab"]),
            embedding_size=16,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=64,
            num_labels=2,
            id2label={0: "x", 1: "y"},
            label2id={"x": 0, "y": 1},
        )
    )
    model.save_pretrained(base)
    data = tmp_path / "xy.csv"
    data.write_text("text,label\n" + "".join(f"अ {i},x\nब {i},y\n" for i in range(20)))
    capsys.readouterr()
    code = main(
        ["prune", "--teacher", str(base), "--sparsity", "0.5", "--out", str(tmp_path / "p")]
        + args(data)
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert "ElectraForSequenceClassification" in err
    assert "BERT, RoBERTa / XLM-RoBERTa, DistilBERT, ALBERT" in err
