"""A BERT classifier whose layers have different numbers of heads and FFN neurons.

Structured pruning removes different heads and neurons in every layer, which a
plain ``BertConfig`` cannot describe (one head count, one intermediate size).
``LahanPrunedBertConfig`` adds the per-layer sizes; the model class builds every
layer at its own size, so the saved folder holds only the weights that remain.

The model type is ``lahan_pruned_bert`` on purpose: transformers without lahan
imported does not know it and refuses the folder, instead of loading the shrunk
weights into a full-size BERT (shape errors at best, silently wrong weights at
worst). Importing ``lahan.prune`` registers both classes with the Auto classes.
"""

from __future__ import annotations

import warnings

import torch
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
)
from transformers.models.bert.modeling_bert import BertSelfAttention

from lahan.errors import LahanError

MODEL_TYPE = "lahan_pruned_bert"


@strict
class LahanPrunedBertConfig(BertConfig):
    """BertConfig plus the number of heads and FFN neurons kept in each layer.

    ``num_attention_heads`` and ``intermediate_size`` keep the original (unpruned)
    values: they fix the head size (hidden_size // num_attention_heads), which
    pruning whole heads never changes, and bound the per-layer sizes.
    """

    model_type = MODEL_TYPE

    layer_heads: list[int] | None = None
    layer_intermediate: list[int] | None = None

    def __post_init__(self, **kwargs):
        layers = self.num_hidden_layers
        if self.layer_heads is None:
            self.layer_heads = [self.num_attention_heads] * layers
        if self.layer_intermediate is None:
            self.layer_intermediate = [self.intermediate_size] * layers
        self.layer_heads = [int(h) for h in self.layer_heads]
        self.layer_intermediate = [int(n) for n in self.layer_intermediate]
        super().__post_init__(**kwargs)
        check_layer_sizes(self)


def check_layer_sizes(config: LahanPrunedBertConfig) -> None:
    """Refuse per-layer sizes that cannot describe a pruned copy of this BERT."""
    layers = config.num_hidden_layers
    for name, values, most in (
        ("layer_heads", config.layer_heads, config.num_attention_heads),
        ("layer_intermediate", config.layer_intermediate, config.intermediate_size),
    ):
        if len(values) != layers:
            raise LahanError(
                f"{MODEL_TYPE} config: {name} has {len(values)} entries but the model has "
                f"{layers} layers (num_hidden_layers): the config.json is damaged"
            )
        bad = [v for v in values if not 0 <= v <= most]
        if bad:
            raise LahanError(
                f"{MODEL_TYPE} config: {name} values {bad} are outside 0..{most}: "
                "the config.json is damaged"
            )
    if config.hidden_size % config.num_attention_heads != 0:
        raise LahanError(
            f"{MODEL_TYPE} config: hidden_size {config.hidden_size} is not a multiple of "
            f"num_attention_heads {config.num_attention_heads}, so the head size is undefined"
        )


def new_linear(in_features: int, out_features: int, like: nn.Linear) -> nn.Linear:
    """A Linear on ``like``'s device and dtype (meta while transformers loads weights).

    Zero-width layers are legal here (a layer with every head or neuron pruned);
    torch warns that initialising them is a no-op, which is exactly what we want.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
        return nn.Linear(
            in_features,
            out_features,
            bias=like.bias is not None,
            device=like.weight.device,
            dtype=like.weight.dtype,
        )


class LahanPrunedBertSelfAttention(BertSelfAttention):
    """BertSelfAttention with its own head count; zero heads means no attention at all.

    BertSelfAttention's forward reshapes to (-1 heads, head size), so fewer heads
    work unchanged with eager and sdpa attention. With zero heads that reshape is
    undefined, so the layer returns a zero-width output; the attention output dense
    (0 -> hidden) then adds just its bias and the residual path stays intact.
    """

    def __init__(self, config: LahanPrunedBertConfig, num_heads: int, layer_idx: int) -> None:
        super().__init__(config, is_causal=config.is_decoder, layer_idx=layer_idx)
        self.num_attention_heads = num_heads
        self.all_head_size = num_heads * self.attention_head_size
        hidden = config.hidden_size
        self.query = new_linear(hidden, self.all_head_size, like=self.query)
        self.key = new_linear(hidden, self.all_head_size, like=self.key)
        self.value = new_linear(hidden, self.all_head_size, like=self.value)

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        if self.num_attention_heads == 0:
            return hidden_states.new_zeros((*hidden_states.shape[:-1], 0)), None
        return super().forward(hidden_states, *args, **kwargs)


def resize_layer(layer: nn.Module, config: LahanPrunedBertConfig, index: int) -> None:
    """Rebuild one BertLayer at its pruned size (before any weights are loaded)."""
    heads = config.layer_heads[index]
    neurons = config.layer_intermediate[index]
    attention = layer.attention
    attention.self = LahanPrunedBertSelfAttention(config, heads, layer_idx=index)
    all_head_size = attention.self.all_head_size
    attention.output.dense = new_linear(all_head_size, config.hidden_size, attention.output.dense)
    layer.intermediate.dense = new_linear(config.hidden_size, neurons, layer.intermediate.dense)
    layer.output.dense = new_linear(neurons, config.hidden_size, layer.output.dense)


class LahanPrunedBertForSequenceClassification(BertForSequenceClassification):
    """BertForSequenceClassification whose layer i has layer_heads[i] heads and
    layer_intermediate[i] FFN neurons. Weight names are BERT's, so everything that
    reads a BERT classifier's state dict (except its shapes) still applies.
    """

    config_class = LahanPrunedBertConfig
    config: LahanPrunedBertConfig

    def __init__(self, config: LahanPrunedBertConfig) -> None:
        if not isinstance(config, LahanPrunedBertConfig):
            raise LahanError(
                f"{type(self).__name__} needs a LahanPrunedBertConfig, got {type(config).__name__}"
            )
        super().__init__(config)
        for index, layer in enumerate(self.bert.encoder.layer):
            resize_layer(layer, config, index)
        # Initialises only the rebuilt Linear layers (the rest is flagged as done).
        self.post_init()


def register_auto_classes() -> None:
    """Let AutoConfig / AutoModelForSequenceClassification open lahan_pruned_bert folders."""
    AutoConfig.register(MODEL_TYPE, LahanPrunedBertConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(
        LahanPrunedBertConfig, LahanPrunedBertForSequenceClassification, exist_ok=True
    )
