import numpy as np
import pytest

from lahan.config import DataConfig, EvaluateConfig
from lahan.errors import LahanError
from lahan.evaluate import compute_metrics, full_report, metrics_by_group, predict_logits
from lahan.models import load_model
from lahan.recipes.evaluate import run_evaluate


def test_metrics_known_values():
    m = compute_metrics([0, 0, 1, 1], [0, 1, 1, 1], labels=[0, 1, 2])
    assert m["accuracy"] == 0.75
    # class 0: P=1 R=.5 F1=2/3; class 1: P=2/3 R=1 F1=.8; class 2 neither in the data nor
    # predicted: left out of the average, as scikit-learn does
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    # a label predicted but absent from the data counts (its F1 is 0)
    m = compute_metrics([0, 0, 1, 1], [0, 2, 1, 1], labels=[0, 1, 2])
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_metrics_by_group_known_values():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    groups = ["SHC", "SHC", "SHC", "LPC", "LPC", "LPC"]
    m = metrics_by_group(y_true, y_pred, groups)
    assert list(m) == ["LPC", "SHC"]
    assert m["SHC"]["n"] == 3 and m["SHC"]["accuracy"] == pytest.approx(2 / 3)
    # SHC has labels 0 and 1: class 0 P=1 R=.5 F1=2/3, class 1 P=.5 R=1 F1=2/3
    assert m["SHC"]["macro_f1"] == pytest.approx(2 / 3)
    assert m["LPC"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics_by_group([0, 1], [0, 0], ["demo", "demo"]) == {}  # one group: nothing


def test_full_report_confusion():
    r = full_report([0, 1, 1], [0, 0, 1], ["a", "b"])
    assert r["confusion_matrix"] == [[1, 0], [1, 1]]
    assert r["per_class"]["b"]["recall"] == 0.5


def test_predict_keeps_input_order(trained_tiny):
    model, tok, _ = load_model(trained_tiny[0])
    texts = ["पुण्यात सभा", "भारताचा दणदणीत विजय आणि पुढील सामन्यांसाठी संघ जाहीर", "नवीन कार"]
    batched = predict_logits(model, tok, texts, batch_size=2, max_length=64)
    one_by_one = np.concatenate([predict_logits(model, tok, [t], 1, 64) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_run_evaluate_writes_json_and_png(trained_tiny, demo_csv, tmp_path):
    report = run_evaluate(
        EvaluateConfig(
            str(trained_tiny[0]),
            DataConfig(source=str(demo_csv), seed=0),
            "test",
            str(tmp_path / "ev"),
        )
    )
    assert (tmp_path / "ev" / "metrics_test.json").exists()
    assert (tmp_path / "ev" / "confusion_test.png").read_bytes()[:4] == b"\x89PNG"
    assert report.same_data_as_training is True
    assert sum(map(sum, report.confusion_matrix)) == report.n
    # what --json prints: every key metrics_test.json has, plus the files, in its order
    import json

    written = json.loads((tmp_path / "ev" / "metrics_test.json").read_text(encoding="utf-8"))
    assert report.to_dict() == written | {"files": report.files}
    assert list(report.to_dict()) == [*written, "files"]


def test_evaluate_label_mismatch_is_clear(trained_tiny, tmp_path):
    from tests.conftest import write_csv  # noqa: PLC0415

    other = write_csv(tmp_path / "o.csv", [(f"मजकूर {i}", "X" if i % 2 else "Y") for i in range(40)])
    with pytest.raises(LahanError, match="do not match"):
        run_evaluate(
            EvaluateConfig(
                str(trained_tiny[0]), DataConfig(source=str(other)), out=str(tmp_path / "e")
            )
        )


def test_pad_to_max_length_pads_every_batch_and_keeps_the_predictions(trained_tiny):
    model, tok, _ = load_model(trained_tiny[0])
    texts = ["शब्द", "शब्द शब्द शब्द", "एक दोन"]
    widths = []
    hook = model.register_forward_pre_hook(
        lambda m, args, kwargs: widths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    dynamic = predict_logits(model, tok, texts, batch_size=2, max_length=40)
    assert max(widths) < 40  # each batch padded to its longest text
    widths.clear()
    padded = predict_logits(model, tok, texts, batch_size=2, max_length=40, pad_to_max_length=True)
    hook.remove()
    assert widths == [40, 40]
    assert (padded.argmax(-1) == dynamic.argmax(-1)).all()
    assert np.allclose(padded, dynamic, atol=1e-4)


def test_macro_f1_matches_scikit_learn_when_labels_are_absent():
    """A label of the model absent from the data (and never predicted) does not count."""
    from sklearn.metrics import f1_score

    from lahan.evaluate import compute_metrics

    y_true, y_pred = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    ours = compute_metrics(y_true, y_pred, labels=range(5))  # labels 3 and 4 absent
    assert ours["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_split_all_scores_every_row_and_onnx_folders_evaluate(trained_tiny, demo_csv, tmp_path):
    """A whole file is scored as given; an exported ONNX folder evaluates like the model."""
    from lahan.config import DataConfig, EvaluateConfig, ExportConfig
    from lahan.deploy.export import export_onnx
    from lahan.recipes.evaluate import run_evaluate

    data = DataConfig(source=str(demo_csv), seed=0)
    rows_in_file = len(demo_csv.read_text(encoding="utf-8").strip().splitlines()) - 1
    whole = run_evaluate(
        EvaluateConfig(str(trained_tiny[0]), data, split="all", out=str(tmp_path / "e1"))
    )
    assert whole.n == rows_in_file and whole.split == "all"
    dev = run_evaluate(
        EvaluateConfig(str(trained_tiny[0]), data, split="dev", out=str(tmp_path / "e2"))
    )
    export_onnx(trained_tiny[0], tmp_path / "onnx", ExportConfig())
    onnx = run_evaluate(
        EvaluateConfig(str(tmp_path / "onnx"), data, split="dev", out=str(tmp_path / "e3"))
    )
    assert onnx.n == dev.n and onnx.labels == dev.labels
    assert abs(onnx.accuracy - dev.accuracy) <= 1 / dev.n  # fp32 graph: same answers
