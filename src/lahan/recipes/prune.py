"""Prune a trained classifier with block movement pruning, shrink it, save it, measure it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lahan.data import DataConfig, load_dataset
from lahan.measure import compare_latency, count_parameters
from lahan.models import config_dict, load_model, model_labels, resolve_label_map, save_model
from lahan.prune import shrink_to_dense, structure
from lahan.prune.movement import MovementPruning, PruneConfig, describe
from lahan.prune.plot import plot_structure
from lahan.prune.vocab import check_trimmable, trim_vocabulary
from lahan.recipes.evaluate import evaluate_records, summary, write_report_files
from lahan.recipes.finetune import check_output_folder, data_summary
from lahan.train import TrainConfig, make_accelerator, train

log = logging.getLogger(__name__)


@dataclass
class TrimConfig:
    enabled: bool = False  # keep only the tokens of the training data (+ specials)
    keep_top_n: int = 0  # also keep the N most common (lowest-id) tokens


def run_prune(
    teacher: str | Path,
    data_config: DataConfig,
    prune_config: PruneConfig,
    train_config: TrainConfig,
    out: str | Path,
    trim: TrimConfig | None = None,
    relabel: bool = False,
) -> dict:
    """Prune ``teacher`` while training on ``train``; save the shrunk model to ``out``.

    Returns the record written to ``out/lahan.json``: sparsity per layer, structure,
    parameters before/after, dev metrics of teacher and pruned model, and the latency
    ratio pruned/teacher measured on the same dev batches in the same run.
    """
    trim = trim or TrimConfig()
    out = Path(out)
    check_output_folder(out)
    accelerator = make_accelerator(train_config)
    dataset = load_dataset(data_config)
    train_rows, dev_rows = dataset.split("train"), dataset.split("dev")
    model, tokenizer, teacher_record = load_model(teacher)
    label_map = resolve_label_map(model_labels(model), dataset.labels, relabel)
    if trim.enabled:  # refuse an impossible trim before training, not after
        check_trimmable(tokenizer, trim.keep_top_n)

    def ids(rows):
        return [model.config.label2id[label_map[r.label]] for r in rows]

    def dev_report(m, tok):
        return evaluate_records(
            m, tok, dev_rows, label_map, train_config.eval_batch_size, train_config.max_length
        )

    teacher_dev = dev_report(model, tokenizer)
    params_before = count_parameters(model)

    plugin = MovementPruning(model, prune_config)
    result = train(
        model,
        tokenizer,
        [r.text for r in train_rows],
        ids(train_rows),
        [r.text for r in dev_rows],
        ids(dev_rows),
        train_config,
        plugins=[plugin],
        accelerator=accelerator,
    )
    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    plugin.bake()
    sparsity = plugin.sparsity_report()
    masked_dev = dev_report(model, tokenizer)
    kept = structure(model)
    pruned = shrink_to_dense(model)
    shrunk_dev = dev_report(pruned, tokenizer)  # equals masked_dev: shrinking is exact
    vocab_report = None
    if trim.enabled:
        pruned, tokenizer, vocab_report = trim_vocabulary(
            pruned,
            tokenizer,
            [r.text for r in train_rows],
            trim.keep_top_n,
            train_config.max_length,
        )
    pruned_dev = dev_report(pruned, tokenizer)

    # Speed: teacher (reloaded unpruned) vs pruned, same dev batches, interleaved.
    unpruned, teacher_tok, _ = load_model(teacher)
    unpruned.to(next(pruned.parameters()).device)
    latency = compare_latency(
        {"teacher": unpruned, "pruned": pruned},
        {"teacher": teacher_tok, "pruned": tokenizer},
        [r.text for r in dev_rows][:256],
        batch_size=32,
        max_length=train_config.max_length,
        repeats=3,
    )
    speedup = latency["teacher"]["batch_median_s"] / latency["pruned"]["batch_median_s"]
    record = {
        "made_by": "prune",
        "teacher": str(teacher),
        "teacher_data_fingerprint": teacher_record.get("data", {}).get("fingerprint"),
        "config": config_dict(data_config, prune_config, train_config, trim),
        "data": data_summary(dataset),
        "train": result.to_dict(),
        "sparsity": sparsity,
        "structure": kept,
        "vocabulary": vocab_report,
        "params": {"teacher": params_before, "pruned": count_parameters(pruned)},
        "metrics": {
            "dev": summary(pruned_dev),
            "dev_teacher": summary(teacher_dev),
            "dev_masked": summary(masked_dev),
            "dev_shrunk": summary(shrunk_dev),  # before vocabulary trimming
        },
        "latency": latency
        | {"speedup_vs_teacher": speedup, "device": str(next(pruned.parameters()).device)},
    }

    def write_extra(folder: Path) -> None:
        write_report_files(pruned_dev, folder / "eval", "dev")
        plot_structure(
            kept,
            folder / "eval" / "structure.png",
            f"kept after {prune_config.sparsity:.0%} {prune_config.granularity} pruning",
        )
        (folder / "eval" / "sparsity.txt").write_text(describe(sparsity) + "\n", encoding="utf-8")

    if accelerator.is_main_process:
        save_model(pruned, tokenizer, out, record, write_extra=write_extra)
    accelerator.wait_for_everyone()
    record["table"] = describe(sparsity)
    return record
