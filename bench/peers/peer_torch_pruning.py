"""Torch-Pruning 1.6 as a peer of ``lahan compress --prune S --granularity heads``.

Runs in its own venv (torch-pruning 1.6, transformers 5.x), never imports lahan:

    <venv>/bin/python bench/peers/peer_torch_pruning.py --split DIR --teacher DIR \\
        --task prune --sparsity 0.5 [--finetune] --epochs 4 --lr 2e-4 --work DIR --out ROW.json

The pruning follows Torch-Pruning's own recipe for Hugging Face BERT
(examples/transformers/prune_hf_bert.py): a MetaPruner over the whole classifier, the
q/k/v projections of each self-attention declared with their ``num_heads`` so that whole
heads go (``prune_num_heads=True, prune_head_dims=False``), then the attention modules'
head counts updated by hand. Two departures, both to match lahan's budget: the ratios are
set per layer so exactly round((1-S)*heads) heads and round((1-S)*intermediate) FFN
neurons stay in every layer, and the hidden size is left alone (embeddings, pooler and
classifier ignored: the hidden-size group runs through the embeddings, so it is never
pruned). The pruned model cannot be saved as a model folder (a standard config cannot
describe it), so it is measured here, in this process.
"""

from __future__ import annotations

import time

import common
import torch

TAYLOR_BATCHES = 8  # batches of train texts whose gradients feed the Taylor importance


def budget(n: int, sparsity: float, at_least: int = 1) -> int:
    """How many of ``n`` units stay: lahan keeps 1-S of the encoder's linear weights."""
    return max(at_least, round((1 - sparsity) * n))


def prune(model, tokenizer, split, sparsity: float, batch_size: int, taylor: bool) -> dict:
    """Prune ``model`` in place; return the importance used and the kept counts."""
    import torch_pruning as tp
    from transformers.models.bert.modeling_bert import BertSelfAttention

    bert, layers = model.bert, model.bert.encoder.layer
    attentions = [m for m in model.modules() if isinstance(m, BertSelfAttention)]
    heads = attentions[0].num_attention_heads
    ffn = layers[0].intermediate.dense.out_features
    keep_heads, keep_ffn = budget(heads, sparsity), budget(ffn, sparsity)

    texts = [r.text for r in split.train]
    labels = torch.tensor([r.label for r in split.train])

    def encode(batch: list[str]):
        return tokenizer(
            batch, truncation=True, max_length=split.max_length, padding=True, return_tensors="pt"
        )

    example = dict(encode(texts[:2]))  # padded, so the traced graph sees a mask

    num_heads = {}
    for m in attentions:
        for linear in (m.query, m.key, m.value):
            num_heads[linear] = m.num_attention_heads
    # Torch-Pruning removes ceil(ratio * n) heads and n - int(n * (1 - ratio)) channels;
    # ratios half a unit off the exact budget make both land on it despite float error.
    head_ratio = (heads - keep_heads - 0.5) / heads
    ffn_ratio = 1 - (keep_ffn + 0.5) / ffn

    if taylor:
        importance = tp.importance.GroupTaylorImportance()
    else:
        importance = tp.importance.GroupMagnitudeImportance(p=2)
    pruner = tp.pruner.MetaPruner(
        model,
        example,
        importance=importance,
        global_pruning=False,  # the same budget in every layer, as lahan's --prune
        iterative_steps=1,
        # a non-zero default ratio is needed for the attention groups to be visited at
        # all; with prune_head_dims=False only whole heads go there
        pruning_ratio=sparsity,
        pruning_ratio_dict={layer.intermediate.dense: ffn_ratio for layer in layers},
        num_heads=num_heads,
        prune_num_heads=True,
        prune_head_dims=False,
        head_pruning_ratio=sparsity,
        head_pruning_ratio_dict={m: head_ratio for m in attentions},
        output_transform=lambda out: out.logits.sum(),
        # a group is skipped when it would prune an ignored layer's outputs: ignoring the
        # embeddings keeps the hidden size (its group runs through them); the classifier's
        # outputs are the labels; the pooler is neither a head nor the FFN
        ignored_layers=[bert.embeddings, bert.pooler, model.classifier],
    )

    if taylor:
        # |w * dL/dw| from the cross-entropy of a few train batches, in eval mode so
        # dropout adds no noise to the scores
        model.zero_grad(set_to_none=True)
        batches = 0
        for i in range(0, min(len(texts), TAYLOR_BATCHES * batch_size), batch_size):
            logits = model(**encode(texts[i : i + batch_size])).logits
            torch.nn.functional.cross_entropy(logits, labels[i : i + batch_size]).backward()
            batches += 1
        notes = (
            f"importance: GroupTaylorImportance, gradients of {batches} train batches"
            f" of {batch_size}, eval mode"
        )
    else:
        notes = "importance: GroupMagnitudeImportance(p=2) (Taylor failed), no data"

    for group in pruner.step(interactive=True):
        group.prune()
    model.zero_grad(set_to_none=True)

    # As prune_hf_bert.py: the attention modules keep their own head counts. transformers
    # 5 reshapes q/k/v into (-1 heads, attention_head_size), so forward only needs the head
    # size unchanged (head dims are not pruned); the counts are set so the modules (and
    # anything reading them) describe the pruned model.
    for m in attentions:
        m.num_attention_heads = pruner.num_heads[m.query]
        m.all_head_size = m.query.out_features
        m.attention_head_size = m.all_head_size // m.num_attention_heads
    return {"notes": notes, "keep_heads": keep_heads, "keep_ffn": keep_ffn}


def shapes(model) -> tuple[list[int], list[int]]:
    """Heads and FFN neurons per layer, read from the weights (not the attributes)."""
    heads, ffn = [], []
    for layer in model.bert.encoder.layer:
        attention = layer.attention.self
        head_size = model.config.hidden_size // model.config.num_attention_heads
        for linear in (attention.query, attention.key, attention.value):
            assert linear.out_features % head_size == 0, linear
        assert attention.query.out_features == attention.key.out_features
        assert attention.query.out_features == attention.value.out_features
        assert layer.attention.output.dense.in_features == attention.query.out_features
        heads.append(attention.query.out_features // head_size)
        ffn.append(layer.intermediate.dense.out_features)
        assert layer.output.dense.in_features == ffn[-1]
    return heads, ffn


def main() -> None:
    parser = common.step_args(__doc__.splitlines()[0])
    args = parser.parse_args()
    if args.task != "prune":
        raise SystemExit(f"torch_pruning: unknown --task {args.task!r} (only prune)")
    if not 0 < args.sparsity < 1:
        raise SystemExit(f"--sparsity must lie in (0, 1), got {args.sparsity}")
    split = common.setup(args)
    teacher, tokenizer = common.load_teacher(args.teacher)  # untouched: the speed reference
    model, _ = common.load_teacher(args.teacher)
    hidden = model.config.hidden_size

    wall, cpu = time.perf_counter(), time.process_time()
    try:
        done = prune(model, tokenizer, split, args.sparsity, args.batch_size, taylor=True)
    except Exception as error:  # noqa: BLE001 - any Taylor failure: fall back, say so
        print(f"Taylor importance failed ({error!r}); pruning by L2 magnitude", flush=True)
        common.seed_everything(args.seed)
        model, _ = common.load_teacher(args.teacher)  # the failed try may have half-pruned it
        done = prune(model, tokenizer, split, args.sparsity, args.batch_size, taylor=False)
        # the timing below includes the failed try
        done["notes"] += f"; Taylor error: {error!r}"
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model.eval()

    heads, ffn = shapes(model)
    n_layers = model.config.num_hidden_layers
    want = ([done["keep_heads"]] * n_layers, [done["keep_ffn"]] * n_layers)
    if (heads, ffn) != want:
        raise SystemExit(f"pruned shapes {heads} / {ffn} miss the budget {want}")
    embeddings = model.bert.embeddings.word_embeddings
    if embeddings.embedding_dim != hidden or model.classifier.in_features != hidden:
        raise SystemExit("the hidden size was pruned")
    if common.parameters(model) >= common.parameters(teacher):
        raise SystemExit("pruning removed no parameters")
    print(
        f"pruned in {wall:.1f}s wall / {cpu:.1f}s CPU: heads {heads}, FFN {ffn}; {done['notes']}",
        flush=True,
    )

    row = common.pruned_row(
        args,
        split,
        "torch_pruning",
        teacher,
        tokenizer,
        model,
        wall,
        cpu,
        extra={
            "notes": done["notes"],
            "heads_per_layer": heads,
            "ffn_per_layer": ffn,
            "attn_implementation": model.config._attn_implementation,
            "versions": common.versions("torch-pruning"),
        },
    )
    common.write_row(args.out, row)


if __name__ == "__main__":
    main()
