"""What the training loop iterates over: texts tokenised once (remembered per process,
so a sweep's rows share them), and seeded batches of example indices, shuffled each
epoch, optionally grouped by length, sliced per process."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, Sampler
from transformers import PreTrainedTokenizerBase

from lahan.config import TrainConfig

# Batch entries that are not model inputs.
NOT_MODEL_INPUTS = ("labels", "example_index")


class EncodedTexts(torch.utils.data.Dataset):
    """Texts tokenised once (no padding); labels attached when given.

    Each item also carries ``example_index``, its row in the texts, so a loss can
    look up per-example data such as cached teacher outputs.
    """

    def __init__(self, encodings: dict[str, list], labels: Sequence[int] | None = None):
        self.encodings = encodings
        self.labels = labels

    def __len__(self) -> int:
        return len(self.encodings["input_ids"])

    def __getitem__(self, i: int) -> dict:
        item = {key: values[i] for key, values in self.encodings.items()}
        item["example_index"] = i
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item

    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.encodings["input_ids"]]


def encode(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int,
    labels: Sequence[int] | None = None,
) -> EncodedTexts:
    """Tokenise ``texts`` once per process: a sweep's rows share the result.

    Rows of a sweep train on the same texts with the same tokenizer (loaded afresh
    for each row), so the encodings are remembered under the tokenizer's content,
    the texts and the length. Items hand out the stored lists; nothing downstream
    mutates them (the collator builds new tensors).
    """
    key = _encoding_key(tokenizer, texts, max_length)
    encodings = _ENCODED.get(key) if key else None
    if encodings is None:
        encodings = dict(tokenizer(list(texts), truncation=True, max_length=max_length))
        if key:
            _ENCODED[key] = encodings
            while len(_ENCODED) > _ENCODED_KEEP:
                _ENCODED.popitem(last=False)
    else:
        _ENCODED.move_to_end(key)
    return EncodedTexts(dict(encodings), labels)


_ENCODED: OrderedDict[str, dict[str, list]] = OrderedDict()
_ENCODED_KEEP = 4  # a sweep needs one or two (teacher and student tokenizers)


def _encoding_key(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (Python) tokenizer: no cheap content fingerprint
        return ""
    content = json.loads(backend.to_str())
    for state in ("truncation", "padding"):  # set by each call, not part of the vocabulary
        content.pop(state, None)
    h = hashlib.sha256(json.dumps(content, sort_keys=True).encode())
    settings = (type(tokenizer).__name__, tokenizer.model_input_names, tokenizer.truncation_side)
    h.update(f"|{settings}|{max_length}|{len(texts)}|".encode())
    for text in texts:
        h.update(text.encode())
        h.update(b"\0")
    return h.hexdigest()


class ShuffledBatches(Sampler[list[int]]):
    """Seeded shuffled batches, reshuffled each pass; optionally grouped by length.

    Grouping sorts each window of 50 batches by length before cutting it into
    batches, so each batch pads to a similar length (much less wasted compute),
    while the order of the batches stays random.

    With several processes every process draws the same global batches and keeps
    its own equal slice of each, so one process and N processes take the same
    optimizer steps. A last batch that does not split evenly is cut down to a
    multiple of N (at most N-1 examples skipped per epoch, different ones each
    epoch); with one process nothing is skipped.
    """

    WINDOW = 50

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        seed: int,
        group_by_length: bool,
        num_processes: int = 1,
        rank: int = 0,
    ):
        self.lengths = lengths
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.num_processes = num_processes
        self.rank = rank
        self.passes = 0  # one pass per epoch: each epoch gets its own order

    def global_batches(self, passes: int) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + passes)
        order = torch.randperm(len(self.lengths), generator=g).tolist()
        if self.group_by_length:
            window = self.batch_size * self.WINDOW
            order = [
                i
                for start in range(0, len(order), window)
                for i in sorted(order[start : start + window], key=lambda j: -self.lengths[j])
            ]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.group_by_length:
            shuffle = torch.randperm(len(batches), generator=g).tolist()
            batches = [batches[i] for i in shuffle]
        n = self.num_processes
        batches = [b[: len(b) - len(b) % n] for b in batches]
        return [b for b in batches if b]

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest >= self.num_processes else 0)

    def __iter__(self) -> Iterator[list[int]]:
        self.passes += 1
        for batch in self.global_batches(self.passes):
            share = len(batch) // self.num_processes
            yield batch[self.rank * share : (self.rank + 1) * share]


def make_batches(
    train_set: torch.utils.data.Dataset, config: TrainConfig, accelerator: Accelerator
) -> tuple[ShuffledBatches, DataLoader]:
    """Batches of example indices; each process takes its slice of every global batch.

    Batches are collated in the loop, not by the DataLoader: a resumed run skips the
    batches done before its checkpoint without collating them, and restores the RNG
    before collating the next one (pretraining's masking draws random numbers there).
    """
    sampler = ShuffledBatches(
        train_set.lengths(),
        config.batch_size,
        config.seed,
        config.group_by_length,
        accelerator.num_processes,
        accelerator.process_index,
    )
    return sampler, DataLoader(train_set, batch_sampler=sampler, collate_fn=list)
