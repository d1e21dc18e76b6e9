"""Where the encoder's Linear layers live, per architecture family.

Pruning, shallow students and FLOP counts need, in every encoder layer, the
query/key/value projections, the attention output projection and the two
feed-forward projections. Each supported family says where they are:

- BERT (MahaBERT, MuRIL, IndicBERT v2, mBERT), RoBERTa and XLM-RoBERTa (MahaRoBERTa)
  share one layout: ``<base>.encoder.layer[i]``;
- DistilBERT (Marathi DistilBERT): ``distilbert.transformer.layer[i]``, other names;
- ALBERT (MahaALBERT, IndicBERT v1): one layer's weights run at every depth. It is
  counted (FLOPs) and can be distilled, but not pruned: removing a head there removes
  it from every layer at once, and lahan refuses rather than doing that silently.

Any other architecture is refused by name rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from transformers import (
    AlbertForSequenceClassification,
    BertForSequenceClassification,
    DistilBertForSequenceClassification,
    PreTrainedModel,
    RobertaForSequenceClassification,
    XLMRobertaForSequenceClassification,
)

from lahan.errors import LahanError


@dataclass(frozen=True)
class Family:
    """One architecture family: its classes and where its layer modules are."""

    name: str  # as users know it
    classes: tuple[type[PreTrainedModel], ...]
    layers: str  # dotted path from the classifier to the ModuleList of layers
    # dotted paths inside one layer
    self_attention: str
    q: str
    k: str
    v: str
    o: str
    ffn_in: str
    ffn_out: str
    shared: bool = False  # one layer's weights used at every depth (ALBERT)


_BERT_LAYER = {
    "self_attention": "attention.self",
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "o": "attention.output.dense",
    "ffn_in": "intermediate.dense",
    "ffn_out": "output.dense",
}

# Pruned lahan classes subclass their source classes, so they match their family.
FAMILIES = (
    Family("BERT", (BertForSequenceClassification,), "bert.encoder.layer", **_BERT_LAYER),
    Family(
        "RoBERTa / XLM-RoBERTa",
        (RobertaForSequenceClassification, XLMRobertaForSequenceClassification),
        "roberta.encoder.layer",
        **_BERT_LAYER,
    ),
    Family(
        "DistilBERT",
        (DistilBertForSequenceClassification,),
        "distilbert.transformer.layer",
        self_attention="attention",
        q="attention.q_lin",
        k="attention.k_lin",
        v="attention.v_lin",
        o="attention.out_lin",
        ffn_in="ffn.lin1",
        ffn_out="ffn.lin2",
    ),
    Family(
        "ALBERT",
        (AlbertForSequenceClassification,),
        "albert.encoder.albert_layer_groups.0.albert_layers",
        self_attention="attention",
        q="attention.query",
        k="attention.key",
        v="attention.value",
        o="attention.dense",
        ffn_in="ffn",
        ffn_out="ffn_output",
        shared=True,
    ),
)
SUPPORTED = ", ".join(f.name for f in FAMILIES)
PRUNABLE = ", ".join(f.name for f in FAMILIES if not f.shared)


@dataclass(frozen=True)
class LayerModules:
    """The modules of one encoder layer that structured pruning reads or resizes."""

    index: int
    layer: nn.Module  # the whole encoder layer
    self_attention: nn.Module  # holds attention_head_size
    q: nn.Linear
    k: nn.Linear
    v: nn.Linear
    o: nn.Linear  # attention output dense: heads x head size -> hidden
    ffn_in: nn.Linear  # hidden -> intermediate
    ffn_out: nn.Linear  # intermediate -> hidden

    @property
    def head_size(self) -> int:
        return int(self.self_attention.attention_head_size)

    @property
    def num_heads(self) -> int:
        """Heads this layer has now (per layer: pruned models differ between layers)."""
        return int(self.q.out_features // self.head_size)

    @property
    def ffn_size(self) -> int:
        return int(self.ffn_in.out_features)


def family(model: nn.Module) -> Family:
    """The model's family, or a LahanError naming the supported ones."""
    for candidate in FAMILIES:
        if isinstance(model, candidate.classes):
            return candidate
    raise LahanError(
        f"lahan cannot look inside {type(model).__name__}'s layers: supported "
        f"architectures are {SUPPORTED} (distill it into one of those with "
        "--student preset:NAME instead)"
    )


def layer_list(model: nn.Module) -> nn.ModuleList:
    """The ModuleList holding the encoder's layers (ALBERT: its one shared layer)."""
    return model.get_submodule(family(model).layers)


def encoder_layers(model: nn.Module) -> list[LayerModules]:
    """The modules of every encoder layer as run, in order (ALBERT: one layer, N times)."""
    fam = family(model)
    layers = list(layer_list(model))
    if fam.shared:
        layers = layers * int(model.config.num_hidden_layers)
    return [_layer_modules(fam, i, layer) for i, layer in enumerate(layers)]


def prunable_layers(model: nn.Module) -> list[LayerModules]:
    """encoder_layers, refusing families whose layers cannot be pruned one by one."""
    fam = family(model)
    if fam.shared:
        raise LahanError(
            f"{fam.name} models share one layer's weights across all "
            f"{model.config.num_hidden_layers} layers, so a head pruned in one layer is "
            "pruned in all of them and the model cannot be shrunk layer by layer: lahan "
            f"prunes {PRUNABLE}. Distill it instead, into a smaller BERT on its tokenizer "
            "(--student preset:small) or into fewer passes of its layer (--student layers:N)"
        )
    return encoder_layers(model)


def _layer_modules(fam: Family, index: int, layer: nn.Module) -> LayerModules:
    def get(name: str) -> nn.Module:
        return layer.get_submodule(getattr(fam, name))

    return LayerModules(
        index=index,
        layer=layer,
        **{name: get(name) for name in ("self_attention", "q", "k", "v", "o", "ffn_in", "ffn_out")},
    )


def num_heads(model: nn.Module) -> int:
    """Heads per layer of the unpruned architecture (the config's num_attention_heads)."""
    family(model)
    return int(model.config.num_attention_heads)


def head_size(model: nn.Module) -> int:
    """Width of one head; pruning removes whole heads, so it never changes."""
    family(model)
    return int(model.config.hidden_size // model.config.num_attention_heads)
