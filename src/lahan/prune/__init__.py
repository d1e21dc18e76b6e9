"""Structured pruning: find heads and FFN neurons, and shrink masked models to dense ones.

The shrunk models are the classes of ``lahan.pruned_models`` (the modeling sublayer,
registered with transformers' Auto classes when ``lahan.models`` is imported), so shrunk
model folders load like any other.
"""

from lahan.prune.shrink import shrink_to_dense, structure

__all__ = ["shrink_to_dense", "structure"]
