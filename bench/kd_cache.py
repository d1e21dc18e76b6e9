"""Time saved by caching the teacher's outputs during distillation.

    python bench/kd_cache.py --teacher runs/small --data ../shared/data/mahanews \\
        [--student prune|layers:N] [--steps 40] [--repeats 3]

Trains the same student for the same ``--steps`` optimizer steps on the same batches,
once with the teacher's logits read from the cache and once with the teacher run on
every batch (`--no-cache`), alternating the two ``--repeats`` times in one process;
reports the median seconds per step of each and their ratio, plus the one-off time to
build the cache and the time to open it on a hit. ``prune`` = the paper's best
(distillation into the teacher while it is pruned 50% by heads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from lahan.batches import encode
from lahan.config import DataConfig, DistillConfig, PruneConfig, TrainConfig
from lahan.data import load_dataset
from lahan.distill import Distiller, make_student, teacher_outputs
from lahan.models import load_model
from lahan.prune.movement import MovementPruning
from lahan.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--student", default="prune")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    teacher, tok, _ = load_model(args.teacher)
    dataset = load_dataset(DataConfig(source=args.data))
    rows = dataset.split("train")
    texts = [r.text for r in rows]
    ids = [teacher.config.label2id[r.label] for r in rows]
    encodings = encode(tok, texts, args.max_length).encodings
    cache_dir = tempfile.mkdtemp(prefix="lahan-kd-cache-")
    started = time.perf_counter()
    cached, info = teacher_outputs(teacher, tok, encodings, cache_dir, progress=False)
    build_s = time.perf_counter() - started
    _, hit = teacher_outputs(teacher, tok, encodings, cache_dir, progress=False)

    config = TrainConfig(
        epochs=1,
        batch_size=32,
        max_length=args.max_length,
        lr=2e-4,
        group_by_length=True,
        max_steps=args.steps,
        patience=0,
        progress=False,
    )
    per_step: dict[str, list[float]] = {"cached": [], "live": []}
    for _ in range(args.repeats):
        for mode in ("cached", "live"):
            student = make_student(
                None if args.student == "prune" else args.student,
                teacher,
                tok,
                texts,
                args.max_length,
            )
            plugins = []
            if args.student == "prune":
                plugins.append(MovementPruning(student.model, PruneConfig(0.5, "heads")))
            distiller = Distiller(
                DistillConfig(),
                layer_map=student.layer_map,
                student_width=student.model.config.hidden_size,
                teacher_width=teacher.config.hidden_size,
                cached=cached if mode == "cached" else None,
                teacher=teacher if mode == "live" else None,
            )
            result = train(
                student.model,
                tok,
                texts,
                ids,
                texts[:32],
                ids[:32],
                config,
                loss_fn=distiller,
                plugins=[*plugins, distiller],
            )
            per_step[mode].append(result.train_seconds / result.steps)
    cached_s, live_s = (statistics.median(per_step[m]) for m in ("cached", "live"))
    print(
        json.dumps(
            {
                "teacher": args.teacher,
                "student": args.student,
                "train_examples": len(texts),
                "steps": args.steps,
                "threads": torch.get_num_threads(),
                "cache_build_s": round(build_s, 2),
                "cache_hit_open_s": hit["seconds"],
                "seconds_per_step": {"cached": cached_s, "live": live_s},
                "all_runs": per_step,
                "live_over_cached": live_s / cached_s,
                "epoch_saving_s": (live_s - cached_s) * len(texts) / 32,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
