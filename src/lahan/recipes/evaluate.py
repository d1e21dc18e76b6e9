"""Evaluate a saved classifier on one split of a dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lahan.config import DataConfig, TrainConfig
from lahan.data import SPLITS, load_dataset
from lahan.deploy.predictor import is_onnx_folder, load_predictor
from lahan.errors import OptionError
from lahan.evaluate import predict_logits, report_from_logits, write_report_files
from lahan.models import inference_max_length, load_model, model_labels, resolve_label_map
from lahan.records import ModelRecord
from lahan.reference import is_reference_folder


def run_evaluate(
    model_dir: str | Path,
    data_config: DataConfig,
    split: str = "dev",
    out: str | Path | None = None,
    batch_size: int = TrainConfig.eval_batch_size,
    max_length: int | None = None,
    relabel: bool = False,
    labels: tuple | None = None,
) -> dict:
    """Evaluate ``model_dir`` on ``split``; write JSON + PNG to OUT (default MODEL_DIR/eval).

    ``split`` is train, dev, test, or ``all``: every row of the source as given (no split,
    no leakage removal), e.g. to score a whole test file. ``model_dir`` may be an ONNX
    folder from ``lahan export``. ``max_length`` defaults to the one the model was
    trained with (an ONNX graph's is fixed at export). Returns the report,
    with ``files`` and whether the data matches the training data's fingerprint.
    """
    if batch_size < 1:
        raise OptionError("batch_size", f" must be >= 1, got {batch_size}")
    out = Path(out) if out else Path(model_dir) / "eval"
    if out.exists() and not out.is_dir():
        raise OptionError("out", f" '{out}' is a file: pass a folder")
    if split == "all":
        # every row of the source as given: nothing held out, nothing removed as leakage
        data_config = replace(data_config, dev_ratio=0.0, test_ratio=0.0, leakage_guard=False)
    dataset = load_dataset(data_config)
    rows = (
        [r for name in SPLITS for r in dataset.splits.get(name, [])]
        if split == "all"
        else dataset.split(split)
    )
    if is_onnx_folder(model_dir) or is_reference_folder(model_dir):
        # an exported graph (ONNX Runtime) or the TF-IDF + SVM reference: labels fixed
        if labels is not None:
            raise OptionError("labels", f": '{model_dir}' has its labels fixed; leave it out")
        predictor = load_predictor(model_dir)
        names, record = predictor.labels, ModelRecord()  # an export's source has the record
        logits = predictor.logits([r.text for r in rows], batch_size)
    else:
        model, tokenizer, record = load_model(model_dir, labels)
        names = model_labels(model)
        if max_length is None:  # the one rule every command uses (models.inference_max_length)
            max_length = inference_max_length(model, record)
        logits = predict_logits(model, tokenizer, [r.text for r in rows], batch_size, max_length)
    label_map = resolve_label_map(names, dataset.labels, relabel)
    report = report_from_logits(names, logits, rows, label_map)
    report["split"] = split
    report["model"] = str(model_dir)
    report["data_fingerprint"] = dataset.fingerprint()
    trained_on = record.data_fingerprint
    report["same_data_as_training"] = trained_on == dataset.fingerprint() if trained_on else None
    report["files"] = write_report_files(report, out, split)
    return report
