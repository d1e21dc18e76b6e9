"""torch int8 (torchao) and ONNX Runtime int8 of pruned models, layers left empty included.

Movement pruning at 75% on MahaNews left a layer with no heads (layer_heads [0, 1, 2, 1]);
both quantizers once broke on the empty Linear such a layer keeps.
"""

import numpy as np
import onnxruntime as ort
import torch

from lahan.deploy.export import onnx_graph, quantize_onnx_int8
from lahan.deploy.quantize import quantize_int8
from lahan.pruned_models import (
    LahanPrunedBertConfig,
    LahanPrunedBertForSequenceClassification,
)


def emptied_bert() -> torch.nn.Module:
    """Layer 0 without heads, layer 1 without FFN neurons (same shape as
    tests/prune/test_shrink.py's masked model once shrunk)."""
    torch.manual_seed(0)
    config = LahanPrunedBertConfig(
        vocab_size=100,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        num_labels=3,
        layer_heads=[0, 2, 4],
        layer_intermediate=[64, 0, 128],
    )
    return LahanPrunedBertForSequenceClassification(config).eval()


def batch() -> dict[str, torch.Tensor]:
    ids = torch.randint(5, 100, (8, 12), generator=torch.Generator().manual_seed(1))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_torch_int8_handles_layers_pruned_to_nothing():
    model = emptied_bert()
    quantized = quantize_int8(model)
    with torch.no_grad():
        fp32 = model(**batch()).logits
        int8 = quantized(**batch()).logits
    scale = fp32.abs().max().item()
    assert (fp32 - int8).abs().max().item() < 0.05 * scale
    assert not torch.equal(fp32, int8)  # the non-empty layers really are int8
    linears = [m for m in quantized.modules() if isinstance(m, torch.nn.Linear)]
    assert any("Int8" in type(m.weight).__name__ for m in linears)
    assert all(type(m.weight) is torch.nn.Parameter for m in linears if m.weight.numel() == 0)


def test_onnx_int8_handles_layers_pruned_to_nothing(tmp_path):
    model = emptied_bert()
    inputs = batch()
    onnx_graph(model, inputs, tmp_path / "model.onnx")
    quantize_onnx_int8(tmp_path / "model.onnx", tmp_path / "model.int8.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.int8.onnx"))
    int8 = session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]
    with torch.no_grad():
        fp32 = model(**inputs).logits.numpy()
    scale = np.abs(fp32).max()
    assert np.abs(fp32 - int8).max() < 0.05 * scale, (np.abs(fp32 - int8).max(), scale)
    assert not np.array_equal(fp32, int8)
