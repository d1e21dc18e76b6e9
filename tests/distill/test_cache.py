"""Cached teacher outputs: hit, miss, invalidation, damage, and equality with a live teacher."""

import json

import pytest
import torch

from lahan.batches import encode
from lahan.distill import teacher_outputs
from lahan.distill.cache import OUTPUTS_FILE, fingerprint_model
from lahan.models import load_model

TEXTS = [
    "राज्य सरकारने नवीन धोरण जाहीर केले",
    "भारताने सामना जिंकला",
    "शेअर बाजारात मोठी घसरण झाली आणि गुंतवणूकदार चिंतेत",
    "नवीन चित्रपट प्रदर्शित",
    "पावसामुळे शेतकऱ्यांचे नुकसान",
] * 3


@pytest.fixture()
def teacher(trained_tiny):
    model, tok, _ = load_model(trained_tiny[0])
    return model, tok


def _outputs(model, tok, cache_dir, texts=TEXTS, max_length=48, hidden=()):
    encodings = encode(tok, texts, max_length).encodings
    return teacher_outputs(model, tok, encodings, cache_dir, hidden, batch_size=4, progress=False)


def test_miss_then_hit_with_equal_outputs(teacher, tmp_path):
    model, tok = teacher
    first, info1 = _outputs(model, tok, tmp_path)
    second, info2 = _outputs(model, tok, tmp_path)
    assert not info1["hit"] and info2["hit"] and info1["key"] == info2["key"]
    assert torch.equal(first.logits, second.logits)
    assert len(list((tmp_path / "teacher-outputs").iterdir())) == 1


def test_cached_logits_match_the_teacher_run_on_each_example(teacher, tmp_path):
    model, tok = teacher
    cached, _ = _outputs(model, tok, tmp_path)
    with torch.no_grad():
        for i in (0, 2, 4):
            live = model(**tok(TEXTS[i], truncation=True, max_length=48, return_tensors="pt"))
            assert torch.allclose(cached.logits[i], live.logits[0], atol=1e-5)
    picked = cached.batch_logits(torch.tensor([4, 0]))
    assert torch.equal(picked, cached.logits[[4, 0]])


@pytest.mark.parametrize("change", ["teacher", "texts", "max_length", "hidden", "order"])
def test_any_change_invalidates(teacher, tmp_path, change):
    model, tok = teacher
    _, base = _outputs(model, tok, tmp_path)
    kwargs = {}
    if change == "teacher":
        with torch.no_grad():
            next(model.parameters())[0, 0] += 1e-3
    elif change == "texts":
        kwargs["texts"] = [*TEXTS[:-1], "एक वेगळी बातमी"]
    elif change == "max_length":
        kwargs["max_length"] = 8  # truncates the longer texts: other token ids
    elif change == "hidden":
        kwargs["hidden"] = (1,)
    else:
        kwargs["texts"] = list(reversed(TEXTS))
    _, info = _outputs(model, tok, tmp_path, **kwargs)
    assert not info["hit"] and info["key"] != base["key"]


def test_a_damaged_entry_is_rebuilt_not_read(teacher, tmp_path):
    model, tok = teacher
    good, info = _outputs(model, tok, tmp_path)
    entry = tmp_path / "teacher-outputs" / info["key"]
    (entry / OUTPUTS_FILE).write_bytes(b"not a safetensors file")
    again, info2 = _outputs(model, tok, tmp_path)
    assert not info2["hit"] and torch.equal(again.logits, good.logits)
    meta = json.loads((entry / "meta.json").read_text())
    meta["examples"] = 3  # claims another data size
    (entry / "meta.json").write_text(json.dumps(meta))
    _, info3 = _outputs(model, tok, tmp_path)
    assert not info3["hit"]


def test_hidden_states_come_back_per_batch_and_unpadded(teacher, tmp_path):
    model, tok = teacher
    cached, info = _outputs(model, tok, tmp_path, hidden=(1, 2))
    assert info["hidden_layers"] == [1, 2]
    idx = torch.tensor([3, 2])
    batch = tok([TEXTS[3], TEXTS[2]], padding=True, return_tensors="pt")
    seq_len = batch["input_ids"].shape[1]
    states = cached.batch_hidden(idx, seq_len)
    with torch.no_grad():
        live = model(**batch, output_hidden_states=True).hidden_states
    mask = batch["attention_mask"].bool()
    for layer, got in zip((1, 2), states, strict=True):
        assert got.shape == live[layer].shape
        # stored in float16: compare at its precision, real tokens only; padding is zero
        assert torch.allclose(got[mask], live[layer][mask], atol=2e-2, rtol=1e-2)
        assert torch.count_nonzero(got[~mask]) == 0


def test_fingerprint_depends_on_every_weight(teacher):
    model, _ = teacher
    before = fingerprint_model(model)
    assert fingerprint_model(model) == before
    with torch.no_grad():
        list(model.parameters())[-1][0] += 1.0  # the head's bias
    assert fingerprint_model(model) != before
