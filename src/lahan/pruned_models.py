"""BERT, RoBERTa and DistilBERT classifiers whose layers have different numbers of heads and
FFN neurons.

Structured pruning removes different heads and neurons in every layer, which a
plain ``BertConfig`` / ``RobertaConfig`` cannot describe (one head count, one
intermediate size). The pruned configs add the per-layer sizes; the model classes
build every layer at its own size, so the saved folder holds only the weights that
remain. BERT and RoBERTa layers are built the same way, so one set of mixins
(config checks, self-attention, layer resizing) serves both; XLM-RoBERTa is the
RoBERTa architecture with another config name, so XLM-R models shrink to the
RoBERTa classes.

DistilBERT names its modules and config fields differently (``n_heads``,
``hidden_dim``, the output projection inside the attention module), so it has its own
attention class and layer resizing; the config checks and the model mixin are shared.

The model types are ``lahan_pruned_bert``, ``lahan_pruned_roberta`` and
``lahan_pruned_distilbert`` on purpose:
transformers without lahan imported does not know them and refuses the folder,
instead of loading the shrunk weights into a full-size model (shape errors at
best, silently wrong weights at worst). Importing this module (``lahan.models`` does)
registers all of them with the Auto classes.

The modeling sublayer, beside ``lahan.models``: it imports nothing from training,
pruning or deployment, which build on it.
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
    DistilBertConfig,
    DistilBertForSequenceClassification,
    PreTrainedConfig,
    RobertaConfig,
    RobertaForSequenceClassification,
)
from transformers.models.bert.modeling_bert import BertSelfAttention
from transformers.models.distilbert.modeling_distilbert import DistilBertSelfAttention
from transformers.models.roberta.modeling_roberta import RobertaSelfAttention

from lahan.errors import LahanError

MODEL_TYPE = "lahan_pruned_bert"
ROBERTA_MODEL_TYPE = "lahan_pruned_roberta"
DISTILBERT_MODEL_TYPE = "lahan_pruned_distilbert"


# --------------------------------------------------------------------------- config


class PerLayerSizesMixin:
    """Config mixin: fill and check ``layer_heads`` / ``layer_intermediate``.

    Each pruned config declares the two fields itself (dataclass fields are not
    inherited from a plain mixin); this supplies the defaults and the checks.
    ``num_attention_heads`` and the FFN size (``ffn_field``) keep the original
    (unpruned) values: they fix the head size (hidden_size // num_attention_heads),
    which pruning whole heads never changes, and bound the per-layer sizes.
    """

    ffn_field = "intermediate_size"  # the config field holding the FFN width

    def __post_init__(self, **kwargs):
        layers = self.num_hidden_layers
        if self.layer_heads is None:
            self.layer_heads = [self.num_attention_heads] * layers
        if self.layer_intermediate is None:
            self.layer_intermediate = [getattr(self, self.ffn_field)] * layers
        self.layer_heads = [int(h) for h in self.layer_heads]
        self.layer_intermediate = [int(n) for n in self.layer_intermediate]
        super().__post_init__(**kwargs)
        check_layer_sizes(self)


@strict
class LahanPrunedBertConfig(PerLayerSizesMixin, BertConfig):
    """BertConfig plus the number of heads and FFN neurons kept in each layer."""

    model_type = MODEL_TYPE

    layer_heads: list[int] | None = None
    layer_intermediate: list[int] | None = None


@strict
class LahanPrunedRobertaConfig(PerLayerSizesMixin, RobertaConfig):
    """RobertaConfig plus the number of heads and FFN neurons kept in each layer.

    Also the config of shrunk XLM-RoBERTa models: XLMRobertaConfig has exactly
    RobertaConfig's fields, so every value carries over.
    """

    model_type = ROBERTA_MODEL_TYPE

    layer_heads: list[int] | None = None
    layer_intermediate: list[int] | None = None


@strict
class LahanPrunedDistilBertConfig(PerLayerSizesMixin, DistilBertConfig):
    """DistilBertConfig plus the number of heads and FFN neurons kept in each layer."""

    model_type = DISTILBERT_MODEL_TYPE
    ffn_field = "hidden_dim"

    layer_heads: list[int] | None = None
    layer_intermediate: list[int] | None = None


def check_layer_sizes(config: PreTrainedConfig) -> None:
    """Refuse per-layer sizes that cannot describe a pruned copy of this model."""
    layers = config.num_hidden_layers
    kind = config.model_type
    for name, values, most in (
        ("layer_heads", config.layer_heads, config.num_attention_heads),
        ("layer_intermediate", config.layer_intermediate, getattr(config, config.ffn_field)),
    ):
        if len(values) != layers:
            raise LahanError(
                f"{kind} config: {name} has {len(values)} entries but the model has "
                f"{layers} layers (num_hidden_layers): the config.json is damaged"
            )
        bad = [v for v in values if not 0 <= v <= most]
        if bad:
            raise LahanError(
                f"{kind} config: {name} values {bad} are outside 0..{most}: "
                "the config.json is damaged"
            )
    if config.hidden_size % config.num_attention_heads != 0:
        raise LahanError(
            f"{kind} config: hidden_size {config.hidden_size} is not a multiple of "
            f"num_attention_heads {config.num_attention_heads}, so the head size is undefined"
        )


# --------------------------------------------------------------------------- layers


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


class PrunedSelfAttentionMixin:
    """Self-attention with its own head count; zero heads means no attention at all.

    Mixed into BertSelfAttention / RobertaSelfAttention (the same code under two
    names). Their forward reshapes to (-1 heads, head size), so fewer heads work
    unchanged with eager and sdpa attention. With zero heads that reshape is
    undefined, so the layer returns a zero-width output; the attention output dense
    (0 -> hidden) then adds just its bias and the residual path stays intact.
    """

    def __init__(self, config: PreTrainedConfig, num_heads: int, layer_idx: int) -> None:
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


class LahanPrunedBertSelfAttention(PrunedSelfAttentionMixin, BertSelfAttention):
    """BertSelfAttention with its own head count (see PrunedSelfAttentionMixin)."""


class LahanPrunedRobertaSelfAttention(PrunedSelfAttentionMixin, RobertaSelfAttention):
    """RobertaSelfAttention with its own head count (see PrunedSelfAttentionMixin)."""


class LahanPrunedDistilBertSelfAttention(DistilBertSelfAttention):
    """DistilBertSelfAttention with its own head count; the output projection is part of
    this module in DistilBERT, so zero heads return just that projection's bias."""

    def __init__(self, config: PreTrainedConfig, num_heads: int) -> None:
        super().__init__(config)
        self.n_heads = num_heads
        width = num_heads * self.attention_head_size
        self.q_lin = new_linear(config.dim, width, like=self.q_lin)
        self.k_lin = new_linear(config.dim, width, like=self.k_lin)
        self.v_lin = new_linear(config.dim, width, like=self.v_lin)
        self.out_lin = new_linear(width, config.dim, like=self.out_lin)

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        if self.n_heads == 0:
            return self.out_lin(hidden_states.new_zeros((*hidden_states.shape[:-1], 0))), None
        return super().forward(hidden_states, *args, **kwargs)


def resize_layer(
    layer: nn.Module,
    config: PreTrainedConfig,
    index: int,
    attention_class: type[PrunedSelfAttentionMixin],
) -> None:
    """Rebuild one BertLayer / RobertaLayer at its pruned size (before weights are loaded)."""
    heads = config.layer_heads[index]
    neurons = config.layer_intermediate[index]
    attention = layer.attention
    attention.self = attention_class(config, heads, layer_idx=index)
    all_head_size = attention.self.all_head_size
    attention.output.dense = new_linear(all_head_size, config.hidden_size, attention.output.dense)
    layer.intermediate.dense = new_linear(config.hidden_size, neurons, layer.intermediate.dense)
    layer.output.dense = new_linear(neurons, config.hidden_size, layer.output.dense)


def resize_distilbert_layer(layer: nn.Module, config: PreTrainedConfig, index: int) -> None:
    """Rebuild one DistilBERT TransformerBlock at its pruned size."""
    neurons = config.layer_intermediate[index]
    layer.attention = LahanPrunedDistilBertSelfAttention(config, config.layer_heads[index])
    layer.ffn.lin1 = new_linear(config.dim, neurons, layer.ffn.lin1)
    layer.ffn.lin2 = new_linear(neurons, config.dim, layer.ffn.lin2)


# --------------------------------------------------------------------------- models


class PrunedClassifierMixin:
    """Builds the parent classifier, then resizes every encoder layer to the config's sizes.

    Subclasses set ``config_class`` (a pruned config) and ``resize_layers``.
    Weight names stay the parent's, so everything that reads a BERT / RoBERTa /
    DistilBERT classifier's state dict (except its shapes) still applies.
    """

    pruned_attention_class: type[PrunedSelfAttentionMixin] | None = None

    def resize_layers(self, config: PreTrainedConfig) -> None:
        for index, layer in enumerate(self.base_model.encoder.layer):
            resize_layer(layer, config, index, self.pruned_attention_class)

    def __init__(self, config: PreTrainedConfig) -> None:
        if not isinstance(config, self.config_class):
            raise LahanError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        super().__init__(config)
        self.resize_layers(config)
        # Initialises only the rebuilt Linear layers (the rest is flagged as done).
        self.post_init()


class LahanPrunedBertForSequenceClassification(
    PrunedClassifierMixin, BertForSequenceClassification
):
    """BertForSequenceClassification whose layer i has layer_heads[i] heads and
    layer_intermediate[i] FFN neurons.
    """

    config_class = LahanPrunedBertConfig
    config: LahanPrunedBertConfig
    pruned_attention_class = LahanPrunedBertSelfAttention


class LahanPrunedRobertaForSequenceClassification(
    PrunedClassifierMixin, RobertaForSequenceClassification
):
    """RobertaForSequenceClassification whose layer i has layer_heads[i] heads and
    layer_intermediate[i] FFN neurons; also what shrunk XLM-RoBERTa classifiers become
    (same modules, same weight names under ``roberta.``).
    """

    config_class = LahanPrunedRobertaConfig
    config: LahanPrunedRobertaConfig
    pruned_attention_class = LahanPrunedRobertaSelfAttention


class LahanPrunedDistilBertForSequenceClassification(
    PrunedClassifierMixin, DistilBertForSequenceClassification
):
    """DistilBertForSequenceClassification whose layer i has layer_heads[i] heads and
    layer_intermediate[i] FFN neurons.
    """

    config_class = LahanPrunedDistilBertConfig
    config: LahanPrunedDistilBertConfig

    def resize_layers(self, config: PreTrainedConfig) -> None:
        for index, layer in enumerate(self.distilbert.transformer.layer):
            resize_distilbert_layer(layer, config, index)


def register_auto_classes() -> None:
    """Let AutoConfig / AutoModelForSequenceClassification open the pruned model folders."""
    for config_class, model_class in (
        (LahanPrunedBertConfig, LahanPrunedBertForSequenceClassification),
        (LahanPrunedRobertaConfig, LahanPrunedRobertaForSequenceClassification),
        (LahanPrunedDistilBertConfig, LahanPrunedDistilBertForSequenceClassification),
    ):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModelForSequenceClassification.register(config_class, model_class, exist_ok=True)


register_auto_classes()
