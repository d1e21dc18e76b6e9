"""Model size: parameters by part, and bytes on disk."""

from __future__ import annotations

from pathlib import Path

import torch


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Total, embeddings (word embeddings among them), encoder, and the rest (encoder + head)."""
    total = sum(p.numel() for p in model.parameters())
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    all_embeddings = getattr(base, "embeddings", None)
    emb = sum(p.numel() for p in all_embeddings.parameters()) if all_embeddings else 0
    word = embeddings.weight.numel() if embeddings is not None else 0
    encoder = getattr(base, "encoder", None)
    enc = sum(p.numel() for p in encoder.parameters()) if encoder is not None else 0
    return {
        "total": total,
        "embeddings": emb,
        "word_embeddings": word,
        "encoder": enc,
        "rest": total - emb,
    }


def weights_size_on_disk(folder: str | Path) -> int:
    """Bytes of the weight files in a model folder: ``*.safetensors``, or for a published
    checkpoint without them, the ``pytorch_model*.bin`` files it is loaded from."""
    folder = Path(folder)
    files = list(folder.glob("*.safetensors")) or list(folder.glob("pytorch_model*.bin"))
    return sum(p.stat().st_size for p in files)
