"""Masked-language-model pretraining of an encoder, from a preset or from a checkpoint.

From ``preset:NAME`` the encoder starts from random weights with a WordPiece vocabulary
trained on the pretraining texts; from a folder or hub id it continues pretraining
(domain-adaptive, the way MahaBERT was made from MuRIL). The texts are plain text files
and/or the *train* split of a lahan data source: dev and test texts never enter.

The output is an ordinary ``*ForMaskedLM`` folder (weights, tokenizer, ``lahan.json``
with the corpus fingerprint, token counts and the held-out perplexity curve) that
``lahan finetune --model DIR`` and ``lahan distill --student DIR`` take as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from accelerate.utils import set_seed
from transformers import AutoModelForMaskedLM, BertForMaskedLM

from lahan.checkpoint import check_resume, has_checkpoint, remove_checkpoint
from lahan.config import DataConfig, ModelConfig, PretrainConfig, TrainConfig, config_dict
from lahan.data import load_dataset
from lahan.errors import LahanError
from lahan.io import check_output_folder
from lahan.models import (
    _from_pretrained_or_explain,
    load_tokenizer,
    preset_bert_config,
    preset_tokenizer,
    save_model,
    weight_options,
)
from lahan.pretrain import (
    HeldOutMLM,
    MaskedLM,
    MaskingCollator,
    corpus_fingerprint,
    mlm_loss,
    pack,
    read_corpus,
    split_heldout,
)
from lahan.records import ModelRecord
from lahan.train import make_accelerator, train

log = logging.getLogger(__name__)


def gather_texts(
    text_files: Sequence[str | Path], data_config: DataConfig | None
) -> tuple[list[str], list[dict]]:
    """The pretraining texts and where they came from (files; a data source's train split)."""
    texts: list[str] = []
    sources: list[dict] = []
    for path in text_files:
        got = read_corpus(path)
        texts.extend(got)
        sources.append({"text": str(path), "texts": len(got)})
    if data_config is not None:
        dataset = load_dataset(data_config)
        train_rows = dataset.split("train")  # dev and test texts never enter pretraining
        texts.extend(r.text for r in train_rows)
        sources.append(
            {
                "data": data_config.source,
                "split": "train",
                "texts": len(train_rows),
                "data_fingerprint": dataset.fingerprint(),
            }
        )
    if not texts:
        raise LahanError("nothing to pretrain on: give --text FILE and/or --data SOURCE")
    return texts, sources


def run_pretrain(
    model_config: ModelConfig,
    train_config: TrainConfig,
    pretrain_config: PretrainConfig,
    out: str | Path,
    text_files: Sequence[str | Path] = (),
    data_config: DataConfig | None = None,
    resume: bool = False,
) -> ModelRecord:
    """Pretrain with masked-language modelling; keep the epoch with the lowest held-out
    MLM loss; save to ``out``. Returns the record written to ``out/lahan.json``."""
    out = Path(out)
    check_output_folder(out)
    checkpoint = check_resume(out, resume)
    accelerator = make_accelerator(train_config)
    texts, sources = gather_texts(text_files, data_config)
    train_texts, heldout_texts = split_heldout(texts, pretrain_config, train_config.seed)

    set_seed(train_config.seed)  # the same initial weights for the same seed
    if model_config.is_preset:
        # resumed: the vocabulary the run started with
        tokenizer = (
            load_tokenizer(str(checkpoint), flag="--resume")
            if resume and has_checkpoint(checkpoint)
            else preset_tokenizer(model_config, train_texts)
        )
        model = BertForMaskedLM(preset_bert_config(model_config, tokenizer))
    else:
        model = _from_pretrained_or_explain(
            AutoModelForMaskedLM.from_pretrained,
            model_config.source,
            **weight_options(model_config.source),
        )
        tokenizer = load_tokenizer(model_config.source)
    if tokenizer.mask_token_id is None:
        raise LahanError(f"the tokenizer of '{model_config.source}' has no mask token")

    show = train_config.progress and accelerator.is_local_main_process
    train_set = pack(tokenizer, train_texts, train_config.max_length, progress=show)
    heldout_set = pack(tokenizer, heldout_texts, train_config.max_length, progress=False)
    collator = MaskingCollator(tokenizer, pretrain_config)
    evaluator = HeldOutMLM(
        heldout_set, collator, train_config.eval_batch_size, seed=train_config.seed
    )
    corpus = {
        "sources": sources,
        "fingerprint": corpus_fingerprint(texts),
        "texts": len(texts),
        "train_texts": len(train_texts),
        "heldout_texts": len(heldout_texts),
        "train_tokens": train_set.tokens,
        "heldout_tokens": heldout_set.tokens,
        "train_blocks": len(train_set),
        "vocab_size": len(tokenizer),
    }
    log.info("pretraining on %s", corpus)
    wrapped = MaskedLM(model)
    result = train(
        wrapped,
        tokenizer,
        train_texts,
        [],
        [],
        [],
        train_config,
        from_scratch=model_config.is_preset,
        loss_fn=mlm_loss,
        accelerator=accelerator,
        checkpoint=checkpoint,
        resume=resume,
        settings=config_dict(model_config, pretrain_config) | {"corpus": corpus["fingerprint"]},
        train_set=train_set,
        collate=collator,
        evaluator=evaluator,
    )
    model = accelerator.unwrap_model(wrapped, keep_fp32_wrapper=False).model
    mean_block = train_set.tokens / max(len(train_set), 1)
    record = ModelRecord(
        made_by="pretrain",
        source_model=model_config.source,
        labels=[],  # an encoder: no classes yet (finetune adds the head)
        config=config_dict(model_config, train_config, pretrain_config),
        corpus=corpus,
        train=result.to_dict() | {"tokens_per_second": result.examples_per_second * mean_block},
        metrics={"heldout": result.best_dev},
    )
    if accelerator.is_main_process:
        save_model(model, tokenizer, out, record)
        remove_checkpoint(checkpoint)
    accelerator.wait_for_everyone()
    return record
