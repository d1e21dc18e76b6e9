import json
import time

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
)

from lahan.config import ModelConfig
from lahan.errors import LahanError
from lahan.models import (
    build_preset,
    load_model,
    load_pretrained,
    resolve_label_map,
    save_model,
    train_wordpiece,
)

TEXTS = ["पुण्यात मुसळधार पाऊस", "मुंबईत नवीन मेट्रो सुरू", "सचिनचे शतक", "नवीन कार बाजारात"] * 5


def test_wordpiece_keeps_devanagari_vowel_signs():
    tok = train_wordpiece(TEXTS, vocab_size=200)
    pieces = tok.tokenize("पुण्यात पाऊस")
    # Accent stripping would delete the vowel signs and virama: joining must give the text back.
    assert "".join(p.removeprefix("##") for p in pieces) == "पुण्यातपाऊस"
    assert tok.unk_token not in pieces


def test_preset_shapes_and_labels():
    model, tok = build_preset(ModelConfig("preset:small", vocab_size=200), ["a", "b", "c"], TEXTS)
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (4, 256, 4)
    assert cfg.id2label == {0: "a", 1: "b", 2: "c"}
    assert cfg.vocab_size == len(tok)


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(LahanError, match="unknown preset 'huge'.*preset:tiny"):
        ModelConfig("preset:huge")


def test_save_load_identical_logits(tmp_path):
    torch.manual_seed(0)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=200), ["x", "y"], TEXTS)
    model.eval()
    batch = tok(TEXTS[:4], padding=True, return_tensors="pt")
    with torch.no_grad():
        before = model(**batch).logits
    save_model(model, tok, tmp_path / "m", {"made_by": "test"})
    loaded, tok2, record = load_model(tmp_path / "m")
    with torch.no_grad():
        after = loaded(**tok2(TEXTS[:4], padding=True, return_tensors="pt")).logits
    assert torch.equal(before, after)
    assert record.made_by == "test" and record.labels == ["x", "y"]
    assert "torch" in record.versions
    assert not list(tmp_path.glob(".m.*")), "temp folder left behind"


def test_label_map_rules():
    assert resolve_label_map(["a", "b"], ["b", "a"], relabel=False) == {"b": "b", "a": "a"}
    with pytest.raises(
        LahanError, match=r"model's labels \['Sports', 'Tech'\].*\['sports', 'tech'\].*--relabel"
    ):
        resolve_label_map(["Sports", "Tech"], ["sports", "tech"], relabel=False)
    assert resolve_label_map(["Sports", "Tech"], ["sports", "tech"], relabel=True) == {
        "sports": "Sports",
        "tech": "Tech",
    }
    with pytest.raises(LahanError, match="could not match.*'music'"):
        resolve_label_map(["Sports", "Tech"], ["sports", "music"], relabel=True)


def _save_plain(tmp_path, labels=None, encoder_only=False):
    config = BertConfig(
        vocab_size=200,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    if labels:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {v: k for k, v in config.id2label.items()}
    model = BertModel(config) if encoder_only else BertForSequenceClassification(config)
    tok = train_wordpiece(TEXTS, 200)
    model.save_pretrained(tmp_path, safe_serialization=True)
    tok.save_pretrained(tmp_path)
    return tmp_path


def test_folder_classifier_label_mismatch(tmp_path):
    folder = _save_plain(tmp_path / "clf", labels=["Auto", "Crime"])
    with pytest.raises(LahanError, match="do not match"):
        load_pretrained(ModelConfig(str(folder)), ["Auto", "Sports"])
    model, _, label_map = load_pretrained(ModelConfig(str(folder)), ["Crime", "Auto"])
    assert label_map == {"Crime": "Crime", "Auto": "Auto"}
    assert model.config.label2id["Auto"] == 0  # ids follow the model, not the data order


def test_encoder_without_head_gets_new_head(tmp_path):
    folder = _save_plain(tmp_path / "enc", encoder_only=True)
    model, _, _ = load_pretrained(ModelConfig(str(folder)), ["a", "b", "c"])
    assert model.config.num_labels == 3 and model.config.id2label[2] == "c"


def test_classifier_with_placeholder_labels_is_refused_unless_new_head(tmp_path):
    folder = _save_plain(tmp_path / "clf")  # a trained-looking head labelled LABEL_0, LABEL_1
    with pytest.raises(LahanError, match="placeholders.*--new-head"):
        load_pretrained(ModelConfig(str(folder)), ["neg", "pos"])
    old = load_file(folder / "model.safetensors")["classifier.weight"]
    torch.manual_seed(1)
    model, _, _ = load_pretrained(ModelConfig(str(folder), new_head=True), ["neg", "pos"])
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert not torch.equal(model.classifier.weight.detach(), old)  # really a new head


def test_missing_and_offline_models_are_clear_errors(tmp_path):
    with pytest.raises(LahanError, match="Hugging Face Hub.*--model DIR"):
        load_pretrained(ModelConfig("nobody-here/no-such-model-xyz"), ["a", "b"])
    with pytest.raises(LahanError, match="no model folder"):
        load_model(tmp_path / "missing")
    # A mistyped local path (its first part is a local folder) is not sent to the hub.
    (tmp_path / "runs").mkdir()
    started = time.perf_counter()
    with pytest.raises(LahanError, match="no such folder"):
        load_pretrained(ModelConfig(str(tmp_path / "runs" / "teachr")), ["a", "b"])
    assert time.perf_counter() - started < 5


def test_folder_without_tokenizer_is_refused(tmp_path):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    for f in folder.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(LahanError, match="no tokenizer files"):
        load_model(folder)


def test_truncated_weights_are_a_clear_error(tmp_path):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(LahanError, match="could not load --model folder"):
        load_model(folder)


def _as_bin_only(folder):
    """The folder as most published classifiers are: pytorch_model.bin, no safetensors."""
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return model


def test_a_bin_only_folder_loads_through_the_restricted_loader(tmp_path, caplog):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    original = _as_bin_only(folder)
    with caplog.at_level("WARNING", logger="lahan.models"):
        loaded, tok, _ = load_model(folder)
    assert any("restricted" in r.message and "weights_only" in r.message for r in caplog.records)
    want, got = original.state_dict(), loaded.state_dict()
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    # what lahan writes from it is safetensors
    save_model(loaded, tok, tmp_path / "out", {"made_by": "test"})
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert not list((tmp_path / "out").glob("*.bin"))


class _Payload:
    """An object a pickle could run code through: the restricted loader must refuse it."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_a_bin_holding_objects_is_refused(tmp_path, capsys):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    state = _as_bin_only(folder).state_dict()
    torch.save({**state, "extra": _Payload()}, folder / "pytorch_model.bin")
    with pytest.raises(LahanError, match="objects other than tensors"):
        load_model(folder)
    assert "pwned" not in capsys.readouterr().out  # nothing was unpickled
    (folder / "pytorch_model.bin").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(LahanError, match="could not be read as a PyTorch checkpoint"):
        load_model(folder)


def test_damaged_record_is_a_clear_error(tmp_path):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    (folder / "lahan.json").write_text("{not json")
    with pytest.raises(LahanError, match="lahan.json is not valid JSON"):
        load_model(folder)
    (folder / "lahan.json").write_text(json.dumps({"made_by": "x"}))
    assert load_model(folder)[2].made_by == "x"


# ------------------------------------------------------------ tampered model folders
# A model folder is untrusted input: whatever was changed, one clear line names it.


def _tamper_weights(folder, edit) -> None:
    from safetensors.torch import save_file

    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.pop("classifier.weight"), "1 tensor\\(s\\) missing: classifier.weight"),
        (
            lambda t: t.update({"classifier.weight": torch.zeros(5, 32)}),
            r"of the wrong shape: classifier.weight \(file \[5, 32\], config.json says \[2, 32\]\)",
        ),
    ],
    ids=["missing", "wrong-shape"],
)
def test_weights_that_do_not_match_the_config_are_refused(tmp_path, edit, message):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    _tamper_weights(folder, edit)
    with pytest.raises(LahanError, match=message):
        load_model(folder)


def test_extra_unused_tensors_are_tolerated(tmp_path, caplog):
    """A pretraining head left in a classifier checkpoint is common and harmless."""
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    before = load_model(folder)[0].classifier.weight.clone()
    _tamper_weights(folder, lambda t: t.update({"cls.predictions.bias": torch.zeros(200)}))
    with caplog.at_level("WARNING", logger="lahan.models"):
        model = load_model(folder)[0]
    assert torch.equal(model.classifier.weight, before)
    assert "1 unused tensor(s)" in caplog.text


def test_label_map_that_disagrees_with_the_head_is_refused(tmp_path):
    folder = _save_plain(tmp_path / "m", labels=["a", "b"])
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b", "2": "c"}  # three names, a two-row head
    config["label2id"] = {"a": 0, "b": 1, "c": 2}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(LahanError, match="classifier"):
        load_model(folder)


def test_record_labels_that_disagree_with_the_config_are_refused(trained_tiny, tmp_path):
    import shutil

    folder = shutil.copytree(trained_tiny[0], tmp_path / "m")
    record = json.loads((folder / "lahan.json").read_text())
    record["labels"] = list(reversed(record["labels"]))
    (folder / "lahan.json").write_text(json.dumps(record))
    with pytest.raises(LahanError, match="disagree on which output is which class"):
        load_model(folder)


def test_pruned_config_claiming_other_layer_sizes_is_refused(pruned_tiny, tmp_path):
    import shutil

    folder = shutil.copytree(pruned_tiny, tmp_path / "m")
    load_model(folder)  # whole, it loads
    config = json.loads((folder / "config.json").read_text())
    config["layer_intermediate"] = [n + 1 for n in config["layer_intermediate"]]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(LahanError, match="wrong shape"):
        load_model(folder)
