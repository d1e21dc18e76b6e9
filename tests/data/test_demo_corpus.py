"""The built-in synthetic Marathi demo corpus: shape, determinism, cleanliness, learnability."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict

import pytest

from lahan.data.demo_corpus import DEMO_LABELS, _generate, demo_examples

DEVANAGARI = re.compile(r"[\u0900-\u097F]")


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    return demo_examples(seed=0)


def test_same_seed_same_corpus():
    assert demo_examples(seed=7) == demo_examples(seed=7)
    assert demo_examples() == demo_examples(seed=0)


def test_different_seeds_differ():
    a, b = demo_examples(seed=0), demo_examples(seed=1)
    assert a != b
    assert {t for t, _ in a} != {t for t, _ in b}


def test_labels_and_class_sizes(rows):
    assert DEMO_LABELS == tuple(sorted(DEMO_LABELS))
    assert len(DEMO_LABELS) >= 8
    counts = Counter(label for _, label in rows)
    assert set(counts) == set(DEMO_LABELS)
    assert all(n >= 30 for n in counts.values()), counts
    assert 300 <= len(rows) <= 700


def test_no_duplicate_texts(rows):
    texts = [t for t, _ in rows]
    assert len(texts) == len(set(texts))


def test_texts_are_clean_devanagari(rows):
    for text, _ in rows:
        assert DEVANAGARI.search(text), text
        assert unicodedata.normalize("NFC", text) == text
        assert text == text.strip()
        assert "  " not in text
        assert not re.search(r"\s", text.replace(" ", "")), repr(text)
        assert "{" not in text and "}" not in text


def test_many_templates_per_class():
    used: dict[str, set[int]] = defaultdict(set)
    for _, label, template in _generate(seed=0):
        used[label].add(template)
    assert set(used) == set(DEMO_LABELS)
    assert all(len(t) >= 6 for t in used.values()), {k: len(v) for k, v in used.items()}


def _char_tfidf_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)),
        LogisticRegression(max_iter=2000),
    )


def test_learnable_above_chance(rows):
    from sklearn.model_selection import train_test_split

    texts, labels = zip(*rows, strict=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=0
    )
    model = _char_tfidf_model().fit(x_tr, y_tr)
    accuracy = model.score(x_te, y_te)
    assert accuracy > 0.6, accuracy


def test_class_vocabulary_generalises_to_unseen_templates():
    """Trained on two thirds of each class's templates, still well above chance (1/9)
    on the rest: the signal is in the class vocabulary, not only in template wording."""
    rows = _generate(seed=0)
    train = [(t, y) for t, y, k in rows if k % 3 != 0]
    test = [(t, y) for t, y, k in rows if k % 3 == 0]
    model = _char_tfidf_model().fit(*zip(*train, strict=True))
    accuracy = model.score(*zip(*test, strict=True))
    assert accuracy > 0.5, accuracy
