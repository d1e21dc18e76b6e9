"""The TF-IDF + linear SVM reference classifier: trained, saved without pickle, reloaded
exactly, and served through the same predictor interface as a transformer."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from lahan.config import ConfigError, ReferenceConfig
from lahan.deploy.predictor import NO_LENGTH_LIMIT, ReferencePredictor, load_predictor
from lahan.errors import LahanError
from lahan.reference import (
    MANIFEST,
    VOCABULARY,
    WEIGHTS,
    is_reference_folder,
    load_reference,
    train_reference,
)

# Three topics, each with its own words (one in Devanagari): distinct character n-grams.
WORDS = {
    "sport": ["football", "goal", "striker", "match", "क्रिकेट", "सामना"],
    "tech": ["laptop", "software", "chip", "android", "मोबाइल", "संगणक"],
    "food": ["curry", "recipe", "spice", "kitchen", "भाजी", "पोळी"],
}
FILLER = ["the", "a", "today", "news", "आज", "बातमी"]
LABELS = ["food", "sport", "tech"]


def make_texts(n_per_label: int, seed: int, labels=LABELS) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, targets = [], []
    for _ in range(n_per_label):
        for label in labels:
            words = rng.choices(WORDS[label], k=3) + rng.choices(FILLER, k=2)
            rng.shuffle(words)
            texts.append(" ".join(words))
            targets.append(label)
    return texts, targets


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    texts, targets = make_texts(20, seed=0)
    folder = tmp_path_factory.mktemp("ref") / "model"
    manifest = train_reference(texts, targets, LABELS, folder, ReferenceConfig())
    return folder, manifest, texts, targets


def sklearn_pipeline(texts, targets, config: ReferenceConfig):
    """The same model fitted by scikit-learn alone: what the saved folder must reproduce."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    pipeline = make_pipeline(
        TfidfVectorizer(
            analyzer=config.analyzer,
            ngram_range=(config.ngram_min, config.ngram_max),
            sublinear_tf=config.sublinear_tf,
            max_features=config.max_features,
            dtype=np.float32,
        ),
        LinearSVC(C=config.c, random_state=config.seed),
    )
    return pipeline.fit(texts, targets)


def test_predicts_held_out_texts(trained):
    folder, _, _, _ = trained
    held_texts, held_targets = make_texts(10, seed=1)
    predicted = load_reference(folder).scores(held_texts).argmax(-1)
    assert [LABELS[i] for i in predicted] == held_targets


def test_folder_holds_exactly_the_three_files_and_no_pickle(trained):
    folder, manifest, texts, _ = trained
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, VOCABULARY, WEIGHTS])
    assert json.loads((folder / MANIFEST).read_text()) == manifest
    assert manifest["kind"] == "tfidf-linear-svm"
    assert manifest["labels"] == LABELS
    assert manifest["n_train"] == len(texts)
    assert manifest["n_features"] == len(json.loads((folder / VOCABULARY).read_text()))
    assert "scikit-learn" in manifest["library_versions"]
    assert is_reference_folder(folder)
    assert not is_reference_folder(folder.parent)


def test_reloaded_logits_equal_sklearns_decision_function(trained):
    folder, _, texts, targets = trained
    ids = [LABELS.index(t) for t in targets]
    pipeline = sklearn_pipeline(texts, ids, ReferenceConfig())
    held_texts, _ = make_texts(5, seed=2)
    held_texts += ["", "unseen words only", "ऐतिहासिक"]  # no known n-gram: intercept only
    expected = pipeline.decision_function(held_texts)
    got = load_predictor(folder).logits(held_texts, batch_size=4)  # several batches
    assert got.dtype == np.float32 and got.shape == (len(held_texts), 3)
    assert np.allclose(got, expected, atol=1e-5)


def test_binary_problem_gives_two_columns(tmp_path):
    texts, targets = make_texts(15, seed=3, labels=["sport", "tech"])
    ids = [["sport", "tech"].index(t) for t in targets]
    train_reference(texts, targets, ["sport", "tech"], tmp_path / "bin", ReferenceConfig())
    held, held_targets = make_texts(5, seed=4, labels=["sport", "tech"])
    logits = ReferencePredictor(tmp_path / "bin").logits(held)
    assert logits.shape == (len(held), 2)
    assert [["sport", "tech"][i] for i in logits.argmax(-1)] == held_targets
    s = sklearn_pipeline(texts, ids, ReferenceConfig()).decision_function(held)
    assert np.allclose(logits, np.stack([-s, s], axis=1), atol=1e-5)


def test_a_label_without_examples_is_never_predicted(tmp_path):
    texts, targets = make_texts(10, seed=5, labels=["sport", "tech"])
    manifest = train_reference(texts, targets, LABELS, tmp_path / "m", ReferenceConfig())
    assert manifest["labels_without_examples"] == ["food"]
    logits = load_reference(tmp_path / "m").scores(make_texts(3, seed=6)[0])
    assert logits.shape[1] == 3 and (logits.argmax(-1) != 0).all()


def test_predictor_interface(trained):
    folder, _, _, _ = trained
    predictor = load_predictor(folder)
    assert isinstance(predictor, ReferencePredictor)
    assert predictor.labels == LABELS
    assert predictor.precision == "fp32"
    assert predictor.max_length == NO_LENGTH_LIMIT
    assert predictor.info["runtime"] == "sklearn" and predictor.info["made_by"] == "reference"
    assert predictor.info["device"] == "cpu" and predictor.info["padding"] == "none"
    assert predictor.token_counts(["abc", "भाजी"]) == [3, 4]
    empty = predictor.logits([])
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    texts = make_texts(3, seed=7)[0]
    assert np.array_equal(predictor.logits(texts, 1), predictor.logits(texts, 64))
    assert ReferencePredictor(folder, labels=tuple(LABELS)).labels == LABELS


def test_predictor_refuses_other_precisions_and_other_labels(trained):
    folder, _, _, _ = trained
    with pytest.raises(LahanError, match="fp32"):
        load_predictor(folder, precision="int8")
    with pytest.raises(LahanError, match="already names its 3 outputs"):
        load_predictor(folder, labels=("a", "b"))


def test_training_needs_two_labels(tmp_path):
    with pytest.raises(LahanError, match="at least two labels"):
        train_reference(["a b", "c d"], ["x", "x"], ["x", "y"], tmp_path / "m")
    with pytest.raises(LahanError, match="not in the label list"):
        train_reference(["a b", "c d"], ["x", "z"], ["x", "y"], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def copy_folder(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_corrupt_vocabulary_names_the_file(trained, tmp_path):
    folder = copy_folder(trained[0], tmp_path / "m")
    (folder / VOCABULARY).write_text('{"ab": 0, "bc"', encoding="utf-8")
    with pytest.raises(LahanError, match=rf"{VOCABULARY}' is corrupt.*retrain") as e:
        load_predictor(folder)
    assert "\n" not in str(e.value)


def test_missing_weights_names_the_file(trained, tmp_path):
    folder = copy_folder(trained[0], tmp_path / "m")
    (folder / WEIGHTS).unlink()
    with pytest.raises(LahanError, match=rf"{WEIGHTS}' is missing"):
        load_predictor(folder)


def test_truncated_weights_are_reported(trained, tmp_path):
    folder = copy_folder(trained[0], tmp_path / "m")
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(LahanError, match=rf"{WEIGHTS}' is corrupt"):
        load_reference(folder)


def test_vocabulary_and_weights_of_different_models_are_refused(trained, tmp_path):
    folder = copy_folder(trained[0], tmp_path / "m")
    vocabulary = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
    smaller = {term: i for i, term in enumerate(list(vocabulary)[:-1])}
    (folder / VOCABULARY).write_text(json.dumps(smaller), encoding="utf-8")
    with pytest.raises(LahanError, match="do not belong together"):
        load_reference(folder)


def test_corrupt_manifest_still_routes_to_the_reference_loader(trained, tmp_path):
    folder = copy_folder(trained[0], tmp_path / "m")
    (folder / MANIFEST).write_text("{not json", encoding="utf-8")
    assert is_reference_folder(folder)
    with pytest.raises(LahanError, match=rf"{MANIFEST}' is corrupt"):
        load_predictor(folder)


def test_retraining_replaces_the_folder_but_never_a_foreign_one(trained, tmp_path):
    texts, targets = make_texts(5, seed=8)
    folder = copy_folder(trained[0], tmp_path / "m")
    train_reference(texts, targets, LABELS, folder, ReferenceConfig(max_features=50))
    assert load_reference(folder).manifest["n_features"] == 50
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(LahanError, match="not a lahan model"):
        train_reference(texts, targets, LABELS, foreign)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"c": 0}, "c"),
        ({"c": -1.0}, "c"),
        ({"ngram_min": 0}, "ngram_min"),
        ({"ngram_min": 3, "ngram_max": 2}, "ngram_max"),
        ({"analyzer": "bytes"}, "analyzer"),
        ({"max_features": 0}, "max_features"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"^ReferenceConfig\.{field} ") as e:
        ReferenceConfig(**kwargs)
    assert e.value.field == field


def test_config_defaults():
    config = ReferenceConfig()
    assert (config.ngram_min, config.ngram_max, config.analyzer) == (2, 5, "char_wb")
    assert config.sublinear_tf and config.c == 1.0 and config.max_features is None
