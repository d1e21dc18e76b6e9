"""`lahan prune` end to end on a tiny trained teacher."""

import json

from lahan.cli import main
from lahan.config import DataConfig, EvaluateConfig
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
    report = run_evaluate(
        EvaluateConfig(str(out), DataConfig(source=str(demo_csv), seed=0), out=str(tmp_path / "ev"))
    )
    assert report.accuracy == record["metrics"]["dev"]["accuracy"]


def _encoder_linear_weights(model) -> int:
    import torch

    encoder = model.base_model.encoder
    return sum(m.weight.numel() for m in encoder.modules() if isinstance(m, torch.nn.Linear))


def test_the_default_prune_really_removes_the_share_asked_for(trained_tiny, demo_csv, tmp_path):
    """With the defaults, --sparsity S leaves (1 - S) of the encoder's linear weights
    (within 2%) in the saved model: whole heads and neurons go, not zeros inside."""
    teacher, _ = trained_tiny
    for sparsity in (0.25, 0.5):
        out = tmp_path / f"p{sparsity}"
        argv = [
            "prune", "--teacher", str(teacher), "--data", str(demo_csv), "--data-seed", "0",
            "--sparsity", str(sparsity), "--epochs", "1", "--no-progress", "--out", str(out),
        ]  # fmt: skip
        assert main(argv) == 0
        kept = _encoder_linear_weights(load_model(out)[0])
        full = _encoder_linear_weights(load_model(teacher)[0])
        assert abs(kept / full - (1 - sparsity)) <= 0.02, (sparsity, kept / full)
