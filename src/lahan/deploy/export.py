"""Export a lahan model folder to ONNX (optionally int8), checked against torch.

The exported folder holds ``model.onnx`` (or ``model.int8.onnx``), the tokenizer
(``tokenizer.json``), ``lahan-onnx.json`` (labels, max length, how it was made, the
check against torch) and ``predict.py``, a script that runs it with onnxruntime and
tokenizers alone. Pruned models export like any other: each layer's head count is
in its weights' shapes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from lahan.config import ExportConfig
from lahan.deploy import onnx_runtime
from lahan.errors import LahanError
from lahan.io import atomic_dir, atomic_write_json
from lahan.models import check_max_length, inference_max_length, load_model, model_labels
from lahan.versions import library_versions

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts that exercise different lengths for tracing and for the torch/ONNX check.
CHECK_TEXTS = [
    "राज्य सरकारने शेतकऱ्यांसाठी नवीन योजना जाहीर केली असून तिचा लाभ लाखो कुटुंबांना होईल",
    "भारताने सामना जिंकला",
    "शेअर बाजार",
    "Mumbai: the monsoon arrived early this year, and the city council met on Monday.",
]


class _LogitsOnly(torch.nn.Module):
    """The classifier with positional inputs and one output, as ONNX wants it."""

    def __init__(self, model: torch.nn.Module, names: list[str]):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).logits


def onnx_graph(
    model: torch.nn.Module, example: dict[str, torch.Tensor], path: Path, opset: int = 18
) -> Path:
    """Export ``model``'s logits to ONNX with dynamic batch and sequence dimensions.

    ``example`` holds the inputs, in the order the graph will take them. Uses the
    dynamo exporter: on BERT the TorchScript one traces the mask's shape as a
    constant and gives wrong logits for other lengths.
    """
    names = list(example)
    wrapper = _LogitsOnly(model.eval(), names).eval()
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    params = sum(p.numel() for p in model.parameters())
    quiet = io.StringIO()  # the exporter prints its progress to stdout
    with contextlib.redirect_stdout(quiet), torch.no_grad(), warnings.catch_warnings():
        # dynamic dims that share constraints get one name: expected, not a problem
        warnings.filterwarnings("ignore", message=".*will not be used, since it shares")
        torch.onnx.export(
            wrapper,
            tuple(example.values()),
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamic_shapes={"inputs": tuple({0: batch, 1: seq} for _ in names)},
            opset_version=opset,
            dynamo=True,
            external_data=params * 4 > 1.8e9,  # protobuf's 2 GB limit
            verbose=False,
        )
    return path


def quantize_onnx_int8(source: Path, target: Path, per_channel: bool = False) -> Path:
    """ONNX Runtime dynamic int8 quantization (int8 weights, per-batch activation scales;
    ``per_channel``: a weight scale per output channel instead of per matrix)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # ONNX Runtime's recommended pre-processing (graph optimisation + shape inference;
    # its symbolic pass cannot follow BERT's dynamic mask shapes, so it is skipped).
    prepared = target.with_name(target.stem + ".prepared.onnx")
    try:
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        quantize_dynamic(
            prepared,
            target,
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            nodes_to_exclude=_nodes_with_empty_weights(prepared),
        )
    finally:
        prepared.unlink(missing_ok=True)
        for extra in target.parent.glob(prepared.name + ".data"):
            extra.unlink()
    return target


def _nodes_with_empty_weights(path: Path) -> list[str]:
    """Nodes whose weight has a zero dimension: what a layer pruned to no heads or no FFN
    neurons leaves. ONNX Runtime's quantizer turns such a MatMul into garbage for the
    whole graph (seen on MahaNews: dev accuracy 0.74 -> 0.10), and there is nothing to
    gain from quantizing it, so it stays in fp32."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    empty = {init.name for init in graph.initializer if 0 in init.dims}
    return [node.name for node in graph.node if empty.intersection(node.input)]


def _input_names(tokenizer) -> list[str]:
    names = [n for n in INPUTS if n in tokenizer.model_input_names]
    if names[:1] != ["input_ids"] or "attention_mask" not in names:
        raise LahanError(
            f"ONNX export expects a tokenizer with input_ids and attention_mask, this one "
            f"gives {tokenizer.model_input_names}"
        )
    return names


def export_onnx(
    model_dir: str | Path,
    out: str | Path,
    config: ExportConfig,
    dev: tuple[list[str], list[int]] | None = None,
) -> dict:
    """Export ``model_dir`` to ``out``; returns the manifest written as lahan-onnx.json.

    With ``dev`` (texts, label ids of the model), the manifest also records the exported
    graph's dev accuracy and macro-F1, their deltas vs torch fp32, and the agreement.
    """
    model, tokenizer, record = load_model(model_dir, config.labels)
    if tokenizer.backend_tokenizer is None:
        raise LahanError(f"'{model_dir}': ONNX export needs a fast tokenizer (tokenizer.json)")
    max_length = config.max_length or inference_max_length(model, record)
    check_max_length(model, max_length)  # beyond the position table: wrong graphs later
    names = _input_names(tokenizer)
    example = tokenizer(
        CHECK_TEXTS[:2], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    with atomic_dir(out) as tmp:
        fp32_file = tmp / "model.onnx"
        try:
            onnx_graph(model, {n: example[n] for n in names}, fp32_file, config.opset)
        except Exception as err:  # noqa: BLE001 - the exporter raises many kinds
            reason = " ".join(str(err).split())[:300]
            raise LahanError(
                f"ONNX export of '{model_dir}' failed ({type(err).__name__}: {reason})"
            ) from err
        model_file = fp32_file.name
        if config.quantize == "int8":
            model_file = "model.int8.onnx"
            quantize_onnx_int8(fp32_file, tmp / model_file, config.per_channel)
            for extra in (fp32_file, *tmp.glob("model.onnx.data")):
                extra.unlink()
        tokenizer.save_pretrained(tmp)
        shutil.copyfile(onnx_runtime.__file__, tmp / "predict.py")
        manifest = {
            "format": "onnx",
            "model_file": model_file,
            "quantize": config.quantize,
            "labels": model_labels(model),
            "max_length": max_length,
            "pad_token_id": tokenizer.pad_token_id or 0,
            "inputs": names,
            "source": str(model_dir),
            "source_configuration": record.configuration or record.made_by,
            "config": asdict(config),
            "versions": library_versions(),
        }
        atomic_write_json(tmp / onnx_runtime.MANIFEST, manifest)
        manifest["check"] = check_against_torch(model, tokenizer, tmp, max_length, config)
        if dev is not None:
            manifest["variants"] = _dev_variants(
                model, tokenizer, tmp, max_length, dev, config.quantize
            )
        atomic_write_json(tmp / onnx_runtime.MANIFEST, manifest)
    return manifest


@torch.no_grad()
def check_against_torch(model, tokenizer, folder: Path, max_length: int, config) -> dict:
    """Logits of the exported graph vs torch on texts of several lengths and batch sizes."""
    runtime = onnx_runtime.OnnxClassifier(folder)
    texts = CHECK_TEXTS * 3
    got = runtime.logits(texts, batch_size=5)
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    want = model(**batch).logits.float().numpy()
    diff = float(np.abs(got - want).max())
    agree = float((got.argmax(-1) == want.argmax(-1)).mean())
    if config.quantize is None and diff > config.tolerance:
        raise LahanError(
            f"the ONNX graph's logits differ from torch's by {diff:.2e} (> {config.tolerance}): "
            "the export is wrong; please report it with the model's config.json"
        )
    return {"max_abs_logit_diff": diff, "argmax_agreement": agree, "texts": len(texts)}


def _dev_variants(model, tokenizer, folder: Path, max_length: int, dev, quantize) -> dict:
    from lahan.deploy.variants import variant_report
    from lahan.evaluate import predict_logits

    texts, targets = dev
    reference = predict_logits(model, tokenizer, texts, 64, max_length)
    exported = onnx_runtime.OnnxClassifier(folder).logits(texts, 64)
    n = model.config.num_labels
    name = "onnx_int8" if quantize == "int8" else "onnx"
    return {
        "split": "dev",
        "torch_fp32": variant_report(targets, reference, reference, n),
        name: variant_report(targets, reference, exported, n),
    }
