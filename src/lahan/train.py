"""The one training loop.

Read it top to bottom: tokenise once, build batches (dynamic padding, optionally
grouped by length), then for each epoch step AdamW under Accelerate (mixed
precision, gradient accumulation, several processes when launched with
``accelerate launch`` / ``torchrun``), evaluate on dev, keep the best weights by
dev macro-F1 and stop early when dev stops improving.

The loss is a plug-in: any callable ``loss(outputs, batch) -> scalar tensor``,
where ``outputs`` is the model's output (``.logits``, and ``.hidden_states`` /
``.attentions`` when the loss asks for them through a ``model_kwargs`` attribute)
and ``batch`` holds ``labels`` and ``example_index`` (row of each example in the
training texts). Cross-entropy is the default; distillation plugs in here and
pruning through ``plugins``, rather than copying this loop. A loss that lists batch
entries in ``model_inputs`` gets them passed to the model too (masked-language-model
pretraining hands the model its ``labels``).

What is trained on and how epochs are judged are plug-ins as well: ``train_set`` +
``collate`` replace the tokenised texts (pretraining feeds packed, masked sequences),
and an ``Evaluator`` replaces dev accuracy / macro-F1 (pretraining: held-out MLM loss).

What the loop iterates over (tokenised texts, seeded batches) is ``lahan.batches``; how
it stops on Ctrl-C or SIGTERM, checkpoint written, ``lahan.stop``; what it shows while
it runs, ``lahan.progress.TrainProgress``. The order to read this file in: ``train()``,
then ``_Run.train_epoch`` / ``_step`` / ``end_epoch`` (one epoch, one step, the epoch's
end), then the helpers.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DataLoaderConfiguration, set_seed
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase
from transformers.optimization import get_linear_schedule_with_warmup
from transformers.utils import ModelOutput

from lahan.batches import NOT_MODEL_INPUTS, ShuffledBatches, encode, make_batches
from lahan.checkpoint import (
    LoopState,
    Resumed,
    TrainResult,
    load_checkpoint,
    run_fingerprint,
    save_checkpoint,
)
from lahan.config import TrainConfig, fingerprint_precision
from lahan.errors import OptionError
from lahan.evaluate import compute_metrics, predict_logits
from lahan.models import check_max_length
from lahan.progress import TrainProgress
from lahan.stop import TrainingInterrupted, stop_signals

log = logging.getLogger(__name__)

Loss = Callable[[ModelOutput, dict], torch.Tensor]


class TrainPlugin(Protocol):
    """What pruning (and later other methods) plug into the loop, without copying it.

    ``param_groups``: extra optimizer groups (e.g. pruning scores with their own lr);
    their parameters are left out of the ordinary groups. ``on_step(step, total)``
    runs before every forward pass (schedules, masks). ``regularizer()`` is added to
    the loss (None for nothing). ``selectable(step, total)`` says whether an epoch
    ending at ``step`` may be chosen as the best one (e.g. only once the target
    sparsity is reached).
    """

    def param_groups(self) -> list[dict]: ...

    def on_step(self, step: int, total_steps: int) -> None: ...

    def regularizer(self) -> torch.Tensor | None: ...

    def selectable(self, step: int, total_steps: int) -> bool: ...


class Evaluator(Protocol):
    """Scores the model at each epoch end; the best epoch by ``select_on`` is kept.

    ``__call__(model, autocast)`` returns scalar metrics; ``select_on`` names the one
    to maximise; ``history_keys`` the ones kept per epoch (as ``dev_<key>``);
    ``describe(metrics)`` the epoch line's words.
    """

    select_on: str
    history_keys: tuple[str, ...]

    def __call__(self, model: PreTrainedModel, autocast: Callable) -> dict: ...

    def describe(self, metrics: dict) -> str: ...


class ClassifierDev:
    """The default evaluator: dev accuracy and macro-F1, best epoch by macro-F1."""

    select_on = "macro_f1"
    history_keys = ("accuracy", "macro_f1")

    def __init__(self, tokenizer, texts, labels, num_labels: int, config: TrainConfig):
        self.tokenizer, self.texts, self.labels = tokenizer, texts, list(labels)
        self.label_ids = list(range(num_labels))
        self.batch_size, self.max_length = config.eval_batch_size, config.max_length

    def __call__(self, model: PreTrainedModel, autocast: Callable) -> dict:
        logits = predict_logits(
            model, self.tokenizer, self.texts, self.batch_size, self.max_length, autocast=autocast
        )
        return compute_metrics(self.labels, logits.argmax(-1).tolist(), self.label_ids)

    def describe(self, metrics: dict) -> str:
        return f"dev accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}"


def cross_entropy(outputs: ModelOutput, batch: dict) -> torch.Tensor:
    return F.cross_entropy(outputs.logits.float(), batch["labels"])


# --------------------------------------------------------------------------- the loop


def make_accelerator(config: TrainConfig) -> Accelerator:
    if config.precision == "fp16" and not torch.cuda.is_available():
        raise OptionError(
            "precision",
            " fp16 needs a CUDA GPU and none is available: "
            "use --precision bf16 (CPU autocast) or --precision fp32",
        )
    # Accelerate keeps its state process-wide and refuses a second Accelerator with
    # another precision; lahan runs several configurations in one process (sweeps),
    # so start each run from a clean state (the process group, if any, is kept).
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    accelerator = Accelerator(
        # Without a GPU, say so: Accelerate then runs several processes (torchrun,
        # accelerate launch) as CPU data parallelism over gloo instead of ignoring them.
        cpu=not torch.cuda.is_available(),
        # accelerate names fp32 "no"
        mixed_precision="no" if config.precision == "fp32" else config.precision,
        # Batches are sharded by ShuffledBatches and accumulation is done in the loop,
        # so the scheduler must step once per optimizer step (split_batches=True).
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    if config.batch_size < accelerator.num_processes:
        raise OptionError(
            "batch_size",
            f" {config.batch_size} is smaller than the number of processes "
            f"({accelerator.num_processes}): each process needs at least one example per batch",
        )
    if config.batch_size % accelerator.num_processes:
        raise OptionError(
            "batch_size",
            f" {config.batch_size} must be divisible by the number of "
            f"processes ({accelerator.num_processes})",
        )
    return accelerator


def train(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    dev_texts: Sequence[str],
    dev_labels: Sequence[int],
    config: TrainConfig,
    *,
    from_scratch: bool = False,
    loss_fn: Loss = cross_entropy,
    plugins: Sequence[TrainPlugin] = (),
    accelerator: Accelerator | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    settings: dict | None = None,
    train_set: torch.utils.data.Dataset | None = None,
    collate: Callable | None = None,
    evaluator: Evaluator | None = None,
    progress: TrainProgress | None = None,
) -> TrainResult:
    """Train ``model`` in place; on return it holds the best weights by dev macro-F1
    (or by ``evaluator.select_on``).

    ``plugins`` (e.g. movement pruning) must already be installed on ``model``.
    With ``checkpoint``, the run's whole state is written there every
    ``config.checkpoint_every`` optimizer steps and at each epoch end; ``resume``
    continues from it, and ends as the uninterrupted run would (same seed, same device,
    one process). ``settings`` (the recipe's whole configuration) must match to resume.
    ``progress``: how the run shows how far it got (default: bars and epoch lines unless
    ``config.progress`` is off).
    """
    accelerator = accelerator or make_accelerator(config)
    check_max_length(model, config.max_length)
    # Same seed per process for the data order; dropout masks differ across processes.
    set_seed(config.seed, device_specific=True)
    evaluator = evaluator or ClassifierDev(
        tokenizer, dev_texts, dev_labels, model.config.num_labels, config
    )
    if train_set is None:  # tokenise once; each batch is padded to its own longest text
        train_set = encode(tokenizer, train_texts, config.max_length, train_labels)
        collate = collate or DataCollatorWithPadding(tokenizer, return_tensors="pt")
    elif collate is None:
        raise ValueError("train() with a train_set needs its collate function too")
    sampler, loader = make_batches(train_set, config, accelerator)
    optimizer, scheduler, total_steps = _optimizer(
        model, plugins, config, from_scratch, len(loader)
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    run = _Run(
        model=model,
        tokenizer=tokenizer,
        config=config,
        accelerator=accelerator,
        optimizer=optimizer,
        scheduler=scheduler,
        sampler=sampler,
        loader=loader,
        collate=collate,
        loss_fn=loss_fn,
        plugins=plugins,
        evaluator=evaluator,
        total_steps=total_steps,
        checkpoint=checkpoint,
        # bars and lines from the first process of each machine only
        progress=progress
        or TrainProgress(config.progress and accelerator.is_local_main_process, config.epochs),
    )
    if checkpoint is not None:
        run.fingerprint = train_fingerprint(
            config, settings, train_texts, train_labels, accelerator.unwrap_model(model)
        )
    if resume:
        run.resume()
    run.started = time.perf_counter() - run.state.elapsed
    # SIGINT / SIGTERM: checkpoint at the next step, then stop (single-process runs)
    with stop_signals(enabled=accelerator.num_processes == 1) as stop:
        for epoch in range(run.state.epoch, config.epochs + 1):
            epoch_seconds = run.train_epoch(epoch, stop)
            if run.end_epoch(epoch, epoch_seconds):
                break
    return run.finish()


def train_fingerprint(
    config: TrainConfig,
    settings: dict | None,
    texts: Sequence[str],
    labels: Sequence[int],
    model: torch.nn.Module,
) -> str:
    """What a checkpoint must match to be resumed: the training options (bar how often
    checkpoints are written and whether bars are drawn), the recipe's settings, the data
    and the model's shapes."""
    options = {k: v for k, v in asdict(config).items() if k not in ("progress", "checkpoint_every")}
    options["precision"] = fingerprint_precision(config.precision)
    return run_fingerprint(options | {"settings": settings}, list(texts), list(labels), model)


def _optimizer(
    model: PreTrainedModel,
    plugins: Sequence[TrainPlugin],
    config: TrainConfig,
    from_scratch: bool,
    batches_per_epoch: int,
):
    """AdamW without decay on biases and LayerNorm, warm-up then linear decay.
    Plug-ins bring their own groups (pruning scores: own lr, no decay)."""
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    extra_groups = [group for plugin in plugins for group in plugin.param_groups()]
    claimed = {id(p) for group in extra_groups for p in group["params"]}
    named = [(n, p) for n, p in model.named_parameters() if id(p) not in claimed]
    params = [
        {
            "params": [p for n, p in named if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
        *extra_groups,
    ]
    optimizer = torch.optim.AdamW(params, lr=config.resolved_lr(from_scratch))
    steps_per_epoch = math.ceil(batches_per_epoch / config.grad_accum)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    return optimizer, scheduler, total_steps


@dataclass
class _Run:
    """One training run's parts and its state (``state``, what a checkpoint keeps), with
    the loop's steps as methods: resume, train_epoch, end_epoch, save, finish."""

    model: torch.nn.Module  # as prepared by Accelerate
    tokenizer: PreTrainedTokenizerBase
    config: TrainConfig
    accelerator: Accelerator
    optimizer: torch.optim.Optimizer
    scheduler: object
    sampler: ShuffledBatches
    loader: DataLoader
    collate: Callable
    loss_fn: Loss
    plugins: Sequence[TrainPlugin]
    evaluator: Evaluator
    total_steps: int
    checkpoint: Path | None
    progress: TrainProgress
    fingerprint: str = ""
    state: LoopState = field(default_factory=LoopState)
    resumed: Resumed | None = None  # RNG states still to restore, where the run continues
    started: float = 0.0

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def resume(self) -> None:
        if self.checkpoint is None:
            raise ValueError("resume needs a checkpoint folder")
        if self.accelerator.num_processes > 1:
            raise OptionError(
                "resume",
                " continues single-process runs only (each process's RNG is not "
                "saved yet): resume with one process, or start over",
            )
        self.resumed = load_checkpoint(
            self.checkpoint,
            model=self.unwrapped,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            fingerprint=self.fingerprint,
        )
        self.state = self.resumed.state
        if self.accelerator.is_local_main_process:
            print(
                f"resuming from {self.checkpoint} at epoch {self.state.epoch}, batch "
                f"{self.state.batch} (optimizer step {self.state.result.steps})",
                file=sys.stderr,
            )

    def _restore_rng(self) -> None:
        if self.resumed is not None:
            self.resumed.restore_rng()
            self.resumed = None

    def save(self, epoch: int, batch: int) -> None:
        """Checkpoint the run so that it continues at ``batch`` of ``epoch``."""
        if self.accelerator.is_main_process:
            self.state.epoch, self.state.batch = epoch, batch
            self.state.elapsed = time.perf_counter() - self.started  # across resumptions
            save_checkpoint(
                self.checkpoint,
                model=self.unwrapped,
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                tokenizer=self.tokenizer,
                state=self.state,
                fingerprint=self.fingerprint,
            )
        self.accelerator.wait_for_everyone()

    def train_epoch(self, epoch: int, stop) -> float:
        """One pass over the training batches (the rest of it, for a run resumed
        mid-epoch); returns its seconds."""
        config, state = self.config, self.state
        skip = state.batch
        # The RNG states go back where they were saved: before this epoch's batches are
        # drawn (the DataLoader takes a seed from torch's RNG when iteration starts), or
        # at the batch where a mid-epoch checkpoint was written.
        if skip == 0:
            self._restore_rng()
        self.sampler.passes = epoch - 1  # each epoch's order depends on its number only
        self.model.train()
        epoch_started = time.perf_counter()
        if skip == 0:  # a run resumed mid-epoch keeps the loss average it had
            state.running = 0.0
        for i, examples in enumerate(self.progress.batches(self.loader, epoch)):
            if config.max_steps and state.result.steps >= config.max_steps:
                break  # (checked first: a run resumed right at max_steps takes no more)
            if i < skip:  # done before the checkpoint this run resumed from
                continue
            self._restore_rng()
            sync, loss = self._step(i, examples)
            state.running = 0.9 * state.running + 0.1 * loss if state.running else loss
            rate = state.seen / (time.perf_counter() - self.started)
            lr = self.scheduler.get_last_lr()[0]
            self.progress.step(epoch, i, len(self.loader), state.running, lr, rate)
            at_checkpoint = state.result.steps % config.checkpoint_every == 0
            if sync and self.checkpoint is not None and at_checkpoint:
                self.save(epoch, i + 1)
            if sync and stop.signal is not None:
                if self.checkpoint is not None:
                    self.save(epoch, i + 1)
                raise TrainingInterrupted(stop.signal, self.checkpoint, state.result.steps)
            if config.max_steps and state.result.steps >= config.max_steps:
                break
        self._restore_rng()  # the checkpoint was at this epoch's last batch
        state.batch = 0
        return time.perf_counter() - epoch_started

    def _step(self, i: int, examples: list) -> tuple[bool, float]:
        """Forward and backward of batch ``i``; an optimizer step when its gradient
        accumulation group is complete. Returns (optimizer stepped, loss)."""
        config, accelerator = self.config, self.accelerator
        # Gradient accumulation: sum the gradients of `group` micro-batches (the last
        # group of an epoch may be shorter), syncing processes only at its end.
        group_start = i - i % config.grad_accum
        group = min(config.grad_accum, len(self.loader) - group_start)
        sync = i + 1 == group_start + group
        batch = self.collate(examples).to(accelerator.device)
        for plugin in self.plugins:
            plugin.on_step(self.state.result.steps, self.total_steps)
        to_model = getattr(self.loss_fn, "model_inputs", ())  # batch entries the model takes
        with contextlib.nullcontext() if sync else accelerator.no_sync(self.model):
            inputs = {k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS or k in to_model}
            # prepare() wrapped forward in autocast
            outputs = self.model(**inputs, **getattr(self.loss_fn, "model_kwargs", {}))
            loss = self.loss_fn(outputs, batch)
            for plugin in self.plugins:
                penalty = plugin.regularizer()
                if penalty is not None:
                    loss = loss + penalty
            accelerator.backward(loss / group)
        if sync:
            accelerator.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
            self.state.result.steps += 1
        self.state.seen += len(batch["labels"]) * accelerator.num_processes
        return sync, loss.item()

    def end_epoch(self, epoch: int, epoch_seconds: float) -> bool:
        """Evaluate, keep the best weights, checkpoint; True when training stops here."""
        config, state, result = self.config, self.state, self.state.result
        # Plug-ins set their state (e.g. masks) for the weights as they are now, so the
        # epoch is evaluated, chosen and restored with the masks that will be kept.
        for plugin in self.plugins:
            plugin.on_step(result.steps, self.total_steps)
        # Every process evaluates the whole dev set the same way, so all of them
        # agree on the best epoch and on when to stop without communicating.
        dev = self.evaluator(self.unwrapped, self.accelerator.autocast)
        result.history.append(
            {
                "epoch": epoch,
                "train_loss": state.running,
                "epoch_seconds": round(epoch_seconds, 3),
                **{f"dev_{key}": dev[key] for key in self.evaluator.history_keys},
            }
        )
        described = self.evaluator.describe(dev)
        log.info("epoch %d: loss %.4f %s", epoch, state.running, described)
        self.progress.epoch_end(epoch, state.running, described, epoch_seconds)
        selectable = all(p.selectable(result.steps, self.total_steps) for p in self.plugins)
        key = self.evaluator.select_on
        if selectable and dev[key] > result.best_dev.get(key, -math.inf):
            result.best_epoch, result.best_dev = epoch, dev
            state.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in self.unwrapped.state_dict().items()
            }
            state.epochs_without_gain = 0
        elif selectable:  # epochs that could not be chosen do not count against patience
            state.epochs_without_gain += 1
        if config.max_steps and result.steps >= config.max_steps:
            return True
        if config.patience and state.epochs_without_gain >= config.patience:
            result.stopped_early = epoch < config.epochs
            return True
        if self.checkpoint is not None and epoch < config.epochs:
            self.save(epoch + 1, 0)
        return False

    def finish(self) -> TrainResult:
        """The result, with the best epoch's weights back in the model."""
        result = self.state.result
        result.train_seconds = time.perf_counter() - self.started
        seconds = result.train_seconds
        result.examples_per_second = self.state.seen / seconds if seconds else 0.0
        if self.state.best_state is not None:
            self.unwrapped.load_state_dict(self.state.best_state)
        self.accelerator.wait_for_everyone()
        return result
