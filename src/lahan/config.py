"""Every option of every job and its default, in one place (standard library only).

The command line and the Python API build the same dataclasses, so a job behaves the
same from either. This module imports nothing heavy: ``lahan --help`` and ``lahan data
check`` parse their options without loading PyTorch or transformers.

A value out of range raises :class:`ConfigError`, which names the field
(``TrainConfig.epochs must be >= 1, got 0``); the CLI says the same with the flag's name
(``--epochs must be >= 1, got 0``). A run's own ``lahan.json`` stores these configs by
class name, and :func:`from_record` rebuilds them from it.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from lahan.errors import LahanError, OptionError


class ConfigError(LahanError):
    """A config field with a value it cannot take."""

    def __init__(self, owner: str, name: str, problem: str) -> None:
        self.owner, self.field, self.problem = owner, name, problem
        super().__init__(f"{owner}.{name} {problem}")

    def named(self, name: str) -> str:
        """The same message with ``name`` (a CLI flag) in place of the field."""
        return f"{name} {self.problem}"


def _check(owner: object, checks: list[tuple[bool, str, str]]) -> None:
    """Raise ConfigError for the first (ok, field, problem) that is not ok."""
    for ok, name, problem in checks:
        if not ok:
            raise ConfigError(type(owner).__name__, name, problem)


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    return f"must be one of {', '.join(choices)}, got '{value}'"


# --------------------------------------------------------------------------- flags

FLAG = "lahan.flag"  # the dataclass field metadata key of a field's command-line flag
INTERNAL = "lahan.internal"  # ... of a field no command sets (set from Python or by lahan)


@dataclass(frozen=True)
class Flag:
    """A config field's command-line flag, declared beside the field (see :func:`flag`).

    ``lahan.commands._args`` builds the argparse option from it, and the field's value
    from the parsed flag; the CLI names it in a ``ConfigError`` about the field.
    """

    help: str
    name: str | None = None  # None: --field-name
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    # bool fields: "--no-x" flags store False in the field (default True)
    negate: bool = False
    parse: Any = None  # str -> value (argparse ``type``); None: the field's scalar type
    # repeatable: each use appends one value, the field gets a tuple
    repeat: bool = False
    # the flag's own default is None (not given), and the field's default applies then:
    # for fields a rule refuses when set with another option (METHOD_FIELDS)
    given_only: bool = False
    default_text: str | None = None  # "(default ...)" in the help; "": none shown
    required: bool = False  # a field without a default: the flag must be given


def flag(default: Any = MISSING, help: str = "", **spec: Any) -> Any:
    """A dataclass field whose command-line flag is declared here, with its help.

    ``flag(0.1, "dev share when one pool is split")`` is a field defaulting to 0.1, set
    by ``--dev-ratio`` (the field's name) whose help ends in "(default 0.1)". Mutable
    defaults are not allowed (use a tuple). No default: the field and its flag are
    required (``flag(help=..., required=True)``).
    """
    return field(default=default, metadata={FLAG: Flag(help=help, **spec)})


def internal(default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A field no flag of its own sets: lahan or the Python API sets it, or it is a nested
    config (``data``, ``train``) that its own fields' flags set."""
    return field(default=default, default_factory=default_factory, metadata={INTERNAL: True})


def flag_of(cls: type, name: str) -> Flag | None:
    """The flag declared for field ``name`` of config class ``cls``, if any."""
    for f in fields(cls):
        if f.name == name:
            return f.metadata.get(FLAG)
    return None


def flag_name(cls: type, name: str) -> str | None:
    """The command-line spelling of field ``name``'s flag (``--data-seed``), if it has one."""
    spec = flag_of(cls, name)
    if spec is None:
        return None
    return spec.name or ("--no-" if spec.negate else "--") + name.replace("_", "-")


# --------------------------------------------------------------------------- model

# (layers, hidden, heads, intermediate): BERT shapes from tiny to BERT-base.
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 128, 2, 512),
    "small": (4, 256, 4, 1024),
    "mini": (6, 384, 6, 1536),
    "base": (12, 768, 12, 3072),
}


PRESET_ONLY = ("vocab_size", "dropout", "tokenizer")  # ModelConfig fields for presets


@dataclass
class ModelConfig:
    """How to obtain the model to train."""

    source: str = flag(  # folder, hub id, or preset:NAME
        help="a hub id (owner/name), a local model folder, or preset:"
        + "|".join(PRESETS)
        + " to build a BERT from scratch",
        name="--model",
        required=True,
    )
    # presets only (PRESET_ONLY: refused for a checkpoint): WordPiece vocabulary trained on
    # the training texts, dropout, a tokenizer folder to reuse instead of training one
    vocab_size: int = flag(
        8000, "presets: WordPiece vocabulary trained on the training texts", given_only=True
    )
    max_position: int = internal(512)  # presets only
    dropout: float = flag(0.1, "presets: dropout", given_only=True)
    relabel: bool = flag(False, "map dataset labels onto the model's labels by name")
    tokenizer: str | None = flag(
        None,
        "presets: reuse this tokenizer folder (e.g. a teacher's) instead of training one",
        given_only=True,
        default_text="",
    )
    new_head: bool = flag(False, "replace the checkpoint's classification head by a fresh one")
    # names of a placeholder-labelled model's outputs (--labels / --label-map)
    labels: tuple[str, ...] | None = internal(None)

    def __post_init__(self) -> None:
        defaults = {f.name: f.default for f in fields(self)}
        for name in PRESET_ONLY:  # a value for a checkpoint would change nothing
            if not self.is_preset and getattr(self, name) != defaults[name]:
                raise ConfigError(
                    "ModelConfig",
                    name,
                    f"applies only to a model built from a preset (preset:NAME), not to "
                    f"'{self.source}'",
                )
        if self.is_preset and self.preset_name not in PRESETS:
            raise LahanError(
                f"unknown preset '{self.preset_name}': choose one of "
                + ", ".join(f"preset:{p}" for p in PRESETS)
            )
        _check(
            self,
            [
                (
                    self.vocab_size >= 100,
                    "vocab_size",
                    f"is too small: {self.vocab_size}, use at least 100",
                ),
                (0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}"),
            ],
        )
        if self.labels is not None:
            self.labels = tuple(self.labels)

    @property
    def is_preset(self) -> bool:
        return self.source.startswith("preset:")

    @property
    def preset_name(self) -> str:
        return self.source.split(":", 1)[1]


# --------------------------------------------------------------------------- data


DATA_HELP = (
    "a MahaNews-style folder, a CSV/TSV/JSONL file, a Hugging Face dataset id "
    "(hf:owner/name), or 'demo' for the built-in corpus"
)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in _comma_list(text))
    except ValueError as err:
        raise ValueError(f"expected comma-separated whole numbers like 1,32, got '{text}'") from err


@dataclass
class DataConfig:
    """Where the data comes from and how it is split."""

    # folder, CSV/TSV/JSONL file, "hf:owner/name" / "owner/name", or "demo"; --data or the
    # positional DATA (lahan data check), added by each command: some require it
    source: str = flag("demo", DATA_HELP, name="--data", default_text="")
    text_col: str | None = flag(None, "text column", default_text="auto-detect")
    label_col: str | None = flag(None, "label column", default_text="auto-detect")
    subsets: tuple[str, ...] = flag(
        (),
        "comma-separated sub-datasets of a folder to read, e.g. SHC or SHC,LPC",
        name="--subset",
        parse=_comma_list,
        default_text="all",
    )
    dev_ratio: float = flag(0.1, "dev share when one pool is split")
    test_ratio: float = flag(0.1, "test share when one pool is split")
    seed: int = flag(42, "seed of the stratified split", name="--data-seed")
    leakage_guard: bool = flag(
        True, "keep train texts that also occur in dev/test (not recommended)", negate=True
    )  # remove from train the texts that occur in dev/test
    drop_train_duplicates: bool = flag(False, "keep one copy of each text within train")

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (
                    0.0 <= self.dev_ratio < 1.0,
                    "dev_ratio",
                    f"must be in [0, 1), got {self.dev_ratio}",
                ),
                (
                    0.0 <= self.test_ratio < 1.0,
                    "test_ratio",
                    f"must be in [0, 1), got {self.test_ratio}",
                ),
                (self.seed >= 0, "seed", f"must be >= 0, got {self.seed}"),
            ],
        )
        if self.dev_ratio + self.test_ratio >= 0.9:
            raise ConfigError(
                "DataConfig",
                "test_ratio",
                f"plus the dev ratio is {self.dev_ratio + self.test_ratio:.2f}, which leaves "
                "too little for training: keep their sum below 0.9",
            )
        self.subsets = tuple(self.subsets)

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- training

# One precision vocabulary. Training runs fp32 or under fp16/bf16 autocast; inference
# adds int8 (dynamic quantization). "no" (accelerate's word for fp32, and lahan's before)
# is still accepted and read as fp32, so old commands and records keep working.
TRAIN_PRECISIONS = ("fp32", "bf16", "fp16")
INFERENCE_PRECISIONS = ("fp32", "bf16", "fp16", "int8")
PRECISIONS = TRAIN_PRECISIONS  # the --precision choices of the training commands
PRECISION_ALIASES = {"no": "fp32"}


def canonical_precision(precision: str) -> str:
    """``precision`` in lahan's one vocabulary ("no" -> "fp32")."""
    return PRECISION_ALIASES.get(precision, precision)


def fingerprint_precision(precision: str) -> str:
    """The training precision as run fingerprints spell it: "no" for fp32, the name
    fingerprints were made with before the rename, so a checkpoint or a sweep row from
    then still matches the same options now."""
    return "no" if canonical_precision(precision) == "fp32" else precision


@dataclass
class TrainConfig:
    """Every training option and its default."""

    LR_PRETRAINED = 5e-5  # the usual fine-tuning rate for BERT-base checkpoints
    LR_SCRATCH = 5e-4  # small encoders trained from scratch need a larger step

    epochs: int = flag(3, "training epochs")
    # global batch per optimizer micro-step, split across processes
    batch_size: int = flag(32, "global batch size")
    grad_accum: int = flag(1, "gradient accumulation steps")
    lr: float | None = flag(  # None: LR_PRETRAINED, or LR_SCRATCH for models from a preset
        None,
        "learning rate",
        default_text=f"{LR_PRETRAINED} for pretrained models, {LR_SCRATCH} for presets",
    )
    weight_decay: float = flag(0.01, "AdamW weight decay")
    warmup_ratio: float = flag(0.1, "share of the optimizer steps with a rising learning rate")
    max_length: int = flag(128, "tokens per text, longer ones truncated")
    group_by_length: bool = flag(False, "batch texts of similar length together (less padding)")
    precision: str = flag(  # fp32 | bf16 | fp16 (autocast); "no" is read as fp32
        "fp32",
        "training and inference precision: fp32, or fp16/bf16 autocast (fp16 needs CUDA; "
        "bf16 works on CPU); 'no' is an older name for fp32",
        choices=(*PRECISIONS, *PRECISION_ALIASES),
    )
    patience: int = flag(
        2,
        "early stopping: epochs without gain on dev (macro-F1; pretrain: held-out MLM loss); "
        "0 turns it off",
    )
    max_steps: int | None = flag(
        None, "stop after this many optimizer steps (quick runs)", default_text=""
    )
    eval_batch_size: int = flag(64, "batch size of the dev evaluation after each epoch")
    seed: int = flag(42, "training seed")
    progress: bool = flag(True, "no progress bars", negate=True)
    checkpoint_every: int = flag(
        200,
        "optimizer steps between checkpoints in OUT.checkpoint, written also at each epoch "
        "end and removed when the run finishes",
    )

    def __post_init__(self) -> None:
        self.precision = canonical_precision(self.precision)
        _check(
            self,
            [
                (self.epochs >= 1, "epochs", f"must be >= 1, got {self.epochs}"),
                (self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}"),
                (self.grad_accum >= 1, "grad_accum", f"must be >= 1, got {self.grad_accum}"),
                (self.lr is None or self.lr > 0, "lr", f"must be > 0, got {self.lr}"),
                (
                    0 <= self.warmup_ratio < 1,
                    "warmup_ratio",
                    f"must be in [0, 1), got {self.warmup_ratio}",
                ),
                (
                    8 <= self.max_length <= 8192,
                    "max_length",
                    f"must be in [8, 8192], got {self.max_length}",
                ),
                (self.patience >= 0, "patience", f"must be >= 0, got {self.patience}"),
                (self.seed >= 0, "seed", f"must be >= 0, got {self.seed}"),
                (
                    self.eval_batch_size >= 1,
                    "eval_batch_size",
                    f"must be >= 1, got {self.eval_batch_size}",
                ),
                (
                    self.max_steps is None or self.max_steps >= 1,
                    "max_steps",
                    f"must be >= 1, got {self.max_steps}",
                ),
                (
                    self.checkpoint_every >= 1,
                    "checkpoint_every",
                    f"must be >= 1, got {self.checkpoint_every}",
                ),
                (self.precision in PRECISIONS, "precision", _one_of(self.precision, PRECISIONS)),
            ],
        )

    def resolved_lr(self, from_scratch: bool) -> float:
        if self.lr is not None:
            return self.lr
        return self.LR_SCRATCH if from_scratch else self.LR_PRETRAINED


# Training defaults per job, the same from the CLI and from Python. Pruning needs its
# full schedule (no early stop: the sparsity keeps rising until the cool-down); a
# student trained by distillation learns for longer and may stop early.
METHOD_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "finetune": {},
    "prune": {"epochs": 4, "patience": 0},
    "distill": {"epochs": 6, "patience": 2},
    "compress": {"epochs": 5, "patience": 0},
}


def train_defaults(method: str, **overrides: Any) -> TrainConfig:
    """The TrainConfig a job starts from (``overrides`` win)."""
    if method not in METHOD_TRAIN_DEFAULTS:
        raise LahanError(f"unknown job '{method}': one of {', '.join(METHOD_TRAIN_DEFAULTS)}")
    return TrainConfig(**{**METHOD_TRAIN_DEFAULTS[method], **overrides})


HELDOUT_MAX = 2000


@dataclass
class PretrainConfig:
    """What masked-language-model pretraining adds to the training options."""

    mlm_probability: float = flag(0.15, "share of tokens masked")
    whole_word_mask: bool = flag(False, "mask all pieces of a word together")
    heldout_ratio: float = flag(  # share of the texts held out for the per-epoch MLM loss
        0.02, f"share of texts held out for the MLM loss per epoch, at most {HELDOUT_MAX} texts"
    )
    heldout_max: int = internal(HELDOUT_MAX)  # ... at most this many (evaluation stays short)
    min_words: int = internal(1)  # texts with fewer words are skipped (counted)

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (
                    0.0 < self.mlm_probability < 1.0,
                    "mlm_probability",
                    f"must be in (0, 1), got {self.mlm_probability}",
                ),
                (
                    0.0 < self.heldout_ratio < 0.5,
                    "heldout_ratio",
                    f"must be in (0, 0.5), got {self.heldout_ratio}",
                ),
                (self.heldout_max >= 1, "heldout_max", f"must be >= 1, got {self.heldout_max}"),
                (self.min_words >= 1, "min_words", f"must be >= 1, got {self.min_words}"),
            ],
        )


# --------------------------------------------------------------------------- compression

GRANULARITIES = ("hybrid", "heads")
METHODS = ("hard", "soft", "taylor")  # each run by its entry in lahan.prune.methods
ONE_SHOT_METHODS = ("taylor",)  # units chosen once before training, then the small model trains
ALLOCATIONS = ("global", "uniform")
# PruneConfig fields only some methods read. A value other than the default, set with a
# method that ignores it, would change nothing without a word: it is refused instead (by
# the library and, through it, by the CLI with the flag's name).
METHOD_FIELDS = {
    "score_batches": ("taylor",),
    "score_lr": ("hard", "soft"),
    "warmup": ("hard", "soft"),
    "cooldown": ("hard", "soft"),
    "l1": ("soft",),
}


def _block(text: str) -> tuple[int, int]:
    """ROWSxCOLS (``32x32``) as a pair of ints."""
    try:
        rows, cols = (int(x) for x in text.lower().split("x"))
    except ValueError as err:
        raise ValueError(f"expected ROWSxCOLS like 32x32, got '{text}'") from err
    return rows, cols


@dataclass
class PruneConfig:
    """Structured pruning: block movement pruning (hard / soft), or one-shot (taylor)."""

    # fraction of encoder linear weights removed at the end; its flag is --sparsity on
    # lahan prune, --prune on lahan compress (which turns pruning on: added there)
    sparsity: float = flag(0.5, "fraction of encoder linear weights removed")
    # heads: whole attention heads + FFN neurons, so the shrunk model really is (1 - s) of
    # the encoder's linear weights; hybrid: 32x32 attention blocks + FFN neurons, which
    # rarely empties a whole head (zeros stay inside full-size matrices: less speed)
    granularity: str = flag(
        "heads",
        "heads: whole attention heads + FFN neurons, removed outright (the shrunk encoder "
        "keeps 1-S of its linear weights); hybrid: 32x32 attention blocks + FFN neurons, which "
        "rarely empties a head, so the attention matrices keep their size: it costs speed and "
        "size (at BERT-base shape 1.18x/1.51x/2.01x at 25/50/75% vs 1.32x/2.03x/3.78x for "
        "heads; 81/63/38% of the encoder weights kept instead of 75/50/25%) and kept 1-2.5 "
        "points more accuracy on a pretrained MahaNews teacher (BENCHMARKS.md section 10)",
        choices=GRANULARITIES,
    )
    block: tuple[int, int] = flag(  # attention block (rows, cols) for hybrid
        (32, 32),
        "attention block for hybrid, ROWSxCOLS; ignored by heads",
        parse=_block,
        default_text="32x32",
    )
    # hard: movement pruning, exact top-k; soft: movement pruning, sigmoid threshold + L1
    # penalty; taylor: one-shot, units scored once from loss gradients on score_batches
    # training batches, removed before training, and the small model trained (see
    # lahan.prune.taylor: as accurate in Study 4 and cheaper, it trains the small model)
    method: str = flag(
        "hard",
        "hard: movement pruning, exact top-k; soft: movement pruning, sigmoid threshold + L1; "
        "taylor: one-shot (heads granularity), each head and FFN neuron scored once from the "
        "loss gradients (|W * dL/dW| over the unit), the lowest removed before training, so "
        "every epoch trains the small model: cheaper, as TextPruner and Torch-Pruning prune "
        "(BENCHMARKS.md section 14)",
        choices=METHODS,
    )
    score_batches: int = flag(  # taylor only: training batches whose gradients score units
        32,
        "taylor only (refused with hard and soft): training batches whose gradients score "
        "the units",
        given_only=True,
    )
    # hard and taylor: global ranks each unit kind across all layers (layers keep uneven
    # shares); uniform ranks within each layer, so every layer keeps 1 - sparsity of its
    # heads and neurons (at least one), as TextPruner and Torch-Pruning allocate
    allocation: str = flag(
        "global",
        "hard and taylor: global ranks heads (and FFN neurons) across all layers, so layers "
        "keep uneven shares; uniform ranks within each layer, so every layer keeps 1-S of its "
        "heads and neurons (at least one), as TextPruner and Torch-Pruning do; with "
        "--granularity hybrid, each attention matrix keeps 1-S of its blocks",
        choices=ALLOCATIONS,
    )
    # movement pruning (hard, soft) only: the scores' learning rate and the schedule
    score_lr: float = flag(  # scores learn faster than weights (nn_pruning uses ~1e-2)
        1e-2,
        "movement pruning (hard, soft) only, refused with taylor: learning rate of the "
        "pruning scores",
        given_only=True,
    )
    warmup: float = flag(  # fraction of steps at sparsity 0 while scores start to learn
        0.1,
        "movement pruning (hard, soft) only: share of the steps at sparsity 0 while the "
        "scores start to learn",
        name="--prune-warmup",
        given_only=True,
    )
    cooldown: float = flag(  # fraction of steps at the final sparsity
        0.2,
        "movement pruning (hard, soft) only: share of the steps at the final sparsity",
        name="--prune-cooldown",
        given_only=True,
    )
    l1: float = flag(  # soft only: weight of the L1 penalty on sigmoid(scores)
        1.0, "soft only: weight of the L1 penalty on the sigmoid of the scores", given_only=True
    )
    # hard and taylor: each layer keeps a multiple of this many FFN neurons (the nearest to its
    # top-k share). Half-precision GPU matrix kernels want dimensions that are multiples
    # of 8: at BERT-base shape on an H200 (fp16, batch 256) a 25% model with widths like
    # 2,291 ran 0.61x the unpruned model's speed, rounded to multiples of 8 1.13x
    # (BENCHMARKS.md §12). 1 keeps the exact top-k.
    ffn_multiple: int = flag(
        8,
        "each layer keeps a multiple of this many FFN neurons: half-precision GPU kernels "
        "want multiples of 8 (an H200 ran a 25% model 1.87x faster in fp16 with them, "
        "BENCHMARKS.md section 12); 1 keeps the exact top-k",
    )

    def __post_init__(self) -> None:
        self.block = tuple(self.block)
        defaults = {f.name: f.default for f in fields(self)}
        unread = [
            (
                self.method in methods or getattr(self, name) == defaults[name],
                name,
                f"is used only by method {' or '.join(methods)}, and method is {self.method}: "
                f"drop it, or use method {methods[0]}",
            )
            for name, methods in METHOD_FIELDS.items()
        ]
        _check(
            self,
            [
                (0.0 <= self.sparsity < 1.0, "sparsity", f"must be in [0, 1), got {self.sparsity}"),
                (
                    self.granularity in GRANULARITIES,
                    "granularity",
                    _one_of(self.granularity, GRANULARITIES),
                ),
                (self.method in METHODS, "method", _one_of(self.method, METHODS)),
                (
                    self.allocation in ALLOCATIONS,
                    "allocation",
                    _one_of(self.allocation, ALLOCATIONS),
                ),
                (
                    self.allocation == "global" or self.method != "soft",
                    "allocation",
                    "uniform needs --method hard or taylor: soft keeps every unit whose score "
                    "passes a threshold, so it sets no share per layer",
                ),
                (
                    len(self.block) == 2 and min(self.block) >= 1,
                    "block",
                    f"must be ROWSxCOLS of positive sizes, got {self.block}",
                ),
                (0 <= self.warmup < 1, "warmup", f"must be in [0, 1), got {self.warmup}"),
                (0 <= self.cooldown < 1, "cooldown", f"must be in [0, 1), got {self.cooldown}"),
                (
                    self.warmup + self.cooldown < 1,
                    "cooldown",
                    f"plus warmup must stay below 1, got {self.warmup} + {self.cooldown}",
                ),
                (self.score_lr > 0, "score_lr", f"must be > 0, got {self.score_lr}"),
                (self.l1 >= 0, "l1", f"must be >= 0, got {self.l1}"),
                (self.ffn_multiple >= 1, "ffn_multiple", f"must be >= 1, got {self.ffn_multiple}"),
                (
                    not self.one_shot or self.granularity == "heads",
                    "method",
                    f"{self.method} needs --granularity heads: hybrid blocks stay inside "
                    "full-size matrices after shrinking, and training the small model would fill "
                    "them in",
                ),
                (
                    self.score_batches >= 1,
                    "score_batches",
                    f"must be >= 1, got {self.score_batches}",
                ),
                *unread,
            ],
        )

    @property
    def one_shot(self) -> bool:
        """Units chosen once before training (the small model is trained), not learned."""
        return self.method in ONE_SHOT_METHODS


CACHE_ENV = "LAHAN_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where teacher outputs are cached: $LAHAN_CACHE_DIR, else ~/.cache/lahan."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lahan")


@dataclass
class DistillConfig:
    """Knowledge distillation: soft targets (Hinton et al. 2015) plus optional extras.

    loss = alpha * CE(student, labels)
         + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))
         + hidden_weight * MSE(hidden states of mapped layers)       (off by default)
         + attention_weight * KL(attention maps of mapped layers)    (off by default)

    T = 2 with 0.9 soft / 0.1 hard (alpha = 0.1) are the usual literature defaults.
    The T^2 factor keeps the soft term's gradients on the hard term's scale.
    """

    temperature: float = flag(2.0, "softmax temperature of the soft targets")
    alpha: float = flag(  # weight of the hard-label cross-entropy; the soft term: 1 - alpha
        0.1, "weight of the hard-label loss; soft targets get 1 - alpha"
    )
    hidden_weight: float = flag(
        0.0, "weight of the hidden-state MSE between mapped layers", default_text="0: off"
    )
    attention_weight: float = flag(
        0.0,
        "weight of the attention-map loss between mapped layers; the teacher then runs on "
        "every batch",
        default_text="0: off",
    )
    cache: bool = flag(  # compute the teacher's outputs once and reuse them
        True, "run the teacher on every batch instead of caching its outputs once", negate=True
    )
    cache_dir: str | None = flag(  # None: default_cache_dir()
        None, "where teacher outputs are cached", default_text=f"${CACHE_ENV} or ~/.cache/lahan"
    )

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (
                    0 < self.temperature <= 100,
                    "temperature",
                    f"must be in (0, 100], got {self.temperature}",
                ),
                (0 <= self.alpha <= 1, "alpha", f"must be in [0, 1], got {self.alpha}"),
                (
                    self.hidden_weight >= 0,
                    "hidden_weight",
                    f"must be >= 0, got {self.hidden_weight}",
                ),
                (
                    self.attention_weight >= 0,
                    "attention_weight",
                    f"must be >= 0, got {self.attention_weight}",
                ),
            ],
        )

    @property
    def uses_hidden(self) -> bool:
        return self.hidden_weight > 0

    @property
    def uses_attention(self) -> bool:
        return self.attention_weight > 0

    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()


@dataclass
class TrimConfig:
    """Vocabulary trimming (``lahan.prune.vocab``): WordPiece and Unigram/SentencePiece."""

    enabled: bool = flag(  # keep only the tokens of the training data (+ specials)
        False, "keep only the tokens of the training data (+ special tokens)", name="--trim-vocab"
    )
    # also keep the N most common tokens (WordPiece: lowest ids; Unigram: best scores)
    keep_top_n: int = flag(
        0,
        "with --trim-vocab, also keep the N most common tokens, whether the texts use them or "
        "not (WordPiece: the N lowest ids; SentencePiece/Unigram: the N highest scores)",
        name="--trim-vocab-top",
        metavar="N",
    )
    # also keep every piece of these unlabeled texts (.txt/.txt.gz, one per line): the text
    # the model will serve then segments exactly as before
    text_files: tuple[str, ...] = flag(
        (),
        "with --trim-vocab, also keep every piece of this unlabeled text (.txt or .txt.gz, one "
        "text per line; repeatable), so that text such as what the model will serve splits "
        "exactly as before",
        name="--trim-vocab-text",
        metavar="FILE",
        repeat=True,
        default_text="",
    )

    def __post_init__(self) -> None:
        self.text_files = tuple(self.text_files)
        unused = "is read only when trimming is on (enabled; --trim-vocab): turn it on, or drop it"
        _check(
            self,
            [
                (self.keep_top_n >= 0, "keep_top_n", f"must be >= 0, got {self.keep_top_n}"),
                (self.enabled or not self.keep_top_n, "keep_top_n", unused),
                (self.enabled or not self.text_files, "text_files", unused),
            ],
        )


@dataclass
class LatencyConfig:
    texts: int = 256  # dev texts timed (the first N)
    batch_size: int = 32
    repeats: int = 3


@dataclass
class CompressConfig:
    """One object for the whole combination; the precision is ``train.precision``.

    ``method`` names the job whose training defaults apply when ``train`` is not given
    (see METHOD_TRAIN_DEFAULTS): ``lahan prune`` is method "prune", and so on.
    """

    teacher: str
    data: DataConfig
    out: str
    teacher_labels: tuple | None = None  # names for a placeholder-labelled teacher's outputs
    train: TrainConfig | None = None  # None: train_defaults(method)
    prune: PruneConfig | None = None
    distill: DistillConfig | None = None
    student: str | None = None  # see lahan.distill.students; None: the teacher itself
    trim: TrimConfig = field(default_factory=TrimConfig)
    relabel: bool = False
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    resume: bool = False  # continue a killed run from OUT.checkpoint
    method: str = "compress"

    def __post_init__(self) -> None:
        if self.method not in ("prune", "distill", "compress"):
            raise ConfigError(
                "CompressConfig", "method", _one_of(self.method, ("prune", "distill", "compress"))
            )
        if self.train is None:
            self.train = train_defaults(self.method)
        if self.student is not None and self.distill is None:
            raise OptionError(
                "student",
                " needs --distill: a student trained on the labels alone is "
                "`lahan finetune --model STUDENT`",
            )
        if self.distill is not None and self.student is None and self.prune is None:
            raise OptionError(
                "distill",
                " needs a smaller student: pass --student layers:N (a shallower "
                "copy of the teacher), --student preset:NAME or a model, or --prune S to "
                "distill into the teacher while it is pruned",
            )
        if (
            self.prune is None
            and self.distill is None
            and self.train.precision == "fp32"
            and not self.trim.enabled
        ):
            raise LahanError(
                "nothing to do: pass --prune S, --distill (with --student), --trim-vocab "
                "or --precision"
            )
        if self.distill and self.distill.uses_attention and self.prune is not None:
            raise OptionError(
                "attention_weight",
                " cannot be combined with --prune: pruned heads have no "
                "meaningful attention maps; use --hidden-weight for intermediate distillation",
            )

    @property
    def trains(self) -> bool:
        return self.prune is not None or self.distill is not None

    def name(self) -> str:
        """A short human name, e.g. 'prune 50% heads + KD + bf16'."""
        parts = []
        if self.prune:
            p = self.prune
            one_shot = " one-shot" if p.one_shot else ""
            uniform = " uniform" if p.allocation == "uniform" else ""
            parts.append(f"prune {p.sparsity:.0%} {p.granularity}{one_shot}{uniform}")
        if self.distill:
            d = self.distill
            # --alpha 1 without hidden/attention losses is the labels-only control
            kind = "KD" if d.alpha < 1 or d.uses_hidden or d.uses_attention else "labels only"
            parts.append(f"{kind} into {self.student}" if self.student else kind)
        if self.trim.enabled:
            parts.append("trimmed vocabulary")
        if self.train.precision != "fp32":
            parts.append(self.train.precision)
        return " + ".join(parts)


# --------------------------------------------------------------------------- finetune, evaluate


@dataclass(frozen=True)
class FinetuneConfig:
    """`lahan finetune`: train a classifier (a checkpoint or a preset) on the train split,
    keep the best epoch by dev macro-F1, save it to ``out``."""

    model: ModelConfig
    data: DataConfig
    out: str
    train: TrainConfig = field(default_factory=TrainConfig)
    resume: bool = False  # continue a killed run from OUT.checkpoint


EVALUATE_SPLITS = ("train", "dev", "test", "all")  # all: every row of the source, unsplit


@dataclass
class EvaluateConfig:
    """`lahan evaluate`: score a saved classifier (lahan, Hugging Face, ONNX or the TF-IDF
    reference folder) on one split; JSON + PNG written to ``out``."""

    model: str = flag(
        help="a model folder saved by lahan (or any HF folder), or an ONNX folder from export",
        required=True,
    )
    data: DataConfig = internal()  # DataConfig's own flags
    split: str = flag(
        "dev",
        "which split to evaluate; all: every row of the source as given, unsplit (e.g. a "
        "whole test file)",
        choices=EVALUATE_SPLITS,
    )
    out: str | None = flag(None, "folder for the JSON and PNG", default_text="MODEL/eval")
    batch_size: int = flag(TrainConfig.eval_batch_size, "texts per forward pass")
    # None: the max length the model was trained with (an ONNX graph's is fixed at export)
    max_length: int | None = internal(None)
    relabel: bool = flag(False, "map labels by name")
    # names for a placeholder-labelled model's outputs (--labels / --label-map)
    labels: tuple | None = internal(None)

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (self.split in EVALUATE_SPLITS, "split", _one_of(self.split, EVALUATE_SPLITS)),
                (self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}"),
                (
                    self.max_length is None or 8 <= self.max_length <= 8192,
                    "max_length",
                    f"must be in [8, 8192], got {self.max_length}",
                ),
            ],
        )
        if self.out is not None and Path(self.out).exists() and not Path(self.out).is_dir():
            raise ConfigError("EvaluateConfig", "out", f"'{self.out}' is a file: pass a folder")

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out else Path(self.model) / "eval"


# --------------------------------------------------------------------------- the demo


@dataclass
class DemoConfig:
    """The offline demo: small enough to finish in well under a minute on two cores."""

    data: str = "demo"
    out: str = "runs/demo"
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(source="preset:tiny", vocab_size=3000)
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=12, batch_size=16, max_length=64, lr=1e-3, patience=4, seed=0
        )
    )
    prune: PruneConfig = field(
        default_factory=lambda: PruneConfig(sparsity=0.5, granularity="heads")
    )
    distill: DistillConfig = field(default_factory=DistillConfig)
    compress_train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=6, batch_size=16, max_length=64, lr=1e-3, patience=0, seed=0
        )
    )


# --------------------------------------------------------------------------- deployment

EXPORT_FORMATS = ("onnx",)
EXPORT_QUANTIZE = ("int8",)


@dataclass
class ExportConfig:
    format: str = flag("onnx", "export format", choices=EXPORT_FORMATS)
    quantize: str | None = flag(  # None or "int8" (onnxruntime dynamic quantization)
        None, "int8 dynamic quantization", choices=EXPORT_QUANTIZE, default_text=""
    )
    # int8 only: one weight scale per output column of each matrix instead of one per
    # matrix, so a column of small weights is not rounded to a few levels by another's
    # outlier (ONNX Runtime's per_channel)
    per_channel: bool = flag(
        False,
        "int8 only: one weight scale per output channel of each matrix instead of one per "
        "matrix (ONNX Runtime's per_channel; BENCHMARKS.md section 15 measures both)",
    )
    opset: int = flag(18, "ONNX opset")
    max_length: int | None = flag(  # None: the max length the model was trained with
        None, "tokens per text at inference", default_text="the model's training max length"
    )
    tolerance: float = internal(1e-3)  # fp32 export: largest logit difference from torch
    # names for a placeholder-labelled model's outputs (--labels / --label-map)
    labels: tuple | None = internal(None)

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (self.format in EXPORT_FORMATS, "format", _one_of(self.format, EXPORT_FORMATS)),
                (
                    self.quantize is None or self.quantize in EXPORT_QUANTIZE,
                    "quantize",
                    _one_of(str(self.quantize), EXPORT_QUANTIZE),
                ),
                (
                    not self.per_channel or self.quantize == "int8",
                    "per_channel",
                    "is read only by int8 quantization: add --quantize int8, or drop it",
                ),
                (
                    self.max_length is None or 8 <= self.max_length <= 8192,
                    "max_length",
                    f"must be in [8, 8192], got {self.max_length}",
                ),
            ],
        )


PREDICT_FORMATS = ("jsonl", "csv")


@dataclass
class PredictConfig:
    batch_size: int = flag(32, "texts per batch")
    chunk_lines: int = internal(2048)  # lines read before predicting: bounds memory
    format: str = flag("jsonl", "output format", choices=PREDICT_FORMATS)

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}"),
                (self.chunk_lines >= 1, "chunk_lines", f"must be >= 1, got {self.chunk_lines}"),
                (self.format in PREDICT_FORMATS, "format", _one_of(self.format, PREDICT_FORMATS)),
            ],
        )


@dataclass
class ServeConfig:
    host: str = flag("127.0.0.1", "address to listen on", default_text="127.0.0.1, loopback only")
    port: int = flag(8000, "port")
    max_texts: int = flag(64, "texts per request")
    max_chars: int = flag(10_000, "characters per text")
    max_body_bytes: int = flag(1_000_000, "bytes per request body")
    # how long the batcher waits for more requests
    batch_window_ms: float = flag(5.0, "micro-batch window: how long the batcher waits, in ms")
    # texts predicted together at most
    max_batch_texts: int = flag(128, "texts predicted together in one micro-batch at most")
    # texts waiting at most; beyond that 503 + Retry-After
    queue_texts: int = flag(2048, "texts waiting at most; beyond that 503 with Retry-After")
    timeout_s: float = flag(  # per request, queueing included
        30.0, "seconds per request, queueing included", name="--timeout"
    )
    batch_size: int = flag(32, "the model's batch size inside a micro-batch")

    def __post_init__(self) -> None:
        positive = (
            "max_texts",
            "max_chars",
            "max_body_bytes",
            "max_batch_texts",
            "queue_texts",
            "batch_size",
        )
        checks = [
            (getattr(self, n) >= 1, n, f"must be >= 1, got {getattr(self, n)}") for n in positive
        ]
        checks += [
            (
                self.batch_window_ms >= 0,
                "batch_window_ms",
                f"must be >= 0, got {self.batch_window_ms}",
            ),
            (self.timeout_s > 0, "timeout_s", f"must be > 0, got {self.timeout_s}"),
            (0 <= self.port <= 65535, "port", f"must be in 0..65535, got {self.port}"),
        ]
        _check(self, checks)


# --------------------------------------------------------------------------- measuring

DEFAULT_COUNTRY = "IND"  # the electricity grid CO2 is estimated for (the paper's users')


def parse_model_spec(spec: str) -> tuple[str, str, bool]:
    """``DIR[@OPTION[,OPTION]]`` -> (folder, precision, padded to max length).

    The options follow the last ``@``, unless the whole spec is a folder (``runs/m@v2``).
    """
    path, _, options = spec.rpartition("@")
    if not path or Path(spec).is_dir():
        path, options = spec, ""
    precision, padded = "fp32", False
    for option in filter(None, options.split(",")):
        if option == "padded":
            padded = True
        elif option in INFERENCE_PRECISIONS:
            if precision != "fp32" and option != precision:
                raise OptionError("model", f" '{spec}': two precisions ({precision}, {option})")
            precision = option
        else:
            raise OptionError(
                "model",
                f" '{spec}': unknown option '{option}' (use DIR@PRECISION with "
                f"PRECISION one of {'|'.join(INFERENCE_PRECISIONS)}, and/or DIR@padded)",
            )
    if not Path(path).is_dir():
        raise OptionError("model", f" '{path}': no such folder")
    return path, precision, padded


@dataclass
class BenchConfig:
    models: list[str] = flag(
        help="a model folder, DIR@bf16 / DIR@int8, DIR@padded, or an ONNX folder; repeat for "
        "each model",
        name="--model",
        repeat=True,
        required=True,
    )
    data: DataConfig = internal()  # DataConfig's own flags
    split: str = flag("test", "the split measured")
    batch_sizes: tuple[int, ...] = flag(
        (1, 32), "batch sizes timed, comma-separated", parse=_int_list, default_text="1,32"
    )
    # texts timed per batch size (batch 1 times the first 16)
    latency_texts: int = flag(64, "texts timed per batch size (batch 1: the first 16)")
    repeats: int = flag(5, "timed rounds")
    warmup: int = flag(1, "untimed warm-up rounds")
    throughput_batch_size: int = internal(32)
    min_energy_seconds: float = internal(5.0)
    country: str = flag(DEFAULT_COUNTRY, "grid the CO2 is estimated for (ISO code)")
    threads: int | None = flag(  # None: torch's default; recorded either way
        None, "torch threads", default_text="all cores"
    )
    relabel: bool = flag(False, "map dataset labels by name")
    # names for models whose outputs are LABEL_0, LABEL_1, ... (--labels / --label-map)
    labels: tuple | None = internal(None)
    names: list[str] = internal(default_factory=list)  # display names; default: the specs

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("BenchConfig", "models", "needs at least one model")
        self.models = list(self.models)
        for spec in self.models:
            parse_model_spec(spec)
        self.batch_sizes = tuple(self.batch_sizes)
        _check(
            self,
            [
                (self.repeats >= 1, "repeats", f"must be >= 1, got {self.repeats}"),
                (self.warmup >= 0, "warmup", f"must be >= 0, got {self.warmup}"),
                (
                    bool(self.batch_sizes) and all(b >= 1 for b in self.batch_sizes),
                    "batch_sizes",
                    f"must be one or more sizes, all >= 1, got {self.batch_sizes}",
                ),
                (
                    len(set(self.batch_sizes)) == len(self.batch_sizes),
                    "batch_sizes",
                    f"names a size twice: {self.batch_sizes}",
                ),
                (
                    self.latency_texts >= 1,
                    "latency_texts",
                    f"must be >= 1, got {self.latency_texts}",
                ),
                (
                    self.threads is None or self.threads >= 1,
                    "threads",
                    f"must be >= 1, got {self.threads}",
                ),
                (
                    not self.names or len(self.names) == len(self.models),
                    "names",
                    f"needs one name per model: {len(self.names)} names, {len(self.models)} models",
                ),
            ],
        )


REPORT_METRICS = ("accuracy", "macro_f1")


@dataclass
class SweepConfig:
    teacher: str = flag(help="a trained classifier folder", required=True)
    data: DataConfig = internal()  # DataConfig's own flags
    out: str = flag(help="sweep folder (results.jsonl, models, report)", required=True)
    grid: str = flag("paper", "paper, or a .toml/.yaml grid file")
    train: TrainConfig = internal(default_factory=lambda: train_defaults("compress"))
    # what pruning rows remove (heads: real speed-ups)
    granularity: str = flag("heads", "what pruning rows remove", choices=GRANULARITIES)
    split: str = flag("dev", "the split rows are scored on")
    # best rows: the fastest within this many accuracy points of the baseline
    within: float = flag(1.0, "accuracy points below the baseline still acceptable")
    repeats: int = internal(3)
    min_energy_seconds: float = internal(3.0)
    country: str = flag(DEFAULT_COUNTRY, "grid the CO2 is estimated for (ISO code)")

    def __post_init__(self) -> None:
        if not Path(self.teacher).is_dir():
            raise OptionError("teacher", f" '{self.teacher}': no such folder")
        _check(self, [(self.within >= 0, "within", f"must be >= 0, got {self.within}")])


@dataclass
class ReportConfig:
    metric: str = flag("accuracy", "the score --within is read on", choices=REPORT_METRICS)
    within: float = flag(1.0, "accuracy points below the baseline still acceptable")

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (self.metric in REPORT_METRICS, "metric", _one_of(self.metric, REPORT_METRICS)),
                (self.within >= 0, "within", f"must be >= 0, got {self.within}"),
            ],
        )


# --------------------------------------------------------------------------- records

CONFIG_CLASSES = {
    cls.__name__: cls
    for cls in (
        ModelConfig,
        DataConfig,
        TrainConfig,
        PretrainConfig,
        PruneConfig,
        DistillConfig,
        TrimConfig,
        LatencyConfig,
    )
}


# The configs whose fields declare their command-line flags (flag / internal): the CLI
# builds their options from the declarations and names a refused field's flag by them.
# Found by declaration: a config with one flag() field is here.
FLAGGED_CLASSES = {
    c.__name__: c
    for c in list(globals().values())
    if isinstance(c, type) and is_dataclass(c) and any(FLAG in f.metadata for f in fields(c))
}


def from_dict(cls: type, values: dict) -> Any:
    """Rebuild a config dataclass from its ``asdict`` form; nested configs included.

    Unknown keys (a field a later lahan added, or one an earlier lahan had) are
    ignored, and missing ones take today's default, so old records still load.
    """
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in known:
            continue
        nested = _nested_class(cls, name)
        if nested is not None and isinstance(value, dict):
            value = from_dict(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


_NESTED = {
    "CompressConfig": {
        "data": DataConfig,
        "train": TrainConfig,
        "prune": PruneConfig,
        "distill": DistillConfig,
        "trim": TrimConfig,
        "latency": LatencyConfig,
    }
}


def _nested_class(cls: type, name: str) -> type | None:
    return _NESTED.get(cls.__name__, {}).get(name)


def from_record(record: Any) -> dict[str, Any]:
    """The configs of a run, rebuilt from its ``lahan.json`` (a ``ModelRecord``, or the
    file's dict): ``{"TrainConfig": TrainConfig(...), ...}`` for every config it names."""
    stored = (record.get("config") if isinstance(record, dict) else record.config) or {}
    return {
        name: from_dict(CONFIG_CLASSES[name], values)
        for name, values in stored.items()
        if name in CONFIG_CLASSES and isinstance(values, dict)
    }


def config_dict(*configs: Any) -> dict:
    """``{ClassName: fields}`` for the configs given (how lahan.json stores them)."""
    return {type(c).__name__: asdict(c) for c in configs if c is not None and is_dataclass(c)}


# --------------------------------------------------------------------------- reference

REFERENCE_ANALYZERS = ("char_wb", "char", "word")


@dataclass
class ReferenceConfig:
    """The TF-IDF + linear SVM reference classifier (``lahan.reference``): the cheap model
    a compressed transformer has to beat."""

    ngram_min: int = 2
    ngram_max: int = 5
    analyzer: str = "char_wb"  # char_wb: character n-grams inside word boundaries
    sublinear_tf: bool = True  # 1 + log(tf): long documents do not drown short ones
    c: float = 1.0  # LinearSVC's C (inverse regularisation strength)
    max_features: int | None = None  # keep only the N most frequent n-grams; None: all
    seed: int = 0  # LinearSVC's random_state

    def __post_init__(self) -> None:
        _check(
            self,
            [
                (self.ngram_min >= 1, "ngram_min", f"must be >= 1, got {self.ngram_min}"),
                (
                    self.ngram_max >= self.ngram_min,
                    "ngram_max",
                    f"must be >= ngram_min ({self.ngram_min}), got {self.ngram_max}",
                ),
                (
                    self.analyzer in REFERENCE_ANALYZERS,
                    "analyzer",
                    _one_of(self.analyzer, REFERENCE_ANALYZERS),
                ),
                (self.c > 0, "c", f"must be > 0, got {self.c}"),
                (
                    self.max_features is None or self.max_features >= 1,
                    "max_features",
                    f"must be >= 1 (or None for all), got {self.max_features}",
                ),
                (self.seed >= 0, "seed", f"must be >= 0, got {self.seed}"),
            ],
        )
