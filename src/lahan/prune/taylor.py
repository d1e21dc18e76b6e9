"""One-shot structured pruning by first-order Taylor importance.

Movement pruning (``movement.py``) learns its masks while it trains the full-size model
for every epoch. One-shot pruning scores every unit once, from the task loss's
gradients on a few training batches, removes the lowest-scored units at the target
sparsity before training, and leaves the training epochs to the already-small model,
as TextPruner and Torch-Pruning do (BENCHMARKS.md section 14 measures both methods
against them).

A unit's score is ``|sum over the unit of W * dL/dW|``: the first-order Taylor estimate of
the loss change when the unit is removed (Molchanov et al. 2019), which for heads is
Michel et al.'s (2019) head importance. It is exactly the gradient of the loss with
respect to the unit's mask, and ``MovementPruning``'s masks already expose that
gradient (their straight-through mask has d mask / d score = 1), so the same masks,
top-k ranking, FFN rounding and baking serve both methods. Per batch the absolute value
is taken, then summed over batches; each layer's head scores and neuron scores are
divided by their L2 norm (Michel et al.: raw gradients differ in scale from layer to
layer, and a global ranking of raw scores empties whole layers) before all layers are
ranked together per unit kind, as hard movement pruning ranks them.

Heads granularity only: with ``hybrid`` most removed blocks stay inside full-size
matrices after shrinking, and training the small model afterwards would fill them in.

Scoring runs in fp32 and eval mode (no dropout), on the first ``score_batches`` batches
of the training order of ``seed``: the same seed gives the same structure, so a resumed
run rebuilds the same small model before loading its checkpoint. Under several processes
each scores its share of the batches and the sums are added up across processes, so
every process keeps the same units.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase

from lahan.batches import NOT_MODEL_INPUTS, ShuffledBatches, encode
from lahan.config import PruneConfig, TrainConfig
from lahan.prune.movement import MovementPruning
from lahan.train import cross_entropy


def score_units(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    labels: Sequence[int],
    config: PruneConfig,
    train: TrainConfig,
    accelerator: Accelerator | None = None,
) -> MovementPruning:
    """Install masks on ``model``, score every unit from the loss gradients and set the
    masks at ``config.sparsity``. The caller bakes them (``pruner.bake()``) and shrinks."""
    pruner = MovementPruning(model, config)
    if not pruner.scores:  # sparsity 0: nothing to score
        return pruner
    device = next(model.parameters()).device
    encoded = encode(tokenizer, texts, train.max_length, labels)
    order = ShuffledBatches(encoded.lengths(), train.batch_size, train.seed, train.group_by_length)
    batches = order.global_batches(0)[: config.score_batches]
    processes, rank = (
        (accelerator.num_processes, accelerator.process_index) if accelerator else (1, 0)
    )
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    importance = [torch.zeros_like(s.scores) for s in pruner.scores]
    show = train.progress and (accelerator is None or accelerator.is_local_main_process)
    with _masks_only(model, pruner):
        for indices in tqdm(
            batches[rank::processes], desc="scoring units", disable=None if show else True
        ):
            batch = collate([encoded[i] for i in indices]).to(device)
            inputs = {k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS}
            for s in pruner.scores:
                s.scores.grad = None
            cross_entropy(model(**inputs), batch).backward()
            for total, s in zip(importance, pruner.scores, strict=True):
                total += s.scores.grad.abs()
    if processes > 1:
        importance = accelerator.reduce(importance, "sum")
    with torch.no_grad():
        for total, s in zip(importance, pruner.scores, strict=True):
            norm = total.norm()
            s.scores.copy_(total / norm if norm > 0 else total)
            s.scores.grad = None
    pruner.set_masks(config.sparsity)
    return pruner


@contextlib.contextmanager
def _masks_only(model: PreTrainedModel, pruner: MovementPruning) -> Iterator[None]:
    """Eval mode (no dropout: the same scores every run) with gradients for the masks'
    scores only: the weights' own gradients would be computed and thrown away (the
    activations' gradients, which the masks' need, are computed either way)."""
    scores = {id(s.scores) for s in pruner.scores}  # the scores are parameters too
    frozen = [p for p in model.parameters() if p.requires_grad and id(p) not in scores]
    was_training = model.training
    for p in frozen:
        p.requires_grad_(False)
    model.eval()
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
