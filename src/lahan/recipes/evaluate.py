"""Evaluate a saved classifier on one split of a dataset."""

from __future__ import annotations

from dataclasses import replace

from lahan.config import EvaluateConfig
from lahan.data import SPLITS, load_dataset
from lahan.deploy.predictor import is_onnx_folder, load_predictor
from lahan.errors import OptionError
from lahan.evaluate import predict_logits, report_from_logits, write_report_files
from lahan.models import inference_max_length, load_model, model_labels, resolve_label_map
from lahan.records import EvaluateReport, ModelRecord
from lahan.reference import is_reference_folder


def run_evaluate(config: EvaluateConfig) -> EvaluateReport:
    """Evaluate ``config.model`` on ``config.split``; write JSON + PNG to ``config.out``
    (default MODEL/eval).

    ``split`` is train, dev, test, or ``all``: every row of the source as given (no split,
    no leakage removal), e.g. to score a whole test file. ``model`` may be an ONNX
    folder from ``lahan export``. ``max_length`` defaults to the one the model was
    trained with (an ONNX graph's is fixed at export). Returns the report, with ``files``
    and whether the data matches the training data's fingerprint.
    """
    model_dir, split, labels = config.model, config.split, config.labels
    batch_size, max_length, out = config.batch_size, config.max_length, config.out_dir
    data_config = config.data
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
    label_map = resolve_label_map(names, dataset.labels, config.relabel)
    report = report_from_logits(names, logits, rows, label_map)
    report["split"] = split
    report["model"] = str(model_dir)
    report["data_fingerprint"] = dataset.fingerprint()
    trained_on = record.data_fingerprint
    report["same_data_as_training"] = trained_on == dataset.fingerprint() if trained_on else None
    files = write_report_files(report, out, split)
    return EvaluateReport.from_dict(report | {"files": files})
