"""Shared fixtures: tiny data and tiny models built locally, so no test needs the network."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from lahan.records import ModelRecord

# Tests never reach the Hugging Face Hub: fail fast instead of waiting on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MAHANEWS = Path(
    os.environ.get("LAHAN_MAHANEWS", Path(__file__).resolve().parents[2] / "shared/data/mahanews")
)


def write_csv(path: Path, rows: list[tuple[str, str]], header=("text", "label")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory) -> Path:
    """The built-in demo corpus written as a plain CSV file."""
    from lahan.data.demo_corpus import demo_examples

    return write_csv(tmp_path_factory.mktemp("data") / "demo.csv", demo_examples(0))


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory, demo_csv) -> tuple[Path, ModelRecord]:
    """A tiny BERT trained for a few epochs on the demo corpus and saved by lahan."""
    from lahan.config import DataConfig, FinetuneConfig, ModelConfig, TrainConfig
    from lahan.recipes.finetune import run_finetune

    out = tmp_path_factory.mktemp("models") / "tiny"
    record = run_finetune(
        FinetuneConfig(
            model=ModelConfig(source="preset:tiny", vocab_size=1000),
            data=DataConfig(source=str(demo_csv), seed=0),
            out=str(out),
            train=TrainConfig(
                epochs=4, batch_size=16, max_length=48, lr=1e-3, progress=False, seed=0
            ),
        )
    )
    return out, record


@pytest.fixture(scope="session")
def pruned_tiny(tmp_path_factory, trained_tiny, demo_csv) -> Path:
    """trained_tiny pruned to 50% by heads (layers keep different head counts)."""
    from lahan.config import CompressConfig, DataConfig, PruneConfig, TrainConfig
    from lahan.recipes.compress import run_compress

    out = tmp_path_factory.mktemp("models") / "pruned"
    run_compress(
        CompressConfig(
            teacher=str(trained_tiny[0]),
            data=DataConfig(source=str(demo_csv), seed=0),
            out=str(out),
            train=TrainConfig(epochs=1, batch_size=32, max_length=48, lr=1e-3, progress=False),
            prune=PruneConfig(sparsity=0.5, granularity="heads"),
        )
    )
    return out
