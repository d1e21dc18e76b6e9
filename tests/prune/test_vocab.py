"""Vocabulary trimming: same tokens and logits on kept text, [UNK] otherwise, smaller model."""

from __future__ import annotations

import copy

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
)

from lahan.config import ModelConfig
from lahan.data.demo_corpus import demo_examples
from lahan.errors import LahanError
from lahan.models import build_preset, wordpiece_from_vocab
from lahan.prune.vocab import trim_vocabulary

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    """A few dozen synthetic Marathi headlines (train) and a few more (unseen)."""
    rows = demo_examples(0)
    texts = [text for text, _ in rows]
    labels = sorted({label for _, label in rows})
    return texts[::8][:48], labels


@pytest.fixture(scope="module")
def tiny(corpus):
    """A preset:tiny classifier with a 300-piece WordPiece vocabulary, in eval mode."""
    torch.manual_seed(0)
    texts, labels = corpus
    model, tokenizer = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    return model.eval(), tokenizer


@pytest.fixture
def trimmed(tiny, corpus):
    """(old model, old tokenizer, new model, new tokenizer, report): the old ones untouched."""
    model, tokenizer = tiny
    new_model, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, corpus[0])
    return model, tokenizer, new_model.eval(), new_tok, report


def logits(model, tokenizer, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits


def seen_ids(tokenizer, texts: list[str]) -> set[int]:
    return {i for ids in tokenizer(texts, add_special_tokens=False)["input_ids"] for i in ids}


def bert_layout_tokenizer(texts: list[str]):
    """A BERT/MuRIL-like layout: [PAD] 0, unused slots, then [UNK] [CLS] [SEP] [MASK]."""
    trained = build_preset(ModelConfig("preset:tiny", vocab_size=300), ["a", "b"], texts)[1]
    pieces = [t for t, _ in sorted(trained.get_vocab().items(), key=lambda kv: kv[1])]
    pieces = [t for t in pieces if t not in SPECIALS]
    layout = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 10)] + SPECIALS[1:] + pieces
    return wordpiece_from_vocab({t: i for i, t in enumerate(layout)})


def tiny_bert_config(vocab_size: int, pad_token_id: int) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=pad_token_id,
        num_labels=3,
    )


# --------------------------------------------------------------------------- behaviour


def test_kept_text_tokenizes_the_same_and_logits_are_identical(trimmed, corpus):
    model, tokenizer, new_model, new_tok, report = trimmed
    texts = corpus[0]
    new_vocab = new_tok.get_vocab()
    for text in texts:
        old_ids = tokenizer(text)["input_ids"]
        new_ids = new_tok(text)["input_ids"]
        old_tokens = tokenizer.convert_ids_to_tokens(old_ids)
        assert new_tok.convert_ids_to_tokens(new_ids) == old_tokens
        assert new_ids == [new_vocab[t] for t in old_tokens]
    torch.testing.assert_close(
        logits(new_model, new_tok, texts), logits(model, tokenizer, texts), atol=1e-6, rtol=0
    )
    assert report["train_token_coverage"] == 1.0


def test_unseen_word_falls_back_to_unk(trimmed, corpus):
    _, tokenizer, _, new_tok, _ = trimmed
    dropped = [t for t in tokenizer.get_vocab() if t not in new_tok.get_vocab()]
    unk_words = [t for t in dropped if not t.startswith("##") and new_tok.tokenize(t) == ["[UNK]"]]
    assert unk_words, "the tiny vocabulary should have a dropped whole-word piece"
    text = f"{corpus[0][0]} {unk_words[0]}"
    assert "[UNK]" not in tokenizer.tokenize(text)
    new_tokens = new_tok.tokenize(text)
    assert new_tokens[-1] == "[UNK]" and new_tokens.count("[UNK]") == 1
    assert new_tokens[:-1] == tokenizer.tokenize(corpus[0][0])


def test_sizes_shrink_and_match_the_report(trimmed):
    model, tokenizer, new_model, new_tok, report = trimmed
    hidden = model.config.hidden_size
    before, after = report["vocab_size_before"], report["vocab_size_after"]
    assert before == len(tokenizer) == 300
    assert after == len(new_tok) == new_model.config.vocab_size < before
    assert new_model.get_input_embeddings().weight.shape == (after, hidden)
    assert report["embedding_params_before"] == before * hidden
    assert report["embedding_params_after"] == after * hidden
    assert report["total_params_before"] == sum(p.numel() for p in model.parameters())
    assert report["total_params_after"] == sum(p.numel() for p in new_model.parameters())
    saved = report["total_params_before"] - report["total_params_after"]
    assert saved == (before - after) * hidden
    assert report["bytes_saved_fp32"] == 4 * saved


def test_keep_top_n_adds_exactly_the_lowest_id_pieces(tiny, corpus):
    model, tokenizer = tiny
    texts = corpus[0]
    special = set(tokenizer.all_special_ids)
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    top = {i for _, i in by_id if i not in special}
    top = set(sorted(top)[:40])
    expected = special | seen_ids(tokenizer, texts) | top
    assert not top <= seen_ids(tokenizer, texts)  # the test would prove nothing otherwise

    _, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, texts, keep_top_n=40)
    old_vocab = tokenizer.get_vocab()
    kept = sorted(new_tok.get_vocab().items(), key=lambda kv: kv[1])
    assert {old_vocab[t] for t, _ in kept} == expected
    assert [old_vocab[t] for t, _ in kept] == sorted(expected)  # new ids follow old order
    assert [i for _, i in kept] == list(range(len(expected)))
    assert report["vocab_size_after"] == len(expected)


def test_max_length_counts_only_what_training_sees(tiny, corpus):
    model, tokenizer = tiny
    texts = corpus[0]
    _, _, full = trim_vocabulary(copy.deepcopy(model), tokenizer, texts)
    _, new_tok, short = trim_vocabulary(copy.deepcopy(model), tokenizer, texts, max_length=6)
    assert short["tokens_seen"] < full["tokens_seen"]
    assert short["train_token_coverage"] == 1.0
    for text in texts:  # the first 4 content tokens (plus a cut word's tail) are unchanged
        assert new_tok(text)["input_ids"][:5] == [
            new_tok.convert_tokens_to_ids(t)
            for t in tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"][:5])
        ]


def test_save_and_reload_round_trip(trimmed, corpus, tmp_path):
    model, tokenizer, new_model, new_tok, _ = trimmed
    texts = corpus[0][:8] + ["पुणे नवीन बातमी"]
    new_model.save_pretrained(tmp_path, safe_serialization=True)
    new_tok.save_pretrained(tmp_path)
    loaded_tok = AutoTokenizer.from_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert type(loaded_tok) is type(tokenizer)
    assert loaded_tok(texts)["input_ids"] == new_tok(texts)["input_ids"]
    assert loaded.config.vocab_size == new_model.config.vocab_size
    torch.testing.assert_close(
        logits(loaded, loaded_tok, texts), logits(new_model, new_tok, texts), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        logits(loaded, loaded_tok, corpus[0][:8]),
        logits(model, tokenizer, corpus[0][:8]),
        atol=1e-6,
        rtol=0,
    )


def test_special_ids_are_remapped_in_a_bert_layout(corpus):
    texts = corpus[0]
    tokenizer = bert_layout_tokenizer(texts)
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id) == (0, 10, 11)
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert_config(len(tokenizer), 0)).eval()
    old = logits(model, tokenizer, texts[:6])
    new_model, new_tok, _ = trim_vocabulary(copy.deepcopy(model), tokenizer, texts[:6])
    new_model.eval()

    vocab = new_tok.get_vocab()
    assert "[unused1]" not in vocab
    assert [vocab[t] for t in SPECIALS] == [0, 1, 2, 3, 4]
    assert (new_tok.pad_token_id, new_tok.unk_token_id) == (0, 1)
    assert (new_tok.cls_token_id, new_tok.sep_token_id, new_tok.mask_token_id) == (2, 3, 4)
    ids = new_tok(texts[0], texts[1])["input_ids"]
    assert ids[0] == 2 and ids[-1] == 3 and ids.count(3) == 2
    padded = new_tok(texts[:2], padding=True)["input_ids"]
    assert 0 in padded[0] + padded[1]
    assert new_model.config.pad_token_id == 0
    assert new_model.get_input_embeddings().padding_idx == 0
    torch.testing.assert_close(logits(new_model, new_tok, texts[:6]), old, atol=1e-6, rtol=0)


def test_tied_mlm_head_is_trimmed_too(corpus):
    texts = corpus[0][:6]
    tokenizer = bert_layout_tokenizer(corpus[0])
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny_bert_config(len(tokenizer), 0)).eval()
    with torch.no_grad():
        model.cls.predictions.bias.normal_()  # a non-zero bias shows it is gathered as well
    old = logits(model, tokenizer, texts)
    new_model, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, texts)
    new_model.eval()
    out, emb = new_model.get_output_embeddings(), new_model.get_input_embeddings()
    assert out.weight is emb.weight
    old_vocab = tokenizer.get_vocab()
    kept = [old_vocab[t] for t, _ in sorted(new_tok.get_vocab().items(), key=lambda kv: kv[1])]
    new = logits(new_model, new_tok, texts)
    assert new.shape[-1] == report["vocab_size_after"]
    torch.testing.assert_close(new, old[..., kept], atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- errors


def _other_model_tokenizer(kind: str) -> PreTrainedTokenizerFast:
    if kind == "BPE":
        backend = Tokenizer(
            models.BPE(
                vocab={"[UNK]": 0, "a": 1, "b": 2, "ab": 3}, merges=[("a", "b")], unk_token="[UNK]"
            )
        )
    elif kind == "WordLevel":
        backend = Tokenizer(models.WordLevel({"[UNK]": 0, "ab": 1, "a": 2}, unk_token="[UNK]"))
    else:
        backend = Tokenizer(models.Unigram([("[UNK]", 0.0), ("a", -1.0), ("b", -2.0)], 0))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")


@pytest.mark.parametrize(
    "kind, why", [("BPE", "BPE merges pass through"), ("WordLevel", "whole-word vocabularies")]
)
def test_other_vocabularies_are_refused_clearly(tiny, kind, why):
    model, _ = tiny
    with pytest.raises(LahanError, match=f"supports WordPiece.*model is {kind}.*{why}") as err:
        trim_vocabulary(copy.deepcopy(model), _other_model_tokenizer(kind), ["ab a b"])
    assert "\n" not in str(err.value)  # one line
    if kind != "BPE":
        assert "BPE" not in str(err.value)


def test_empty_texts_and_negative_keep_top_n_are_refused(tiny, corpus):
    model, tokenizer = tiny
    with pytest.raises(LahanError, match="training texts"):
        trim_vocabulary(copy.deepcopy(model), tokenizer, [])
    with pytest.raises(LahanError, match="keep_top_n"):
        trim_vocabulary(copy.deepcopy(model), tokenizer, corpus[0], keep_top_n=-1)


def test_original_tokenizer_is_left_alone(tiny, corpus):
    model, tokenizer = tiny
    before = tokenizer.backend_tokenizer.to_str()
    trim_vocabulary(copy.deepcopy(model), tokenizer, corpus[0])
    assert tokenizer.backend_tokenizer.to_str() == before
    assert len(tokenizer) == 300
