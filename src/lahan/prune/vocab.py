"""Vocabulary trimming: drop the pieces a corpus never uses (as TextPruner does).

A multilingual encoder carries a vocabulary made for a hundred languages: MuRIL's
~197k WordPiece tokens are two thirds of its parameters, the XLM-R SentencePiece
vocabulary of multilingual-e5-small (250k pieces) is 81% of it, while a Marathi
classification corpus touches a small fraction of those pieces. Keeping the special
tokens, the pieces that tokenising the training texts produces, the pieces of an
optional unlabeled corpus (the text the model will serve), and optionally the
``keep_top_n`` most common other pieces shrinks the model without changing its output
on any text made of kept pieces.

Why that holds, per vocabulary kind:

* **WordPiece** tokenises each word greedily, taking the longest piece in the
  vocabulary at each position. Removing pieces that a word did not use cannot make a
  longer match appear, so every word of the training texts splits exactly as before;
  a word that needs a removed piece becomes ``[UNK]``, as WordPiece does for any word
  it cannot spell. Its "most common" pieces are the lowest ids.
* **Unigram** (SentencePiece: XLM-R, mE5, MahaRoBERTa) splits each word into the
  segmentation with the highest total score (Viterbi over the pieces that match).
  Removing pieces only removes paths: the path a training word took is still there and
  no path can gain, so it stays the best. Two details keep that exact: the unknown
  token's score is derived from the lowest score in the vocabulary, so the
  lowest-scored piece is always kept; with byte fallback, the 256 byte pieces are kept.
  A word that needs a removed piece falls back to the best segmentation over the kept
  pieces; the one-character pieces of every character the kept pieces spell are kept
  too, so such a word splits into shorter pieces rather than ``<unk>``. Its "most
  common" pieces are the highest scores (the unigram model's log-probabilities).
* **BPE** (byte-level or not: GPT-2, RoBERTa) applies merges in order, and a merge
  chain routes through intermediate pieces a text never shows: refused, in one line.

The tokenizer is edited through its ``tokenizer.json`` form so that the normalizer,
pre-tokenizer, decoder and post-processor carry over; only ids change. The report
says how many training (and held-out) texts tokenize differently afterwards: measured,
not assumed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    corpus: Sequence[str] = (),
    heldout: Sequence[str] = (),
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    """Keep only the vocabulary that ``texts`` need; return (model, tokenizer, report).

    Kept: every special or added token, every token id (and config token id such as
    ``pad_token_id``) in use, every id that tokenising ``texts`` or ``corpus`` (unlabeled
    text the model should segment as before, e.g. what it will serve) yields, and the
    ``keep_top_n`` most common other pieces so that common pieces stay available for
    unseen text. New ids follow the old order. With ``max_length``, only what a model
    truncated there sees counts (special tokens included); a word cut by the limit
    keeps all its pieces, since its segmentation depends on the whole word. The model
    is edited in place (its input embedding rows are gathered, as are the rows of an
    output embedding, tied or not) and returned.

    The report holds sizes before/after, fp32 bytes saved, ``kept_ids`` (the old id of
    each new id, in order), ``train_token_coverage`` (the fraction of the texts' token
    positions that tokenise to the same, remapped, piece after trimming: 1.0 when
    trimming changed nothing the model was trained on), ``train_texts_changed``, and
    for ``heldout`` texts (dev, say: not used to choose pieces) how many now tokenize
    differently.
    """
    texts = _check_inputs(texts, keep_top_n, max_length)
    corpus, heldout = _text_list(corpus, "corpus"), _text_list(heldout, "heldout")
    vocab = Vocabulary.of(tokenizer)
    windows = _training_windows(tokenizer, texts, max_length)
    corpus_windows = _training_windows(tokenizer, corpus, max_length)
    seen = {i for ids in windows for i in ids}
    seen_corpus = {i for ids in corpus_windows for i in ids}
    special = _always_kept_ids(vocab, tokenizer, model)
    alphabet = vocab.alphabet_ids(seen | seen_corpus)
    kept = special | seen | seen_corpus | alphabet | vocab.most_common(keep_top_n, special)
    _check_embedding_rows(model, kept)
    old_to_new = {old: new for new, old in enumerate(sorted(kept))}

    before = _sizes(model)
    new_tokenizer = _remap_tokenizer(tokenizer, vocab, old_to_new)
    _remap_model(model, old_to_new)
    after = _sizes(model)

    train_same, train_changed = _agreement(new_tokenizer, texts, windows, old_to_new)
    report = {
        "vocabulary_kind": vocab.kind,
        "vocab_size_before": before["vocab_size"],
        "vocab_size_after": after["vocab_size"],
        "embedding_params_before": before["embedding_params"],
        "embedding_params_after": after["embedding_params"],
        "total_params_before": before["total_params"],
        "total_params_after": after["total_params"],
        "bytes_saved_fp32": 4 * (before["total_params"] - after["total_params"]),
        "tokens_special": len(special),
        "tokens_seen": len(seen),
        "corpus_texts": len(corpus),
        "tokens_seen_corpus_only": len(seen_corpus - seen - special),
        "tokens_alphabet_only": len(alphabet - seen - seen_corpus - special),
        "keep_top_n": keep_top_n,
        "train_tokens": sum(len(ids) for ids in windows),
        "train_token_coverage": train_same,
        "train_texts_changed": train_changed,
        "max_length": max_length,
    }
    if heldout:
        held_windows = _training_windows(tokenizer, heldout, max_length)
        held_same, held_changed = _agreement(new_tokenizer, heldout, held_windows, old_to_new)
        report |= {
            "heldout_texts": len(heldout),
            "heldout_texts_changed": held_changed,
            "heldout_token_coverage": held_same,
        }
    report["kept_ids"] = sorted(kept)  # last: long, and read by machines only
    return model, new_tokenizer, report


# --------------------------------------------------------------------------- checks


def check_trimmable(tokenizer: PreTrainedTokenizerBase, keep_top_n: int) -> None:
    """Fail before any work when trimming this tokenizer is impossible (BPE, slow)."""
    if keep_top_n < 0:
        raise LahanError(f"keep_top_n must be 0 or more, got {keep_top_n}")
    Vocabulary.of(tokenizer)


def _check_inputs(texts: Sequence[str], keep_top_n: int, max_length: int | None) -> list[str]:
    """Refuse options that cannot give a sensible vocabulary, in one line each."""
    texts = _text_list(texts, "texts")
    if not texts:
        raise LahanError(
            "vocabulary trimming needs the training texts: got none, so every piece "
            "would be dropped"
        )
    if keep_top_n < 0:
        raise LahanError(f"keep_top_n must be 0 or more, got {keep_top_n}")
    if max_length is not None and max_length < 1:
        raise LahanError(f"max_length must be at least 1, got {max_length}")
    return texts


def _text_list(texts: Sequence[str], name: str) -> list[str]:
    """``texts`` as a list of strings, or one line naming the first that is not."""
    if isinstance(texts, str):
        raise LahanError(f"trim_vocabulary: pass {name} as a list of texts, not one string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise LahanError(f"{name} text {bad} is a {type(texts[bad]).__name__}, not a string")
    return texts


def _check_embedding_rows(model: PreTrainedModel, kept: set[int]) -> None:
    """Every kept id needs an embedding row, else the tokenizer belongs to another model."""
    rows = model.get_input_embeddings().weight.shape[0]
    if max(kept) >= rows:
        raise LahanError(
            f"the tokenizer uses id {max(kept)} but the model's embedding has only {rows} "
            "rows: the tokenizer belongs to another model"
        )


# --------------------------------------------------------------------------- vocabularies

_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")


# why lahan does not trim a tokenizer model (said after the refusal)
WHY_NOT = {
    "BPE": ": BPE merges pass through pieces a text never shows, so removing pieces could "
    "change how kept text splits",
    "WordLevel": ": lahan does not trim whole-word vocabularies yet",
}


@dataclass
class Vocabulary:
    """A tokenizer's ``tokenizer.json`` and what trimming needs to know of its model.

    ``kind`` is the tokenizers model type: WordPiece (``vocab`` maps piece -> id) or
    Unigram (``vocab`` is a list of [piece, score], the id being the position).
    """

    spec: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.spec["model"]["type"]

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase) -> Vocabulary:
        """The tokenizer's vocabulary, or one line saying why it cannot be trimmed."""
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer):
            raise LahanError(
                f"vocabulary trimming needs a fast (tokenizers-backed) tokenizer; "
                f"{type(tokenizer).__name__} has none"
            )
        spec = json.loads(backend.to_str())
        kind = spec["model"].get("type")
        if kind not in SUPPORTED_KINDS:
            raise LahanError(
                f"vocabulary trimming supports WordPiece (BERT, MuRIL) and Unigram / "
                f"SentencePiece (XLM-R, mE5) vocabularies; this tokenizer's model is {kind} "
                f"({type(tokenizer).__name__}){WHY_NOT.get(kind, '')}"
            )
        return cls(spec)

    def model_ids(self) -> set[int]:
        """The ids of the model's own pieces (added tokens aside)."""
        vocab = self.spec["model"]["vocab"]
        return set(vocab.values()) if self.kind == "WordPiece" else set(range(len(vocab)))

    def ids(self) -> set[int]:
        """Every id the tokenizer can produce: its pieces plus added tokens."""
        return self.model_ids() | {t["id"] for t in self.spec.get("added_tokens", [])}

    def model_kept_ids(self) -> set[int]:
        """Pieces the model itself needs to segment kept text as before.

        Unigram: the unknown piece, the lowest-scored piece (tokenizers derives the
        unknown token's score from the minimum, so dropping it would change which
        segmentation wins where a character is unknown) and, with byte fallback, the
        256 byte pieces. WordPiece: the unknown token (its [UNK]).
        """
        model = self.spec["model"]
        if self.kind == "WordPiece":
            unk = model.get("unk_token")
            return {model["vocab"][unk]} if unk in model["vocab"] else set()
        vocab = model["vocab"]
        kept = {min(range(len(vocab)), key=lambda i: (vocab[i][1], i))}
        if model.get("unk_id") is not None:
            kept.add(model["unk_id"])
        if model.get("byte_fallback"):
            kept |= {i for i, (piece, _) in enumerate(vocab) if _BYTE_PIECE.fullmatch(piece)}
        return kept

    def alphabet_ids(self, used: set[int]) -> set[int]:
        """Unigram: the one-character pieces (bare and word-initial) of every character
        in the ``used`` pieces, and the word-boundary piece, so that any text spelled
        with those characters still has a segmentation without ``<unk>``. Keeping more
        pieces never changes how kept text splits (see the module docstring). WordPiece:
        none (a word needing a removed piece becomes [UNK], as before)."""
        if self.kind != "Unigram":
            return set()
        vocab = self.spec["model"]["vocab"]
        boundary = _metaspace_replacement(self.spec.get("pre_tokenizer"))
        chars = {c for i in used if i < len(vocab) for c in vocab[i][0]} - {boundary}
        wanted = chars | {boundary + c for c in chars} | {boundary}
        return {i for i, (piece, _) in enumerate(vocab) if piece in wanted}

    def most_common(self, n: int, exclude: set[int]) -> set[int]:
        """The ``n`` most common pieces not in ``exclude``: WordPiece lists pieces roughly
        by frequency (lowest ids first); Unigram scores are log-probabilities."""
        if n <= 0:
            return set()
        vocab = self.spec["model"]["vocab"]
        if self.kind == "WordPiece":
            order = sorted(vocab.values())
        else:
            order = sorted(range(len(vocab)), key=lambda i: (-vocab[i][1], i))
        return set([i for i in order if i not in exclude][:n])

    def remapped(self, old_to_new: dict[int, int]) -> dict[str, Any]:
        """A new ``tokenizer.json`` dict over the kept ids (the old one is left alone)."""
        spec = json.loads(json.dumps(self.spec))  # deep copy
        model = spec["model"]
        if self.kind == "WordPiece":
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
        else:
            # kept ids are sorted and the model's pieces hold the lowest ids, so a kept
            # piece's position in the new list is its new id
            model["vocab"] = [p for i, p in enumerate(model["vocab"]) if i in old_to_new]
            if model.get("unk_id") is not None:
                model["unk_id"] = old_to_new[model["unk_id"]]
        for added in spec.get("added_tokens", []):
            added["id"] = old_to_new[added["id"]]
        if spec.get("padding"):
            spec["padding"]["pad_id"] = _new_id(spec["padding"]["pad_id"], old_to_new, "padding")
        if spec.get("post_processor"):
            _remap_post_processor(spec["post_processor"], old_to_new)
        return spec


SUPPORTED_KINDS = ("WordPiece", "Unigram")


def _metaspace_replacement(pre_tokenizer: dict | None) -> str:
    """The word-boundary character of a (nested) Metaspace pre-tokenizer, "▁" by default."""
    if not pre_tokenizer:
        return "\u2581"
    if pre_tokenizer.get("type") == "Metaspace":
        return pre_tokenizer.get("replacement", "\u2581")
    for inner in pre_tokenizer.get("pretokenizers", []):
        if inner.get("type") == "Metaspace":
            return inner.get("replacement", "\u2581")
    return "\u2581"


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
        try:
            encoded = backend.encode_batch(chunk, add_special_tokens=False)
        except Exception as e:  # tokenizers raises plain Exceptions
            # a Unigram model without an unknown piece cannot segment a character it
            # has no piece for: say which text, in one line
            raise LahanError(
                f"the tokenizer cannot split one of texts {start}-{start + len(chunk) - 1} "
                f"({str(e).splitlines()[0]}): a vocabulary without an unknown token cannot "
                "be trimmed below the characters of every text it will see; add those texts "
                "with --trim-vocab-text"
            ) from None
        yield from encoded


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
    vocab: Vocabulary, tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel
) -> set[int]:
    """Ids that must survive whatever the texts: special/added tokens, config token ids,
    and what the tokenizer model needs (its unknown piece; see ``model_kept_ids``).

    Added tokens are matched before the model runs, so dropping one would change how
    texts containing it split; config ids (pad, bos, eos, ...) are used by the model.
    Only ids the tokenizer knows count, so that the new ids stay contiguous.
    """
    ids = {t["id"] for t in vocab.spec.get("added_tokens", [])}
    ids |= {i for i in tokenizer.all_special_ids if i is not None}
    ids |= {i for _, i in _config_token_ids(model)}
    # what the tokenizer itself inserts: its padding and its post-processor's templates
    if vocab.spec.get("padding"):
        ids.add(vocab.spec["padding"]["pad_id"])
    ids |= _post_processor_ids(vocab.spec.get("post_processor"))
    return (ids & vocab.ids()) | vocab.model_kept_ids()


def _post_processor_ids(proc: dict[str, Any] | None) -> set[int]:
    """The token ids a post-processor inserts (the layouts ``_remap_post_processor``
    rewrites)."""
    if not proc:
        return set()
    kind = proc.get("type")
    if kind == "TemplateProcessing":
        return {i for entry in proc.get("special_tokens", {}).values() for i in entry["ids"]}
    if kind in ("BertProcessing", "RobertaProcessing"):
        return {proc[key][1] for key in ("cls", "sep")}
    if kind == "Sequence":
        return {i for inner in proc.get("processors", []) for i in _post_processor_ids(inner)}
    return set()


# --------------------------------------------------------------------------- tokenizer


def _remap_tokenizer(
    tokenizer: PreTrainedTokenizerBase, vocab: Vocabulary, old_to_new: dict[int, int]
) -> PreTrainedTokenizerBase:
    """The same tokenizer class over the trimmed vocabulary (a new object)."""
    backend = Tokenizer.from_str(json.dumps(vocab.remapped(old_to_new)))
    kwargs = {k: v for k, v in tokenizer.init_kwargs.items() if k not in _STALE_INIT_KWARGS}
    new = type(tokenizer)(tokenizer_object=backend, **kwargs)
    # Some classes (BertTokenizer, XLMRobertaTokenizer) rebuild the post-processor in
    # __init__: put back the original one, remapped, so that custom templates survive.
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
        # an untied head may keep its own copy of the bias beside the decoder's
        # (RobertaLMHead.bias with tie_word_embeddings=False): every parameter of the
        # module holding the output embedding that still has one row per old id
        for module in model.modules():
            if any(child is out for child in module.children()):
                for param in list(module.parameters(recurse=False)):
                    if param.shape[0] == old_weight.shape[0]:
                        _replace_parameter(model, param, _gathered(param, index))
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


def _agreement(
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    windows: list[list[int]],
    old_to_new: dict[int, int],
) -> tuple[float, int]:
    """(fraction of token positions, number of texts) the trimmed tokenizer reproduces
    differently from the old one: measured, not assumed.

    Each text is tokenised again with the new tokenizer and compared position by
    position, over what the model sees, with the old ids mapped to new ones.
    """
    total = sum(len(w) for w in windows)
    same = changed = 0
    for window, enc in zip(windows, _encode(tokenizer, texts), strict=True):
        expected = [old_to_new.get(i, -1) for i in window]
        got = enc.ids[: len(expected)]
        same += sum(a == b for a, b in zip(expected, got, strict=False))
        changed += got != expected
    return (same / total if total else 1.0), changed
