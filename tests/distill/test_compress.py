"""`lahan distill` / `lahan compress` end to end on a tiny teacher, and the loss plug-in."""

import json

import pytest
import torch

from lahan.batches import encode
from lahan.cli import main
from lahan.config import CompressConfig, DataConfig, DistillConfig, EvaluateConfig, TrainConfig
from lahan.distill import Distiller, make_student, teacher_outputs
from lahan.errors import LahanError
from lahan.models import load_model
from lahan.recipes.evaluate import run_evaluate
from lahan.train import train


def _common(demo_csv, cache):
    return [
        "--data",
        str(demo_csv),
        "--data-seed",
        "0",
        "--batch-size",
        "32",
        "--lr",
        "1e-3",
        "--max-length",
        "48",
        "--no-progress",
        "--cache-dir",
        str(cache),
    ]


def test_prune_plus_kd_end_to_end(trained_tiny, demo_csv, tmp_path, capsys):
    teacher, _ = trained_tiny
    out = tmp_path / "p50kd"
    args = [
        "compress",
        "--teacher",
        str(teacher),
        "--prune",
        "0.5",
        "--granularity",
        "heads",
        "--distill",
        "--epochs",
        "2",
        *_common(demo_csv, tmp_path / "cache"),
    ]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "configuration: prune 50% heads + KD" in printed and "computed and cached" in printed
    record = json.loads((out / "lahan.json").read_text())
    result = json.loads((out / "result.json").read_text())
    assert record["made_by"] == "compress" and record["student"]["kind"] == "teacher"
    assert abs(record["sparsity"]["achieved"] - 0.5) <= 0.01
    assert record["metrics"]["dev_shrunk"] == record["metrics"]["dev_masked"]
    assert record["distill_cache"]["mode"] == "cached" and not record["distill_cache"]["hit"]
    assert record["config"]["DistillConfig"]["temperature"] == 2.0
    assert result["params"] < result["params_teacher"]
    assert 0 < result["size_on_disk_bytes"] < result["size_on_disk_teacher_bytes"]
    assert result["speedup_vs_teacher"] > 0 and result["train_seconds"] > 0
    assert result["dev_accuracy"] == record["metrics"]["dev"]["accuracy"]
    # The folder reloads exactly: evaluate scores what the run recorded.
    report = run_evaluate(
        EvaluateConfig(str(out), DataConfig(source=str(demo_csv), seed=0), out=str(tmp_path / "e"))
    )
    assert report.accuracy == result["dev_accuracy"]
    # A second configuration on the same teacher and data reuses the teacher's outputs.
    assert main([*args, "--prune", "0.25", "--out", str(tmp_path / "p25kd")]) == 0
    assert "cache hit" in capsys.readouterr().out


def test_distill_into_a_shallow_student(trained_tiny, demo_csv, tmp_path, capsys):
    teacher, _ = trained_tiny
    out = tmp_path / "kd1"
    rc = main(
        [
            "distill",
            "--teacher",
            str(teacher),
            "--student",
            "layers:1",
            "--hidden-weight",
            "1",
            "--epochs",
            "2",
            *_common(demo_csv, tmp_path / "cache"),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    record = json.loads((out / "lahan.json").read_text())
    assert record["made_by"] == "distill" and record["student"]["kind"] == "layers"
    assert record["distill_cache"]["hidden_layers"] == [2]  # student layer 1 <- teacher layer 2
    model, _, _ = load_model(out)
    assert model.config.num_hidden_layers == 1
    assert record["params"]["compressed"]["total"] < record["params"]["teacher"]["total"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--distill"], "--distill needs a smaller student"),
        (["--student", "layers:1"], "--student needs --distill"),
        ([], "nothing to do"),
        (["--distill", "--student", "layers:9"], "the teacher has 2 layers"),
        (["--distill", "--student", "layers:1", "--temperature", "0"], "--temperature"),
        (["--distill", "--student", "layers:1", "--alpha", "1.5"], "--alpha"),
        (["--distill", "--student", "nowhere/at-all-here"], "cannot be reached|could not get"),
        (["--prune", "0.5", "--distill", "--attention-weight", "1"], "cannot be combined"),
        (["--precision", "fp16"], "fp16 needs a CUDA GPU"),
    ],
)
def test_bad_combinations_are_one_clear_line(
    trained_tiny, demo_csv, tmp_path, capsys, extra, message
):
    if "fp16" in extra and torch.cuda.is_available():
        pytest.skip("fp16 is possible on this machine")
    teacher, _ = trained_tiny
    rc = main(
        [
            "compress",
            "--teacher",
            str(teacher),
            *extra,
            *_common(demo_csv, tmp_path),
            "--out",
            str(tmp_path / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("lahan: error:"), err
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "x").exists()


def test_student_with_another_tokenizer_is_refused(trained_tiny, demo_csv, tmp_path, capsys):
    from lahan.config import FinetuneConfig, ModelConfig
    from lahan.recipes.finetune import run_finetune

    teacher, _ = trained_tiny
    other = tmp_path / "other"
    run_finetune(
        FinetuneConfig(
            model=ModelConfig(source="preset:tiny", vocab_size=500),  # its own, smaller vocabulary
            data=DataConfig(source=str(demo_csv), seed=0),
            out=str(other),
            train=TrainConfig(epochs=1, batch_size=32, max_length=48, progress=False, max_steps=1),
        )
    )
    rc = main(
        [
            "distill",
            "--teacher",
            str(teacher),
            "--student",
            str(other),
            *_common(demo_csv, tmp_path),
            "--out",
            str(tmp_path / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "another tokenizer than the teacher" in err


@pytest.mark.parametrize("hidden_weight, tolerance", [(0.0, 2e-4), (1.0, 1e-2)])
def test_cached_and_live_teacher_train_the_same_student(
    trained_tiny, demo_csv, tmp_path, hidden_weight, tolerance
):
    """The cache changes where the teacher's logits come from, not the training."""
    from lahan.data import load_dataset

    teacher, tok, _ = load_model(trained_tiny[0])
    dataset = load_dataset(DataConfig(source=str(demo_csv), seed=0))
    rows = dataset.split("train")[:96]
    texts = [r.text for r in rows]
    ids = [teacher.config.label2id[r.label] for r in rows]
    config = TrainConfig(
        epochs=1, batch_size=16, max_length=48, lr=1e-3, progress=False, patience=0, seed=3
    )
    dcfg = DistillConfig(hidden_weight=hidden_weight)
    finals = []
    for live in (False, True):
        student = make_student("layers:1", teacher, tok, texts, 48)
        cached = None
        if not live:
            cached, _ = teacher_outputs(
                teacher, tok, encode(tok, texts, 48).encodings, tmp_path, [2], progress=False
            )
        distiller = Distiller(
            dcfg,
            layer_map=student.layer_map,
            student_width=128,
            teacher_width=128,
            cached=cached,
            teacher=teacher if live else None,
        )
        train(
            student.model,
            tok,
            texts,
            ids,
            texts[:16],
            ids[:16],
            config,
            loss_fn=distiller,
            plugins=[distiller],
        )
        finals.append(student.model.state_dict())
    # Adam magnifies float noise in near-zero gradients, and hidden targets are cached in
    # float16: the two runs agree closely, not bit for bit (wrong lookups differ by ~1e-1).
    worst = max((v - finals[1][k]).abs().max().item() for k, v in finals[0].items())
    assert worst < tolerance


def test_projection_is_trained_when_widths_differ(trained_tiny, demo_csv, tmp_path):
    teacher, tok, _ = load_model(trained_tiny[0])
    texts = ["राज्य सरकारने नवीन धोरण जाहीर केले", "भारताने सामना जिंकला"] * 16
    ids = [0, 1] * 16
    student = make_student("preset:small", teacher, tok, texts, 48)  # width 256 vs 128
    distiller = Distiller(
        DistillConfig(hidden_weight=1.0),
        layer_map=student.layer_map,
        student_width=256,
        teacher_width=128,
        teacher=teacher,
    )
    assert len(distiller.param_groups()) == 1
    before = [p.detach().clone() for p in distiller.projections.parameters()]
    config = TrainConfig(epochs=1, batch_size=16, max_length=48, lr=1e-3, progress=False)
    train(
        student.model,
        tok,
        texts,
        ids,
        texts[:4],
        ids[:4],
        config,
        from_scratch=True,
        loss_fn=distiller,
        plugins=[distiller],
    )
    after = list(distiller.projections.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_attention_loss_runs_with_a_live_teacher(trained_tiny, demo_csv, tmp_path):
    cfg = CompressConfig(
        teacher=str(trained_tiny[0]),
        data=DataConfig(source=str(demo_csv), seed=0),
        out=str(tmp_path / "att"),
        train=TrainConfig(epochs=1, batch_size=32, max_length=48, lr=1e-3, progress=False),
        distill=DistillConfig(attention_weight=1.0, cache_dir=str(tmp_path)),
        student="layers:1",
    )
    from lahan.recipes.compress import run_compress

    record = run_compress(cfg)
    assert record.distill_cache["mode"] == "live"
    assert record.train["steps"] > 0
    with pytest.raises(LahanError, match="^student needs --distill"):
        CompressConfig(teacher="t", data=cfg.data, out="o", student="layers:1")


def test_precision_alone_records_its_deltas_and_agreement(trained_tiny, demo_csv, tmp_path):
    out = tmp_path / "bf16"
    rc = main(
        [
            "compress",
            "--teacher",
            str(trained_tiny[0]),
            "--precision",
            "bf16",
            *_common(demo_csv, tmp_path),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    record = json.loads((out / "lahan.json").read_text())
    variant = record["precision_variant"]
    assert record["train"] is None and record["inference_precision"] == "bf16"
    assert variant["agreement_with_fp32"] >= 0.9 and variant["n"] == 50
    assert variant["accuracy"] == record["metrics"]["dev_at_precision"]["accuracy"]
    assert record["metrics"]["dev"] == record["metrics"]["dev_teacher"]  # same weights in fp32


@pytest.mark.parametrize(
    ("distill", "name"),
    [
        (DistillConfig(), "prune 25% heads + KD into layers:1"),
        (DistillConfig(alpha=1.0), "prune 25% heads + labels only into layers:1"),
        (DistillConfig(alpha=1.0, hidden_weight=1.0), "prune 25% heads + KD into layers:1"),
    ],
)
def test_names_say_whether_the_teacher_teaches(distill, name):
    from lahan.config import PruneConfig

    cfg = CompressConfig(
        teacher="t",
        data=DataConfig(source="demo"),
        out="o",
        prune=PruneConfig(sparsity=0.25, granularity="heads"),
        distill=distill,
        student="layers:1",
    )
    assert cfg.name() == name
