"""Tiny, locally built models of the architectures L3Cube publishes, for tests.

Each builder writes a folder shaped like a published classifier of that family
(config, tokenizer of the family's kind, weights), but with tiny sizes and a
vocabulary made from the texts it is given, so no test needs the Hub:

- ``bert``        MahaBERT, MuRIL, IndicBERT v2, mBERT: cased WordPiece.
- ``roberta``     MahaRoBERTa: byte-level BPE, padding id 1, positions offset past it.
- ``xlm-roberta`` XLM-R: SentencePiece-style unigram vocabulary.
- ``distilbert``  Marathi DistilBERT: WordPiece, no token types.
- ``albert``      MahaALBERT, IndicBERT v1: one layer's weights shared by every layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import (
    AlbertConfig,
    AlbertForSequenceClassification,
    AlbertTokenizer,
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    PreTrainedModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaTokenizer,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaTokenizer,
)

FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "albert")
HIDDEN, HEADS, LAYERS, FFN = 32, 4, 2, 64


def _characters(texts: list[str]) -> list[str]:
    return sorted({c for text in texts for c in text if not c.isspace()})


def _wordpiece(texts: list[str], folder: Path, distil: bool) -> None:
    from lahan.models import wordpiece_from_vocab

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = _characters(texts)
    vocab = specials + chars + ["##" + c for c in chars]
    tokenizer = wordpiece_from_vocab({t: i for i, t in enumerate(vocab)})
    if distil:
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
    tokenizer.save_pretrained(folder)


def _byte_level_bpe(folder: Path) -> None:
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = sorted(ByteLevel.alphabet())
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + alphabet + ["<mask>"])}
    RobertaTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)


def _unigram(texts: list[str], folder: Path, tokenizer_class) -> None:
    chars = _characters(texts)
    pieces = ["▁" + c for c in chars] + chars + ["▁"]
    if tokenizer_class is AlbertTokenizer:
        specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        kwargs = {"do_lower_case": False, "keep_accents": True}
    else:
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        kwargs = {}
    vocab = [(s, 0.0) for s in specials] + [(p, -float(i + 1)) for i, p in enumerate(pieces)]
    if tokenizer_class is XLMRobertaTokenizer:
        vocab.append(("<mask>", 0.0))
    tokenizer_class(vocab=vocab, **kwargs).save_pretrained(folder)


def family_classifier(
    kind: str,
    vocab_size: int,
    labels: dict,
    *,
    hidden: int = HIDDEN,
    heads: int = HEADS,
    layers: int = LAYERS,
    ffn: int = FFN,
    positions: int = 64,
    act: str = "gelu",
    attn: str = "sdpa",
) -> PreTrainedModel:
    """A randomly initialised ``kind`` classifier with these sizes; ``labels`` holds
    id2label and label2id. Each family keeps its real conventions (RoBERTa: padding id 1,
    positions offset past it, one token type, LayerNorm eps 1e-5; DistilBERT: its own
    field names; ALBERT: a narrower embedding projected up, one shared layer)."""
    common = {"num_labels": len(labels["id2label"]), "attn_implementation": attn, **labels}
    bert_like = {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": act,
        "max_position_embeddings": positions,
        **common,
    }
    if kind == "bert":
        return BertForSequenceClassification(BertConfig(**bert_like))
    if kind in ("roberta", "xlm-roberta"):
        xlmr = kind == "xlm-roberta"
        config_class = XLMRobertaConfig if xlmr else RobertaConfig
        model_class = (
            XLMRobertaForSequenceClassification if xlmr else RobertaForSequenceClassification
        )
        roberta = {"type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1}
        bert_like["max_position_embeddings"] = positions + 2  # positions start past padding
        return model_class(config_class(**bert_like, **roberta, bos_token_id=0, eos_token_id=2))
    if kind == "distilbert":
        config = DistilBertConfig(
            vocab_size=vocab_size,
            dim=hidden,
            n_layers=layers,
            n_heads=heads,
            hidden_dim=ffn,
            activation=act,
            max_position_embeddings=positions,
            **common,
        )
        return DistilBertForSequenceClassification(config)
    if kind == "albert":
        config = AlbertConfig(**bert_like, embedding_size=hidden // 2, pad_token_id=0)
        return AlbertForSequenceClassification(config)
    raise ValueError(f"unknown family {kind!r}: one of {FAMILIES}")


def build_family_model(
    kind: str,
    folder: Path,
    texts: list[str],
    labels: list[str],
    *,
    seed: int = 0,
    bin_only: bool = False,
    **sizes,
) -> Path:
    """Write a tiny ``kind`` classifier for ``labels`` (output order) into ``folder``;
    ``sizes`` (hidden, heads, layers, ffn, ...) as for family_classifier."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if kind in ("bert", "distilbert"):
        _wordpiece(texts, folder, distil=kind == "distilbert")
    elif kind == "roberta":
        _byte_level_bpe(folder)
    elif kind == "xlm-roberta":
        _unigram(texts, folder, XLMRobertaTokenizer)
    elif kind == "albert":
        _unigram(texts, folder, AlbertTokenizer)
    else:
        raise ValueError(f"unknown family {kind!r}: one of {FAMILIES}")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    label_maps = {
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    torch.manual_seed(seed)
    model = family_classifier(kind, len(tokenizer), label_maps, **sizes)
    _save(model, folder, bin_only)
    return folder


def _save(model: PreTrainedModel, folder: Path, bin_only: bool) -> None:
    """save_pretrained, or (``bin_only``) the weights as a published pytorch_model.bin:
    transformers v5 writes safetensors only, so the .bin is written with torch.save."""
    if not bin_only:
        model.save_pretrained(folder)
        return
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")


# MuRIL's configuration (google/muril-base-cased, the encoder of the paper's baseline
# l3cube-pune/marathi-topic-all-doc-v2), with the widths made tiny for the test suite.
MURIL_VOCAB = 197_285
MURIL_CONFIG = {
    "vocab_size": MURIL_VOCAB,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "pad_token_id": 0,
    "num_attention_heads": 12,  # as MuRIL; head size 4 instead of 64
    "hidden_size": 48,  # 768 in MuRIL
    "intermediate_size": 96,  # 3072 in MuRIL
    "num_hidden_layers": 2,  # 12 in MuRIL
}


def build_baseline_replica(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """The paper's baseline as a published folder looks: a BertForSequenceClassification with
    MuRIL's configuration, 12 outputs named LABEL_0..LABEL_11, a cased WordPiece vocabulary
    of exactly 197,285 tokens (generated here: the texts' characters and words, then
    filler) as ``vocab.txt`` with a 2021-style tokenizer_config.json (no tokenizer.json),
    and ``pytorch_model.bin`` only; tiny widths so the suite stays fast."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = _characters(texts)
    words = sorted({w for text in texts for w in text.split()} - set(chars))
    vocab += chars + ["##" + c for c in chars] + words
    filler = MURIL_VOCAB - len(vocab)
    vocab += [f"x{i}" if i % 2 else f"##x{i}" for i in range(filler)]
    (folder / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    tokenizer_config = {"do_lower_case": False, "strip_accents": False, "model_max_length": 512}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    labels = {
        "num_labels": 12,
        "id2label": {i: f"LABEL_{i}" for i in range(12)},
        "label2id": {f"LABEL_{i}": i for i in range(12)},
    }
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(**MURIL_CONFIG, **labels))
    model.config.architectures = ["BertForSequenceClassification"]
    _save(model, folder, bin_only=True)
    return folder


# --------------------------------------------------------------------------- e5-shaped

XLMR_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0-3, <mask> last, as in XLM-R

# Words of other languages, so that a multilingual vocabulary has pieces a Marathi
# corpus never uses (what trimming removes).
OTHER_LANGUAGES = [
    "the quick brown fox jumps over the lazy dog",
    "government announces new scheme for farmers",
    "le gouvernement annonce un nouveau programme",
    "die regierung kündigt ein neues programm an",
    "সরকার নতুন প্রকল্প ঘোষণা করেছে",
    "सरकार ने नई योजना की घोषणा की",
]


def trained_unigram_tokenizer(texts: list[str], vocab_size: int = 800) -> XLMRobertaTokenizer:
    """An XLM-R-style SentencePiece (Unigram) tokenizer trained with ``tokenizers`` on
    ``texts`` plus a few lines of other languages: real multi-character pieces with
    scores, XLM-R's special-token layout and pipeline (XLMRobertaTokenizer builds the
    normalizer-free Metaspace pipeline around the trained pieces)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace()]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=XLMR_SPECIALS, unk_token="<unk>", shrinking_factor=0.9
    )
    backend.train_from_iterator(list(texts) + OTHER_LANGUAGES * 3, trainer)
    pieces = json.loads(backend.to_str())["model"]["vocab"]
    assert [p for p, _ in pieces[:4]] == XLMR_SPECIALS
    return XLMRobertaTokenizer(vocab=[tuple(p) for p in pieces] + [("<mask>", 0.0)])


def build_e5_like(folder: Path, texts: list[str], seed: int = 0, vocab_size: int = 800) -> Path:
    """A tiny multilingual-e5-small as ``shared/tools/make-e5-small`` writes it: a bare
    ``BertModel`` (no pooler weights, no classification head) carrying an XLM-R
    SentencePiece tokenizer (pad id 1), with a few embedding rows more than the
    tokenizer has pieces (e5: 250,037 rows for 250,002 pieces)."""
    from transformers import BertModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = trained_unigram_tokenizer(texts, vocab_size)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(tokenizer) + 5,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=128,
        pad_token_id=1,
        layer_norm_eps=1e-12,
    )
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=False)
    model.config.architectures = ["BertModel"]
    model.save_pretrained(folder)
    return folder
