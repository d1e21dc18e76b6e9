"""Placeholder-labelled classifiers (LABEL_0, ...) named with --labels / --label-map."""

from __future__ import annotations

import json
import shutil

import pytest

from lahan.cli import main
from lahan.errors import LahanError
from lahan.models import load_model, model_labels, read_label_names


@pytest.fixture()
def placeholder(trained_tiny, tmp_path):
    """trained_tiny as many hub classifiers are published: LABEL_i, no lahan.json."""
    folder = tmp_path / "published"
    shutil.copytree(trained_tiny[0], folder)
    (folder / "lahan.json").unlink()
    config = json.loads((folder / "config.json").read_text())
    names = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(len(names))}
    config["label2id"] = {f"LABEL_{i}": i for i in range(len(names))}
    (folder / "config.json").write_text(json.dumps(config))
    return folder, names


def test_label_names_from_flags_and_files(tmp_path):
    assert read_label_names("Auto, Crime ,Sports") == ("Auto", "Crime", "Sports")
    (tmp_path / "m.json").write_text(json.dumps({"1": "Crime", "0": "Auto"}))
    assert read_label_names(label_map=str(tmp_path / "m.json")) == ("Auto", "Crime")
    (tmp_path / "l.json").write_text(json.dumps(["Auto", "Crime"]))
    assert read_label_names(label_map=str(tmp_path / "l.json")) == ("Auto", "Crime")
    (tmp_path / "m.csv").write_text("id,label\n1,Crime\n0,Auto\n")
    assert read_label_names(label_map=str(tmp_path / "m.csv")) == ("Auto", "Crime")
    for bad, message in [
        (dict(labels="A,A"), "distinct"),
        (dict(labels="A,,B"), "non-empty"),
        (dict(labels="A", label_map="x"), "not both"),
        (dict(label_map=str(tmp_path / "missing.json")), "no such file"),
    ]:
        with pytest.raises(LahanError, match=message):
            read_label_names(**bad)
    (tmp_path / "gap.json").write_text(json.dumps({"0": "A", "2": "B"}))
    with pytest.raises(LahanError, match="ids must be 0..1"):
        read_label_names(label_map=str(tmp_path / "gap.json"))


def test_load_model_names_placeholder_outputs(placeholder):
    folder, names = placeholder
    model, _, _ = load_model(folder)
    assert model_labels(model)[0] == "LABEL_0"
    model, _, _ = load_model(folder, tuple(names))
    assert model_labels(model) == names and model.config.label2id[names[1]] == 1
    with pytest.raises(LahanError, match=f"gives 2 names but .* has {len(names)} outputs"):
        load_model(folder, ("a", "b"))


def test_names_for_a_model_that_has_them_are_refused(trained_tiny):
    names = tuple(model_labels(load_model(trained_tiny[0])[0]))
    with pytest.raises(LahanError, match="already names its outputs"):
        load_model(trained_tiny[0], names)


def test_finetune_from_a_placeholder_classifier(placeholder, demo_csv, tmp_path, capsys):
    folder, names = placeholder
    common = ["finetune", "--model", str(folder), "--data", str(demo_csv), "--data-seed", "0",
              "--epochs", "1", "--max-length", "32", "--no-progress"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--labels" in err[-1] and "placeholders" in err[-1]
    # names that are not the data's labels: one line listing both
    wrong = ",".join(f"x{i}" for i in range(len(names)))
    assert main([*common, "--labels", wrong, "--out", str(tmp_path / "b")]) == 2
    assert "do not match the dataset's labels" in capsys.readouterr().err
    assert main([*common, "--labels", ",".join(names), "--out", str(tmp_path / "c")]) == 0
    saved = json.loads((tmp_path / "c" / "config.json").read_text())
    assert [saved["id2label"][str(i)] for i in range(len(names))] == names


def test_evaluate_takes_labels(placeholder, demo_csv, capsys):
    folder, names = placeholder
    argv = ["evaluate", "--model", str(folder), "--data", str(demo_csv), "--data-seed", "0",
            "--labels", ",".join(names), "--json"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["labels"] == names and report["accuracy"] > 0.3


def test_labels_for_a_model_that_gets_a_new_head_are_refused(trained_tiny, demo_csv, tmp_path):
    from lahan.config import ModelConfig
    from lahan.models import load_pretrained

    config = ModelConfig(source=str(trained_tiny[0]), new_head=True, labels=("a", "b"))
    with pytest.raises(LahanError, match="new head"):
        load_pretrained(config, ["a", "b"])


def test_label_map_ids_written_with_leading_zeros(tmp_path):
    (tmp_path / "m.csv").write_text("00,Auto\n01,Crime\n")
    assert read_label_names(label_map=str(tmp_path / "m.csv")) == ("Auto", "Crime")
