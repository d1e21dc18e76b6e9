"""Masked-language-model pretraining: corpus files, packed sequences, masking, the loss.

Pretraining runs on the one training loop (``lahan.train``); this module supplies what
differs from fine-tuning a classifier:

* ``read_corpus``: plain text files (``.txt`` / ``.txt.gz``, one text per line),
  cleaned like every other text lahan reads; a file that is empty, binary or not UTF-8
  is refused with the line where it went wrong.
* ``pack``: texts tokenised once and concatenated into full ``max_length`` blocks
  (``[CLS] text [SEP] text [SEP] ... [SEP]``). Tweets average ~15 words: padded one per
  row, most of every batch would be padding.
* ``MaskingCollator``: transformers' MLM masking (15%, 80/10/10), optionally over whole
  words (word boundaries come from the fast tokenizer, so it works for WordPiece,
  SentencePiece and BPE alike). It draws from torch's global RNG, which lahan's
  checkpoints save and restore, so a resumed run masks exactly as an uninterrupted one.
* ``MaskedLM``: the model wrapper the loop trains. It runs the vocabulary projection
  only at the masked positions (~15% of tokens): with a 16k vocabulary and a 256-wide
  encoder the projection over every position costs about as much as the encoder itself.
* ``HeldOutMLM``: the evaluator: MLM loss and perplexity on a held-out slice of the
  texts, masked once with a fixed seed so that epochs are compared on the same masks.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    BatchEncoding,
    DataCollatorForLanguageModeling,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import MaskedLMOutput

from lahan.config import PretrainConfig
from lahan.data.clean import normalize_text
from lahan.errors import LahanError, OptionError
from lahan.progress import progress as progress_lines

IGNORE = -100  # label of positions that are not predicted


# --------------------------------------------------------------------------- corpus


def read_corpus(path: str | Path, option: str = "text") -> list[str]:
    """The texts of one ``.txt`` or ``.txt.gz`` file, one per line, cleaned; blank lines
    are skipped. Refuses files that are missing, empty, binary or not UTF-8, naming
    ``option`` (the argument that gave the file)."""
    path = Path(path)
    if not path.is_file():
        raise OptionError(option, f" '{path}': no such file")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise OptionError(option, f" '{path}' is not a readable gzip file ({err})") from err
    if not raw.strip():
        raise OptionError(option, f" '{path}' is empty: give a file with one text per line")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise OptionError(
            option,
            f" '{path}' is UTF-16 (it starts with a UTF-16 byte-order mark): convert it "
            "to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 IN > OUT`",
        )
    if b"\0" in raw[:65536]:
        raise OptionError(
            option,
            f" '{path}' looks binary (it holds NUL bytes): give a UTF-8 text file with "
            "one text per line (UTF-16 files: convert with `iconv -f UTF-16 -t UTF-8`)",
        )
    texts = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise OptionError(
                option,
                f" '{path}' line {number} is not UTF-8 (byte {line[err.start]:#04x} at "
                f"column {err.start + 1}): convert the file to UTF-8, e.g. with `iconv`",
            ) from err
        text = normalize_text(text)
        if text:
            texts.append(text)
    if not texts:
        raise OptionError(option, f" '{path}' holds no text, only blank lines")
    return texts


def split_heldout(
    texts: Sequence[str], config: PretrainConfig, seed: int
) -> tuple[list[str], list[str]]:
    """(train, held-out): a seeded share of the texts, by a hash of each text and the seed,
    so the choice does not depend on the order of the files."""
    n_held = max(1, min(config.heldout_max, round(len(texts) * config.heldout_ratio)))
    if len(texts) < 2 * n_held:
        raise LahanError(
            f"{len(texts)} texts are too few to pretrain on: give at least {2 * n_held}"
        )

    def key(text: str) -> bytes:
        return hashlib.sha256(f"{seed}\0{text}".encode()).digest()

    held = set(sorted(set(texts), key=key)[:n_held])
    return [t for t in texts if t not in held], [t for t in texts if t in held]


def corpus_fingerprint(texts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- packing


class PackedSequences(torch.utils.data.Dataset):
    """Blocks of ``max_length`` token ids (the last may be shorter) and, for whole-word
    masking, a flag per token that says whether it starts a word."""

    def __init__(self, blocks: list[list[int]], word_starts: list[list[int]]):
        self.blocks, self.word_starts = blocks, word_starts

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.blocks[i], "word_starts": self.word_starts[i], "example_index": i}

    def lengths(self) -> list[int]:
        return [len(b) for b in self.blocks]

    @property
    def tokens(self) -> int:
        return sum(self.lengths())


def pack(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int,
    progress: bool = True,
    batch: int = 2000,
) -> PackedSequences:
    """Tokenise ``texts`` and cut their concatenation into ``[CLS] ... [SEP]`` blocks."""
    if not tokenizer.is_fast:
        raise LahanError("pretraining needs a fast tokenizer (tokenizer.json)")
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:  # RoBERTa-style tokenizers: <s> ... </s>
        cls_id, sep_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    if cls_id is None or sep_id is None:
        raise LahanError("the tokenizer has no [CLS]/[SEP] (or <s>/</s>) tokens to frame blocks")
    body = max_length - 2
    blocks, starts = [], []
    ids: list[int] = []
    firsts: list[int] = []
    starts_at = range(0, len(texts), batch)
    for at in progress_lines(starts_at, f"tokenising {len(texts):,} texts", enabled=progress):
        enc = tokenizer(list(texts[at : at + batch]), add_special_tokens=False)
        for i, text_ids in enumerate(enc["input_ids"]):
            words = enc.word_ids(i)
            ids.extend(text_ids)
            firsts.extend(int(k == 0 or words[k] != words[k - 1]) for k in range(len(words)))
            ids.append(sep_id)  # between texts: a boundary the model sees
            firsts.append(0)
            while len(ids) >= body:
                blocks.append([cls_id, *ids[:body], sep_id])
                starts.append([0, *firsts[:body], 0])
                ids, firsts = ids[body:], firsts[body:]
    if len(ids) > 1:  # the rest: one shorter block (a lone separator is dropped)
        blocks.append([cls_id, *ids, sep_id] if ids[-1] != sep_id else [cls_id, *ids])
        starts.append([0, *firsts, 0] if ids[-1] != sep_id else [0, *firsts])
    return PackedSequences(blocks, starts)


class MaskingCollator:
    """Pads a batch of packed blocks and masks it with transformers' MLM masking."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, config: PretrainConfig):
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.special = {i for i in (tokenizer.all_special_ids or [])}
        self.whole_word = config.whole_word_mask
        # transformers replaces whole words by [MASK] only (no 10% random / 10% kept)
        replace = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if self.whole_word else {}
        self.mlm = DataCollatorForLanguageModeling(
            tokenizer,
            mlm_probability=config.mlm_probability,
            whole_word_mask=config.whole_word_mask,
            **replace,
        )

    def __call__(self, examples: list[dict]) -> BatchEncoding:
        width = max(len(e["input_ids"]) for e in examples)
        input_ids = torch.full((len(examples), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(examples), width), dtype=torch.long)
        for row, e in enumerate(examples):
            input_ids[row, : len(e["input_ids"])] = torch.tensor(e["input_ids"])
            attention[row, : len(e["input_ids"])] = 1
        special = (attention == 0) | torch.isin(input_ids, torch.tensor(sorted(self.special)))
        offsets = None
        if self.whole_word:
            # transformers finds words through character offsets: a token continues a
            # word when it starts where the previous one ended. Build such offsets from
            # the word-start flags: each new word opens one position after a gap.
            starts = torch.zeros((len(examples), width), dtype=torch.long)
            for row, e in enumerate(examples):
                starts[row, : len(e["word_starts"])] = torch.tensor(e["word_starts"])
            begin = torch.cumsum(starts + 1, dim=1) - 1
            offsets = torch.stack([begin, begin + 1], dim=-1)
        masked, labels = self.mlm.torch_mask_tokens(
            input_ids, special_tokens_mask=special.long(), offset_mapping=offsets
        )
        return BatchEncoding(
            {
                "input_ids": masked,
                "attention_mask": attention,
                "labels": labels,
                "example_index": torch.tensor([e["example_index"] for e in examples]),
            }
        )


# --------------------------------------------------------------------------- model


# Where each architecture keeps its encoder's MLM head (applied to hidden states).
MLM_HEADS = {"bert": "cls", "roberta": "lm_head", "xlm-roberta": "lm_head", "albert": "predictions"}


class MaskedLM(nn.Module):
    """A ``*ForMaskedLM`` model whose loss projects only the masked positions.

    Architectures without a separable head (DistilBERT's is four modules) fall back to
    the model's own forward with its full projection: the same loss, more compute.
    """

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model
        self.config = model.config
        self.head_name = MLM_HEADS.get(model.config.model_type)

    def forward(self, input_ids, attention_mask=None, labels=None, **kwargs) -> MaskedLMOutput:
        if self.head_name is None or labels is None:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
            return MaskedLMOutput(loss=out.loss, logits=out.logits)
        hidden = self.model.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
        where = labels != IGNORE
        logits = getattr(self.model, self.head_name)(hidden[where])
        loss = F.cross_entropy(logits.float(), labels[where]) if where.any() else hidden.sum() * 0
        return MaskedLMOutput(loss=loss, logits=logits)


def mlm_loss(outputs: MaskedLMOutput, batch: dict) -> torch.Tensor:
    """The loop's loss plug-in: the model computed it from the labels it was given."""
    return outputs.loss


mlm_loss.model_inputs = ("labels",)  # type: ignore[attr-defined]


class HeldOutMLM:
    """MLM loss and perplexity on held-out blocks, masked once with a fixed seed."""

    select_on = "neg_mlm_loss"
    history_keys = ("mlm_loss", "perplexity")

    def __init__(self, blocks: PackedSequences, collator: Callable, batch_size: int, seed: int):
        # fork_rng: masking the held-out set must not move the training run's RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            items = [blocks[i] for i in range(len(blocks))]
            self.batches = [
                collator(items[i : i + batch_size]) for i in range(0, len(items), batch_size)
            ]
        if not any((b["labels"] != IGNORE).any() for b in self.batches):
            raise LahanError(
                "the held-out texts give no masked token to score: give more or longer "
                "texts, or a larger --heldout-ratio"
            )

    @torch.no_grad()
    def __call__(self, model: nn.Module, autocast: Callable) -> dict:
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        total, count = 0.0, 0
        for batch in self.batches:
            n = int((batch["labels"] != IGNORE).sum())
            if not n:
                continue
            with autocast():
                out = model(
                    input_ids=batch["input_ids"].to(device),
                    attention_mask=batch["attention_mask"].to(device),
                    labels=batch["labels"].to(device),
                )
            total += float(out.loss) * n
            count += n
        model.train(was_training)
        loss = total / max(count, 1)
        return {
            "mlm_loss": loss,
            "perplexity": math.exp(min(loss, 50.0)),
            "neg_mlm_loss": -loss,
            "masked_tokens": count,
        }

    def describe(self, metrics: dict) -> str:
        return (
            f"held-out MLM loss {metrics['mlm_loss']:.4f}  perplexity {metrics['perplexity']:.1f}"
        )
