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
    add_command,
    add_config_flags,
    add_data_arguments,
    add_label_arguments,
    add_resume_arguments,
    add_train_arguments,
    config_from_flags,
    config_values,
    data_config_from_args,
    label_names_from_args,
    train_config_from_args,
)
from lahan.config import (
    METHOD_FIELDS,
    CompressConfig,
    DistillConfig,
    PruneConfig,
    TrimConfig,
    canonical_precision,
    flag_name,
    train_defaults,
)
from lahan.errors import LahanError


def add_prune_arguments(parser: argparse.ArgumentParser, sparsity_flag: str) -> None:
    """Pruning flags; ``sparsity_flag`` is --sparsity (prune) or --prune (compress)."""
    g = parser.add_argument_group("pruning")
    if sparsity_flag == "--prune":  # compress: the sparsity's flag also turns pruning on
        g.add_argument(
            "--prune",
            type=float,
            default=None,
            metavar="SPARSITY",
            help="prune this fraction of encoder linear weights (e.g. 0.25); off if not given",
        )
        add_config_flags(g, PruneConfig, skip=("sparsity",))
    else:
        add_config_flags(g, PruneConfig)


def prune_config_from_args(args: argparse.Namespace, sparsity: float) -> PruneConfig:
    # a given-only option not given (score_lr, ...) takes the config's default; one given
    # that the method does not read is refused by PruneConfig itself (METHOD_FIELDS)
    return config_from_flags(PruneConfig, args, sparsity=sparsity)


def add_trim_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser.add_argument_group("vocabulary"), TrimConfig)


def trim_config_from_args(args: argparse.Namespace) -> TrimConfig:
    # TrimConfig refuses --trim-vocab-top / --trim-vocab-text without --trim-vocab
    return config_from_flags(TrimConfig, args)


def add_distill_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser.add_argument_group("distillation"), DistillConfig)


def distill_config_from_args(args: argparse.Namespace) -> DistillConfig:
    return config_from_flags(DistillConfig, args)


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

# computes with PyTorch or ONNX Runtime: the root CLI gives it --threads
COMPUTES = True


def register(subparsers) -> None:
    for method in ("prune", "distill", "compress"):
        _register(subparsers, method)


def _register(subparsers, method: str) -> None:
    p = add_command(
        subparsers,
        method,
        help=HELP[method],
        description=DESCRIPTION[method],
        examples=EXAMPLES[method],
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
        # compress without --prune: a given pruning option would be silently ignored
        for name in METHOD_FIELDS:
            if name in config_values(PruneConfig, args):
                raise LahanError(
                    f"{flag_name(PruneConfig, name)} is a pruning option, and this run has no "
                    "--prune S: add one, or drop it"
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
