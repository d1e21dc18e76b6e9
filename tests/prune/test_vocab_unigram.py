"""Vocabulary trimming of SentencePiece (Unigram) tokenizers: XLM-R, mE5, MahaRoBERTa.

Fixtures are built here: a Unigram vocabulary trained with ``tokenizers`` on the demo
corpus plus other languages (so a Marathi corpus leaves pieces unused), in XLM-R's
layout, carried by a BERT (as multilingual-e5 is) and by an XLM-R model.
"""

from __future__ import annotations

import copy

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    XLMRobertaTokenizer,
)

from lahan.data.demo_corpus import demo_examples
from lahan.errors import LahanError
from lahan.prune.vocab import trim_vocabulary
from tests.family import (
    OTHER_LANGUAGES,
    XLMR_SPECIALS,
    family_classifier,
    trained_unigram_tokenizer,
)

LABELS = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    """Train texts, texts never trimmed on (held out), and an unlabeled corpus."""
    texts = [text for text, _ in demo_examples(0)]
    return {"train": texts[:120], "heldout": texts[120:240], "corpus": texts[240:400]}


@pytest.fixture(scope="module")
def tokenizer(corpus, tmp_path_factory) -> XLMRobertaTokenizer:
    """Saved and reloaded as users get one: from_pretrained(folder)."""
    folder = tmp_path_factory.mktemp("unigram")
    built = trained_unigram_tokenizer(corpus["train"] + corpus["heldout"] + corpus["corpus"])
    built.save_pretrained(folder)
    loaded = AutoTokenizer.from_pretrained(folder)
    assert isinstance(loaded, XLMRobertaTokenizer)
    assert len(loaded) == len(built) > 500  # the trained pieces, not a default 5-token one
    return loaded


def model_for(kind: str, vocab_rows: int):
    torch.manual_seed(0)
    model = family_classifier(kind, vocab_rows, LABELS)
    if kind == "bert":
        model.config.pad_token_id = 1  # e5: XLM-R's padding id in a BERT
    return model.eval()


def logits(model, tokenizer, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    batch.pop("token_type_ids", None) if model.config.model_type != "bert" else None
    with torch.no_grad():
        return model(**batch).logits


def tokens(tokenizer, texts: list[str]) -> list[list[str]]:
    return [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(texts)["input_ids"]]


@pytest.fixture(scope="module", params=["bert", "xlm-roberta"])
def trimmed(request, tokenizer, corpus):
    """(kind, old model, new model, new tokenizer, report), e5-like rows: 5 more than pieces."""
    model = model_for(request.param, len(tokenizer) + 5)
    new_model, new_tok, report = trim_vocabulary(
        copy.deepcopy(model), tokenizer, corpus["train"], heldout=corpus["heldout"]
    )
    return request.param, model, new_model.eval(), new_tok, report


# --------------------------------------------------------------------------- exactness


def test_every_training_text_splits_into_the_same_pieces(trimmed, tokenizer, corpus):
    kind, model, new_model, new_tok, report = trimmed
    texts = corpus["train"]
    assert tokens(new_tok, texts) == tokens(tokenizer, texts)  # every text, piece by piece
    new_vocab = new_tok.get_vocab()
    for old_ids, new_ids in zip(
        tokenizer(texts)["input_ids"], new_tok(texts)["input_ids"], strict=True
    ):
        assert new_ids == [new_vocab[t] for t in tokenizer.convert_ids_to_tokens(old_ids)]
    assert report["train_token_coverage"] == 1.0 and report["train_texts_changed"] == 0
    torch.testing.assert_close(
        logits(new_model, new_tok, texts), logits(model, tokenizer, texts), atol=1e-5, rtol=0
    )


def test_the_vocabulary_shrinks_and_ids_map_back(trimmed, tokenizer):
    kind, model, new_model, new_tok, report = trimmed
    assert report["vocabulary_kind"] == "Unigram"
    assert report["vocab_size_before"] == len(tokenizer) + 5  # the model's rows
    assert report["vocab_size_after"] == len(new_tok) == new_model.config.vocab_size
    assert len(new_tok) < 0.8 * len(tokenizer)  # the other languages' pieces went
    old_pieces = tokenizer.convert_ids_to_tokens(report["kept_ids"])
    assert old_pieces == new_tok.convert_ids_to_tokens(list(range(len(new_tok))))
    old_rows = model.get_input_embeddings().weight[report["kept_ids"]]
    torch.testing.assert_close(new_model.get_input_embeddings().weight, old_rows)
    # XLM-R's special ids keep their places: 0-3 first, <mask> last
    assert new_tok.convert_ids_to_tokens([0, 1, 2, 3]) == XLMR_SPECIALS
    assert (new_tok.pad_token_id, new_tok.unk_token_id) == (1, 3)
    assert new_tok.mask_token_id == len(new_tok) - 1 and new_model.config.pad_token_id == 1


def test_a_removed_piece_falls_back_to_the_best_split_over_kept_pieces(trimmed, tokenizer, corpus):
    """Held-out text needing a removed piece splits into kept pieces (no <unk> while its
    characters are kept), exactly as a Unigram model built from the kept pieces does."""
    kind, model, new_model, new_tok, report = trimmed
    changed = [t for t in corpus["heldout"] if tokens(new_tok, [t]) != tokens(tokenizer, [t])]
    assert changed, "some held-out text should need a removed piece"
    assert report["heldout_texts_changed"] == len(changed)
    assert report["heldout_texts"] == len(corpus["heldout"])
    assert 0 < report["heldout_token_coverage"] < 1
    # the reference: a Unigram model built directly from the original's kept pieces
    pieces = _pieces(tokenizer)
    kept = [tuple(pieces[i]) for i in report["kept_ids"] if i < len(pieces)]
    reference = Tokenizer(models.Unigram(kept, 3, False))
    reference.pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
    for text in changed:
        assert new_tok.tokenize(text) == reference.encode(text, add_special_tokens=False).tokens
    kept_chars = {c for t in corpus["train"] for c in t}  # the training texts' alphabet
    pure = [t for t in changed if set(t) <= kept_chars | {" "}]
    assert pure, "some changed text should be spelled with kept characters only"
    for text in pure:  # no <unk>: shorter kept pieces spell it, and it decodes back
        ids = new_tok(text, add_special_tokens=False)["input_ids"]
        assert new_tok.unk_token_id not in ids and new_tok.decode(ids) == text


def test_unlabeled_corpus_pieces_are_kept(tokenizer, corpus):
    model = model_for("bert", len(tokenizer))
    _, plain, base = trim_vocabulary(copy.deepcopy(model), tokenizer, corpus["train"])
    _, with_corpus, report = trim_vocabulary(
        copy.deepcopy(model), tokenizer, corpus["train"], corpus=corpus["corpus"]
    )
    texts = corpus["train"] + corpus["corpus"]
    assert tokens(with_corpus, texts) == tokens(tokenizer, texts)
    assert tokens(plain, corpus["corpus"]) != tokens(tokenizer, corpus["corpus"])  # needed
    assert report["corpus_texts"] == len(corpus["corpus"])
    assert set(plain.get_vocab()) < set(with_corpus.get_vocab())
    assert report["vocab_size_after"] > base["vocab_size_after"]
    assert report["tokens_seen_corpus_only"] > 0


def test_keep_top_n_keeps_the_highest_scored_pieces(tokenizer, corpus):
    model = model_for("bert", len(tokenizer))
    _, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, corpus["train"][:5])
    _, top_tok, top = trim_vocabulary(
        copy.deepcopy(model), tokenizer, corpus["train"][:5], keep_top_n=50
    )
    scores = dict(tuple(p) for p in _pieces(tokenizer))
    added = set(top_tok.get_vocab()) - set(new_tok.get_vocab())
    special = set(tokenizer.all_special_tokens)
    best = sorted((p for p in scores if p not in special), key=lambda p: -scores[p])[:50]
    assert added and added <= set(best)
    assert set(best) <= set(top_tok.get_vocab())


def _pieces(tokenizer) -> list:
    import json

    return json.loads(tokenizer.backend_tokenizer.to_str())["model"]["vocab"]


def test_the_lowest_score_is_kept_so_unknown_characters_weigh_the_same():
    """tokenizers scores an unknown character at (lowest score - 10): dropping the
    lowest-scored piece would make <unk> cheaper and change a kept text's split."""
    vocab = [(s, 0.0) for s in XLMR_SPECIALS] + [
        ("▁ca", -1.0), ("▁c", -15.0), ("ax", -15.0), ("zq", -30.0), ("<mask>", 0.0)
    ]  # fmt: skip
    tokenizer = XLMRobertaTokenizer(vocab=vocab)
    assert tokenizer.tokenize("cax") == ["▁c", "ax"]
    without_lowest = Tokenizer(models.Unigram(vocab[:7] + vocab[8:], 3, False))
    without_lowest.pre_tokenizer = pre_tokenizers.Metaspace()
    assert without_lowest.encode("cax").tokens == ["▁ca", "x"]  # the control: it would change
    model = model_for("bert", len(tokenizer))
    _, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, ["cax", "ca"])
    assert new_tok.tokenize("cax") == ["▁c", "ax"] and "zq" in new_tok.get_vocab()
    assert report["train_texts_changed"] == 0


# --------------------------------------------------------------------------- folders


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta"])
def test_save_and_reload_exactly(kind, tokenizer, corpus, tmp_path):
    model = model_for(kind, len(tokenizer) + 5)
    new_model, new_tok, _ = trim_vocabulary(copy.deepcopy(model), tokenizer, corpus["train"])
    new_model.save_pretrained(tmp_path)
    new_tok.save_pretrained(tmp_path)
    loaded_tok = AutoTokenizer.from_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    texts = corpus["train"] + corpus["heldout"] + OTHER_LANGUAGES
    assert type(loaded_tok) is XLMRobertaTokenizer
    assert loaded_tok(texts)["input_ids"] == new_tok(texts)["input_ids"]
    torch.testing.assert_close(
        logits(loaded, loaded_tok, texts),
        logits(new_model.eval(), new_tok, texts),
        atol=1e-6,
        rtol=0,
    )


def test_bpe_is_refused_in_one_line(tokenizer):
    backend = Tokenizer(
        models.BPE(
            vocab={"<unk>": 0, "a": 1, "b": 2, "ab": 3}, merges=[("a", "b")], unk_token="<unk>"
        )
    )
    from transformers import PreTrainedTokenizerFast

    bpe = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    with pytest.raises(LahanError, match="WordPiece.*and Unigram.*model is BPE") as err:
        trim_vocabulary(model_for("bert", 4), bpe, ["ab"])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("tied", [True, False])
def test_an_mlm_head_is_sliced_tied_or_not_and_reloads(tokenizer, corpus, tied, tmp_path):
    """XLMRobertaForMaskedLM keeps a bias of its own beside the decoder's when untied:
    both are cut to the kept rows, and the saved folder loads at the new size."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=80, tie_word_embeddings=tied,
    )  # fmt: skip
    model = XLMRobertaForMaskedLM(config).eval()
    with torch.no_grad():  # a bias that is not all zeros, so slicing it shows
        model.lm_head.bias.normal_()
    texts = corpus["train"][:20]
    new_model, new_tok, report = trim_vocabulary(copy.deepcopy(model), tokenizer, texts)
    kept = torch.tensor(report["kept_ids"])
    sizes = {n: p.shape[0] for n, p in new_model.named_parameters() if "bias" in n}
    assert sizes["lm_head.bias"] == len(new_tok) == len(kept) < len(tokenizer)
    batch_old, batch_new = (
        tokenizer(texts[:4], padding=True, return_tensors="pt"),
        new_tok(texts[:4], padding=True, return_tensors="pt"),
    )
    with torch.no_grad():
        before = model(**batch_old).logits[..., kept]
        after = new_model.eval()(**batch_new).logits
    torch.testing.assert_close(after, before)  # the same scores over the kept pieces
    new_model.save_pretrained(tmp_path)
    reloaded = XLMRobertaForMaskedLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch_new).logits, after)


def test_ids_the_tokenizer_inserts_are_kept_even_when_not_special(tokenizer, corpus):
    """A post-processor template token that is neither special nor added (a custom
    template) must survive trimming, or the tokenizer would insert a removed id."""
    import json

    texts = corpus["train"][:10]
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    used = {i for ids in tokenizer(texts)["input_ids"] for i in ids}
    # a piece these texts never use, special to nothing
    rare = max(set(range(len(tokenizer))) - used - set(tokenizer.all_special_ids))
    piece = spec["model"]["vocab"][rare][0]
    spec["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": piece, "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {piece: {"id": piece, "ids": [rare], "tokens": [piece]}},
    }  # fmt: skip
    custom = copy.deepcopy(tokenizer)
    custom._tokenizer = Tokenizer.from_str(json.dumps(spec))
    model = model_for("xlm-roberta", len(tokenizer))
    new_model, new_tok, report = trim_vocabulary(copy.deepcopy(model), custom, texts)
    assert rare in report["kept_ids"]
    assert tokens(new_tok, texts) == tokens(custom, texts)  # the template token included
