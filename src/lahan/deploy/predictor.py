"""One interface over a torch model folder (any precision), an exported ONNX folder and a
TF-IDF + linear SVM reference folder (``lahan.reference``).

``load_predictor(path, precision)`` returns an object with ``labels``,
``max_length``, ``info`` (how the model was made) and ``logits(texts, batch_size)``
(input order, length-sorted batches inside). ``lahan predict`` and ``lahan serve``
use only this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lahan.config import INFERENCE_PRECISIONS
from lahan.errors import LahanError, OptionError


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class TorchPredictor:
    def __init__(
        self,
        folder: str | Path,
        precision: str = "fp32",
        max_length: int | None = None,
        padded: bool = False,
        labels: tuple | None = None,
    ):
        import torch

        from lahan.models import inference_max_length, load_model, model_labels
        from lahan.precision import autocast_for

        model, self.tokenizer, record = load_model(folder, labels)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if precision == "int8":
            from lahan.deploy.quantize import quantize_int8

            device = torch.device("cpu")
            model = quantize_int8(model)
        self.model = model.to(device).eval()
        # int8 runs its own integer kernels; fp32 and int8 need no autocast.
        autocast = "fp32" if precision in ("fp32", "int8") else precision
        self.autocast = autocast_for(autocast, device)
        self.labels = model_labels(model)
        self.max_length = max_length or inference_max_length(model, record)
        self.precision = precision
        self.padded = padded  # every batch padded to max_length, not to its longest text
        self.info = {
            "runtime": "torch",
            "precision": precision,
            "padding": "max_length" if padded else "dynamic",
            "device": str(device),
            "model": str(folder),
            "made_by": record.made_by,
            "configuration": record.configuration,
            "metrics": record.metrics,
            "labels": self.labels,
            "max_length": self.max_length,
        }

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        from lahan.evaluate import predict_logits

        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return predict_logits(
            self.model,
            self.tokenizer,
            list(texts),
            batch_size,
            self.max_length,
            self.autocast,
            pad_to_max_length=self.padded,
        )

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts))["input_ids"]]


class OnnxPredictor:
    def __init__(self, folder: str | Path, threads: int | None = None, labels: tuple | None = None):
        from lahan.deploy.onnx_runtime import OnnxClassifier
        from lahan.models import apply_label_names

        self.runtime = OnnxClassifier(folder, threads)
        if labels is not None:  # an export of a placeholder-labelled model, named here
            named = apply_label_names(str(folder), dict(enumerate(self.runtime.labels)), labels)
            self.runtime.labels = [named[i] for i in range(len(named))]
        self.labels = self.runtime.labels
        self.max_length = self.runtime.max_length
        manifest = self.runtime.manifest
        self.precision = "int8" if manifest.get("quantize") == "int8" else "fp32"
        self.info = {
            "runtime": "onnxruntime",
            "precision": self.precision,
            "device": "cpu",
            "model": str(folder),
            "padding": "dynamic",
            "made_by": "export",
            "configuration": manifest.get("source_configuration"),
            "metrics": manifest.get("variants"),
            "labels": self.labels,
            "max_length": self.max_length,
        }

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.runtime.logits(list(texts), batch_size)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        tok = self.runtime.tokenizer
        tok.no_truncation()
        try:
            return [len(e.ids) for e in tok.encode_batch(list(texts))]
        finally:
            tok.enable_truncation(self.max_length)


# A reference model reads whole texts: no truncation. Its ``max_length`` is this number
# (not None) so callers' ``min(count, max_length)`` and ``count > max_length`` keep working.
NO_LENGTH_LIMIT = 2**31 - 1


class ReferencePredictor:
    """The TF-IDF + linear SVM reference model behind the same interface. It runs on the
    CPU in float32; ``token_counts`` are character counts (it has no tokenizer) and
    ``max_length`` is :data:`NO_LENGTH_LIMIT`, since it never truncates."""

    def __init__(self, folder: str | Path, labels: tuple | None = None):
        from lahan.reference import load_reference

        self.model = load_reference(folder)
        self.labels = list(self.model.labels)
        if labels is not None and list(labels) != self.labels:
            # its labels come from the training data: there are no placeholders to name
            raise OptionError(
                "labels",
                f" gives {len(labels)} names ({', '.join(map(str, labels))}) but "
                f"'{folder}' is a reference model that already names its {len(self.labels)} "
                f"outputs ({', '.join(self.labels)}): leave --labels out",
            )
        self.max_length = NO_LENGTH_LIMIT
        self.precision = "fp32"
        manifest = self.model.manifest
        self.info = {
            "runtime": "sklearn",
            "precision": self.precision,
            "padding": "none",
            "device": "cpu",
            "model": str(folder),
            "made_by": "reference",
            "configuration": manifest.get("config"),
            "metrics": manifest.get("metrics"),
            "labels": self.labels,
            "max_length": self.max_length,
            "n_features": manifest.get("n_features"),
        }

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Decision scores, float32 [n, len(labels)], input order (an empty input gives
        a (0, len(labels)) array)."""
        return self.model.scores(list(texts), batch_size)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(text) for text in texts]


def is_onnx_folder(path: str | Path) -> bool:
    from lahan.deploy.onnx_runtime import MANIFEST

    return (Path(path) / MANIFEST).is_file()


def load_predictor(
    path: str | Path, precision: str = "fp32", labels: tuple | None = None
) -> TorchPredictor | OnnxPredictor | ReferencePredictor:
    """The predictor for a model folder, an ONNX export or a reference (TF-IDF + SVM)
    folder; ``labels`` names the outputs of a placeholder-labelled classifier (LABEL_0, ...)."""
    if precision not in INFERENCE_PRECISIONS:
        raise OptionError(
            "precision", f" must be one of {', '.join(INFERENCE_PRECISIONS)}, got '{precision}'"
        )
    from lahan.reference import is_reference_folder

    fixed = {  # folders whose precision is not chosen at load time, and why
        OnnxPredictor: "an exported ONNX folder: its precision was fixed at export "
        "(lahan export --quantize int8)",
        ReferencePredictor: "a TF-IDF + linear SVM reference model: it runs in fp32 on the CPU",
    }
    kind = (
        OnnxPredictor
        if is_onnx_folder(path)
        else ReferencePredictor
        if is_reference_folder(path)
        else None
    )
    if kind is not None:
        if precision != "fp32":
            raise LahanError(f"'{path}' is {fixed[kind]}; leave --precision out")
        return kind(path, labels=labels)
    return TorchPredictor(path, precision, labels=labels)
