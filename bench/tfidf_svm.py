"""Reference row: char n-gram TF-IDF + linear SVM on the same split lahan trains on.

    python bench/tfidf_svm.py --data ../shared/data/mahanews [--data-seed 42] \
        [--teacher runs/small]

Prints dev and test accuracy / macro-F1 as JSON, pooled and per sub-dataset (SHC
headlines, LPC paragraphs). The split comes from lahan's own loader (same cleaning,
same seeded stratified split, same leakage guard), so the numbers compare directly
with `lahan finetune` / `lahan evaluate` on that data. With ``--teacher``, also the
dev throughput (docs/s, predicting the split repeatedly for at least
``--min-seconds``) and CodeCarbon energy / CO2 per 1,000 predictions of the SVM and of
the teacher, one after the other in the same run, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from lahan.commands._args import add_data_arguments, data_config_from_args
from lahan.data import load_dataset
from lahan.evaluate import compute_metrics, metrics_by_group
from lahan.measure.energy import track_energy


def throughput(predict, texts: list[str], min_seconds: float) -> dict:
    """docs/s and energy per 1,000 predictions of ``predict`` over ``texts``."""
    predict(texts)  # warm-up
    passes = 0
    with track_energy() as energy:
        started = time.perf_counter()
        while time.perf_counter() - started < min_seconds:
            predict(texts)
            passes += 1
        seconds = time.perf_counter() - started
    n = passes * len(texts)
    return {
        "docs_per_s": n / seconds,
        "kwh_per_1000": energy["kwh"] / n * 1000,
        "kg_co2_per_1000": energy["kg_co2"] / n * 1000,
        "power_method": energy["power_method"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--teacher", default=None, help="a model folder to time against")
    parser.add_argument("--min-seconds", type=float, default=10.0)
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
            truth = dataset.targets(split)
            result[split] = compute_metrics(truth, pred, labels) | {
                "by_group": metrics_by_group(truth, pred, [r.group for r in dataset.split(split)])
            }
    if args.teacher:
        from lahan.deploy.predictor import TorchPredictor

        teacher = TorchPredictor(args.teacher)
        dev = dataset.texts("dev")
        svm = throughput(model.predict, dev, args.min_seconds)
        transformer = throughput(teacher.logits, dev, args.min_seconds)
        result["speed_dev"] = {
            "svm": svm,
            "teacher": transformer | {"model": args.teacher},
            "svm_speed_vs_teacher": svm["docs_per_s"] / transformer["docs_per_s"],
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
