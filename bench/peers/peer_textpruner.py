"""TextPruner 1.1 as a peer of ``lahan compress --prune S --granularity heads`` and of
``lahan compress --trim-vocab``.

Runs in its own venv (textpruner 1.1.post2, transformers 4.57: TextPruner calls
``model.prune_heads``, which transformers 5 removed), never imports lahan:

    <venv>/bin/python bench/peers/peer_textpruner.py --split DIR --teacher DIR \\
        --task prune --sparsity 0.5 [--finetune] --epochs 4 --lr 2e-4 --work DIR --out ROW.json
    <venv>/bin/python bench/peers/peer_textpruner.py ... --task vocab --work DIR --out ROW.json

``prune``: ``TransformerPruner`` as TextPruner documents it for a classifier: the
'iterative' method (the one that scores heads and FFN neurons from data: |w * dL/dw| of
the attention-output and FFN weights, summed over a dataloader of labelled train texts,
the loss being the model's own cross-entropy), everything else at TextPruner's defaults
(n_iters=1, head_even_masking and ffn_even_masking on, so every layer keeps the same
counts). The targets match lahan's budget: round((1-S)*heads) heads and
round((1-S)*intermediate) FFN neurons in every layer (at least one of each).

``vocab``: ``VocabularyPruner`` over the train texts: the embedding rows of tokens that
never occur in them go, and TextPruner writes a vocab.txt from which the tokenizer is
rebuilt. The pruned model is evaluated and timed with that pruned tokenizer.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import common
import torch


def budget(n: int, sparsity: float) -> int:
    """How many of ``n`` units stay: lahan keeps 1-S of the encoder's linear weights.
    At least one: TextPruner's mask code keeps *everything* when a layer's target is 0
    (it drops ``order[:-0]``, an empty slice)."""
    return max(1, round((1 - sparsity) * n))


def shapes(model) -> tuple[list[int], list[int]]:
    """Heads and FFN neurons per layer, read off the modules and weights."""
    layers = model.base_model.encoder.layer
    heads = [layer.attention.self.num_attention_heads for layer in layers]
    ffn = [layer.intermediate.dense.weight.shape[0] for layer in layers]
    return heads, ffn


def importance_loader(tokenizer, split: common.Split, batch_size: int, batches: int):
    """Batches of train texts with labels, as dicts the model takes as keyword
    arguments: with ``labels`` in them the model returns its loss, which TextPruner
    back-propagates (no adaptor needed). Not shuffled: the scores are sums over all."""
    rows = split.train[: batches * batch_size] if batches > 0 else split.train

    def collate(chunk):
        enc = tokenizer(
            [r.text for r in chunk],
            truncation=True,
            max_length=split.max_length,
            padding=True,
            return_tensors="pt",
        )
        enc["labels"] = torch.tensor([r.label for r in chunk])
        return dict(enc)

    return torch.utils.data.DataLoader(
        rows, batch_size=batch_size, shuffle=False, collate_fn=collate
    )


def prune(args, split: common.Split) -> dict:
    from textpruner import GeneralConfig, TransformerPruner, TransformerPruningConfig

    if not 0 < args.sparsity < 1:
        raise SystemExit(f"--sparsity must lie in (0, 1), got {args.sparsity}")
    teacher, tokenizer = common.load_teacher(args.teacher)  # untouched: the speed reference
    model, _ = common.load_teacher(args.teacher)  # the copy TextPruner prunes in place
    heads, ffn = shapes(model)
    keep_heads, keep_ffn = budget(heads[0], args.sparsity), budget(ffn[0], args.sparsity)
    loader = importance_loader(tokenizer, split, args.batch_size, args.importance_batches)

    config = TransformerPruningConfig(
        target_ffn_size=keep_ffn,  # per layer (TextPruner multiplies by the layer count)
        target_num_of_heads=keep_heads,
        pruning_method="iterative",
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    pruner = TransformerPruner(
        model,
        transformer_pruning_config=config,
        # CPU as the rest of the study; its importance scores are cached in --work
        general_config=GeneralConfig(
            use_device="cpu", output_dir=str(Path(args.work) / "textpruner")
        ),
    )
    # save_model=False: the row measures the model here (a head-pruned model folder
    # could not be loaded by transformers 5 anyway: pruned_heads in config.json)
    pruner.prune(dataloader=loader, save_model=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    model.eval()
    model.zero_grad(set_to_none=True)  # the importance pass leaves gradients behind

    heads_after, ffn_after = shapes(model)
    if heads_after != [keep_heads] * len(heads) or ffn_after != [keep_ffn] * len(ffn):
        raise RuntimeError(
            f"pruned to heads {heads_after}, FFN {ffn_after}; wanted {keep_heads}, {keep_ffn}"
        )
    if common.parameters(model) >= common.parameters(teacher):
        raise RuntimeError("the pruned model is not smaller than the teacher")
    common.hf_logits(model, tokenizer, split.max_length)([r.text for r in split.dev[:2]])  # it runs
    print(
        f"pruned in {wall:.1f} s: heads {heads} -> {heads_after}, FFN {ffn} -> {ffn_after}",
        file=sys.stderr,
    )

    c = pruner.transformer_pruning_config
    notes = (
        f"TransformerPruner, pruning_method={c.pruning_method}, n_iters={c.n_iters}, "
        f"head_even_masking={c.head_even_masking}, ffn_even_masking={c.ffn_even_masking}, "
        f"pruning_order={c.pruning_order}, use_logits={c.use_logits}, multiple_of={c.multiple_of}; "
        f"importance from the loss gradients of {len(loader)} train batches of {args.batch_size} "
        f"(eval mode); kept {keep_heads}/{heads[0]} heads and {keep_ffn}/{ffn[0]} FFN neurons "
        "in every layer (round((1-S)*n), at least 1)"
    )
    return common.pruned_row(
        args,
        split,
        "textpruner",
        teacher,
        tokenizer,
        model,
        wall,
        cpu,
        extra={
            "notes": notes,
            "layer_heads": heads_after,
            "layer_ffn": ffn_after,
            "versions": common.versions("textpruner"),
        },
    )


def pruned_tokenizer(teacher_folder: str, save_dir: str):
    """The tokenizer rebuilt from TextPruner's vocab.txt ("Reintialize the tokenizer!", it
    says). Its folder holds only vocab.txt and config.json, and a BERT tokenizer built
    from that alone lower-cases; the teacher's tokenizer_config.json brings its settings
    (cased, accents, special tokens) along."""
    from transformers import AutoTokenizer

    shutil.copy(
        Path(teacher_folder) / "tokenizer_config.json", Path(save_dir) / "tokenizer_config.json"
    )
    return AutoTokenizer.from_pretrained(save_dir)


def vocab(args, split: common.Split) -> dict:
    from textpruner import GeneralConfig, VocabularyPruner

    teacher, tokenizer = common.load_teacher(args.teacher)
    model, _ = common.load_teacher(args.teacher)
    vocab_before = model.get_input_embeddings().weight.shape[0]

    started, cpu_started = time.perf_counter(), time.process_time()
    pruner = VocabularyPruner(
        model,
        tokenizer,
        general_config=GeneralConfig(
            use_device="cpu", output_dir=str(Path(args.work) / "textpruner")
        ),
    )
    # save_model=True: the pruned vocab.txt is only written when saving
    save_dir = pruner.prune(dataiter=[r.text for r in split.train], save_model=True)
    new_tokenizer = pruned_tokenizer(args.teacher, save_dir)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    model.eval()
    vocab_after = model.get_input_embeddings().weight.shape[0]
    if vocab_after != len(new_tokenizer) or vocab_after >= vocab_before:
        raise RuntimeError(
            f"embeddings {vocab_after} rows, tokenizer {len(new_tokenizer)}, before {vocab_before}"
        )
    print(f"vocabulary {vocab_before} -> {vocab_after} in {wall:.1f} s", file=sys.stderr)

    old_fn = common.hf_logits(teacher, tokenizer, split.max_length)
    new_fn = common.hf_logits(model, new_tokenizer, split.max_length)
    scores, predicted = common.evaluate(new_fn, split)
    _, teacher_predicted = common.evaluate(old_fn, split)
    same = sum(p == q for p, q in zip(predicted, teacher_predicted, strict=True))
    agreement = same / len(predicted)

    # On dev texts whose tokens all survived, the pruned pair must be the teacher exactly:
    # same tokens (greedy WordPiece picks the same pieces when they all remain), same
    # logits. Batched alike, so the padding is the same too.
    kept = set(pruner.pruned_token_ids)
    covered = [r.text for r in split.dev if set(tokenizer(r.text)["input_ids"]) <= kept]
    if covered:
        for text in covered:
            old = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
            new = new_tokenizer.convert_ids_to_tokens(new_tokenizer(text)["input_ids"])
            if old != new:
                raise RuntimeError(
                    f"the pruned tokenizer splits {text!r} differently: {old} vs {new}"
                )
        old_logits, new_logits = (
            common.logits_over(old_fn, covered),
            common.logits_over(new_fn, covered),
        )
        if not torch.allclose(old_logits, new_logits, atol=1e-4) or not torch.equal(
            old_logits.argmax(-1), new_logits.argmax(-1)
        ):
            raise RuntimeError(
                "pruned tokenizer + model differ from the teacher on fully covered dev texts"
            )

    timed = common.speed(
        {"teacher": old_fn, "textpruner": new_fn}, [r.text for r in split.dev], repeats=args.repeats
    )
    # the keys of common.pruned_row, which takes one tokenizer for both models
    return {
        "peer": "textpruner",
        "task": args.task,
        "sparsity": args.sparsity,
        "finetuned": False,  # vocabulary pruning never fine-tunes
        "dev": scores,
        "speed": timed["textpruner"],
        "teacher_speed": timed["teacher"],
        "params": common.parameters(model),
        "teacher_params": common.parameters(teacher),
        "size_bytes": common.stored_size(model),
        "teacher_size_bytes": common.stored_size(teacher),
        "compress_seconds": wall,
        "compress_cpu_seconds": cpu,
        "train": None,
        "threads": args.threads,
        "seed": args.seed,
        "versions": common.versions("textpruner"),
        "vocab_before": vocab_before,
        "vocab_after": vocab_after,
        "agreement": agreement,
        "dev_fully_covered": len(covered),
        "notes": (
            f"VocabularyPruner, min_count={pruner.vocabulary_pruning_config.min_count} "
            f"(default), over {len(split.train)} train texts; tokenizer rebuilt from its "
            "vocab.txt with the teacher's tokenizer_config.json; identical to the teacher on "
            f"the {len(covered)} of {len(split.dev)} dev texts whose tokens all survived "
            "(checked); agreement = share of dev predictions equal to the teacher's; time "
            "includes the tokenizer rebuild"
        ),
    }


def main() -> None:
    parser = common.step_args("TextPruner 1.1: heads + FFN pruning, or vocabulary pruning")
    parser.add_argument(
        "--importance-batches",
        type=int,
        default=0,
        help="train batches for TextPruner's importance scores "
        "(0: all, as TextPruner iterates its whole dataloader)",
    )
    args = parser.parse_args()
    split = common.setup(args)
    tasks = {"prune": prune, "vocab": vocab}
    if args.task not in tasks:
        raise SystemExit(f"--task must be one of {sorted(tasks)}, got {args.task!r}")
    if args.task == "vocab" and args.finetune:
        raise SystemExit("--task vocab does not fine-tune")
    common.write_row(args.out, tasks[args.task](args, split))


if __name__ == "__main__":
    main()
