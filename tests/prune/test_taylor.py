"""One-shot Taylor pruning: the scores are the textbook importance, computed independently
here from the weights' own gradients; the lowest-scored units go; the recipe trains the
already-small model."""

import copy
import json

import pytest
import torch

from lahan.arch import prunable_layers
from lahan.batches import ShuffledBatches, encode
from lahan.cli import main
from lahan.config import ModelConfig, PruneConfig, TrainConfig
from lahan.data.demo_corpus import demo_examples
from lahan.models import build_preset, load_model
from lahan.prune import shrink_to_dense
from lahan.prune.movement import MovementPruning
from lahan.prune.taylor import score_units
from lahan.train import cross_entropy


def _tiny(seed=0):
    rows = demo_examples(0)[:96]
    labels = sorted({label for _, label in rows})
    ids = {label: i for i, label in enumerate(labels)}
    texts, targets = [t for t, _ in rows], [ids[label] for _, label in rows]
    torch.manual_seed(seed)
    model, tok = build_preset(
        ModelConfig("preset:tiny", vocab_size=400, dropout=0.1), labels, texts
    )
    return model, tok, texts, targets


TRAIN = TrainConfig(batch_size=16, max_length=32, progress=False, seed=3)


def _reference_importance(model, tok, texts, targets, batches):
    """|sum over the unit of W * dL/dW| per batch, summed over batches, per layer divided
    by its L2 norm: from the unmasked model's weight gradients, in eval mode."""
    model.eval()
    layers = prunable_layers(model)
    heads = [torch.zeros(lm.num_heads, dtype=torch.float64) for lm in layers]
    ffn = [torch.zeros(lm.ffn_in.out_features, dtype=torch.float64) for lm in layers]
    for indices in batches:
        model.zero_grad()
        batch = tok([texts[i] for i in indices], padding=True, truncation=True, max_length=32,
                    return_tensors="pt")  # fmt: skip
        y = torch.tensor([targets[i] for i in indices])
        cross_entropy(model(**batch), {"labels": y}).backward()
        for lm, h, f in zip(layers, heads, ffn, strict=True):
            size = lm.head_size

            def wg(linear):
                return (linear.weight * linear.weight.grad).double()

            per_row = sum(wg(m).sum(dim=1) for m in (lm.q, lm.k, lm.v))
            per_head = per_row.view(-1, size).sum(dim=1) + wg(lm.o).sum(dim=0).view(-1, size).sum(1)
            h += per_head.abs()
            f += (wg(lm.ffn_in).sum(dim=1) + wg(lm.ffn_out).sum(dim=0)).abs()
    return [h / h.norm() for h in heads], [f / f.norm() for f in ffn]


def test_scores_are_the_taylor_importance_of_each_head_and_neuron():
    model, tok, texts, targets = _tiny()
    config = PruneConfig(
        sparsity=0.5, granularity="heads", method="taylor", score_batches=3, ffn_multiple=1
    )
    lengths = encode(tok, texts, TRAIN.max_length).lengths()
    batches = ShuffledBatches(lengths, TRAIN.batch_size, TRAIN.seed, False).global_batches(0)[:3]
    heads, ffn = _reference_importance(copy.deepcopy(model), tok, texts, targets, batches)
    model.train()  # scoring must switch dropout off itself, and switch it back
    pruner = score_units(model, tok, texts, targets, config, TRAIN)
    assert model.training
    assert all(p.requires_grad for p in model.parameters())  # unfrozen again
    attention = [s.scores for s in pruner.scores if s.kind == "attention"]
    neurons = [s.scores for s in pruner.scores if s.kind == "ffn"]
    for got, want in zip(attention + neurons, heads + ffn, strict=True):
        torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-6)
    # the masks keep the best-scored half of each kind, ranked across layers
    for kind, scores in (("attention", attention), ("ffn", neurons)):
        masks = torch.cat([s.mask for s in pruner.scores if s.kind == kind])
        flat = torch.cat(scores)
        if kind == "attention":
            assert masks.sum() == flat.numel() // 2
        kept, dropped = flat[masks == 1], flat[masks == 0]
        assert kept.min() >= dropped.max()


def test_the_same_seed_gives_the_same_structure():
    model, tok, texts, targets = _tiny()
    config = PruneConfig(sparsity=0.5, granularity="heads", method="taylor", score_batches=2)
    first = score_units(model, tok, texts, targets, config, TRAIN)
    masks = [s.mask.clone() for s in first.scores]
    first.bake()
    model, tok, texts, targets = _tiny()
    again = score_units(model, tok, texts, targets, config, TRAIN)
    assert all(torch.equal(a.mask, m) for a, m in zip(again.scores, masks, strict=True))


def test_baked_one_shot_masks_shrink_exactly_to_the_target():
    model, tok, texts, targets = _tiny()
    config = PruneConfig(sparsity=0.5, granularity="heads", method="taylor", ffn_multiple=1)
    pruner = score_units(model, tok, texts, targets, config, TRAIN)
    pruner.bake()
    assert abs(pruner.sparsity_report()["achieved"] - 0.5) <= 0.01
    assert pruner.sparsity_report()["method"] == "taylor"
    model.eval()
    batch = tok(texts[:8], padding=True, return_tensors="pt")
    with torch.no_grad():
        masked = model(**batch).logits
        shrunk = shrink_to_dense(model)(**batch).logits
    torch.testing.assert_close(shrunk, masked, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad", [0, -1])
def test_score_batches_must_be_positive(bad):
    with pytest.raises(Exception, match="score_batches"):
        PruneConfig(method="taylor", score_batches=bad)


def test_prune_method_taylor_trains_the_small_model(
    trained_tiny, demo_csv, tmp_path, capsys, monkeypatch
):
    import lahan.recipes.compress as recipe

    seen = {}
    real_train = recipe.train

    def spy(model, *args, plugins=(), **kwargs):
        seen["model"], seen["plugins"] = model, list(plugins)
        seen["params"] = sum(p.numel() for p in model.parameters())
        return real_train(model, *args, plugins=plugins, **kwargs)

    monkeypatch.setattr(recipe, "train", spy)
    teacher, _ = trained_tiny
    out = tmp_path / "taylor"
    rc = main(
        ["compress", "--teacher", str(teacher), "--data", str(demo_csv), "--data-seed", "0",
         "--prune", "0.5", "--granularity", "heads", "--method", "taylor", "--score-batches", "2",
         "--epochs", "2", "--lr", "1e-3", "--batch-size", "32", "--distill",
         "--no-progress", "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    assert "one-shot" in capsys.readouterr().out
    record = json.loads((out / "lahan.json").read_text())
    # the loop trained the already-shrunk model, with the distiller and no pruning plug-in
    assert type(seen["model"]).__name__ == "LahanPrunedBertForSequenceClassification"
    assert seen["params"] == record["params"]["compressed"]["total"]
    assert seen["params"] < record["params"]["teacher"]["total"]
    assert not any(isinstance(p, MovementPruning) for p in seen["plugins"])
    assert record["sparsity"]["method"] == "taylor"
    assert record["config"]["PruneConfig"]["score_batches"] == 2
    assert abs(record["sparsity"]["achieved"] - 0.5) <= 0.02
    metrics = record["metrics"]
    # measured as pruned, before training: the shrink is exact, and training moved on
    assert metrics["dev_before_training"] == metrics["dev_shrunk"] == metrics["dev_masked"]
    assert record["train"]["steps"] > 0
    model, _, _ = load_model(out)
    assert model.config.layer_heads == [
        len(layer["kept_heads"]) for layer in record["structure"]["layers"]
    ]


def test_one_shot_refuses_what_it_cannot_do(trained_tiny, demo_csv, tmp_path, capsys):
    with pytest.raises(Exception, match="taylor needs --granularity heads"):
        PruneConfig(method="taylor", granularity="hybrid")
    teacher, _ = trained_tiny
    rc = main(
        ["compress", "--teacher", str(teacher), "--data", str(demo_csv), "--prune", "0.5",
         "--method", "taylor", "--distill", "--student", "preset:tiny", "--epochs", "1",
         "--no-progress", "--out", str(tmp_path / "x")]
    )  # fmt: skip
    assert rc != 0
    err = capsys.readouterr().err
    assert "--method taylor chooses units in a trained model" in err
    assert "Traceback" not in err


def test_uniform_allocation_from_the_cli(trained_tiny, demo_csv, tmp_path, capsys):
    """--allocation uniform: every layer keeps the same number of heads (the peers'
    allocation); soft movement pruning, which sets no share per layer, is refused."""
    teacher, _ = trained_tiny
    out = tmp_path / "uniform"
    rc = main(
        ["prune", "--teacher", str(teacher), "--data", str(demo_csv), "--sparsity", "0.5",
         "--granularity", "heads", "--method", "taylor", "--allocation", "uniform",
         "--score-batches", "2", "--epochs", "1", "--batch-size", "32", "--no-progress",
         "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    assert "one-shot uniform" in capsys.readouterr().out
    record = json.loads((out / "lahan.json").read_text())
    assert record["sparsity"]["allocation"] == "uniform"
    layers = record["sparsity"]["layers"]
    assert [r["heads_kept"] for r in layers] == [r["heads_total"] // 2 for r in layers]
    assert [len(r["kept_heads"]) for r in record["structure"]["layers"]] == [
        r["heads_kept"] for r in layers
    ]
    rc = main(
        ["prune", "--teacher", str(teacher), "--data", str(demo_csv), "--sparsity", "0.5",
         "--method", "soft", "--allocation", "uniform", "--out", str(tmp_path / "soft")]
    )  # fmt: skip
    assert rc != 0
    err = capsys.readouterr().err
    assert "allocation uniform needs --method hard or taylor" in err
    assert "Traceback" not in err
