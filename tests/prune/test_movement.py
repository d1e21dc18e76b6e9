"""Block movement pruning: targets, schedules, masks, and the shrink that follows."""

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from lahan.config import ModelConfig, PruneConfig, TrainConfig
from lahan.data.demo_corpus import demo_examples
from lahan.errors import LahanError
from lahan.models import build_preset
from lahan.prune import shrink_to_dense
from lahan.prune.movement import MovementPruning, cubic_sparsity
from lahan.train import cross_entropy, train


def _bert(heads=4, layers=2, hidden=64, ffn=128, seed=0):
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=120,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        num_labels=3,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config).eval()


def _inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 120, (4, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[2:, 8:] = 0  # padded rows: shrinking must respect the attention mask
    return {"input_ids": ids, "attention_mask": mask}


def _randomise_scores(plugin, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for s in plugin.scores:
            s.scores.copy_(torch.randn(s.scores.shape, generator=g))


@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("granularity", ["hybrid", "heads"])
def test_hard_masks_reach_the_target(sparsity, granularity):
    model = _bert(heads=8, layers=3, hidden=128, ffn=256)
    plugin = MovementPruning(
        model, PruneConfig(sparsity=sparsity, granularity=granularity, block=(16, 16))
    )
    _randomise_scores(plugin)
    plugin.on_step(100, 100)  # end of the schedule: the final sparsity
    report = plugin.sparsity_report()
    assert abs(report["achieved"] - sparsity) <= 0.01, report["achieved"]


@pytest.mark.parametrize("sparsity", [0.25, 0.37, 0.5, 0.75])
def test_each_layer_keeps_a_multiple_of_ffn_multiple_neurons(sparsity):
    """Half-precision GPU kernels want widths that are multiples of 8 (BENCHMARKS §12):
    every layer's kept FFN count is one, its best-scored neurons, and the total stays
    within half a multiple per layer of the exact top-k's."""

    def kept(multiple):
        model = _bert(heads=8, layers=4, hidden=128, ffn=300)
        config = PruneConfig(sparsity=sparsity, granularity="heads", ffn_multiple=multiple)
        plugin = MovementPruning(model, config)
        _randomise_scores(plugin)
        plugin.on_step(100, 100)
        ffn = [s for s in plugin.scores if s.kind == "ffn"]
        return [(s.scores.flatten(), s.mask.flatten().bool()) for s in ffn]

    exact, rounded = kept(1), kept(8)
    total = 4 * 300
    assert sum(int(m.sum()) for _, m in exact) == total - round(sparsity * total)
    for (scores, mask), (_, exact_mask) in zip(rounded, exact, strict=True):
        n = int(mask.sum())
        assert n % 8 == 0 and abs(n - int(exact_mask.sum())) <= 4
        if n:  # the layer's best-scored neurons, nothing else
            assert scores[mask].min() >= scores[~mask].max()
    assert abs(sum(int(m.sum()) for _, m in rounded) - sum(int(m.sum()) for _, m in exact)) <= 16


@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.75, 0.95])
def test_uniform_allocation_keeps_the_same_share_in_every_layer(sparsity):
    """uniform: each layer keeps round((1 - S) * n) of its heads and of its neurons (at
    least one), its own best-scored ones, where global lets one layer lose more."""
    model = _bert(heads=8, layers=3, hidden=128, ffn=256)
    config = PruneConfig(
        sparsity=sparsity, granularity="heads", allocation="uniform", ffn_multiple=1
    )
    plugin = MovementPruning(model, config)
    _randomise_scores(plugin)
    with torch.no_grad():  # a global ranking would empty layer 0: its scores are lowest
        for s in plugin.scores[:2]:
            s.scores.sub_(100.0)
    plugin.on_step(100, 100)
    for s in plugin.scores:
        n = s.scores.numel()
        mask = s.mask.flatten().bool()
        assert int(mask.sum()) == max(1, n - round(sparsity * n))
        if not mask.all():
            assert s.scores.flatten()[mask].min() >= s.scores.flatten()[~mask].max()
    report = plugin.sparsity_report()
    assert report["allocation"] == "uniform"
    assert {r["heads_kept"] for r in report["layers"]} == {max(1, 8 - round(sparsity * 8))}


def test_global_allocation_may_leave_layers_uneven():
    """The control for the test above: the same scores ranked globally empty layer 0."""
    model = _bert(heads=8, layers=3, hidden=128, ffn=256)
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    _randomise_scores(plugin)
    with torch.no_grad():
        for s in plugin.scores[:2]:
            s.scores.sub_(100.0)
    plugin.on_step(100, 100)
    assert plugin.sparsity_report()["layers"][0]["heads_kept"] == 0


def test_masked_equals_shrunk_and_heads_granularity_removes_whole_heads():
    model = _bert()
    inputs = _inputs()
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    _randomise_scores(plugin, seed=3)
    plugin.on_step(10, 10)
    with torch.no_grad():
        masked = model(**inputs).logits
    plugin.bake()
    report = plugin.sparsity_report()
    heads_kept = sum(r["heads_kept"] for r in report["layers"])
    assert heads_kept == 4  # 8 heads in all, half of them removed whole
    small = shrink_to_dense(model)
    with torch.no_grad():
        shrunk = small(**inputs).logits
    assert (masked - shrunk).abs().max() <= 1e-4
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_sparsity_zero_leaves_the_model_unchanged():
    model = _bert()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plugin = MovementPruning(model, PruneConfig(sparsity=0.0))
    assert plugin.param_groups() == []
    plugin.on_step(5, 10)
    plugin.bake()
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_cubic_schedule_shape():
    config = PruneConfig(sparsity=0.5, warmup=0.1, cooldown=0.2)
    values = [cubic_sparsity(step, 100, config) for step in range(101)]
    assert values[0] == values[10] == 0.0
    assert values[80] == values[100] == 0.5
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert values[20] > 0.5 * (values[80] - values[20])  # cubic: fast early, slow late


def test_scores_learn_by_movement():
    """The score's gradient is the sum over its unit of dL/dW' * W (straight-through)."""
    model = _bert(layers=1)
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="hybrid", block=(32, 32)))
    plugin.on_step(0, 10)  # warm-up: all kept
    layer = plugin.layers[0]
    weight = layer.q.parametrizations.weight.original
    inputs = _inputs()
    loss = cross_entropy(model(**inputs), {"labels": torch.tensor([0, 1, 2, 0])})
    loss.backward()
    scores = layer.q.parametrizations.weight[0].unit_scores.scores
    # With every mask at 1, dL/dW' = dL/dW (the gradient on the original weight).
    expected = (weight.grad * weight).view(2, 32, 2, 32).sum(dim=(1, 3))
    assert torch.allclose(scores.grad, expected, atol=1e-6)


def test_pruning_while_training_lowers_the_loss():
    rows = demo_examples(0)[:192]
    labels = sorted({label for _, label in rows})
    ids = {label: i for i, label in enumerate(labels)}
    texts, targets = [t for t, _ in rows], [ids[label] for _, label in rows]
    torch.manual_seed(0)
    model, tok = build_preset(
        ModelConfig("preset:tiny", vocab_size=400, dropout=0.0), labels, texts
    )
    batch = tok(texts[:64], padding=True, return_tensors="pt")
    y = torch.tensor(targets[:64])

    def loss_now():
        model.eval()
        with torch.no_grad():
            return cross_entropy(model(**batch), {"labels": y}).item()

    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    groups = plugin.param_groups()
    assert groups[0]["lr"] == PruneConfig().score_lr and groups[0]["weight_decay"] == 0.0
    assert {id(p) for p in groups[0]["params"]} == {id(s.scores) for s in plugin.scores}
    before = loss_now()
    config = TrainConfig(
        epochs=6, batch_size=16, lr=1e-3, max_length=32, progress=False, patience=0
    )
    result = train(model, tok, texts, targets, texts[:32], targets[:32], config, plugins=[plugin])
    assert loss_now() < 0.85 * before
    assert result.best_epoch >= 5  # only epochs at the final sparsity may be chosen
    assert all(s.scores.abs().sum() > 0 for s in plugin.scores)  # scores moved from 0
    assert abs(plugin.sparsity_report()["achieved"] - 0.5) <= 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sparsity": 1.0}, "PruneConfig.sparsity must be in"),
        ({"sparsity": -0.1}, "PruneConfig.sparsity must"),
        ({"granularity": "rows"}, "PruneConfig.granularity must"),
        ({"method": "magic"}, "PruneConfig.method must"),
        ({"ffn_multiple": 0}, "PruneConfig.ffn_multiple must be >= 1, got 0"),
        ({"allocation": "even"}, "PruneConfig.allocation must"),
        ({"allocation": "uniform", "method": "soft"}, "PruneConfig.allocation uniform needs"),
    ],
)
def test_invalid_prune_config(kwargs, message):
    with pytest.raises(LahanError, match=message):
        PruneConfig(**kwargs)


def test_block_that_does_not_divide_is_a_clear_error():
    with pytest.raises(LahanError, match="^block 24x24 does not divide the 64x64"):
        MovementPruning(_bert(), PruneConfig(sparsity=0.5, granularity="hybrid", block=(24, 24)))


def test_soft_method_prunes_with_the_penalty():
    model = _bert(layers=1)
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, method="soft", l1=1.0))
    plugin.on_step(10, 10)
    penalty = plugin.regularizer()
    assert penalty is not None and penalty.item() > 0
    with torch.no_grad():  # scores pushed below zero are pruned by the 0.5 threshold
        plugin.scores[-1].scores[:10] = -5.0
    plugin.on_step(10, 10)
    assert plugin.scores[-1].mask[:10].sum() == 0 and plugin.scores[-1].mask[10:].all()


def test_a_pruned_model_can_be_pruned_again():
    model = _bert(heads=4, layers=2)
    first = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    _randomise_scores(first)
    first.on_step(10, 10)
    first.bake()
    small = shrink_to_dense(model)
    second = MovementPruning(small, PruneConfig(sparsity=0.5, granularity="heads"))
    _randomise_scores(second, seed=4)
    second.on_step(10, 10)
    report = second.sparsity_report()
    assert sum(r["heads_kept"] for r in report["layers"]) == 2  # half of the 4 left
    assert abs(report["achieved"] - 0.5) <= 0.01


def test_pruning_composes_with_bf16_and_a_custom_loss():
    rows = demo_examples(0)[:64]
    labels = sorted({label for _, label in rows})
    ids = {label: i for i, label in enumerate(labels)}
    texts, targets = [t for t, _ in rows], [ids[label] for _, label in rows]
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    seen = []

    def loss_fn(outputs, batch):  # stands in for distillation: any loss plugs in
        seen.append(outputs.logits.dtype)
        return cross_entropy(outputs, batch)

    config = TrainConfig(epochs=2, batch_size=16, precision="bf16", progress=False, patience=0)
    result = train(
        model,
        tok,
        texts,
        targets,
        texts[:16],
        targets[:16],
        config,
        loss_fn=loss_fn,
        plugins=[plugin],
    )
    assert result.steps == 8 and len(seen) == 8
    assert abs(plugin.sparsity_report()["achieved"] - 0.5) <= 0.01
