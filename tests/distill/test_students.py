"""Students: shallow copies keep the teacher's layers; tokenizers must match."""

import pytest
import torch

from lahan.config import ModelConfig, PruneConfig
from lahan.distill import check_same_tokenizer, make_student, shallow_copy
from lahan.distill.students import parse_layers, uniform_layer_map
from lahan.errors import LahanError
from lahan.models import build_preset, load_model, save_model, train_wordpiece
from lahan.prune import shrink_to_dense
from lahan.prune.movement import MovementPruning

TEXTS = ["राज्य सरकारने नवीन धोरण जाहीर केले", "भारताने सामना जिंकला", "बाजारात घसरण"] * 4


def _teacher(layers=6):
    model, tok = build_preset(ModelConfig("preset:mini", vocab_size=300), ["a", "b", "c"], TEXTS)
    assert model.config.num_hidden_layers == layers
    return model.eval(), tok


def test_parse_layers():
    assert parse_layers("layers:3", 6) == [0, 3, 5]
    assert parse_layers("layers:6", 12) == [0, 2, 4, 7, 9, 11]
    assert parse_layers("layers:2", 6) == [0, 5]
    assert parse_layers("layers:1", 6) == [5]
    assert parse_layers("layers:0,3,4", 6) == [0, 3, 4]
    for bad in (
        "layers:",
        "layers:x",
        "layers:0",
        "layers:6",
        "layers:0,7",
        "layers:3,1",
        "layers:1,1",
        "layers:0,1,2,3,4,5",
    ):
        with pytest.raises(LahanError, match="^student "):
            parse_layers(bad, 6)


def test_shallow_student_reproduces_the_teacher_layers():
    teacher, tok = _teacher()
    student = shallow_copy(teacher, [0, 2, 5])
    assert student.config.num_hidden_layers == 3 and teacher.config.num_hidden_layers == 6
    t_state, s_state = teacher.state_dict(), student.state_dict()
    for new, old in enumerate([0, 2, 5]):
        for name, value in s_state.items():
            if f"encoder.layer.{new}." in name:
                source = name.replace(f"encoder.layer.{new}.", f"encoder.layer.{old}.")
                assert torch.equal(value, t_state[source]), name
    for name, value in s_state.items():  # embeddings, pooler, head: unchanged
        if "encoder.layer." not in name:
            assert torch.equal(value, t_state[name]), name
    # The copy is independent of the teacher.
    with torch.no_grad():
        student.bert.encoder.layer[0].output.dense.weight.add_(1.0)
    assert not torch.equal(
        student.bert.encoder.layer[0].output.dense.weight,
        teacher.bert.encoder.layer[0].output.dense.weight,
    )
    # A one-layer student computes exactly: embeddings -> teacher layer 5 -> head.
    batch = tok(TEXTS[:2], padding=True, return_tensors="pt")
    one = shallow_copy(teacher, [5]).eval()
    with torch.no_grad():
        emb = teacher.bert.embeddings(input_ids=batch["input_ids"])
        assert torch.allclose(
            one(**batch, output_hidden_states=True).hidden_states[0], emb, atol=1e-6
        )


def test_shallow_copy_of_a_pruned_teacher_reloads(tmp_path):
    teacher, tok = _teacher()
    plugin = MovementPruning(teacher, PruneConfig(sparsity=0.5, granularity="heads"))
    plugin.on_step(100, 100)
    plugin.bake()
    pruned = shrink_to_dense(teacher).eval()
    student = shallow_copy(pruned, [1, 4])
    assert student.config.layer_heads == [pruned.config.layer_heads[i] for i in (1, 4)]
    save_model(student, tok, tmp_path / "s", {"made_by": "test"})
    again, _, _ = load_model(tmp_path / "s")
    batch = tok(TEXTS[:3], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(again(**batch).logits, student.eval()(**batch).logits, atol=1e-6)


def test_tokenizer_mismatch_is_explained():
    teacher, tok = _teacher()
    other = train_wordpiece([*TEXTS, "पूर्णपणे वेगळे शब्द इथे आहेत"], 400)
    with pytest.raises(LahanError, match="another tokenizer than the teacher"):
        check_same_tokenizer(tok, other, TEXTS, "other", 32)
    check_same_tokenizer(tok, tok, TEXTS, "same", 32)  # the same one passes


def test_make_student_kinds(tmp_path):
    teacher, tok = _teacher()
    s = make_student("layers:2", teacher, tok, TEXTS, 32)
    assert s.kind == "layers" and s.layer_map == [(1, 1), (2, 6)] and not s.from_scratch
    s = make_student("preset:tiny", teacher, tok, TEXTS, 32)
    assert s.kind == "preset" and s.from_scratch and s.tokenizer is tok
    assert s.model.config.vocab_size == len(tok) and s.layer_map == uniform_layer_map(2, 6)
    s = make_student(None, teacher, tok, TEXTS, 32)
    assert s.kind == "teacher" and s.model is not teacher

    # A folder student with the same labels in another order: teacher logits get reordered.
    other, _ = build_preset(ModelConfig("preset:tiny"), ["c", "a", "b"], TEXTS, tokenizer=tok)
    save_model(other, tok, tmp_path / "other", {"made_by": "test"})
    s = make_student(str(tmp_path / "other"), teacher, tok, TEXTS, 32)
    assert s.kind == "model" and s.label_order == [2, 0, 1]


def test_student_with_other_labels_is_refused(tmp_path):
    teacher, tok = _teacher()
    other, _ = build_preset(ModelConfig("preset:tiny"), ["a", "b", "c", "d"], TEXTS, tokenizer=tok)
    save_model(other, tok, tmp_path / "other", {"made_by": "test"})
    with pytest.raises(LahanError, match="same labels"):
        make_student(str(tmp_path / "other"), teacher, tok, TEXTS, 32)
