"""lahan's rows of Study 4, measured by the same code as the peers' (common.py).

study.py makes each model with the lahan CLI, then runs this in lahan's environment:

    python bench/peers/peer_lahan.py --task measure --model runs/peers/models/lahan-prune50 \\
        --split runs/peers/split --teacher runs/peers/teacher --work W --out ROW.json

Tasks: ``measure`` (a lahan model folder, pruned or not), ``trim-vocab`` (lahan's
vocabulary trimming applied to the --model folder, here and now) and ``onnx`` (a
``lahan export`` folder, run by lahan's ONNX Runtime predictor).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import common
import torch


def _record_seconds(model: Path) -> dict:
    """What the run itself recorded (lahan.json / result.json), when it did."""
    result = model / "result.json"
    if not result.exists():
        return {}
    data = json.loads(result.read_text(encoding="utf-8"))
    keep = ("train_seconds", "speedup_vs_teacher", "best_epoch", "params")  # CompressResult
    return {k: data[k] for k in keep if k in data}


def main() -> None:
    parser = common.step_args(__doc__)
    parser.add_argument("--model", required=True, type=Path, help="the lahan model or export")
    parser.add_argument(
        "--make-seconds", type=float, default=0.0, help="wall time of the lahan run"
    )
    parser.add_argument("--make-cpu-seconds", type=float, default=0.0, help="its CPU time")
    parser.add_argument(
        "--paper-speed",
        action="store_true",
        help="also time each sub-dataset's dev texts apart, with the teacher padded to "
        "max_length (the paper's baseline) interleaved beside the teacher and the model",
    )
    args = parser.parse_args()
    split = common.setup(args)
    from lahan.models import load_model

    teacher, teacher_tokenizer, _ = load_model(args.teacher)
    reference = common.hf_logits(teacher, teacher_tokenizer, split.max_length)
    texts = [r.text for r in split.dev]
    row: dict = {"peer": "lahan", "task": args.task, "model": str(args.model)}

    if args.task in ("measure", "trim-vocab"):
        model, tokenizer, record = load_model(args.model)
        if args.task == "trim-vocab":
            # lahan's --trim-vocab step alone (compress runs it after training; here on
            # the teacher, as TextPruner's vocabulary pruning is run): no training
            from lahan.prune.vocab import trim_vocabulary

            started, cpu = time.perf_counter(), time.process_time()
            model, tokenizer, report = trim_vocabulary(
                model, tokenizer, [r.text for r in split.train], 0, split.max_length
            )
            args.make_seconds = time.perf_counter() - started
            args.make_cpu_seconds = time.process_time() - cpu
            row["vocab_report"] = report
        fn = common.hf_logits(model, tokenizer, split.max_length)
        prune = record.configs().get("PruneConfig")
        row |= {
            "params": common.parameters(model),
            "size_bytes": common.stored_size(model),
            "vocab_before": len(teacher_tokenizer),
            "vocab_after": len(tokenizer),
            "sparsity": getattr(prune, "sparsity", None),
        }
        batch_sizes: tuple[int, ...] = (32,)
    elif args.task == "onnx":
        from lahan.deploy.predictor import load_predictor

        predictor = load_predictor(args.model)

        def fn(batch: list[str]) -> torch.Tensor:
            return torch.as_tensor(predictor.logits(batch, len(batch)))

        row["size_bytes"] = sum(p.stat().st_size for p in args.model.glob("*.onnx*"))
        row["precision"] = predictor.precision
        batch_sizes = (1, 32)
    else:
        raise SystemExit(
            f"peer_lahan.py: unknown --task '{args.task}' (measure, trim-vocab or onnx)"
        )

    scores, predicted = common.evaluate(fn, split)
    _, teacher_predicted = common.evaluate(reference, split)
    timed = common.speed({"teacher": reference, "lahan": fn}, texts, batch_sizes, args.repeats)
    row |= {
        "dev": scores,
        "agreement": sum(a == b for a, b in zip(predicted, teacher_predicted, strict=True))
        / len(predicted),
        "speed": timed["lahan"],
        "teacher_speed": timed["teacher"],
        "teacher_params": common.parameters(teacher),
        "teacher_size_bytes": common.stored_size(teacher),
        "compress_seconds": args.make_seconds,
        "compress_cpu_seconds": args.make_cpu_seconds,
        "recorded": _record_seconds(args.model),
        "threads": args.threads,
        "seed": args.seed,
        "versions": common.versions("lahan", "onnxruntime"),
    }
    if args.paper_speed:
        padded = common.hf_logits(teacher, teacher_tokenizer, split.max_length, pad_to_max=True)
        row["speed_by_group"] = {}
        for group in sorted({r.group for r in split.dev}):
            chosen = [r.text for r in split.dev if r.group == group]
            fns = {"teacher": reference, "teacher_padded": padded, "lahan": fn}
            # 96 texts a group: the padded teacher runs at 128 tokens a text on one thread
            by = common.speed(fns, chosen, batch_sizes, args.repeats, texts_per_batch_size=96)
            for key, lahan in by["lahan"].items():  # the same process, interleaved
                lahan["ratio_vs_padded_teacher"] = (
                    by["teacher_padded"][key]["median_s"] / lahan["median_s"]
                )
            row["speed_by_group"][group] = by
    common.write_row(args.out, row)


if __name__ == "__main__":
    main()
