"""Turn a masked BERT / RoBERTa / XLM-R / DistilBERT classifier (pruned weights exactly zero) into a
smaller dense one.

Pruning with masks leaves the matrices full size, so the model is no faster and
no smaller on disk. Here the structure is read back from the zeros themselves, so
any pruning method that bakes its masks into the weights can be shrunk:

* a head goes when its output is provably constant: its value rows are all zero
  (every token's value is then the value bias, and attention weights sum to one,
  so the head outputs that bias: ``O[:, head] @ b_v[head]`` is folded into the
  output bias) or its columns of the attention output dense are all zero (it
  contributes nothing). Zero query/key rows alone only make the attention
  uniform, which still depends on the input: such a head stays.
* an FFN neuron goes when its column of the output dense is zero (contributes
  nothing) or its row of the intermediate dense is zero (it outputs the constant
  ``act(b_i)``, and ``W2[:, i] * act(b_i)`` is folded into the output bias).

Kept heads and neurons keep their weights as they are, zeros included. The
result equals the input in eval mode; with attention dropout on (training) the
attention weights no longer sum to one, so the value-bias fold is exact only
in expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize
from transformers import (
    BertForSequenceClassification,
    DistilBertForSequenceClassification,
    PreTrainedConfig,
    RobertaForSequenceClassification,
    XLMRobertaForSequenceClassification,
)
from transformers.activations import ACT2FN

from lahan.arch import LayerModules, prunable_layers
from lahan.errors import LahanError
from lahan.measure import count_parameters
from lahan.pruned_models import (
    LahanPrunedBertForSequenceClassification,
    LahanPrunedDistilBertForSequenceClassification,
    LahanPrunedRobertaForSequenceClassification,
)

PrunedClassifier = (
    LahanPrunedBertForSequenceClassification
    | LahanPrunedRobertaForSequenceClassification
    | LahanPrunedDistilBertForSequenceClassification
)

# Source classifier classes -> the pruned class they shrink to. XLM-R is the RoBERTa
# architecture (same modules, weight names and config fields), so it shrinks to RoBERTa's.
# Pruned models are subclasses of their source class, so they shrink again.
PRUNED_CLASS: tuple[tuple[tuple[type[nn.Module], ...], type[PrunedClassifier]], ...] = (
    ((BertForSequenceClassification,), LahanPrunedBertForSequenceClassification),
    (
        (RobertaForSequenceClassification, XLMRobertaForSequenceClassification),
        LahanPrunedRobertaForSequenceClassification,
    ),
    ((DistilBertForSequenceClassification,), LahanPrunedDistilBertForSequenceClassification),
)

# Config keys that describe the source model's class, not its shape.
_CLASS_KEYS = ("model_type", "architectures", "transformers_version", "auto_map")


@dataclass
class LayerPlan:
    """What one layer keeps, and the constants folded into its two output biases."""

    heads: int  # heads before
    keep_heads: list[int]
    ffn: int  # FFN neurons before
    keep_neurons: list[int]
    attention_bias_delta: torch.Tensor  # float64, added to the attention output dense bias
    ffn_bias_delta: torch.Tensor  # float64, added to the FFN output dense bias
    params_per_head: int
    params_per_neuron: int

    @property
    def params_removed(self) -> int:
        removed_heads = self.heads - len(self.keep_heads)
        removed_neurons = self.ffn - len(self.keep_neurons)
        return removed_heads * self.params_per_head + removed_neurons * self.params_per_neuron


# --------------------------------------------------------------------------- analysis


def _activation(config: PreTrainedConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    """The FFN activation, resolved the way BertIntermediate resolves it (DistilBERT's
    config calls it ``activation``)."""
    act = config.hidden_act if hasattr(config, "hidden_act") else config.activation
    return ACT2FN[act] if isinstance(act, str) else act


def _bias64(linear: nn.Linear) -> torch.Tensor:
    """The bias in float64 (zeros when the layer has none), so folds add no rounding."""
    if linear.bias is None:
        return torch.zeros(linear.out_features, dtype=torch.float64, device=linear.weight.device)
    return linear.bias.detach().double()


def _plan_heads(lm: LayerModules) -> tuple[list[int], torch.Tensor]:
    """Heads to keep, and the value-bias constant of removed heads folded into O's bias."""
    n, size = lm.num_heads, lm.head_size
    hidden = lm.o.out_features
    v_rows = lm.v.weight.detach().reshape(n, size, lm.v.in_features)
    o_cols = lm.o.weight.detach().reshape(hidden, n, size).transpose(0, 1)
    v_zero = (v_rows == 0).flatten(1).all(dim=1)
    o_zero = (o_cols == 0).flatten(1).all(dim=1)
    fold = v_zero & ~o_zero
    b_v = _bias64(lm.v).reshape(n, size)
    delta = torch.einsum("nhs,ns->h", o_cols.double()[fold], b_v[fold])
    keep = (~(v_zero | o_zero)).nonzero().flatten().tolist()
    return keep, delta


def _plan_neurons(lm: LayerModules, act: Callable) -> tuple[list[int], torch.Tensor]:
    """FFN neurons to keep, and the constant output of dead-input neurons for W2's bias."""
    w1 = lm.ffn_in.weight.detach()
    w2 = lm.ffn_out.weight.detach()
    out_zero = (w2 == 0).all(dim=0)
    in_zero = (w1 == 0).all(dim=1)
    fold = in_zero & ~out_zero
    constant = act(_bias64(lm.ffn_in)[fold])
    delta = w2.double()[:, fold] @ constant
    keep = (~(out_zero | in_zero)).nonzero().flatten().tolist()
    return keep, delta


def _params_per_head(lm: LayerModules) -> int:
    """Parameters one head owns: its Q/K/V rows (and biases) and its O columns."""
    size = lm.head_size
    qkv = sum(size * (m.in_features + (m.bias is not None)) for m in (lm.q, lm.k, lm.v))
    return qkv + lm.o.out_features * size


def _params_per_neuron(lm: LayerModules) -> int:
    """Parameters one FFN neuron owns: its W1 row and bias, and its W2 column."""
    return lm.ffn_in.in_features + (lm.ffn_in.bias is not None) + lm.ffn_out.out_features


def plan_layer(lm: LayerModules, act: Callable) -> LayerPlan:
    """Read one layer's removable heads and neurons from its zeros."""
    keep_heads, attention_delta = _plan_heads(lm)
    keep_neurons, ffn_delta = _plan_neurons(lm, act)
    return LayerPlan(
        heads=lm.num_heads,
        keep_heads=keep_heads,
        ffn=lm.ffn_size,
        keep_neurons=keep_neurons,
        attention_bias_delta=attention_delta,
        ffn_bias_delta=ffn_delta,
        params_per_head=_params_per_head(lm),
        params_per_neuron=_params_per_neuron(lm),
    )


def _plans(model: nn.Module) -> tuple[list[LayerModules], list[LayerPlan]]:
    layers = prunable_layers(model)
    act = _activation(model.config)
    with torch.no_grad():
        return layers, [plan_layer(lm, act) for lm in layers]


def structure(model: nn.Module) -> dict:
    """What shrink_to_dense would keep: per layer heads and FFN sizes, and parameter counts.

    Works on every supported architecture (BERT, RoBERTa, XLM-R and their pruned
    classes), without building the shrunk copy.
    """
    _, plans = _plans(model)
    before = count_parameters(model)["total"]
    layers = [
        {
            "layer": i,
            "heads": plan.heads,
            "kept_heads": plan.keep_heads,
            "ffn": plan.ffn,
            "kept_ffn": len(plan.keep_neurons),
        }
        for i, plan in enumerate(plans)
    ]
    return {
        "layers": layers,
        "heads_before": sum(p.heads for p in plans),
        "heads_after": sum(len(p.keep_heads) for p in plans),
        "ffn_before": sum(p.ffn for p in plans),
        "ffn_after": sum(len(p.keep_neurons) for p in plans),
        "params_before": before,
        "params_after": before - sum(p.params_removed for p in plans),
    }


# --------------------------------------------------------------------------- shrink


def _pruned_class(model: nn.Module) -> type[PrunedClassifier]:
    """The pruned class this classifier shrinks to, or a LahanError naming what works."""
    prunable_layers(model)  # unsupported architectures: LahanError naming the supported ones
    for sources, pruned in PRUNED_CLASS:
        if isinstance(model, sources):
            return pruned
    raise LahanError(
        f"shrink_to_dense has no pruned model class for {type(model).__name__}: it shrinks "
        "BERT, RoBERTa, XLM-RoBERTa and DistilBERT classifiers (structure() still reports "
        "what could be removed)"
    )


def _check_shrinkable(model: nn.Module) -> type[PrunedClassifier]:
    pruned = _pruned_class(model)
    if any(parametrize.is_parametrized(m) for m in model.modules()):
        raise LahanError(
            "the model still has masking parametrizations: bake the masks into the weights "
            "(exact zeros) and remove the parametrizations before shrink_to_dense"
        )
    return pruned


def _pruned_config(
    config: PreTrainedConfig, plans: list[LayerPlan], config_class: type[PreTrainedConfig]
) -> PreTrainedConfig:
    """The source config with per-layer sizes: same labels, vocabulary, attention kernel."""
    values = {k: v for k, v in config.to_dict().items() if k not in _CLASS_KEYS}
    values["layer_heads"] = [len(p.keep_heads) for p in plans]
    values["layer_intermediate"] = [len(p.keep_neurons) for p in plans]
    values["attn_implementation"] = config._attn_implementation
    return config_class(**values)


def _head_rows(keep: list[int], size: int, device: torch.device) -> torch.Tensor:
    """Indices of the rows (of Q/K/V) or columns (of O) that belong to the kept heads."""
    starts = torch.tensor(keep, dtype=torch.long, device=device) * size
    return (starts[:, None] + torch.arange(size, device=device)).flatten()


def _add(bias: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    return (bias.double() + delta).to(bias.dtype)


def _layer_state(lm: LayerModules, plan: LayerPlan, names: dict[nn.Module, str]) -> dict:
    """The kept slices of one layer's weights, biases with the constants folded in."""
    device = lm.q.weight.device
    rows = _head_rows(plan.keep_heads, lm.head_size, device)
    neurons = torch.tensor(plan.keep_neurons, dtype=torch.long, device=device)
    state = {}
    for module in (lm.q, lm.k, lm.v):
        state[f"{names[module]}.weight"] = module.weight[rows]
        if module.bias is not None:
            state[f"{names[module]}.bias"] = module.bias[rows]
    state[f"{names[lm.o]}.weight"] = lm.o.weight[:, rows]
    state[f"{names[lm.o]}.bias"] = _add(lm.o.bias, plan.attention_bias_delta)
    state[f"{names[lm.ffn_in]}.weight"] = lm.ffn_in.weight[neurons]
    if lm.ffn_in.bias is not None:
        state[f"{names[lm.ffn_in]}.bias"] = lm.ffn_in.bias[neurons]
    state[f"{names[lm.ffn_out]}.weight"] = lm.ffn_out.weight[:, neurons]
    state[f"{names[lm.ffn_out]}.bias"] = _add(lm.ffn_out.bias, plan.ffn_bias_delta)
    return state


def _check_biases(layers: list[LayerModules]) -> None:
    """Folding constants needs somewhere to put them: the two output projections' biases."""
    for lm in layers:
        if lm.o.bias is None or lm.ffn_out.bias is None:
            raise LahanError(
                f"layer {lm.index} has an output projection without a bias: shrink_to_dense "
                "folds removed heads and neurons into those biases"
            )


def shrink_to_dense(model: nn.Module) -> PrunedClassifier:
    """A smaller dense copy of a masked classifier, with the same outputs (eval mode).

    The input is not changed. The copy is a LahanPrunedBertForSequenceClassification
    (from BERT), a LahanPrunedRobertaForSequenceClassification (from RoBERTa or
    XLM-RoBERTa) or a LahanPrunedDistilBertForSequenceClassification (from DistilBERT)
    on the input's device and dtype, in the input's train/eval mode;
    save it with lahan.models.save_model and load it anywhere ``lahan.prune`` is imported.
    """
    pruned_class = _check_shrinkable(model)
    layers, plans = _plans(model)
    _check_biases(layers)
    names = {module: name for name, module in model.named_modules()}
    with torch.no_grad():
        state = dict(model.state_dict())
        for lm, plan in zip(layers, plans, strict=True):
            state.update(_layer_state(lm, plan, names))
    weight = next(model.parameters())
    config = _pruned_config(model.config, plans, pruned_class.config_class)
    shrunk = pruned_class(config)
    shrunk.to(device=weight.device, dtype=weight.dtype)
    shrunk.load_state_dict(state, strict=True)
    shrunk.train(model.training)
    return shrunk
