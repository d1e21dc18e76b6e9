"""Students for distillation: a shallower copy of the teacher, or any other model.

``--student`` forms:
  layers:N          N of the teacher's layers, evenly spaced, first and last included
  layers:half       half of them (12 -> 6, like DistilBERT)
  layers:0,3,5      exactly these teacher layers (0-based, increasing)
  preset:NAME       a fresh preset-shaped BERT on the teacher's tokenizer
  DIR or owner/name any classifier or encoder that shares the teacher's tokenizer
(No ``--student`` with ``--prune``: the student is the teacher itself, being pruned.)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lahan.arch import family, layer_list
from lahan.config import ModelConfig
from lahan.errors import OptionError
from lahan.models import build_preset, load_pretrained, model_labels

LAYERS_PREFIX = "layers:"


@dataclass
class Student:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    kind: str  # "teacher" | "layers" | "preset" | "model"
    from_scratch: bool = False
    # (student hidden_states index, teacher hidden_states index) for the hidden loss;
    # index 0 is the embeddings, i + 1 the output of layer i.
    layer_map: list[tuple[int, int]] = field(default_factory=list)
    # student label id -> teacher label id (None: same order)
    label_order: list[int] | None = None
    description: str = ""


def num_layers(model: nn.Module) -> int:
    return int(model.config.num_hidden_layers)


def parse_layers(spec: str, teacher_layers: int) -> list[int]:
    """``layers:N`` or ``layers:i,j,...`` -> increasing teacher layer indices."""
    body = spec[len(LAYERS_PREFIX) :].strip()
    if body == "half":  # the DistilBERT choice, whatever the depth
        body = str(max(1, teacher_layers // 2))
    usage = (
        "use layers:N (N evenly spaced layers), layers:half, or layers:i,j,... "
        "(0-based, increasing)"
    )
    try:
        values = [int(x) for x in body.split(",")] if body else []
    except ValueError as err:
        raise OptionError("student", f" '{spec}': {usage}") from err
    if not values:
        raise OptionError("student", f" '{spec}': {usage}")
    if len(values) == 1 and "," not in body:
        count = values[0]
        if not 1 <= count < teacher_layers:
            raise OptionError(
                "student",
                f" '{spec}': the teacher has {teacher_layers} layers, so N must be "
                f"in 1..{teacher_layers - 1} (a student with all of them is the teacher)",
            )
        if count == 1:
            return [teacher_layers - 1]
        step = (teacher_layers - 1) / (count - 1)
        return [int(i * step + 0.5) for i in range(count)]
    if any(v < 0 or v >= teacher_layers for v in values):
        raise OptionError(
            "student",
            f" '{spec}': layer indices must be in 0..{teacher_layers - 1} "
            f"(the teacher has {teacher_layers} layers)",
        )
    if values != sorted(set(values)):
        raise OptionError(
            "student", f" '{spec}': layer indices must be increasing, without repeats"
        )
    if len(values) == teacher_layers:
        raise OptionError("student", f" '{spec}' keeps every layer: that is the teacher itself")
    return values


def shallow_copy(teacher: PreTrainedModel, layers: Sequence[int]) -> PreTrainedModel:
    """A copy of ``teacher`` with only ``layers`` of its encoder (DistilBERT-style init).

    Embeddings, the kept layers and the head are the teacher's weights, unchanged.
    Per-layer sizes of pruned teachers follow their layers. ALBERT runs its one shared
    layer at every depth, so its student runs that layer ``len(layers)`` times.
    """
    student = copy.deepcopy(teacher)
    if family(student).shared:
        student.config.num_hidden_layers = len(layers)
        return student
    kept = nn.ModuleList()
    old = layer_list(student)
    for new_index, old_index in enumerate(layers):
        layer = old[old_index]
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = new_index
        kept.append(layer)
    parent_name, _, attribute = family(student).layers.rpartition(".")
    setattr(student.get_submodule(parent_name), attribute, kept)
    config = student.config
    config.num_hidden_layers = len(layers)
    for name in ("layer_heads", "layer_intermediate"):  # pruned teachers
        if getattr(config, name, None) is not None:
            setattr(config, name, [getattr(config, name)[i] for i in layers])
    return student


def uniform_layer_map(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """Student layer j <- teacher layer round((j + 1) * Lt / Ls) (outputs, 1-based)."""
    return [
        (j + 1, max(1, round((j + 1) * teacher_layers / student_layers)))
        for j in range(student_layers)
    ]


def check_same_tokenizer(
    teacher_tok: PreTrainedTokenizerBase,
    student_tok: PreTrainedTokenizerBase,
    texts: Sequence[str],
    student_name: str,
    max_length: int,
) -> None:
    """Distillation compares outputs example by example: both must see the same tokens."""
    teacher_vocab, student_vocab = teacher_tok.get_vocab(), student_tok.get_vocab()
    fix = (
        "build the student on the teacher's tokenizer: --student layers:N, --student "
        "preset:NAME, or a model trained with the teacher's tokenizer"
    )
    if teacher_vocab != student_vocab:
        differ = len(set(teacher_vocab.items()) ^ set(student_vocab.items()))
        raise OptionError(
            "student",
            f" '{student_name}' has another tokenizer than the teacher "
            f"({len(student_vocab):,} vs {len(teacher_vocab):,} tokens, {differ:,} entries "
            f"differ): distillation needs both to read the same tokens; {fix}",
        )
    sample = list(texts[:200])
    t_ids = teacher_tok(sample, truncation=True, max_length=max_length)["input_ids"]
    s_ids = student_tok(sample, truncation=True, max_length=max_length)["input_ids"]
    mismatched = [i for i, (a, b) in enumerate(zip(t_ids, s_ids, strict=True)) if a != b]
    if mismatched:
        raise OptionError(
            "student",
            f" '{student_name}' has the teacher's vocabulary but tokenizes "
            f"{len(mismatched)} of {len(sample)} training texts differently (e.g. text "
            f"{mismatched[0]}: normalisation or casing differ); {fix}",
        )


def make_student(
    spec: str | None,
    teacher: PreTrainedModel,
    teacher_tok: PreTrainedTokenizerBase,
    train_texts: Sequence[str],
    max_length: int,
    relabel: bool = False,
) -> Student:
    """The student ``spec`` names (see the module docstring); None: the teacher itself."""
    t_layers = num_layers(teacher)
    if spec is None:
        return Student(
            copy.deepcopy(teacher),
            teacher_tok,
            kind="teacher",
            layer_map=[(i, i) for i in range(1, t_layers + 1)],
            description="a copy of the teacher",
        )
    if spec.startswith(LAYERS_PREFIX):
        layers = parse_layers(spec, t_layers)
        shared = family(teacher).shared
        return Student(
            shallow_copy(teacher, layers),
            teacher_tok,
            kind="layers",
            layer_map=[(j + 1, old + 1) for j, old in enumerate(layers)],
            description=(
                f"the teacher's shared layer run {len(layers)} times instead of {t_layers}"
                if shared
                else f"teacher layers {layers} of {t_layers}"
            ),
        )
    labels = model_labels(teacher)
    if spec.startswith("preset:"):
        config = ModelConfig(source=spec, max_position=teacher.config.max_position_embeddings)
        model, tokenizer = build_preset(config, labels, list(train_texts), tokenizer=teacher_tok)
        return Student(
            model,
            tokenizer,
            kind="preset",
            from_scratch=True,
            layer_map=uniform_layer_map(num_layers(model), t_layers),
            description=f"{spec} from scratch on the teacher's tokenizer",
        )
    model, tokenizer, label_map = load_pretrained(ModelConfig(source=spec, relabel=relabel), labels)
    student_labels = model_labels(model)
    if len(student_labels) != len(labels) or set(label_map.values()) != set(student_labels):
        raise OptionError(
            "student",
            f" '{spec}' has labels {student_labels} but the teacher has {labels}: "
            "distillation matches the two outputs label by label, so both need the same "
            "labels (--relabel maps names that differ only in spelling)",
        )
    check_same_tokenizer(teacher_tok, tokenizer, train_texts, spec, max_length)
    # Student label j is teacher label order[j], so teacher logits can be reordered.
    teacher_id = teacher.config.label2id
    to_student = {model_label: teacher_label for teacher_label, model_label in label_map.items()}
    order = [teacher_id[to_student[name]] for name in model_labels(model)]
    return Student(
        model,
        tokenizer,
        kind="model",
        from_scratch=False,
        layer_map=uniform_layer_map(num_layers(model), t_layers),
        label_order=None if order == list(range(len(order))) else order,
        description=f"'{spec}'",
    )
