"""Structured pruning: find heads and FFN neurons, and shrink masked models to dense ones.

Importing this package registers the ``lahan_pruned_bert``, ``lahan_pruned_roberta`` and
``lahan_pruned_distilbert`` model types with transformers' Auto classes, so shrunk model
folders load like any other.
"""

from lahan.arch import LayerModules, encoder_layers, head_size, num_heads
from lahan.prune.pruned_bert import (
    LahanPrunedBertConfig,
    LahanPrunedBertForSequenceClassification,
    LahanPrunedDistilBertConfig,
    LahanPrunedDistilBertForSequenceClassification,
    LahanPrunedRobertaConfig,
    LahanPrunedRobertaForSequenceClassification,
    register_auto_classes,
)
from lahan.prune.shrink import shrink_to_dense, structure

register_auto_classes()

__all__ = [
    "LahanPrunedBertConfig",
    "LahanPrunedBertForSequenceClassification",
    "LahanPrunedDistilBertConfig",
    "LahanPrunedDistilBertForSequenceClassification",
    "LahanPrunedRobertaConfig",
    "LahanPrunedRobertaForSequenceClassification",
    "LayerModules",
    "encoder_layers",
    "head_size",
    "num_heads",
    "register_auto_classes",
    "shrink_to_dense",
    "structure",
]
