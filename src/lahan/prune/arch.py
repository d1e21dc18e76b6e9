"""Where the encoder's Linear layers live, per architecture.

Pruning code must find, in every encoder layer, the query/key/value projections,
the attention output projection and the two feed-forward projections, plus the
modules whose attributes (head counts) change when heads are removed. BERT,
RoBERTa and XLM-RoBERTa share one layout (``<base>.encoder.layer[i]``), so one
map serves them all; any other architecture is refused by name rather than
guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from transformers import (
    BertForSequenceClassification,
    PreTrainedModel,
    RobertaForSequenceClassification,
    XLMRobertaForSequenceClassification,
)

from lahan.errors import LahanError

# Classes whose encoder follows the BERT layout, and the attribute holding the encoder.
# LahanPrunedBertForSequenceClassification and LahanPrunedRobertaForSequenceClassification
# subclass BertForSequenceClassification and RobertaForSequenceClassification, so they match.
SUPPORTED: dict[type[PreTrainedModel], str] = {
    BertForSequenceClassification: "bert",
    RobertaForSequenceClassification: "roberta",
    XLMRobertaForSequenceClassification: "roberta",
}
SUPPORTED_NAMES = (
    "BertForSequenceClassification",
    "RobertaForSequenceClassification",
    "XLMRobertaForSequenceClassification",
    "LahanPrunedBertForSequenceClassification",
    "LahanPrunedRobertaForSequenceClassification",
)


@dataclass(frozen=True)
class LayerModules:
    """The modules of one encoder layer that structured pruning reads or resizes."""

    index: int
    layer: nn.Module  # the whole encoder layer
    attention: nn.Module  # self-attention block: .self (heads) and .output (dense + LayerNorm)
    self_attention: nn.Module  # holds num_attention_heads / attention_head_size / all_head_size
    q: nn.Linear
    k: nn.Linear
    v: nn.Linear
    o: nn.Linear  # attention output dense: all_head_size -> hidden
    ffn_in: nn.Linear  # intermediate dense: hidden -> intermediate
    ffn_out: nn.Linear  # output dense: intermediate -> hidden

    @property
    def num_heads(self) -> int:
        """Heads this layer has now (per layer: pruned models differ between layers)."""
        return int(self.self_attention.num_attention_heads)

    @property
    def head_size(self) -> int:
        return int(self.self_attention.attention_head_size)

    @property
    def ffn_size(self) -> int:
        return int(self.ffn_in.out_features)


def encoder_attribute(model: nn.Module) -> str:
    """Name of the attribute holding the base encoder, or a LahanError naming what works."""
    for cls, attribute in SUPPORTED.items():
        if isinstance(model, cls):
            return attribute
    raise LahanError(
        f"pruning does not support {type(model).__name__}: supported classifiers are "
        + ", ".join(SUPPORTED_NAMES)
    )


def encoder_layers(model: nn.Module) -> list[LayerModules]:
    """The prunable modules of every encoder layer, in order."""
    encoder = getattr(model, encoder_attribute(model)).encoder
    return [_layer_modules(i, layer) for i, layer in enumerate(encoder.layer)]


def _layer_modules(index: int, layer: nn.Module) -> LayerModules:
    attention = layer.attention
    self_attention = attention.self
    return LayerModules(
        index=index,
        layer=layer,
        attention=attention,
        self_attention=self_attention,
        q=self_attention.query,
        k=self_attention.key,
        v=self_attention.value,
        o=attention.output.dense,
        ffn_in=layer.intermediate.dense,
        ffn_out=layer.output.dense,
    )


def num_heads(model: nn.Module) -> int:
    """Heads per layer of the unpruned architecture (the config's num_attention_heads)."""
    encoder_attribute(model)
    return int(model.config.num_attention_heads)


def head_size(model: nn.Module) -> int:
    """Width of one head; pruning removes whole heads, so it never changes."""
    encoder_attribute(model)
    return int(model.config.hidden_size // model.config.num_attention_heads)
