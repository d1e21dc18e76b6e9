"""FLOPs per example, counted from the model's real per-layer shapes and text lengths.

One multiply-add counts as 2 FLOPs. Per encoder layer, for a text of L tokens, with
A = heads x head size (the layer's attention width), F its FFN size, H the hidden size:

    Q, K, V projections     3 * 2 * L * H * A
    scores QK^T             2 * L * L * A
    weighted sum of V       2 * L * L * A
    output projection       2 * L * A * H
    FFN                     2 * L * H * F  +  2 * L * F * H

plus the pooler (2 * H * H) and the classifier (2 * H * labels). Embedding lookups,
softmax, LayerNorm and GELU are left out (a few percent at these sizes). Pruned and
shallow models count their own per-layer sizes, so the ratio of FLOPs is the ratio of
work actually left.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from lahan.arch import encoder_layers


def layer_shapes(model: nn.Module) -> list[tuple[int, int, int]]:
    """(hidden, attention width, FFN size) per encoder layer, read from the weights."""
    return [
        (layer.q.in_features, layer.q.out_features, layer.ffn_in.out_features)
        for layer in encoder_layers(model)
    ]


def flops_per_example(model: nn.Module, length: int) -> int:
    """Forward FLOPs for one text of ``length`` tokens (no padding)."""
    total = 0
    for hidden, attention, ffn in layer_shapes(model):
        total += 3 * 2 * length * hidden * attention  # Q, K, V
        total += 2 * 2 * length * length * attention  # scores and weighted sum
        total += 2 * length * attention * hidden  # output projection
        total += 2 * 2 * length * hidden * ffn  # FFN in and out
    hidden = model.config.hidden_size
    return total + 2 * hidden * hidden + 2 * hidden * model.config.num_labels


def flops_for_lengths(model: nn.Module, lengths: Sequence[int]) -> int:
    """Total forward FLOPs for texts of these lengths, each run without padding."""
    return sum(flops_per_example(model, n) for n in lengths)
