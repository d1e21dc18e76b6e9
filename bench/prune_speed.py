"""Speed of pruned models at the paper's baseline shape (BERT-base, MuRIL vocabulary).

    python bench/prune_speed.py [--batch-size 32] [--seq-len 128] [--repeats 3]

Builds a randomly initialised BERT-base classifier (12 layers, 768 hidden, 12 heads,
3072 FFN, 197,285-token vocabulary, 12 labels): timing does not depend on the weights'
values, only on the shapes. For each sparsity it installs lahan's movement pruning
masks, gives the units random scores (a stand-in for trained movement scores: the
resulting *structure* differs, its *size* does not), bakes the masks, shrinks the
model with `shrink_to_dense`, and times every model on the same batch in the same run,
interleaved, after a warm-up. Prints one JSON object: per model, parameters, kept
heads / FFN neurons, median / p95 latency per batch and the ratio to the unpruned
model. Both granularities are shown: `heads` removes whole heads; `hybrid` zeroes
32x32 attention blocks, which almost never empties a whole head, so its attention
stays dense-sized and only the FFN shrinks.
"""

from __future__ import annotations

import argparse
import json

import torch
from precision_speed import BASE, SMOKE
from transformers import BertConfig, BertForSequenceClassification

from lahan.config import PruneConfig
from lahan.measure import batch_latency
from lahan.measure.machine import machine_info
from lahan.prune import shrink_to_dense, structure
from lahan.prune.movement import MovementPruning


def pruned_copy(sparsity: float, granularity: str, seed: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(**BASE)).eval()
    plugin = MovementPruning(model, PruneConfig(sparsity=sparsity, granularity=granularity))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for s in plugin.scores:
            s.scores.copy_(torch.randn(s.scores.shape, generator=g))
    # the masks at the end of the schedule (the final sparsity), then into the weights;
    # bake() keeps the masks it is given (those a run evaluated), it computes none
    plugin.on_step(1, 1)
    plugin.bake()
    return shrink_to_dense(model).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", default="0.25,0.5,0.75")
    parser.add_argument("--smoke", action="store_true", help="a tiny shape: checks the script")
    args = parser.parse_args()
    if args.smoke:
        BASE.update(SMOKE)

    torch.manual_seed(0)
    models = {"unpruned": BertForSequenceClassification(BertConfig(**BASE)).eval()}
    for level in (float(x) for x in args.levels.split(",")):
        for granularity in ("heads", "hybrid"):
            models[f"{granularity}-{level:.2f}"] = pruned_copy(level, granularity, seed=1)
    # one fixed random batch: timing depends on the shapes, not on the token values
    g = torch.Generator().manual_seed(0)
    batch = {
        "input_ids": torch.randint(
            1000, BASE["vocab_size"], (args.batch_size, args.seq_len), generator=g
        ),
        "attention_mask": torch.ones(args.batch_size, args.seq_len, dtype=torch.long),
    }
    latency = batch_latency(
        models, {name: [batch] for name in models}, args.batch_size, repeats=args.repeats
    )
    base = latency["unpruned"]["batch_median_s"]
    rows = {}
    for name, model in models.items():
        kept = structure(model)
        rows[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "heads": kept["heads_after"],
            "ffn": kept["ffn_after"],
            **latency[name],
            "speedup": base / latency[name]["batch_median_s"],
        }
    print(
        json.dumps(
            {
                "machine": machine_info(),
                "batch_size": args.batch_size,
                "seq_len": args.seq_len,
                "models": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
