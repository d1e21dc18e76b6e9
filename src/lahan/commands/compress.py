"""`lahan prune`, `lahan distill` and `lahan compress`: one job, three presets.

All three build a ``CompressConfig`` and run ``lahan.recipes.compress``; they differ in
which options they show and in their training defaults (``METHOD_TRAIN_DEFAULTS`` in
``lahan.config``, the same ones the Python API uses):
  * prune: structured pruning (``--sparsity``; heads + FFN neurons by default), then shrink;
  * distill: knowledge distillation into a ``--student``;
  * compress: any combination, with ``--prune S``, ``--distill`` and ``--precision``.
"""

from __future__ import annotations

import argparse

from lahan.commands._args import (
    add_data_arguments,
    add_label_arguments,
    add_resume_arguments,
    add_train_arguments,
    data_config_from_args,
    label_names_from_args,
    train_config_from_args,
)
from lahan.config import (
    ALLOCATIONS,
    CACHE_ENV,
    GRANULARITIES,
    METHODS,
    CompressConfig,
    DistillConfig,
    PruneConfig,
    TrimConfig,
    canonical_precision,
    train_defaults,
)
from lahan.errors import OptionError


def _block(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(x) for x in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLS like 32x32, got '{text}'") from err
    return rows, cols


def add_prune_arguments(parser: argparse.ArgumentParser, sparsity_flag: str) -> None:
    """Pruning flags; ``sparsity_flag`` is --sparsity (prune) or --prune (compress)."""
    d = PruneConfig()
    g = parser.add_argument_group("pruning")
    if sparsity_flag == "--prune":
        g.add_argument(
            "--prune",
            type=float,
            default=None,
            metavar="SPARSITY",
            help="prune this fraction of encoder linear weights (e.g. 0.25); off if not given",
        )
    else:
        g.add_argument(
            "--sparsity",
            type=float,
            default=d.sparsity,
            help=f"fraction of encoder linear weights removed (default {d.sparsity})",
        )
    g.add_argument(
        "--granularity",
        choices=GRANULARITIES,
        default=d.granularity,
        help="heads: whole attention heads + FFN neurons, removed outright (the shrunk "
        "encoder keeps 1-S of its linear weights); hybrid: 32x32 attention blocks + FFN "
        "neurons, which rarely empties a head, so the attention matrices keep their size: "
        "it costs speed and size (at BERT-base shape 1.18x/1.51x/2.01x at 25/50/75%% vs "
        "1.32x/2.03x/3.78x for heads; 81/63/38%% of the encoder weights kept instead of "
        "75/50/25%%) and kept 1-2.5 points more accuracy on a pretrained MahaNews teacher "
        f"(BENCHMARKS.md section 10) (default {d.granularity})",
    )
    g.add_argument(
        "--block",
        type=_block,
        default=d.block,
        help=f"attention block for hybrid, ROWSxCOLS; ignored by heads "
        f"(default {d.block[0]}x{d.block[1]})",
    )
    g.add_argument(
        "--method",
        choices=METHODS,
        default=d.method,
        help="hard: movement pruning, exact top-k; soft: movement pruning, sigmoid threshold "
        "+ L1; taylor: one-shot (heads granularity), each head and FFN neuron scored once "
        "from the loss gradients (|W * dL/dW| over the unit), the lowest removed before "
        "training, so every epoch trains the small model: cheaper, as TextPruner and "
        f"Torch-Pruning prune (BENCHMARKS.md section 14) (default {d.method})",
    )
    g.add_argument(
        "--score-batches",
        type=int,
        default=None,
        help=f"taylor only (refused with hard and soft): training batches whose gradients "
        f"score the units (default {d.score_batches})",
    )
    g.add_argument(
        "--allocation",
        choices=ALLOCATIONS,
        default=d.allocation,
        help="hard and taylor: global ranks heads (and FFN neurons) across all layers, so "
        "layers keep uneven shares; uniform ranks within each layer, so every layer keeps "
        "1-S of its heads and neurons (at least one), as TextPruner and Torch-Pruning do; "
        "with --granularity hybrid, each attention matrix keeps 1-S of its blocks "
        f"(default {d.allocation})",
    )
    g.add_argument(
        "--score-lr",
        type=float,
        default=None,
        help=f"movement pruning (hard, soft) only, refused with taylor: learning rate of the "
        f"pruning scores (default {d.score_lr})",
    )
    g.add_argument(
        "--ffn-multiple",
        type=int,
        default=d.ffn_multiple,
        help="each layer keeps a multiple of this many FFN neurons: half-precision GPU "
        "kernels want multiples of 8 (an H200 ran a 25%% model 1.87x faster in fp16 with "
        f"them, BENCHMARKS.md section 12); 1 keeps the exact top-k (default {d.ffn_multiple})",
    )


def prune_config_from_args(args: argparse.Namespace, sparsity: float) -> PruneConfig:
    return PruneConfig(
        sparsity=sparsity,
        granularity=args.granularity,
        block=args.block,
        method=args.method,
        allocation=args.allocation,
        ffn_multiple=args.ffn_multiple,
        # None: not given, the config's default applies; a given value the method does
        # not read is refused by PruneConfig itself (METHOD_FIELDS)
        **{k: v for k in ("score_lr", "score_batches") if (v := getattr(args, k)) is not None},
    )


def add_trim_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("vocabulary")
    g.add_argument(
        "--trim-vocab",
        action="store_true",
        help="keep only the tokens of the training data (+ special tokens)",
    )
    g.add_argument(
        "--trim-vocab-top",
        type=int,
        default=TrimConfig().keep_top_n,
        help="with --trim-vocab, also keep the N most common tokens, whether the texts use "
        "them or not (WordPiece: the N lowest ids; SentencePiece/Unigram: the N highest "
        "scores)",
    )
    g.add_argument(
        "--trim-vocab-text",
        action="append",
        default=None,
        metavar="FILE",
        help="with --trim-vocab, also keep every piece of this unlabeled text (.txt or "
        ".txt.gz, one text per line; repeatable), so that text such as what the model "
        "will serve splits exactly as before",
    )


def trim_config_from_args(args: argparse.Namespace):
    # TrimConfig refuses --trim-vocab-top / --trim-vocab-text without --trim-vocab
    return TrimConfig(args.trim_vocab, args.trim_vocab_top, tuple(args.trim_vocab_text or ()))


def add_distill_arguments(parser: argparse.ArgumentParser) -> None:
    d = DistillConfig()
    g = parser.add_argument_group("distillation")
    g.add_argument(
        "--temperature",
        type=float,
        default=d.temperature,
        help=f"softmax temperature of the soft targets (default {d.temperature})",
    )
    g.add_argument(
        "--alpha",
        type=float,
        default=d.alpha,
        help=f"weight of the hard-label loss; soft targets get 1 - alpha (default {d.alpha})",
    )
    g.add_argument(
        "--hidden-weight",
        type=float,
        default=d.hidden_weight,
        help="weight of the hidden-state MSE between mapped layers (default 0: off)",
    )
    g.add_argument(
        "--attention-weight",
        type=float,
        default=d.attention_weight,
        help="weight of the attention-map loss between mapped layers (default 0: off; "
        "the teacher then runs on every batch)",
    )
    g.add_argument(
        "--no-cache",
        action="store_true",
        help="run the teacher on every batch instead of caching its outputs once",
    )
    g.add_argument(
        "--cache-dir",
        default=d.cache_dir,
        help=f"where teacher outputs are cached (default ${CACHE_ENV} or ~/.cache/lahan)",
    )


def distill_config_from_args(args: argparse.Namespace) -> DistillConfig:
    return DistillConfig(
        temperature=args.temperature,
        alpha=args.alpha,
        hidden_weight=args.hidden_weight,
        attention_weight=args.attention_weight,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
    )


STUDENT_HELP = (
    "the student: layers:N (N of the teacher's layers, evenly spaced), layers:0,3,5 "
    "(these layers), preset:NAME (new model on the teacher's tokenizer), or a model "
    "folder / hub id that shares the teacher's tokenizer"
)


def add_teacher_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", required=True, help="a trained classifier folder or hub id")
    add_label_arguments(parser, "--teacher")


def add_output_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--relabel", action="store_true", help="map labels by name")
    parser.add_argument("--out", required=True, help=f"folder to write the {what} to")


def run_and_print(config, made_by: str) -> int:
    """Run the compress recipe for ``config``; print its summary on the main process."""
    from accelerate import PartialState

    from lahan.recipes.compress import RESULT_FILE, run_compress

    record = run_compress(config, made_by=made_by)
    if PartialState().is_main_process:
        print_summary(record)
        print(f"saved to {config.out} (summary: {config.out}/{RESULT_FILE})")
    return 0


def print_summary(record) -> None:
    """What prune/distill/compress print on success (``record``: a ``ModelRecord``)."""
    from lahan.evaluate import format_metrics_table

    print(f"configuration: {record.configuration}")
    m = record.metrics
    if record.table:
        print(record.table)
    rows = [("teacher", m["dev_teacher"]), ("compressed", m["dev"])]
    if m["dev_at_precision"]:
        rows.append((f"at {record.inference_precision}", m["dev_at_precision"]))
    print(format_metrics_table(rows))
    params = record.params
    line = f"parameters {params['teacher']['total']:,} -> {params['compressed']['total']:,}"
    if record.structure:
        s = record.structure
        line += f"; heads {s['heads_after']}/{s['heads_before']}"
        line += f"; FFN {s['ffn_after']}/{s['ffn_before']}"
    print(line)
    vocab = record.vocabulary
    if vocab:
        line = (
            f"vocabulary {vocab['vocab_size_before']:,} -> {vocab['vocab_size_after']:,} pieces; "
            f"texts that split differently: train {vocab.get('train_texts_changed', 0)}"
        )
        if vocab.get("heldout_texts"):
            line += f", dev {vocab['heldout_texts_changed']}/{vocab['heldout_texts']}"
        print(line)
    cache = record.distill_cache
    if cache and cache["mode"] == "cached":
        how = "cache hit" if cache["hit"] else "computed and cached"
        print(f"teacher outputs: {how} in {cache['seconds']:.1f}s ({cache['path']})")
    elif cache:
        print(f"teacher outputs: live ({cache['reason']})")
    if record.train:
        print(f"training took {record.train_seconds:.1f}s")
    lat = record.latency
    print(
        f"speed (batch {lat['compressed']['batch_size']}, dev texts, same run, "
        f"{canonical_precision(lat['precision'])} vs teacher fp32): "
        f"{lat['speedup_vs_teacher']:.2f}x the teacher's"
    )


# --------------------------------------------------------------------------- the three presets

EXAMPLES = {
    "prune": """\
examples:
  lahan prune --teacher runs/teacher --data ../shared/data/mahanews --sparsity 0.5 --out runs/p50
  lahan prune --teacher runs/teacher --data news.csv --sparsity 0.25 --granularity heads \\
      --trim-vocab --out runs/p25-heads
  # one-shot: heads and neurons chosen once from gradients, then the small model trained
  lahan prune --teacher runs/teacher --data news.csv --sparsity 0.5 --method taylor \\
      --out runs/p50-oneshot
  (pruning with distillation: lahan compress --prune 0.25 --distill ...)
""",
    "distill": """\
examples:
  lahan distill --teacher runs/teacher --student layers:3 --data ../shared/data/mahanews \\
      --out runs/kd-3layers
  lahan distill --teacher runs/teacher --student layers:0,2,5 --hidden-weight 1 --data news.csv \\
      --out runs/kd-hidden
  lahan distill --teacher l3cube-pune/marathi-topic-all-doc-v2 --student preset:small \\
      --data ../shared/data/mahanews --epochs 10 --out runs/kd-small
""",
    "compress": """\
examples:
  # the paper's best: 25% pruning + distillation into the pruned teacher
  lahan compress --teacher runs/teacher --data ../shared/data/mahanews --prune 0.25 \\
      --granularity heads --distill --out runs/p25-kd
  # a 3-layer student distilled from the teacher, trained in bf16
  lahan compress --teacher runs/teacher --data news.csv --distill --student layers:3 \\
      --precision bf16 --out runs/kd3-bf16
  # the vocabulary alone: a 250k SentencePiece table cut to the pieces the training
  # texts and an unlabeled corpus use (no training)
  lahan compress --teacher runs/e5-teacher --data news.csv --trim-vocab \\
      --trim-vocab-text corpus.txt --out runs/e5-trimmed
  # mixed precision alone (inference under autocast; fp16 needs a GPU)
  lahan compress --teacher runs/teacher --data news.csv --precision fp16 --out runs/fp16
""",
}

HELP = {
    "prune": "prune a trained classifier (heads and FFN neurons, or blocks) and shrink it",
    "distill": "distill a trained classifier into a smaller student",
    "compress": "prune, distill and/or change precision, in one run",
}

DESCRIPTION = {
    "prune": "Prune a trained classifier while training on the train split (movement "
    "pruning of whole attention heads and FFN neurons by default; --granularity hybrid "
    "prunes 32x32 attention blocks, --method taylor scores the units once before "
    "training), then shrink the masks into a smaller dense model that reloads exactly. "
    "Writes the model, a per-layer table, a structure heatmap, parameters before/after, "
    "dev accuracy and the latency ratio against the teacher.",
    "distill": "Train a student on the teacher's soft targets (KL at temperature T, "
    "scaled by T^2) mixed with the labels (weight --alpha), optionally also matching "
    "hidden states and attention maps of mapped layers. The teacher's outputs are "
    "computed once and cached on disk. Writes the student, its dev scores, train time, "
    "size and speed against the teacher.",
    "compress": "Apply any combination of structured pruning (--prune), knowledge "
    "distillation (--distill, into the pruned teacher or a --student) and mixed "
    "precision (--precision, for training and inference), in that order, under one "
    "configuration. Writes one model folder that reloads exactly and records how it "
    "was made, with result.json: dev accuracy and macro-F1, train time, parameters, "
    "size on disk, and the speed ratio against the teacher measured in the same run.",
}

OUTPUT = {"prune": "pruned model", "distill": "student", "compress": "compressed model"}


def register(subparsers) -> None:
    for method in ("prune", "distill", "compress"):
        _register(subparsers, method)


def _register(subparsers, method: str) -> None:
    p = subparsers.add_parser(
        method,
        help=HELP[method],
        description=DESCRIPTION[method],
        epilog=EXAMPLES[method],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_teacher_argument(p)
    if method == "distill":
        p.add_argument("--student", required=True, help=STUDENT_HELP)
    add_data_arguments(p)
    if method != "distill":
        add_prune_arguments(p, "--sparsity" if method == "prune" else "--prune")
    if method == "compress":
        p.add_argument("--distill", action="store_true", help="train with knowledge distillation")
        p.add_argument("--student", default=None, help=STUDENT_HELP + " (with --distill)")
    if method != "prune":
        add_distill_arguments(p)
    add_trim_arguments(p)
    add_train_arguments(p, train_defaults(method))
    add_resume_arguments(p)
    add_output_arguments(p, OUTPUT[method])
    p.set_defaults(func=run, job=method)  # not "method": that is --method (hard/soft)


def config_from_args(args: argparse.Namespace) -> CompressConfig:
    method = args.job
    if method == "prune":
        prune = prune_config_from_args(args, args.sparsity)
    elif method == "compress" and args.prune is not None:
        prune = prune_config_from_args(args, args.prune)
    else:
        prune = None
        # compress without --prune: the pruning options would be silently ignored
        for name in ("score_lr", "score_batches"):
            if getattr(args, name, None) is not None:
                raise OptionError(
                    name, " is a pruning option, and this run has no --prune S: add one, or drop it"
                )
    distills = method == "distill" or (method == "compress" and args.distill)
    return CompressConfig(
        teacher=args.teacher,
        teacher_labels=label_names_from_args(args),
        data=data_config_from_args(args),
        out=args.out,
        train=train_config_from_args(args),
        prune=prune,
        distill=distill_config_from_args(args) if distills else None,
        student=getattr(args, "student", None),
        trim=trim_config_from_args(args),
        relabel=args.relabel,
        resume=args.resume,
        method=method,
    )


def run(args: argparse.Namespace) -> int:
    return run_and_print(config_from_args(args), made_by=args.job)
