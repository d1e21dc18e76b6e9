"""The reference classifier: character n-gram TF-IDF + a linear SVM (scikit-learn).

A cheap model that is often hard to beat on topic classification; lahan trains it on
the same split as a transformer so a user sees when the cheap one is enough.

A reference folder holds no pickle: ``reference.json`` (the manifest: labels, the
vectorizer's parameters, versions), ``vocabulary.json`` (n-gram -> column) and
``weights.safetensors`` (``idf`` [F], ``coef`` [C, F], ``intercept`` [C], float32). Loading
rebuilds the vectorizer from the vocabulary and idf without refitting; a score is
``tfidf(text) @ coef.T + intercept``, one column per label. scikit-learn and scipy are
imported only when a model is trained or loaded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lahan.config import REFERENCE_ANALYZERS, ReferenceConfig
from lahan.errors import LahanError
from lahan.io import atomic_dir, atomic_write_json, check_output_folder
from lahan.versions import library_versions

KIND = "tfidf-linear-svm"
MANIFEST = "reference.json"
VOCABULARY = "vocabulary.json"
WEIGHTS = "weights.safetensors"
FORMAT_VERSION = 1

# The score of a label the training data never had: it is never predicted.
UNTRAINED_SCORE = -1.0e4

RETRAIN = "retrain it with lahan.reference.train_reference"


def _vectorizer_params(config: ReferenceConfig) -> dict:
    """The TfidfVectorizer parameters a transform depends on (stored in the manifest)."""
    return {
        "analyzer": config.analyzer,
        "ngram_range": [config.ngram_min, config.ngram_max],
        "sublinear_tf": config.sublinear_tf,
        "lowercase": True,
        "norm": "l2",
        "use_idf": True,
        "smooth_idf": True,
    }


def _make_vectorizer(params: dict, vocabulary: dict[str, int] | None = None, **extra):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=params["analyzer"],
        ngram_range=tuple(params["ngram_range"]),
        sublinear_tf=params["sublinear_tf"],
        lowercase=params["lowercase"],
        norm=params["norm"],
        use_idf=params["use_idf"],
        smooth_idf=params["smooth_idf"],
        dtype=np.float32,
        vocabulary=vocabulary,
        **extra,
    )


def _check_training_data(
    train_texts: Sequence[str], train_labels: Sequence[str], labels: Sequence[str]
) -> None:
    if len(train_texts) != len(train_labels):
        raise LahanError(
            f"train_reference got {len(train_texts)} texts but {len(train_labels)} labels: "
            "give one label per text"
        )
    if len(set(labels)) != len(labels):
        raise LahanError(f"the label list {list(labels)} names a label twice: give each once")
    unknown = sorted(set(train_labels) - set(labels))
    if unknown:
        raise LahanError(
            f"training labels {unknown[:5]} are not in the label list {list(labels)}: "
            "pass every label the data uses"
        )
    present = set(train_labels)
    if len(present) < 2:
        found = f"only '{next(iter(present))}'" if present else "no labels"
        raise LahanError(
            f"the training data has {found}: a classifier needs examples of at least two "
            "labels; check the label column or add rows of other classes"
        )


def train_reference(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    labels: Sequence[str],
    out_folder: str | Path,
    config: ReferenceConfig | None = None,
) -> dict:
    """Fit TF-IDF + LinearSVC on ``train_texts`` and write the reference folder atomically.

    ``labels`` fixes the output columns (the model's logits follow its order); a label
    with no training example gets a constant very low score, so it is never predicted,
    and is listed in the manifest. Returns the manifest written to ``reference.json``.
    """
    from sklearn.svm import LinearSVC

    config = config or ReferenceConfig()
    labels = [str(label) for label in labels]
    _check_training_data(train_texts, train_labels, labels)
    out = Path(out_folder)
    check_output_folder(out, marker=MANIFEST)

    params = _vectorizer_params(config)
    ids = {label: i for i, label in enumerate(labels)}
    targets = np.array([ids[label] for label in train_labels])
    started = time.perf_counter()
    vectorizer = _make_vectorizer(params, max_features=config.max_features)
    features = vectorizer.fit_transform(list(train_texts))
    svm = LinearSVC(C=config.c, random_state=config.seed)
    svm.fit(features, targets)
    train_seconds = time.perf_counter() - started

    n_features = features.shape[1]
    coef = np.zeros((len(labels), n_features), dtype=np.float32)
    intercept = np.full(len(labels), UNTRAINED_SCORE, dtype=np.float32)
    classes = svm.classes_.tolist()
    if len(classes) == 2:  # one score s for the second class: columns [-s, s]
        coef[classes[0]], coef[classes[1]] = -svm.coef_[0], svm.coef_[0]
        intercept[classes[0]], intercept[classes[1]] = -svm.intercept_[0], svm.intercept_[0]
    else:
        coef[classes] = svm.coef_
        intercept[classes] = svm.intercept_
    vocabulary = {term: int(i) for term, i in sorted(vectorizer.vocabulary_.items(), key=_column)}

    manifest = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "labels": labels,
        "labels_without_examples": [label for label in labels if ids[label] not in classes],
        "vectorizer": params,
        "n_features": n_features,
        "n_train": len(train_texts),
        "train_seconds": round(train_seconds, 3),
        "svm_iterations": int(np.max(svm.n_iter_)),
        "config": asdict(config),
        "lahan_version": library_versions()["lahan"],
        "library_versions": library_versions("scipy", "numpy"),
    }
    tensors = {
        "idf": np.ascontiguousarray(vectorizer.idf_, dtype=np.float32),
        "coef": coef,
        "intercept": intercept,
    }
    _write_folder(out, manifest, vocabulary, tensors)
    return manifest


def _column(item: tuple[str, int]) -> int:
    return int(item[1])


def _write_folder(out: Path, manifest: dict, vocabulary: dict, tensors: dict) -> None:
    from safetensors.numpy import save_file

    with atomic_dir(out) as tmp:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"kind": KIND})
        # compact: a char n-gram vocabulary has hundreds of thousands of entries
        (tmp / VOCABULARY).write_text(
            json.dumps(vocabulary, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        atomic_write_json(tmp / MANIFEST, manifest)  # last: its presence marks the folder


def is_reference_folder(path: str | Path) -> bool:
    """True when ``path`` holds a ``reference.json`` of this kind. A manifest too damaged
    to read still counts, so that loading the folder says what is wrong with it."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return True


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise LahanError(f"'{path}' is missing ({what}): the folder is incomplete; {RETRAIN}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise LahanError(
            f"'{path}' is corrupt ({what}: {str(e).splitlines()[0]}); {RETRAIN}"
        ) from None


def _read_vocabulary(path: Path) -> dict[str, int]:
    vocabulary = _read_json(path, "the n-gram vocabulary")
    ok = (
        isinstance(vocabulary, dict)
        and vocabulary
        and all(type(i) is int for i in vocabulary.values())
        and sorted(vocabulary.values()) == list(range(len(vocabulary)))
    )
    if not ok:
        raise LahanError(
            f"'{path}' is corrupt (not a map from n-gram to columns 0..N-1); {RETRAIN}"
        )
    return vocabulary


def _read_manifest(folder: Path) -> dict:
    manifest = _read_json(folder / MANIFEST, "the reference model's manifest")
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise LahanError(f"'{folder / MANIFEST}' does not describe a {KIND} model; {RETRAIN}")
    labels = manifest.get("labels")
    params = manifest.get("vectorizer")
    required = ("analyzer", "ngram_range", "sublinear_tf", "lowercase", "norm", "use_idf")
    if (
        not isinstance(labels, list)
        or len(set(map(str, labels))) != len(labels)
        or len(labels) < 2
        or not isinstance(params, dict)
        or any(k not in params for k in (*required, "smooth_idf"))
        or params["analyzer"] not in REFERENCE_ANALYZERS
        or not (isinstance(params["ngram_range"], list) and len(params["ngram_range"]) == 2)
    ):
        raise LahanError(
            f"'{folder / MANIFEST}' is corrupt (labels or vectorizer settings missing); {RETRAIN}"
        )
    return manifest


def _read_weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = folder / WEIGHTS
    if not path.is_file():
        raise LahanError(
            f"'{path}' is missing (the model's weights): the folder is incomplete; {RETRAIN}"
        )
    try:
        tensors = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for damaged files
        why = (str(e).splitlines() or [type(e).__name__])[0]
        raise LahanError(f"'{path}' is corrupt ({why}); {RETRAIN}") from None
    missing = [name for name in ("idf", "coef", "intercept") if name not in tensors]
    if missing:
        raise LahanError(f"'{path}' lacks the tensors {missing}; {RETRAIN}")
    return tensors


class ReferenceModel:
    """A loaded reference folder: ``labels``, ``manifest`` and ``scores(texts)``."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        if not folder.is_dir():
            raise LahanError(f"'{folder}': no such folder")
        self.folder = folder
        self.manifest = _read_manifest(folder)
        self.labels: list[str] = [str(label) for label in self.manifest["labels"]]
        vocabulary = _read_vocabulary(folder / VOCABULARY)
        tensors = _read_weights(folder)
        idf, coef, intercept = tensors["idf"], tensors["coef"], tensors["intercept"]
        n, c = len(vocabulary), len(self.labels)
        if idf.shape != (n,) or coef.shape != (c, n) or intercept.shape != (c,):
            raise LahanError(
                f"'{folder}': {VOCABULARY} has {n} n-grams and {MANIFEST} {c} labels but "
                f"{WEIGHTS} holds idf {list(idf.shape)}, coef {list(coef.shape)}, intercept "
                f"{list(intercept.shape)}: the files do not belong together; {RETRAIN}"
            )
        self.vectorizer = _make_vectorizer(self.manifest["vectorizer"], vocabulary)
        self.vectorizer.idf_ = idf.astype(np.float32)
        self.coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)  # [F, C]
        self.intercept = intercept.astype(np.float32)

    @property
    def parameter_count(self) -> int:
        """Learned numbers: a weight per n-gram and label, an idf per n-gram, the biases."""
        return self.coef_t.size + self.vectorizer.idf_.size + self.intercept.size

    def scores(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """float32 [n, len(labels)], input order; ``batch_size`` texts are vectorized at a
        time (bounds the memory of the sparse matrix on a large input)."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), max(1, batch_size)):
            chunk = list(texts[start : start + batch_size])
            features = self.vectorizer.transform(chunk).astype(np.float32, copy=False)
            out[start : start + len(chunk)] = features @ self.coef_t + self.intercept
        return out


def load_reference(folder: str | Path) -> ReferenceModel:
    """Load a folder written by :func:`train_reference` (one-line LahanError if damaged)."""
    return ReferenceModel(folder)
