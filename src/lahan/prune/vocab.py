"""Vocabulary trimming: drop the WordPiece tokens a corpus never uses (as in TextPruner).

A multilingual encoder such as MuRIL carries a vocabulary of ~197k pieces, and its
input embedding matrix is about two thirds of all parameters, while a Marathi
classification corpus touches only a small fraction of those pieces. Keeping the
special tokens, the pieces that tokenising the training texts produces, and
optionally the ``keep_top_n`` most common pieces (WordPiece vocabularies are roughly
frequency ordered, so the lowest ids) shrinks the model without changing its output on
any text made of kept pieces.

Why that holds: WordPiece tokenises each word greedily, taking the longest piece in
the vocabulary at each position. Removing pieces that a word did not use cannot make a
longer match appear, so every word of the training texts splits exactly as before;
a word that needs a removed piece becomes ``[UNK]``, as WordPiece does for any word it
cannot spell. BPE and Unigram models do not have that property (their merges or
lattice may route through removed pieces), so they are refused for now.

The tokenizer is edited through its ``tokenizer.json`` form so that the normalizer,
pre-tokenizer, decoder and post-processor carry over; only ids change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from tokenizers import Tokenizer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.errors import LahanError

ENCODE_CHUNK = 1024  # texts per encode_batch call: bounds memory on large corpora

# init_kwargs that describe where the old tokenizer came from or its old ids: the
# trimmed tokenizer gets its vocabulary and added tokens from the new tokenizer.json.
_STALE_INIT_KWARGS = (
    "vocab",
    "vocab_file",
    "merges",
    "merges_file",
    "tokenizer_file",
    "tokenizer_object",
    "added_tokens_decoder",
    "name_or_path",
    "is_local",
    "local_files_only",
)


# --------------------------------------------------------------------------- public API


def trim_vocabulary(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    keep_top_n: int = 0,
    max_length: int | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    """Keep only the vocabulary that ``texts`` need; return (model, tokenizer, report).

    Kept: every special or added token, every token id (and config token id such as
    ``pad_token_id``) in use, every id that tokenising ``texts`` yields, and the
    ``keep_top_n`` lowest-id other pieces so that common pieces stay available for
    unseen text. New ids follow the old order. With ``max_length``, only what a model
    trained with that truncation sees counts (special tokens included); a word cut by
    the limit keeps all its pieces, since WordPiece would turn it into ``[UNK]``
    otherwise. The model is edited in place (its input embedding rows are gathered, as
    are the rows of an output embedding, tied or not) and returned.

    The report holds sizes before/after, fp32 bytes saved, and ``train_token_coverage``:
    the fraction of the texts' token positions that tokenise to the same (remapped)
    piece after trimming, 1.0 when trimming changed nothing the model was trained on.
    """
    texts = _check_inputs(texts, keep_top_n, max_length)
    spec = _wordpiece_spec(tokenizer)
    windows = _training_windows(tokenizer, texts, max_length)
    seen = {i for ids in windows for i in ids}
    special = _always_kept_ids(spec, tokenizer, model)
    kept = _kept_ids(spec, special, seen, keep_top_n)
    _check_embedding_rows(model, kept)
    old_to_new = {old: new for new, old in enumerate(sorted(kept))}

    before = _sizes(model)
    new_tokenizer = _remap_tokenizer(tokenizer, spec, old_to_new)
    _remap_model(model, old_to_new)
    after = _sizes(model)

    report = {
        "vocab_size_before": before["vocab_size"],
        "vocab_size_after": after["vocab_size"],
        "embedding_params_before": before["embedding_params"],
        "embedding_params_after": after["embedding_params"],
        "total_params_before": before["total_params"],
        "total_params_after": after["total_params"],
        "bytes_saved_fp32": 4 * (before["total_params"] - after["total_params"]),
        "tokens_special": len(special),
        "tokens_seen": len(seen),
        "keep_top_n": keep_top_n,
        "train_tokens": sum(len(ids) for ids in windows),
        "train_token_coverage": _coverage(new_tokenizer, texts, windows, old_to_new),
        "max_length": max_length,
    }
    return model, new_tokenizer, report


# --------------------------------------------------------------------------- checks


def check_trimmable(tokenizer: PreTrainedTokenizerBase, keep_top_n: int) -> None:
    """Fail before any work when trimming this tokenizer is impossible (not WordPiece)."""
    if keep_top_n < 0:
        raise LahanError(f"keep_top_n must be 0 or more, got {keep_top_n}")
    _wordpiece_spec(tokenizer)


def _check_inputs(texts: Sequence[str], keep_top_n: int, max_length: int | None) -> list[str]:
    """Refuse options that cannot give a sensible vocabulary, in one line each."""
    if isinstance(texts, str):
        raise LahanError("trim_vocabulary: pass a list of texts, not one string")
    texts = list(texts)
    if not texts:
        raise LahanError(
            "vocabulary trimming needs the training texts: got none, so every piece "
            "would be dropped"
        )
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise LahanError(f"text {bad} is a {type(texts[bad]).__name__}, not a string")
    if keep_top_n < 0:
        raise LahanError(f"keep_top_n must be 0 or more, got {keep_top_n}")
    if max_length is not None and max_length < 1:
        raise LahanError(f"max_length must be at least 1, got {max_length}")
    return texts


def _wordpiece_spec(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The tokenizer's ``tokenizer.json`` as a dict, or a clear error if not WordPiece."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not isinstance(backend, Tokenizer):
        raise LahanError(
            f"vocabulary trimming needs a fast (tokenizers-backed) tokenizer; "
            f"{type(tokenizer).__name__} has none"
        )
    spec = json.loads(backend.to_str())
    kind = spec["model"].get("type")
    if kind != "WordPiece":
        raise LahanError(
            f"vocabulary trimming supports WordPiece vocabularies only for now; this "
            f"tokenizer's model is {kind} ({type(tokenizer).__name__})"
        )
    return spec


def _check_embedding_rows(model: PreTrainedModel, kept: set[int]) -> None:
    """Every kept id needs an embedding row, else the tokenizer belongs to another model."""
    rows = model.get_input_embeddings().weight.shape[0]
    if max(kept) >= rows:
        raise LahanError(
            f"the tokenizer uses id {max(kept)} but the model's embedding has only {rows} "
            "rows: the tokenizer belongs to another model"
        )


# --------------------------------------------------------------------------- which ids


def _encode(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> Iterable[Any]:
    """Encodings without special tokens, truncation or padding, in bounded chunks.

    A copy of the backend is used so that a truncation or padding setting stored in the
    tokenizer (``tokenizer.json``) neither changes nor leaks into the caller's object.
    """
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[start : start + ENCODE_CHUNK]
        yield from backend.encode_batch(chunk, add_special_tokens=False)


def _window(ids: list[int], word_ids: list[int | None], budget: int | None) -> list[int]:
    """The ids a model truncated to ``budget`` content tokens sees, whole words kept.

    A word cut by the limit keeps all its pieces: WordPiece maps a word with a missing
    piece to ``[UNK]``, which would change the pieces the model was trained on.
    """
    if budget is None or len(ids) <= budget:
        return ids
    last_word = word_ids[budget - 1]
    if last_word is None:
        return ids[:budget]
    end = budget
    while end < len(ids) and word_ids[end] == last_word:
        end += 1
    return ids[:end]


def _training_windows(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int | None
) -> list[list[int]]:
    """Per text, the content token ids (no special tokens) that training would see."""
    budget = None
    if max_length is not None:
        budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
        if budget < 1:
            raise LahanError(
                f"max_length {max_length} leaves no room for text next to the "
                "tokenizer's special tokens: use a larger max_length"
            )
    return [_window(e.ids, e.word_ids, budget) for e in _encode(tokenizer, texts)]


def _always_kept_ids(
    spec: dict[str, Any], tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel
) -> set[int]:
    """Ids that must survive whatever the texts: special/added tokens, config token ids.

    Added tokens are matched before WordPiece runs, so dropping one would change how
    texts containing it split; config ids (pad, bos, eos, ...) are used by the model.
    Only ids the tokenizer knows count, so that the new ids stay contiguous.
    """
    known = _tokenizer_ids(spec)
    ids = {t["id"] for t in spec.get("added_tokens", [])}
    ids |= {i for i in tokenizer.all_special_ids if i is not None}
    ids |= {i for _, i in _config_token_ids(model)}
    return ids & known


def _kept_ids(spec: dict[str, Any], special: set[int], seen: set[int], keep_top_n: int) -> set[int]:
    """Special + seen + the ``keep_top_n`` lowest-id non-special pieces."""
    vocab_ids = sorted(spec["model"]["vocab"].values())
    top = [i for i in vocab_ids if i not in special][:keep_top_n]
    return special | seen | set(top)


def _tokenizer_ids(spec: dict[str, Any]) -> set[int]:
    """Every id the tokenizer can produce: model vocabulary plus added tokens."""
    return set(spec["model"]["vocab"].values()) | {t["id"] for t in spec.get("added_tokens", [])}


# --------------------------------------------------------------------------- tokenizer


def _remap_tokenizer(
    tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any], old_to_new: dict[int, int]
) -> PreTrainedTokenizerBase:
    """The same tokenizer class over the trimmed vocabulary (a new object)."""
    spec = json.loads(json.dumps(spec))  # deep copy: the caller's dict stays as it was
    model = spec["model"]
    model["vocab"] = {
        tok: old_to_new[i]
        for tok, i in sorted(model["vocab"].items(), key=lambda kv: kv[1])
        if i in old_to_new
    }
    if model.get("unk_token") not in model["vocab"]:
        raise LahanError(
            f"the tokenizer's unknown token {model.get('unk_token')!r} is not in its "
            "vocabulary: cannot trim it safely"
        )
    for added in spec.get("added_tokens", []):
        added["id"] = old_to_new[added["id"]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = _new_id(spec["padding"]["pad_id"], old_to_new, "padding")
    if spec.get("post_processor"):
        _remap_post_processor(spec["post_processor"], old_to_new)
    backend = Tokenizer.from_str(json.dumps(spec))
    kwargs = {k: v for k, v in tokenizer.init_kwargs.items() if k not in _STALE_INIT_KWARGS}
    new = type(tokenizer)(tokenizer_object=backend, **kwargs)
    # Some classes (BertTokenizer) rebuild the post-processor in __init__: put back the
    # original one, remapped, so that custom templates survive too.
    new.backend_tokenizer.post_processor = backend.post_processor
    for attr in ("model_max_length", "padding_side", "truncation_side"):
        if hasattr(tokenizer, attr):
            setattr(new, attr, getattr(tokenizer, attr))
    return new


def _new_id(old: int, old_to_new: dict[int, int], where: str) -> int:
    if old not in old_to_new:
        raise LahanError(f"the tokenizer's {where} uses id {old}, which is not in its vocabulary")
    return old_to_new[old]


def _remap_post_processor(proc: dict[str, Any], old_to_new: dict[int, int]) -> None:
    """Rewrite special-token ids in a post-processor's JSON, in place (any nesting).

    TemplateProcessing keeps ``special_tokens[name]["ids"]``; BertProcessing and
    RobertaProcessing keep ``[token, id]`` pairs under ``cls`` and ``sep``; Sequence
    nests processors.
    """
    kind = proc.get("type")
    if kind == "TemplateProcessing":
        for entry in proc.get("special_tokens", {}).values():
            entry["ids"] = [_new_id(i, old_to_new, "post-processor") for i in entry["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("cls", "sep"):
            token, old = proc[key]
            proc[key] = [token, _new_id(old, old_to_new, "post-processor")]
    elif kind == "Sequence":
        for inner in proc.get("processors", []):
            _remap_post_processor(inner, old_to_new)


# --------------------------------------------------------------------------- model


def _config_token_ids(model: PreTrainedModel) -> list[tuple[str, int]]:
    """(field, id) for every integer ``*_token_id`` field of the model's config."""
    fields = []
    for key, value in model.config.to_dict().items():
        if not key.endswith("_token_id"):
            continue
        values = value if isinstance(value, list) else [value]
        fields += [(key, v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return fields


def _remap_config(model: PreTrainedModel, old_to_new: dict[int, int]) -> None:
    """vocab_size and every token-id field follow the new ids.

    Ids outside the old vocabulary (never valid) are left as they were.
    """
    config = model.config
    config.vocab_size = len(old_to_new)
    text_config = config.get_text_config()
    if text_config is not config and hasattr(text_config, "vocab_size"):
        text_config.vocab_size = len(old_to_new)
    for key, _ in _config_token_ids(model):
        value = getattr(config, key)
        if isinstance(value, list):
            setattr(config, key, [old_to_new.get(v, v) for v in value])
        else:
            setattr(config, key, old_to_new.get(value, value))


def _replace_parameter(model: torch.nn.Module, old: torch.nn.Parameter, new: torch.nn.Parameter):
    """Swap ``old`` for ``new`` in every module that holds it, so ties stay tied."""
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is old:
                module._parameters[name] = new


def _gathered(param: torch.nn.Parameter, index: torch.Tensor) -> torch.nn.Parameter:
    """The rows ``index`` of ``param`` as a new parameter with the same grad setting."""
    with torch.no_grad():
        rows = param.index_select(0, index.to(param.device)).clone()
    return torch.nn.Parameter(rows, requires_grad=param.requires_grad)


def _remap_model(model: PreTrainedModel, old_to_new: dict[int, int]) -> None:
    """Gather the input (and any output) embedding rows of the kept ids, in new order."""
    index = torch.tensor(sorted(old_to_new), dtype=torch.long)
    size = len(index)
    emb = model.get_input_embeddings()
    old_weight = emb.weight
    new_weight = _gathered(old_weight, index)
    _replace_parameter(model, old_weight, new_weight)  # also a tied output embedding
    emb.num_embeddings = size
    if emb.padding_idx is not None:
        emb.padding_idx = old_to_new.get(emb.padding_idx)

    out = model.get_output_embeddings()
    if out is not None and getattr(out, "weight", None) is not None:
        if out.weight is not new_weight and out.weight.shape[0] == old_weight.shape[0]:
            _replace_parameter(model, out.weight, _gathered(out.weight, index))
        bias = getattr(out, "bias", None)
        if bias is not None and bias.shape[0] == old_weight.shape[0]:
            _replace_parameter(model, bias, _gathered(bias, index))
        if hasattr(out, "out_features"):
            out.out_features = size
    _remap_config(model, old_to_new)


# --------------------------------------------------------------------------- report


def _sizes(model: PreTrainedModel) -> dict[str, int]:
    """Vocabulary rows, input-embedding parameters, and all (unique) parameters."""
    weight = model.get_input_embeddings().weight
    return {
        "vocab_size": int(weight.shape[0]),
        "embedding_params": int(weight.numel()),
        "total_params": sum(p.numel() for p in model.parameters()),
    }


def _coverage(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    windows: list[list[int]],
    old_to_new: dict[int, int],
) -> float:
    """Fraction of training token positions the trimmed tokenizer reproduces exactly.

    Measured, not assumed: each text is tokenised again with the new tokenizer and
    compared position by position with the old ids mapped to new ones.
    """
    total = sum(len(w) for w in windows)
    if total == 0:
        return 1.0
    same = 0
    for window, enc in zip(windows, _encode(tokenizer, texts), strict=True):
        expected = [old_to_new.get(i, -1) for i in window]
        same += sum(a == b for a, b in zip(expected, enc.ids, strict=False))
    return same / total
