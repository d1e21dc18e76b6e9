"""The pruning methods ``PruneConfig.method`` names, and how each is run.

A method either learns its masks while the model trains (a ``TrainPlugin``: movement
pruning, hard and soft), or chooses its units once before training (one-shot: taylor),
after which the small model is shrunk and trained. A new method is its module, its
name in ``config.METHODS`` (one-shot ones in ``config.ONE_SHOT_METHODS``, its own fields
in ``config.METHOD_FIELDS``), and one line in ``PRUNING_METHODS`` below;
``tests/prune/test_methods.py`` checks that the two lists agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accelerate import Accelerator
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.config import PruneConfig, TrainConfig
from lahan.prune.movement import MovementPruning
from lahan.prune.taylor import score_units


@dataclass(frozen=True)
class Inputs:
    """What a one-shot method may read to choose its units: the training texts and their
    label ids, the training options (batches, seed) and the accelerator."""

    tokenizer: PreTrainedTokenizerBase
    texts: Sequence[str]
    labels: Sequence[int]
    train: TrainConfig
    accelerator: Accelerator


@dataclass(frozen=True)
class PruningMethod:
    """``start(model, config, inputs)`` installs the method's masks on ``model``: for a
    one-shot method, set at the final sparsity (the caller bakes and shrinks them); for
    one that learns, as a training-loop plug-in (``inputs`` unused)."""

    one_shot: bool
    start: Callable[[PreTrainedModel, PruneConfig, Inputs | None], MovementPruning]


def _movement(
    model: PreTrainedModel, config: PruneConfig, inputs: Inputs | None
) -> MovementPruning:
    return MovementPruning(model, config)


def _taylor(model: PreTrainedModel, config: PruneConfig, inputs: Inputs | None) -> MovementPruning:
    if inputs is None:
        raise ValueError("taylor scores units on training batches: pass Inputs")
    return score_units(
        model, inputs.tokenizer, inputs.texts, inputs.labels, config, inputs.train,
        inputs.accelerator,
    )  # fmt: skip


PRUNING_METHODS: dict[str, PruningMethod] = {
    "hard": PruningMethod(one_shot=False, start=_movement),
    "soft": PruningMethod(one_shot=False, start=_movement),
    "taylor": PruningMethod(one_shot=True, start=_taylor),
}


def pruning_method(config: PruneConfig) -> PruningMethod:
    return PRUNING_METHODS[config.method]
