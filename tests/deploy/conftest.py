"""A pruned model with uneven heads per layer, shared by the deployment tests."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pruned_tiny(tmp_path_factory, trained_tiny, demo_csv) -> Path:
    """trained_tiny pruned to 50% by heads (layers keep different head counts)."""
    from lahan.data import DataConfig
    from lahan.prune.movement import PruneConfig
    from lahan.recipes.compress import CompressConfig, run_compress
    from lahan.train import TrainConfig

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
