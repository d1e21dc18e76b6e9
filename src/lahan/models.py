"""Load, build and save classifiers and their tokenizers.

A model comes from one of three places:
  * a local folder (a Hugging Face model folder, lahan's own included);
  * a hub id (``owner/name``), downloaded by transformers when the network allows;
  * ``preset:NAME``: a BERT encoder built from scratch, with a WordPiece tokenizer
    trained by ``tokenizers`` on the training texts.

Whatever lahan saves is an ordinary Hugging Face folder (config.json,
model.safetensors, tokenizer files) plus ``lahan.json``, which records how it was
made: the command's config, the data fingerprint, metrics and library versions.
Weights are read from safetensors, or from a published ``pytorch_model.bin`` through
PyTorch's restricted ``weights_only`` loader: never arbitrary unpickling.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from lahan import __version__
from lahan.config import PRESETS, ModelConfig
from lahan.errors import LahanError, OptionError
from lahan.hub import hub_unreachable, looks_like_hub_id
from lahan.io import RECORD_FILE, atomic_dir
from lahan.pruned_models import register_auto_classes
from lahan.records import ModelRecord
from lahan.versions import library_versions
from lahan.wordpiece import learn_vocab

log = logging.getLogger(__name__)
# pruned model folders (model_type lahan_pruned_*) open through the Auto classes
register_auto_classes()

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# --------------------------------------------------------------------------- build


def train_wordpiece(texts: list[str], vocab_size: int) -> BertTokenizer:
    """Learn a cased WordPiece vocabulary on ``texts`` and wrap it as a BertTokenizer.

    Deterministic (``lahan.wordpiece``): the same texts and size give the same
    vocabulary, token ids included, in every process and with any thread count.
    """
    vocab = learn_vocab(texts, vocab_size, SPECIAL_TOKENS)
    return wordpiece_from_vocab({token: i for i, token in enumerate(vocab)})


def wordpiece_from_vocab(vocab: dict[str, int]) -> BertTokenizer:
    """A cased BERT WordPiece tokenizer over ``vocab`` (token -> id)."""
    return BertTokenizer(vocab=vocab, do_lower_case=False, strip_accents=False)


def preset_tokenizer(
    config: ModelConfig,
    train_texts: list[str],
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> PreTrainedTokenizerBase:
    """``tokenizer`` if given, else the folder ``config.tokenizer``, else a WordPiece
    vocabulary trained on ``train_texts``."""
    if tokenizer is None and config.tokenizer:
        tokenizer = load_tokenizer(config.tokenizer, flag="--tokenizer")
    if tokenizer is None:
        tokenizer = train_wordpiece(train_texts, config.vocab_size)
    return tokenizer


def preset_bert_config(
    config: ModelConfig, tokenizer: PreTrainedTokenizerBase, **extra
) -> BertConfig:
    """The BertConfig of a preset shape over ``tokenizer``'s vocabulary."""
    layers, hidden, heads, intermediate = PRESETS[config.preset_name]
    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=config.max_position,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def build_preset(
    config: ModelConfig,
    labels: list[str],
    train_texts: list[str],
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A randomly initialised BERT classifier of a preset shape.

    Its tokenizer is ``tokenizer`` if given, else the folder ``config.tokenizer``,
    else a WordPiece vocabulary trained on ``train_texts`` (deterministically).
    """
    tokenizer = preset_tokenizer(config, train_texts, tokenizer)
    bert_config = preset_bert_config(
        config,
        tokenizer,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return BertForSequenceClassification(bert_config), tokenizer


# --------------------------------------------------------------------------- load


def _generic_labels(id2label: dict) -> bool:
    """True when a config carries transformers' placeholder labels (LABEL_0, ...)."""
    return all(re.fullmatch(r"LABEL_\d+", str(v)) for v in id2label.values())


def has_placeholder_labels(folder: str | Path) -> bool:
    """True when a model folder (or ONNX export) names its outputs LABEL_0, LABEL_1, ..."""
    folder = Path(folder)
    manifest = folder / "lahan-onnx.json"
    try:
        if manifest.is_file():
            names = json.loads(manifest.read_text(encoding="utf-8"))["labels"]
            return _generic_labels(dict(enumerate(names)))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return False  # loading it says what is wrong
    return _generic_labels(config.get("id2label") or {})


def _label_key(label: str) -> str:
    return re.sub(r"[\s_-]+", "", label).casefold()


def resolve_label_map(
    model_labels: list[str], data_labels: list[str], relabel: bool
) -> dict[str, str]:
    """Map each dataset label to a model label, or explain the mismatch.

    Equal sets map to themselves (order does not matter: ids follow the model).
    With ``relabel``, labels are matched by name ignoring case, spaces, '_' and '-'.
    """
    if set(data_labels) <= set(model_labels):
        return {label: label for label in data_labels}
    if _generic_labels(dict(enumerate(model_labels))):
        raise LahanError(
            f"the model's outputs are placeholders ({', '.join(model_labels[:3])}, ...) and "
            f"the data's labels are {data_labels}: nothing says which output is which class. "
            "Name them with --labels A,B,... (output order) or --label-map FILE"
        )
    if relabel:
        by_key = {_label_key(m): m for m in model_labels}
        mapping = {d: by_key.get(_label_key(d)) for d in data_labels}
        missing = [d for d, m in mapping.items() if m is None]
        if not missing:
            return mapping  # type: ignore[return-value]
        raise OptionError(
            "relabel",
            f" could not match dataset labels {missing} to any model label "
            f"{model_labels}: fix the label names in the data, or fine-tune a new head "
            "from an encoder without one",
        )
    raise LahanError(
        f"the model's labels {model_labels} do not match the dataset's labels {data_labels}: "
        "pass --relabel to map them by name, or use data with the model's labels"
    )


def label_ids(rows, outputs: list[str], label_map: dict[str, str]) -> list[int]:
    """The output index of each row's label: the dataset's label, mapped to a model label
    by ``label_map`` (from :func:`resolve_label_map`), found in ``outputs`` (the model's
    labels in output order)."""
    index = {name: i for i, name in enumerate(outputs)}
    return [index[label_map[r.label]] for r in rows]


TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
)


def _from_pretrained_or_explain(loader, source: str, flag: str = "--model", **kwargs):
    """Call a transformers loader on a folder or hub id; any failure becomes one clear line."""
    if Path(source).is_dir():
        try:
            return loader(source, **kwargs)
        except Exception as err:  # noqa: BLE001 - whatever broke, the folder is at fault
            reason = " ".join(str(err).split())[:200] or type(err).__name__
            raise LahanError(
                f"could not load {flag} folder '{source}' ({type(err).__name__}: {reason}): "
                "is it a complete Hugging Face model folder (config.json, weights, tokenizer)?"
            ) from err
    if not looks_like_hub_id(source):
        raise LahanError(
            f"{flag} '{source}': no such folder. Pass an existing folder"
            + (
                ", a hub id (owner/name) or preset:tiny|small|mini|base"
                if flag == "--model"
                else ""
            )
        )
    unreachable = hub_unreachable()
    if unreachable:
        raise LahanError(
            f"{flag} '{source}': the Hugging Face Hub cannot be reached ({unreachable}) and "
            f"no local folder has that name. Where you have the network, run "
            f"`hf download {source} --local-dir DIR` and pass {flag} DIR"
        )
    try:
        return loader(source, **kwargs)
    except (OSError, ValueError) as err:
        raise LahanError(
            f"{flag} '{source}': could not get it from the Hugging Face Hub (offline, private, "
            f"or no such model). Where you have the network, run "
            f"`hf download {source} --local-dir DIR` and pass {flag} DIR"
        ) from err


def load_tokenizer(source: str, flag: str = "--model") -> PreTrainedTokenizerBase:
    if Path(source).is_dir() and not any((Path(source) / f).exists() for f in TOKENIZER_FILES):
        raise LahanError(
            f"{flag} folder '{source}' has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}, "
            "...): save the tokenizer with the model (tokenizer.save_pretrained(folder))"
        )
    return _from_pretrained_or_explain(AutoTokenizer.from_pretrained, source, flag)


def read_label_names(labels: str | None = None, label_map: str | None = None) -> tuple | None:
    """``--labels A,B,C`` (output order) or ``--label-map FILE`` (JSON list, JSON object
    id -> name, or CSV/TSV lines ``id,name``) as a tuple of names in output order."""
    if labels and label_map:
        raise LahanError("give --labels or --label-map, not both")
    if labels:
        names = [x.strip() for x in labels.split(",")]
    elif label_map:
        path = Path(label_map)
        if not path.is_file():
            raise OptionError("label_map", f" '{path}': no such file")
        text = path.read_text(encoding="utf-8-sig")
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else None
        except json.JSONDecodeError as err:
            raise OptionError("label_map", f" '{path}' is not valid JSON ({err})") from err
        if data is None:  # CSV/TSV: id,name per line (a header line is skipped)
            rows = [
                re.split(r"[,\t]", line, maxsplit=1) for line in text.splitlines() if line.strip()
            ]
            data = {
                r[0].strip(): r[1].strip() for r in rows if len(r) == 2 and r[0].strip().isdigit()
            }
        if isinstance(data, dict):
            try:
                by_id = {int(k): v for k, v in data.items()}
            except ValueError as err:
                raise OptionError(
                    "label_map", f" '{path}': keys must be output ids 0..N-1"
                ) from err
            ids = sorted(by_id)
            if ids != list(range(len(ids))):
                raise OptionError(
                    "label_map", f" '{path}': ids must be 0..{len(ids) - 1}, got {ids}"
                )
            names = [str(by_id[i]) for i in ids]
        elif isinstance(data, list):
            names = [str(x) for x in data]
        else:
            raise OptionError(
                "label_map", f" '{path}': give a JSON list or object, or id,name lines"
            )
    else:
        return None
    names = [x.strip() for x in names]
    if not names or any(not x for x in names) or len(set(names)) != len(names):
        raise LahanError(f"label names must be non-empty and distinct, got {names}")
    return tuple(names)


def apply_label_names(source: str, id2label: dict[int, str], names: tuple | None) -> dict:
    """The id2label to use: the model's own, or ``names`` for a placeholder-labelled one."""
    if names is None:
        return id2label
    if not _generic_labels(id2label):
        have = ", ".join(id2label[i] for i in sorted(id2label))
        raise LahanError(
            f"'{source}' already names its outputs ({have}): --labels / --label-map are for "
            "models with placeholder labels (LABEL_0, ...)"
        )
    if len(names) != len(id2label):
        raise OptionError(
            "labels",
            f" gives {len(names)} names but '{source}' has {len(id2label)} outputs: "
            "give one name per output, in output order",
        )
    return dict(enumerate(names))


def _reset_classifier(model: PreTrainedModel) -> None:
    """Re-initialise the classification head's Linear layers (a really new head)."""
    head = getattr(model, "classifier", None) or getattr(model, "score", None)
    if not isinstance(head, torch.nn.Module):
        raise LahanError(f"cannot find the classification head of {type(model).__name__}")
    # BERT's own initialisation (transformers' _init_weights skips loaded parameters).
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        for module in head.modules():
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)


def load_pretrained(
    config: ModelConfig, labels: list[str]
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, str]]:
    """Load a classifier (or an encoder that gets a new head) for ``labels``.

    Returns the model, its tokenizer, and the map from dataset label to model label.
    An encoder without a classification head, or any model with ``new_head``, gets a
    freshly initialised head for the dataset's labels. A trained classifier keeps its
    head and must have the dataset's labels; one whose labels are placeholders
    (LABEL_0, ...) is refused, since nothing says which output is which class.
    """
    source = config.source
    weights = weight_options(source)
    hf_config = _from_pretrained_or_explain(AutoConfig.from_pretrained, source)
    archs = hf_config.architectures or []
    is_classifier = any(a.endswith("ForSequenceClassification") for a in archs)
    id2label = {int(k): v for k, v in (hf_config.id2label or {}).items()}
    named = {}
    if config.labels is not None and (config.new_head or not is_classifier):
        raise OptionError(
            "labels",
            f" / --label-map name a trained classifier's outputs, but '{source}' "
            + ("gets a new head (--new-head)" if config.new_head else "has no trained head")
            + ": its new head takes the data's labels; leave --labels out",
        )
    if config.labels is not None:
        id2label = apply_label_names(source, id2label, config.labels)
        named = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}
    new_labels = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    if is_classifier and not config.new_head:
        if _generic_labels(id2label):
            raise LahanError(
                f"'{source}' is a trained classifier whose labels are placeholders "
                f"({', '.join(id2label[i] for i in sorted(id2label))}): nothing says which "
                "output is which class. Name them with --labels A,B,... (output order) or "
                "--label-map FILE, or pass --new-head to train a new head"
            )
        model_labels = [id2label[i] for i in sorted(id2label)]
        label_map = resolve_label_map(model_labels, labels, config.relabel)
        model = _from_pretrained_or_explain(
            AutoModelForSequenceClassification.from_pretrained, source, **weights, **named
        )
    else:
        log.warning(
            "'%s': a new classification head is initialised for %d labels", source, len(labels)
        )
        model = _from_pretrained_or_explain(
            AutoModelForSequenceClassification.from_pretrained,
            source,
            ignore_mismatched_sizes=True,
            **weights,
            **new_labels,
        )
        if is_classifier:
            _reset_classifier(model)  # same shape loads the old weights: replace them
        label_map = {label: label for label in labels}
    tokenizer = load_tokenizer(source)
    return model, tokenizer, label_map


PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def check_model_folder(path: str | Path) -> str:
    """Refuse folders that are not whole model folders, with a clear reason.

    Returns the weights' format: "safetensors", or "bin" for a published checkpoint that
    has only ``pytorch_model*.bin`` files. Those are read only through PyTorch's
    restricted loader (``weights_only``: tensors and plain containers, no arbitrary
    objects); one that it refuses is refused here, with the reason.
    """
    path = Path(path)
    if not (path / "config.json").is_file():
        raise LahanError(f"'{path}' has no config.json: it is not a model folder (or not complete)")
    if any(path.glob("*.safetensors")):
        return "safetensors"
    bins = sorted(path.glob("pytorch_model*.bin"))
    if not bins:
        others = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        hint = (
            f" (it has {', '.join(others)}, which is not a transformers checkpoint name: "
            "save the model with `model.save_pretrained(dir)`)"
            if others
            else ""
        )
        raise LahanError(f"'{path}' has no weights (model.safetensors or pytorch_model.bin){hint}")
    for file in bins:
        _check_restricted_pickle(file)
    return "bin"


def _check_restricted_pickle(file: Path) -> None:
    """Open a ``.bin`` with ``torch.load(weights_only=True)`` (memory-mapped where the
    format allows), so that a pickle holding anything but tensors gets one clear line."""
    import pickle

    try:
        try:
            torch.load(file, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err):
                raise
            torch.load(file, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except pickle.UnpicklingError as err:
        reason = " ".join(str(err).split())[:160]
        raise LahanError(
            f"'{file}' holds objects other than tensors, which PyTorch's restricted loader "
            f"refuses ({reason}): lahan never unpickles arbitrary objects. Where you trust the "
            "file, convert it: load it and `save_pretrained(dir)` (writes model.safetensors)"
        ) from err
    except Exception as err:  # noqa: BLE001 - a truncated or damaged file
        raise LahanError(
            f"'{file}' could not be read as a PyTorch checkpoint ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:160]}): the file is damaged or incomplete"
        ) from err


def weight_options(source: str) -> dict:
    """``from_pretrained`` options that read safetensors, or ``.bin`` through the
    restricted loader only (folders are checked first; see check_model_folder)."""
    if Path(source).is_dir():
        if check_model_folder(source) == "bin":
            log.warning(
                "'%s' has pytorch_model.bin only: reading it with PyTorch's restricted "
                "loader (weights_only); lahan writes its outputs as safetensors",
                source,
            )
            return {"use_safetensors": False, "weights_only": True}
        return {"use_safetensors": True}
    # a hub id: safetensors where the repository has them, else .bin, restricted
    return {"weights_only": True}


def load_model(
    path: str | Path, labels: tuple | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, ModelRecord]:
    """Load a saved classifier for inference: model (eval mode), tokenizer, record.

    ``path`` is a model folder, or a hub id of a trained classifier (record: empty).
    ``labels`` names the outputs of a classifier whose labels are placeholders.
    """
    source, path = str(path), Path(path)
    if not path.exists() and looks_like_hub_id(source):
        return _load_hub_classifier(source, labels)
    if not path.exists():
        raise LahanError(f"no model folder '{path}': pass the --out folder of finetune")
    if not path.is_dir():
        raise OptionError("model", f" '{path}' is a file: pass the model folder")
    weights = weight_options(str(path))
    record = ModelRecord.in_folder(path)
    tokenizer = load_tokenizer(str(path))
    model, loading = _from_pretrained_or_explain(
        AutoModelForSequenceClassification.from_pretrained,
        str(path),
        **weights,
        output_loading_info=True,
        ignore_mismatched_sizes=True,  # reported below, with names and shapes, then refused
    )
    _check_weights_match(path, loading)
    _name_outputs(model, source, labels)
    recorded = record.labels
    if recorded is not None and recorded != model_labels(model):
        raise LahanError(
            f"'{path}': lahan.json lists the labels {recorded} but config.json's id2label says "
            f"{model_labels(model)}: the files disagree on which output is which class"
        )
    if len(tokenizer) > model.config.vocab_size:
        raise LahanError(
            f"'{path}': the tokenizer has {len(tokenizer)} tokens but the model's embedding "
            f"only {model.config.vocab_size}: the tokenizer files belong to another model"
        )
    model.eval()
    return model, tokenizer, record


def _describe_key(key) -> str:
    """A loading-info entry: a name, or (name, file shape, model shape) for a mismatch."""
    if isinstance(key, tuple) and len(key) == 3:
        name, found, wanted = key
        return f"{name} (file {list(found)}, config.json says {list(wanted)})"
    return str(key)


def _check_weights_match(path: Path, loading: dict) -> None:
    """A folder whose weights do not fill the model config.json describes would load with
    random tensors in place of the missing ones (transformers only warns): refuse it.
    Extra tensors the model does not use are only logged."""
    extra = sorted(str(k) for k in loading.get("unexpected_keys") or ())
    if extra:  # e.g. a pretraining head left in a classifier checkpoint: unused, harmless
        log.warning("%s: %d unused tensor(s) in the weights, e.g. %s", path, len(extra), extra[0])
    problems = []
    for key, what in (("missing_keys", "missing"), ("mismatched_keys", "of the wrong shape")):
        names = sorted(_describe_key(k) for k in loading.get(key) or ())
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            problems.append(f"{len(names)} tensor(s) {what}: {shown}")
    if problems:
        raise LahanError(
            f"'{path}': the weights do not match config.json ({'; '.join(problems)}): the "
            "folder is damaged or its files come from different models; save it again"
        )


def _name_outputs(model: PreTrainedModel, source: str, labels: tuple | None) -> None:
    """Give a placeholder-labelled classifier the names ``labels`` (kept when it is saved)."""
    if labels is None:
        return
    id2label = apply_label_names(
        source, {int(k): v for k, v in model.config.id2label.items()}, labels
    )
    model.config.id2label = id2label
    model.config.label2id = {v: k for k, v in id2label.items()}


def _load_hub_classifier(
    source: str, labels: tuple | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict]:
    model = _from_pretrained_or_explain(
        AutoModelForSequenceClassification.from_pretrained, source, **weight_options(source)
    )
    _name_outputs(model, source, labels)
    id2label = {int(k): v for k, v in (model.config.id2label or {}).items()}
    if _generic_labels(id2label):
        raise LahanError(
            f"'{source}' has placeholder labels ({', '.join(map(str, id2label.values()))}): "
            "nothing says which output is which class: name them with --labels A,B,... "
            "(output order) or --label-map FILE"
        )
    tokenizer = load_tokenizer(source)
    model.eval()
    return model, tokenizer, ModelRecord()


def position_limit(model: PreTrainedModel) -> int | None:
    """The longest input the model's position table takes (None: no table)."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is None:
        return None
    # RoBERTa-style models start positions after the padding index.
    offset = (model.config.pad_token_id or 0) + 1 if "roberta" in model.config.model_type else 0
    return positions - offset


def check_max_length(model: PreTrainedModel, max_length: int) -> None:
    """A max length beyond the position table would crash mid-run: refuse it up front."""
    limit = position_limit(model)
    if limit is not None and max_length > limit:
        raise OptionError(
            "max_length",
            f" {max_length} is longer than the model's {limit} positions: lower --max-length",
        )


def inference_max_length(model: PreTrainedModel, record: ModelRecord) -> int:
    """Tokens per text at inference: what lahan trained it with, else 128 (lahan's
    training default), capped by the position table of a model published elsewhere."""
    if record.max_length is not None:
        return record.max_length
    limit = position_limit(model)
    return 128 if limit is None else min(128, limit)


def model_labels(model: PreTrainedModel) -> list[str]:
    id2label = model.config.id2label
    return [id2label[i] for i in range(len(id2label))]


# --------------------------------------------------------------------------- save


def save_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    out: str | Path,
    record: ModelRecord | dict,
    write_extra: Callable[[Path], None] | None = None,
) -> Path:
    """Save model + tokenizer + lahan.json atomically: the folder appears whole or not at all.
    The record gets the lahan version, the time, the model's labels and the library versions.

    ``write_extra(folder)`` may add files (reports, plots) inside the same atomic step.
    """
    out = Path(out)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if write_extra is not None:
            write_extra(tmp)
        if isinstance(record, dict):
            record = ModelRecord.from_dict(record)
        written = replace(
            record,  # the caller's record is left as it is (it may be saved again)
            lahan_version=__version__,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            # a pretrained encoder's record says [] (no classes yet)
            labels=model_labels(model) if record.labels is None else record.labels,
            versions=library_versions(),
        )
        written.write(tmp / RECORD_FILE)
    return out
