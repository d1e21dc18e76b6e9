import pytest
import torch

from lahan.batches import ShuffledBatches, encode
from lahan.config import ModelConfig, TrainConfig
from lahan.data.demo_corpus import demo_examples
from lahan.errors import LahanError
from lahan.evaluate import compute_metrics, predict_logits
from lahan.models import build_preset
from lahan.train import cross_entropy, train


def _tiny_task(n=160):
    rows = demo_examples(1)[:n]
    labels = sorted({label for _, label in rows})
    ids = {label: i for i, label in enumerate(labels)}
    texts = [t for t, _ in rows]
    return texts, [ids[label] for _, label in rows], labels


def test_a_few_steps_lower_the_loss():
    texts, targets, labels = _tiny_task()
    torch.manual_seed(0)
    model, tok = build_preset(
        ModelConfig("preset:tiny", vocab_size=500, dropout=0.0), labels, texts
    )
    batch = tok(texts[:64], padding=True, return_tensors="pt")
    y = torch.tensor(targets[:64])

    def loss_now():
        model.eval()
        with torch.no_grad():
            return cross_entropy(model(**batch), {"labels": y}).item()

    before = loss_now()
    config = TrainConfig(
        epochs=8, batch_size=16, lr=1e-3, max_length=32, progress=False, patience=0
    )
    result = train(model, tok, texts, targets, texts[:32], targets[:32], config, from_scratch=True)
    assert loss_now() < before * 0.65
    assert result.steps == 8 * 10 and len(result.history) == 8
    assert result.best_dev["macro_f1"] == max(h["dev_macro_f1"] for h in result.history)


def test_loss_is_a_plug_in():
    texts, targets, labels = _tiny_task(64)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    calls = []

    def counting_loss(outputs, batch):
        calls.append(outputs.logits.shape)
        return cross_entropy(outputs, batch)

    config = TrainConfig(epochs=1, batch_size=16, progress=False, max_steps=2)
    train(model, tok, texts, targets, texts[:8], targets[:8], config, loss_fn=counting_loss)
    assert len(calls) == 2 and calls[0] == (16, len(labels))


def test_early_stopping_keeps_best_epoch():
    texts, targets, labels = _tiny_task(96)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    # lr=1e-9 cannot improve dev: training stops after `patience` epochs without gain.
    config = TrainConfig(epochs=10, batch_size=32, lr=1e-9, patience=2, progress=False)
    result = train(model, tok, texts, targets, texts[:32], targets[:32], config)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


@pytest.mark.parametrize("group", [False, True])
def test_batches_cover_every_example_once_and_are_seeded(group):
    lengths = [(i * 7) % 23 + 1 for i in range(101)]
    sampler = ShuffledBatches(lengths, batch_size=8, seed=3, group_by_length=group)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(101))
    assert len(batches) == len(sampler) == 13
    assert batches == list(ShuffledBatches(lengths, 8, 3, group))
    assert list(sampler) != batches  # the next pass (epoch) is reshuffled


def test_length_grouping_reduces_padding():
    lengths = [(i * 37) % 120 + 5 for i in range(800)]

    def padded(group):
        batches = ShuffledBatches(lengths, 16, 0, group)
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    assert padded(True) < 0.7 * padded(False)


def test_fp16_on_cpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: fp16 is possible")
    from lahan.train import make_accelerator

    with pytest.raises(LahanError, match="fp16 needs a CUDA GPU.*bf16"):
        make_accelerator(TrainConfig(precision="fp16"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "TrainConfig.epochs must be >= 1"),
        ({"lr": -1.0}, "TrainConfig.lr must be > 0"),
        ({"precision": "fp8"}, "TrainConfig.precision must be one of"),
        ({"max_length": 2}, "TrainConfig.max_length must be in"),
    ],
)
def test_invalid_train_config(kwargs, message):
    with pytest.raises(LahanError, match=message):
        TrainConfig(**kwargs)


def test_bf16_autocast_trains_on_cpu():
    texts, targets, labels = _tiny_task(64)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    dtypes = set()
    hook = model.bert.encoder.layer[0].intermediate.dense.register_forward_hook(
        lambda module, args, out: dtypes.add(out.dtype) if module.training else None
    )
    config = TrainConfig(epochs=1, batch_size=16, precision="bf16", progress=False, max_steps=2)
    result = train(model, tok, texts, targets, texts[:16], targets[:16], config)
    hook.remove()
    assert result.steps == 2
    assert dtypes == {torch.bfloat16}  # the forward pass really ran under bf16 autocast


def test_multi_process_slices_partition_each_global_batch():
    lengths = list(range(1, 38))  # 37 examples: 4 batches of 8, then 5 (cut to 4 for 2 procs)
    one = list(ShuffledBatches(lengths, 8, seed=5, group_by_length=False))
    shards = [ShuffledBatches(lengths, 8, 5, False, num_processes=2, rank=r) for r in (0, 1)]
    parts = [list(s) for s in shards]
    assert len(parts[0]) == len(parts[1]) == len(shards[0]) == 5
    for full, a, b in zip(one, *parts, strict=True):
        assert a + b == full[: len(full) - len(full) % 2]  # each global batch, split in two


def test_gradient_accumulation_matches_the_big_batch():
    texts, targets, labels = _tiny_task(64)

    shared_tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)[1]

    def run(batch_size, grad_accum):
        torch.manual_seed(0)
        model, tok = build_preset(
            ModelConfig("preset:tiny", dropout=0.0), labels, texts, shared_tok
        )
        config = TrainConfig(
            epochs=1,
            batch_size=batch_size,
            grad_accum=grad_accum,
            lr=1e-3,
            progress=False,
            patience=0,
            seed=0,
        )
        result = train(model, tok, texts, targets, texts[:8], targets[:8], config)
        return model, result

    big, big_result = run(16, 1)
    small, small_result = run(8, 2)
    assert big_result.steps == small_result.steps == 4
    for (name, a), b in zip(big.state_dict().items(), small.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-5), name


def test_best_epoch_weights_are_restored():
    texts, targets, labels = _tiny_task(120)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=400), labels, texts)
    config = TrainConfig(epochs=6, batch_size=16, lr=3e-3, patience=0, progress=False, seed=0)
    dev_texts, dev_targets = texts[:40], targets[:40]
    result = train(model, tok, texts[40:], targets[40:], dev_texts, dev_targets, config)
    logits = predict_logits(model, tok, dev_texts, 64, config.max_length)
    again = compute_metrics(dev_targets, logits.argmax(-1).tolist(), range(len(labels)))
    assert again["macro_f1"] == result.best_dev["macro_f1"]
    scores = [h["dev_macro_f1"] for h in result.history]
    assert result.best_epoch == scores.index(max(scores)) + 1


def test_max_length_beyond_positions_is_refused():
    texts, targets, labels = _tiny_task(32)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    config = TrainConfig(epochs=1, max_length=1024, progress=False)
    with pytest.raises(LahanError, match="^max_length 1024 is longer than the model's 512"):
        train(model, tok, texts, targets, texts, targets, config)


def test_encodings_are_shared_between_loads_of_the_same_tokenizer(trained_tiny):
    from transformers import AutoTokenizer

    texts, labels, _ = _tiny_task(40)
    first = encode(AutoTokenizer.from_pretrained(trained_tiny[0]), texts, 32, labels)
    # A fresh load of the same tokenizer (as each sweep row does) reuses the lists...
    again = encode(AutoTokenizer.from_pretrained(trained_tiny[0]), texts, 32)
    assert again.encodings["input_ids"] is first.encodings["input_ids"]
    assert again.labels is None and first.labels == labels
    # ...and equals tokenising afresh; another length or other texts are encoded anew.
    tokenizer = AutoTokenizer.from_pretrained(trained_tiny[0])
    fresh = tokenizer(texts, truncation=True, max_length=32)["input_ids"]
    assert first.encodings["input_ids"] == fresh
    shorter = encode(tokenizer, texts, 16)
    assert shorter.encodings["input_ids"] is not first.encodings["input_ids"]
    assert max(shorter.lengths()) == 16
    other = encode(tokenizer, texts[:-1] + ["something else"], 32)
    assert other.encodings["input_ids"][-1] != first.encodings["input_ids"][-1]


def test_a_log_file_gets_plain_progress_lines(monkeypatch, capsys):
    """Progress bars show on a terminal only; stderr that is a file gets plain lines."""
    import lahan.progress

    texts, targets, labels = _tiny_task(64)
    model, tok = build_preset(ModelConfig("preset:tiny", vocab_size=300), labels, texts)
    monkeypatch.setattr(lahan.progress, "PLAIN_EVERY_SECONDS", 0.0)
    config = TrainConfig(epochs=1, batch_size=16, max_length=32, patience=0)
    train(model, tok, texts, targets, texts[:16], targets[:16], config, from_scratch=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "batch" in line]
    assert lines and lines[-1].startswith("epoch 1/1: batch 4/4, loss ")
    assert "examples/s" in lines[-1]
