"""Reference row: char n-gram TF-IDF + linear SVM on the same split lahan trains on.

    python bench/tfidf_svm.py --data ../shared/data/mahanews [--data-seed 42]

Prints dev and test accuracy / macro-F1 as JSON. The split comes from lahan's own
loader (same cleaning, same seeded stratified split, same leakage guard), so the
numbers compare directly with `lahan finetune` / `lahan evaluate` on that data.
"""

from __future__ import annotations

import argparse
import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from lahan.data import load_dataset
from lahan.data.config import add_data_arguments, data_config_from_args
from lahan.evaluate import compute_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    dataset = load_dataset(data_config_from_args(args))
    started = time.perf_counter()
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        LinearSVC(C=0.5),
    )
    model.fit(dataset.texts("train"), dataset.targets("train"))
    result = {"model": "tfidf-char2-5+linear-svm", "fit_seconds": time.perf_counter() - started}
    labels = list(range(len(dataset.labels)))
    for split in ("dev", "test"):
        if dataset.splits.get(split):
            pred = model.predict(dataset.texts(split)).tolist()
            result[split] = compute_metrics(dataset.targets(split), pred, labels)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
