"""shrink_to_dense: masked BERT / RoBERTa / XLM-R / DistilBERT (zeros baked in) -> smaller
dense model, same logits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertForSequenceClassification,
    PreTrainedModel,
)

from lahan.arch import encoder_layers, head_size, num_heads
from lahan.errors import LahanError
from lahan.models import load_model, save_model, wordpiece_from_vocab
from lahan.prune import shrink_to_dense, structure
from lahan.pruned_models import (
    LahanPrunedBertConfig,
    LahanPrunedBertForSequenceClassification,
    LahanPrunedDistilBertConfig,
    LahanPrunedDistilBertForSequenceClassification,
    LahanPrunedRobertaConfig,
    LahanPrunedRobertaForSequenceClassification,
)
from tests.family import family_classifier

HIDDEN, HEADS, LAYERS, FFN, VOCAB = 64, 4, 3, 128, 100
SIZE = HIDDEN // HEADS
TOLERANCE = 1e-4
KINDS = ["bert", "roberta", "xlm-roberta", "distilbert"]
PRUNED = {
    "bert": LahanPrunedBertForSequenceClassification,
    "distilbert": LahanPrunedDistilBertForSequenceClassification,
    "roberta": LahanPrunedRobertaForSequenceClassification,
    "xlm-roberta": LahanPrunedRobertaForSequenceClassification,
}


LABELS = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}


def tiny(kind: str, seed: int = 0, attn: str = "sdpa", act: str = "gelu") -> PreTrainedModel:
    """A random tiny ``kind`` classifier with nonzero biases everywhere, so every fold
    matters (family conventions as in tests/family.py)."""
    torch.manual_seed(seed)
    sizes = {"hidden": HIDDEN, "heads": HEADS, "layers": LAYERS, "ffn": FFN, "positions": 32}
    model = family_classifier(kind, VOCAB, LABELS, **sizes, act=act, attn=attn)
    return randomize(model)


def tiny_bert(**kwargs) -> BertForSequenceClassification:
    return tiny("bert", **kwargs)


def tiny_roberta(xlmr: bool = False, **kwargs) -> PreTrainedModel:
    return tiny("xlm-roberta" if xlmr else "roberta", **kwargs)


def randomize(model: PreTrainedModel) -> PreTrainedModel:
    """Nonzero biases everywhere, so every fold matters."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm" not in name:
                param.normal_(0.0, 0.2)
    return model.eval()


def inputs(seed: int = 1, pad: int = 0) -> dict[str, torch.Tensor]:
    """A batch with padding, so masked attention is part of every comparison."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (4, 12), generator=generator)
    mask = torch.ones_like(ids)
    for row, length in enumerate((12, 9, 5, 2)):
        mask[row, length:] = 0
        ids[row, length:] = pad
    return {"input_ids": ids, "attention_mask": mask}


def logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch).logits


def max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    batch = inputs(pad=a.config.pad_token_id)
    return (logits(a, batch) - logits(b, batch)).abs().max().item()


def head_rows(head: int) -> slice:
    return slice(head * SIZE, (head + 1) * SIZE)


@torch.no_grad()
def zero_v(model, layer: int, head: int) -> None:
    layers = encoder_layers(model)
    layers[layer].v.weight[head_rows(head)] = 0


@torch.no_grad()
def zero_o(model, layer: int, head: int) -> None:
    encoder_layers(model)[layer].o.weight[:, head_rows(head)] = 0


@torch.no_grad()
def zero_qk(model, layer: int, head: int) -> None:
    lm = encoder_layers(model)[layer]
    lm.q.weight[head_rows(head)] = 0
    lm.k.weight[head_rows(head)] = 0


@torch.no_grad()
def zero_w2(model, layer: int, neurons: list[int]) -> None:
    encoder_layers(model)[layer].ffn_out.weight[:, neurons] = 0


@torch.no_grad()
def zero_w1(model, layer: int, neurons: list[int]) -> None:
    encoder_layers(model)[layer].ffn_in.weight[neurons] = 0


def masked_model(attn: str = "sdpa", act: str = "gelu", kind: str = "bert") -> PreTrainedModel:
    """Every kind of pruning at once: heads via V and O, neurons via W1 and W2,
    a layer without attention, a layer without FFN, and a Q/K-only head that must stay."""
    model = tiny(kind, attn=attn, act=act)
    zero_v(model, 0, 1)
    zero_o(model, 0, 3)
    zero_qk(model, 0, 2)  # uniform attention, still input-dependent: kept
    for head in range(HEADS):  # layer 1: no attention at all
        (zero_v if head % 2 else zero_o)(model, 1, head)
    zero_w2(model, 0, [0, 5, 17, 100])
    zero_w1(model, 0, [3, 4, 60, 127])
    zero_w1(model, 1, list(range(0, 40)))
    zero_w2(model, 2, list(range(0, FFN, 2)))  # layer 2: no FFN at all
    zero_w1(model, 2, list(range(1, FFN, 2)))
    return model


# --------------------------------------------------------------------------- shrink


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_shrunk_model_gives_the_same_logits_and_is_smaller(attn):
    model = masked_model(attn=attn)
    shrunk = shrink_to_dense(model)
    assert isinstance(shrunk, LahanPrunedBertForSequenceClassification)
    assert shrunk.config._attn_implementation == attn
    assert shrunk.config.layer_heads == [2, 0, 4]
    assert shrunk.config.layer_intermediate == [FFN - 8, FFN - 40, 0]
    assert max_diff(model, shrunk) <= TOLERANCE
    before = sum(p.numel() for p in model.parameters())
    after = sum(p.numel() for p in shrunk.parameters())
    assert after < before


@pytest.mark.parametrize("kind", KINDS)
def test_folding_matters(kind):
    """Dropping dead heads and neurons without folding their constants changes the output:
    the test model is sensitive to the folds, so the equality above proves them."""
    model = masked_model(kind=kind)
    shrunk = shrink_to_dense(model)
    with torch.no_grad():
        for lm in encoder_layers(shrunk):
            lm.o.bias.copy_(encoder_layers(model)[lm.index].o.bias)
            lm.ffn_out.bias.copy_(encoder_layers(model)[lm.index].ffn_out.bias)
    assert max_diff(model, shrunk) > 1e-2


@pytest.mark.parametrize("act", ["relu", "gelu_new"])
def test_other_activations_fold_exactly(act):
    model = masked_model(act=act)
    assert max_diff(model, shrink_to_dense(model)) <= TOLERANCE


def test_qk_zero_head_is_kept_and_input_is_untouched():
    model = tiny_bert()
    zero_qk(model, 1, 0)
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    shrunk = shrink_to_dense(model)
    assert shrunk.config.layer_heads == [HEADS] * LAYERS
    assert structure(model)["layers"][1]["kept_heads"] == list(range(HEADS))
    assert all(torch.equal(reference[k], v) for k, v in model.state_dict().items())


def test_no_pruning_keeps_structure_and_logits():
    model = tiny_bert()
    shrunk = shrink_to_dense(model)
    assert shrunk.config.layer_heads == [HEADS] * LAYERS
    assert shrunk.config.layer_intermediate == [FFN] * LAYERS
    assert structure(shrunk)["layers"] == structure(model)["layers"]
    assert structure(model)["params_after"] == structure(model)["params_before"]
    assert max_diff(model, shrunk) <= TOLERANCE


def test_structure_predicts_the_shrunk_model():
    model = masked_model()
    report = structure(model)
    shrunk = shrink_to_dense(model)
    assert report["params_after"] == sum(p.numel() for p in shrunk.parameters())
    assert report["params_before"] == sum(p.numel() for p in model.parameters())
    assert [layer["kept_heads"] for layer in report["layers"]] == [[0, 2], [], [0, 1, 2, 3]]
    assert [layer["kept_ffn"] for layer in report["layers"]] == [FFN - 8, FFN - 40, 0]
    assert report["heads_after"] == 6
    # Shrinking again finds nothing more: the structure of a shrunk model is a fixed point.
    again = structure(shrunk)
    assert again["params_after"] == again["params_before"] == report["params_after"]
    assert max_diff(shrunk, shrink_to_dense(shrunk)) <= TOLERANCE


@pytest.mark.parametrize("kind", KINDS)
def test_shrunk_model_trains(kind):
    """Gradients flow through reduced and empty layers alike (a shrunk model can be fine-tuned)."""
    shrunk = shrink_to_dense(masked_model(kind=kind)).train()
    batch = inputs(pad=shrunk.config.pad_token_id)
    out = shrunk(**batch, labels=torch.tensor([0, 1, 2, 0]))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(p.grad is not None for p in shrunk.classifier.parameters())
    assert encoder_layers(shrunk)[0].q.weight.grad is not None


# --------------------------------------------------------------------------- RoBERTa / XLM-R


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("kind", ["roberta", "xlm-roberta"])
def test_roberta_and_xlmr_shrink_with_the_same_logits(kind, attn):
    model = masked_model(attn=attn, kind=kind)
    report = structure(model)
    shrunk = shrink_to_dense(model)
    assert type(shrunk) is LahanPrunedRobertaForSequenceClassification
    assert shrunk.config.model_type == "lahan_pruned_roberta"
    assert shrunk.config._attn_implementation == attn
    assert shrunk.config.layer_heads == [2, 0, 4]
    assert shrunk.config.layer_intermediate == [FFN - 8, FFN - 40, 0]
    assert max_diff(model, shrunk) <= TOLERANCE
    assert report["params_after"] == sum(p.numel() for p in shrunk.parameters())
    # The pruned RoBERTa class is recognised as an input too: shrinking again is a no-op.
    again = shrink_to_dense(shrunk)
    assert type(again) is LahanPrunedRobertaForSequenceClassification
    assert again.config.layer_heads == [2, 0, 4]
    assert max_diff(shrunk, again) <= TOLERANCE


@pytest.mark.parametrize("kind", ["roberta", "xlm-roberta"])
def test_roberta_and_xlmr_config_carries_over(kind):
    """Every source config value survives (XLMRobertaConfig has RobertaConfig's fields):
    padding index 1 (position ids), one token type, eps, labels, special tokens."""
    model = tiny(kind)
    zero_v(model, 1, 2)
    shrunk = shrink_to_dense(model)
    source = model.config.to_dict()
    target = shrunk.config.to_dict()
    skip = {"model_type", "architectures", "transformers_version"}
    assert {k: v for k, v in source.items() if k not in skip} == {
        k: v for k, v in target.items() if k in source and k not in skip
    }
    assert (shrunk.config.pad_token_id, shrunk.config.bos_token_id) == (1, 0)
    assert shrunk.config.type_vocab_size == 1 and shrunk.config.layer_norm_eps == 1e-5
    assert shrunk.roberta.embeddings.padding_idx == 1
    assert shrunk.config.layer_heads == [HEADS, HEADS - 1, HEADS]


# --------------------------------------------------------------------------- architectures


def test_arch_helpers():
    model = tiny_bert()
    assert num_heads(model) == HEADS and head_size(model) == SIZE
    layers = encoder_layers(model)
    assert len(layers) == LAYERS
    assert layers[0].q.out_features == HIDDEN and layers[0].ffn_out.in_features == FFN


def test_roberta_and_xlmr_are_mapped():
    for xlmr in (False, True):
        model = tiny_roberta(xlmr=xlmr)
        assert len(encoder_layers(model)) == LAYERS
        assert structure(model)["heads_before"] == LAYERS * HEADS
        assert num_heads(model) == HEADS and head_size(model) == SIZE


def test_unbaked_masks_are_refused():
    class Mask(torch.nn.Module):
        def forward(self, weight):
            return weight

    model = tiny_bert()
    torch.nn.utils.parametrize.register_parametrization(
        encoder_layers(model)[0].v, "weight", Mask()
    )
    with pytest.raises(LahanError, match="bake the masks"):
        shrink_to_dense(model)


def test_unsupported_architecture_is_named():
    with pytest.raises(LahanError, match="Linear.*BERT, RoBERTa / XLM-RoBERTa, DistilBERT, ALBERT"):
        encoder_layers(torch.nn.Linear(2, 2))


def test_albert_shared_layer_is_counted_but_never_pruned():
    """ALBERT runs one layer's weights at every depth: encoder_layers lists it once per
    depth (FLOPs count every pass); pruning or shrinking it is refused with the way out."""
    model = tiny("albert")
    layers = encoder_layers(model)
    assert len(layers) == LAYERS and all(lm.q is layers[0].q for lm in layers)
    assert layers[0].num_heads == HEADS and layers[0].ffn_size == FFN
    with pytest.raises(LahanError, match="ALBERT models share one layer.*--student preset:small"):
        shrink_to_dense(model)
    with pytest.raises(LahanError, match="ALBERT models share one layer"):
        structure(model)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_distilbert_shrinks_with_the_same_logits(attn):
    model = masked_model(kind="distilbert", attn=attn)
    shrunk = shrink_to_dense(model)
    assert type(shrunk) is LahanPrunedDistilBertForSequenceClassification
    assert shrunk.config.model_type == "lahan_pruned_distilbert"
    assert shrunk.config.layer_heads == [2, 0, 4]
    assert shrunk.config.layer_intermediate == [FFN - 8, FFN - 40, 0]
    assert shrunk.config.dim == HIDDEN and shrunk.config.hidden_dim == FFN
    assert max_diff(model, shrunk) <= TOLERANCE
    with pytest.raises(LahanError, match="lahan_pruned_distilbert config: layer_intermediate"):
        LahanPrunedDistilBertConfig(n_layers=2, hidden_dim=FFN, layer_intermediate=[FFN + 1, 0])


def test_config_validation():
    common = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
    )
    with pytest.raises(LahanError, match="layer_heads has 3 entries"):
        LahanPrunedBertConfig(**common, layer_heads=[1, 2, 3])
    with pytest.raises(LahanError, match="outside 0..4"):
        LahanPrunedBertConfig(**common, layer_heads=[1, 5])
    with pytest.raises(LahanError, match="layer_intermediate values"):
        LahanPrunedBertConfig(**common, layer_intermediate=[-1, 3])
    config = LahanPrunedBertConfig(**common)
    assert config.layer_heads == [HEADS, HEADS] and config.layer_intermediate == [FFN, FFN]
    with pytest.raises(LahanError, match="lahan_pruned_roberta config: layer_heads has 1"):
        LahanPrunedRobertaConfig(**common, layer_heads=[1])
    with pytest.raises(LahanError, match="lahan_pruned_roberta config: layer_intermediate"):
        LahanPrunedRobertaConfig(**common, layer_intermediate=[FFN + 1, 0])
    roberta = LahanPrunedRobertaConfig(**common)
    assert roberta.layer_heads == [HEADS, HEADS] and roberta.pad_token_id == 1
    with pytest.raises(LahanError, match="needs a LahanPrunedRobertaConfig"):
        LahanPrunedRobertaForSequenceClassification(config)
    with pytest.raises(LahanError, match="needs a LahanPrunedBertConfig"):
        LahanPrunedBertForSequenceClassification(roberta)


# --------------------------------------------------------------------------- save / load


def save(model, folder):
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    vocab.update({f"w{i}": i for i in range(len(vocab), VOCAB)})
    return save_model(model, wordpiece_from_vocab(vocab), folder, record={"test": "shrink"})


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_reload(tmp_path, kind):
    model = masked_model(kind=kind)
    shrunk = shrink_to_dense(model)
    folder = save(shrunk, tmp_path / "shrunk")
    reloaded = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert type(reloaded) is PRUNED[kind]
    assert reloaded.config.layer_heads == [2, 0, 4]
    assert max_diff(shrunk, reloaded) == 0.0
    assert max_diff(model, reloaded) <= TOLERANCE
    loaded, _, record = load_model(folder)
    assert record.extra["test"] == "shrink"  # a field lahan does not know: kept
    assert type(loaded) is PRUNED[kind]
    assert max_diff(shrunk, loaded) == 0.0


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta", "distilbert"])
def test_transformers_without_lahan_refuses_the_folder(tmp_path, kind):
    folder = save(shrink_to_dense(masked_model(kind=kind)), tmp_path / "shrunk")
    code = (
        "import sys\n"
        "from transformers import AutoModelForSequenceClassification\n"
        "try:\n"
        f"    AutoModelForSequenceClassification.from_pretrained({str(folder)!r})\n"
        "except Exception as err:\n"
        "    assert 'lahan' not in sys.modules, 'lahan was imported'\n"
        "    print('REFUSED', type(err).__name__, err)\n"
        "    sys.exit(0)\n"
        "print('LOADED')\n"
        "sys.exit(1)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REFUSED" in result.stdout
    assert PRUNED[kind].config_class.model_type in result.stdout
