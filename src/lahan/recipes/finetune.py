"""Fine-tune (or train from a preset) a classifier on a dataset and save it."""

from __future__ import annotations

import logging
from pathlib import Path

from accelerate.utils import broadcast_object_list, set_seed
from transformers import BertTokenizer

from lahan.checkpoint import check_resume, has_checkpoint, remove_checkpoint
from lahan.config import FinetuneConfig, ModelConfig, config_dict
from lahan.data import Dataset, data_summary, load_dataset
from lahan.evaluate import evaluate_records, summary, write_report_files
from lahan.io import check_output_folder
from lahan.models import (
    build_preset,
    label_ids,
    load_pretrained,
    load_tokenizer,
    model_labels,
    save_model,
    train_wordpiece,
    wordpiece_from_vocab,
)
from lahan.records import ModelRecord
from lahan.train import make_accelerator, train

log = logging.getLogger(__name__)


def _shared_tokenizer(accelerator, model_config: ModelConfig, train_rows) -> BertTokenizer | None:
    """Under several processes, train the preset's vocabulary once and broadcast it.

    Each process training its own would give different vocabularies (the trainer
    breaks ties differently each run), so ranks would disagree on token ids.
    """
    if accelerator.num_processes == 1 or model_config.tokenizer:
        return None
    vocab = [None]
    if accelerator.is_main_process:
        vocab = [train_wordpiece([r.text for r in train_rows], model_config.vocab_size).get_vocab()]
    broadcast_object_list(vocab, from_process=0)
    return wordpiece_from_vocab(vocab[0])


def run_finetune(config: FinetuneConfig, dataset: Dataset | None = None) -> ModelRecord:
    """Train on ``train``, keep the best epoch by dev macro-F1, save to ``config.out``.

    Returns the record written to ``OUT/lahan.json`` (config, data, training, dev metrics).
    An existing lahan model folder at ``out`` is replaced only once the new one is whole.
    The run checkpoints to ``OUT.checkpoint`` (removed at the end); ``config.resume``
    continues a killed run from there. ``dataset``: the data already loaded (the demo).
    """
    data_config, model_config, train_config = config.data, config.model, config.train
    out, resume = Path(config.out), config.resume
    check_output_folder(out)
    checkpoint = check_resume(out, resume)
    accelerator = make_accelerator(train_config)  # fails fast on an impossible precision
    dataset = dataset or load_dataset(data_config)
    train_rows, dev_rows = dataset.split("train"), dataset.split("dev")

    set_seed(train_config.seed)  # the same initial weights for the same seed
    if model_config.is_preset:
        # resumed: the vocabulary the run started with (retraining could break ties
        # differently and give other token ids)
        tokenizer = (
            load_tokenizer(str(checkpoint), flag="--resume")
            if resume and has_checkpoint(checkpoint)
            else _shared_tokenizer(accelerator, model_config, train_rows)
        )
        model, tokenizer = build_preset(
            model_config, dataset.labels, [r.text for r in train_rows], tokenizer
        )
        label_map = {label: label for label in dataset.labels}
    else:
        model, tokenizer, label_map = load_pretrained(model_config, dataset.labels)

    def ids(rows):
        return label_ids(rows, model_labels(model), label_map)

    result = train(
        model,
        tokenizer,
        [r.text for r in train_rows],
        ids(train_rows),
        [r.text for r in dev_rows],
        ids(dev_rows),
        train_config,
        from_scratch=model_config.is_preset,
        accelerator=accelerator,
        checkpoint=checkpoint,
        resume=resume,
        settings=config_dict(data_config, model_config),
    )
    # The saved weights are fp32: score them without the training precision's autocast.
    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    dev_report = evaluate_records(
        model, tokenizer, dev_rows, label_map, train_config.eval_batch_size, train_config.max_length
    )
    record = ModelRecord(
        made_by="finetune",
        source_model=model_config.source,
        config=config_dict(data_config, model_config, train_config),
        data=data_summary(dataset),
        train=result.to_dict(),  # its dev scores are at the training precision
        metrics={"dev": summary(dev_report)},
    )
    if accelerator.is_main_process:
        save_model(
            model,
            tokenizer,
            out,
            record,
            write_extra=lambda folder: write_report_files(dev_report, folder / "eval", "dev"),
        )
        remove_checkpoint(checkpoint)  # the model is saved: no longer needed
    accelerator.wait_for_everyone()
    return record
