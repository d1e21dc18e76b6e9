"""`lahan prune` end to end on a tiny trained teacher."""

import json

from lahan.cli import main
from lahan.data import DataConfig
from lahan.models import load_model
from lahan.recipes.evaluate import run_evaluate


def test_prune_writes_a_smaller_model_that_reloads(trained_tiny, demo_csv, tmp_path, capsys):
    teacher, _ = trained_tiny
    out = tmp_path / "pruned"
    rc = main(
        [
            "prune",
            "--teacher",
            str(teacher),
            "--data",
            str(demo_csv),
            "--data-seed",
            "0",
            "--sparsity",
            "0.5",
            "--granularity",
            "heads",
            "--epochs",
            "2",
            "--lr",
            "1e-3",
            "--batch-size",
            "32",
            "--trim-vocab",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "total sparsity 0.50" in printed and "the teacher's" in printed
    record = json.loads((out / "lahan.json").read_text())
    assert abs(record["sparsity"]["achieved"] - 0.5) <= 0.01
    assert record["latency"]["speedup_vs_teacher"] > 0
    assert record["params"]["compressed"]["total"] < record["params"]["teacher"]["total"]
    assert record["vocabulary"]["vocab_size_after"] < record["vocabulary"]["vocab_size_before"]
    # The shrunk model scores exactly what the masked one scored (trimming the vocabulary
    # may change dev texts with tokens never seen in train: those become [UNK]).
    metrics = record["metrics"]
    assert metrics["dev_shrunk"] == metrics["dev_masked"]
    for name in ("structure.png", "sparsity.txt", "metrics_dev.json", "confusion_dev.png"):
        assert (out / "eval" / name).exists(), name

    model, tok, _ = load_model(out)
    assert type(model).__name__ == "LahanPrunedBertForSequenceClassification"
    assert model.config.layer_heads == [
        len(layer["kept_heads"]) for layer in record["structure"]["layers"]
    ]
    report = run_evaluate(out, DataConfig(source=str(demo_csv), seed=0), "dev", out=tmp_path / "ev")
    assert report["accuracy"] == record["metrics"]["dev"]["accuracy"]
