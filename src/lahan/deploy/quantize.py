"""int8 dynamic quantization of a torch classifier's Linear layers, for CPUs (torchao).

Weights are stored in int8 with one scale per output channel; activations are
quantized per token at run time. The classification head stays in fp32 (it is tiny,
and its logits are what the prediction is read from). ``torch.ao.quantization.
quantize_dynamic`` is deprecated in torch 2.13, so this uses torchao, its successor.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

from lahan.errors import LahanError

log = logging.getLogger(__name__)


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with int8 dynamic quantization of its encoder's Linear layers."""
    for name in ("torchao", "torch.utils._pytree"):  # optional-kernel noise on CPUs
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError as err:
        raise LahanError(
            "int8 in torch needs torchao: pip install torchao (or export to ONNX with "
            "--quantize int8, which needs onnxruntime only)"
        ) from err
    if next(model.parameters()).is_cuda:
        raise LahanError("int8 dynamic quantization is for CPUs: load the model on the CPU")
    quantized = copy.deepcopy(model).eval()

    def is_encoder_linear(module: nn.Module, fqn: str) -> bool:
        # A layer pruned down to no heads or no neurons keeps Linear layers with an empty
        # weight: nothing to quantize there, and torchao cannot pick a scale for it.
        return (
            isinstance(module, nn.Linear)
            and module.weight.numel() > 0
            and "classifier" not in fqn
            and "pooler" not in fqn
        )

    with torch.no_grad():
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig(), filter_fn=is_encoder_linear)
    return quantized
