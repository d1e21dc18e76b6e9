"""FLOPs counted from shapes, checked against a hand count."""

import torch
from transformers import BertConfig, BertForSequenceClassification

from lahan.config import PruneConfig
from lahan.measure.flops import flops_for_lengths, flops_per_example
from lahan.measure.machine import SPEED_FEATURES, cpu_features, gemm_rate, machine_info
from lahan.prune import shrink_to_dense
from lahan.prune.movement import MovementPruning


def _tiny(layers=1):
    config = BertConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=16,
        num_labels=3,
    )
    return BertForSequenceClassification(config).eval()


def test_flops_of_a_tiny_known_shape_by_hand():
    # L=5, H=8, A=8 (2 heads x 4), F=16, 3 labels:
    # QKV 3*2*5*8*8 = 1920; scores + weighted sum 2*2*5*5*8 = 800; output 2*5*8*8 = 640;
    # FFN 2*2*5*8*16 = 2560; pooler 2*8*8 = 128; classifier 2*8*3 = 48. Total 6096.
    assert flops_per_example(_tiny(), 5) == 6096
    assert flops_per_example(_tiny(layers=2), 5) == 6096 + 1920 + 800 + 640 + 2560
    assert flops_for_lengths(_tiny(), [5, 5, 1]) == 2 * 6096 + flops_per_example(_tiny(), 1)


def test_pruned_models_count_their_own_shapes():
    model = _tiny(layers=2)
    plugin = MovementPruning(model, PruneConfig(sparsity=0.5, granularity="heads"))
    plugin.on_step(100, 100)
    plugin.bake()
    small = shrink_to_dense(model).eval()
    assert flops_per_example(small, 20) < flops_per_example(_tiny(layers=2), 20)
    # Sanity: the count equals 2 x multiply-adds of the Linear layers + attention matmuls.
    heads = small.config.layer_heads
    ffn = small.config.layer_intermediate
    expected = (
        sum(
            3 * 2 * 20 * 8 * 4 * h + 4 * 20 * 20 * 4 * h + 2 * 20 * 4 * h * 8 + 4 * 20 * 8 * f
            for h, f in zip(heads, ffn, strict=True)
        )
        + 2 * 8 * 8
        + 2 * 8 * 3
    )
    assert flops_per_example(small, 20) == expected


def test_gemm_rate_and_machine():
    rate = gemm_rate(size=256, repeats=3)
    assert 1e8 < rate < 1e15
    info = machine_info()
    assert info["torch_threads"] == torch.get_num_threads() and info["torch"]
    assert set(info["cpu_features"]) <= set(SPEED_FEATURES)


def test_cpu_features_read_from_cpuinfo(monkeypatch, tmp_path):
    import builtins

    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\n")
    real_open = builtins.open
    monkeypatch.setattr(
        builtins,
        "open",
        lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k),
    )
    assert cpu_features() == ["avx2", "avx512f", "avx512_bf16"]
