"""`lahan bench`: consistent figures on tiny models."""

import json

import pytest

from lahan.cli import main
from lahan.config import BenchConfig, DataConfig
from lahan.errors import LahanError
from lahan.recipes.bench import run_bench


# ~40 s: the default run covers run_bench through test_bench_cli_writes_json_and_table
@pytest.mark.slow
def test_bench_figures_are_consistent(trained_tiny, pruned_tiny, demo_csv):
    config = BenchConfig(
        models=[
            str(trained_tiny[0]),
            str(pruned_tiny),
            f"{trained_tiny[0]}@int8",
            f"{trained_tiny[0]}@padded",
        ],
        names=["teacher", "pruned", "int8", "padded"],
        data=DataConfig(source=str(demo_csv), seed=0),
        split="dev",
        repeats=3,
        min_energy_seconds=0.5,
    )
    report = run_bench(config, progress=lambda m: None)
    models = report.models
    assert list(models) == ["teacher", "pruned", "int8", "padded"]
    for r in models.values():
        for b in (1, 32):
            lat = r.latency[b]
            assert lat["p95_s"] >= lat["median_s"] > 0
        # throughput over the split agrees with batch-32 latency (same batch size)
        ratio = r.throughput_docs_per_s / r.latency[32]["docs_per_s"]
        assert 0.33 < ratio < 3, ratio
        assert r.energy["kwh_per_1000"] > 0 and r.memory["peak_bytes"] > 0
        assert 0 < r.fraction_of_gemm_rate < 2
        assert 0 <= r.accuracy <= 1
    assert models["teacher"].ratios_vs_first["throughput"] == 1.0
    assert models["pruned"].flops_per_example < models["teacher"].flops_per_example
    assert models["pruned"].total_params < models["teacher"].total_params
    assert models["int8"].precision == "int8"
    # padded to max length: the same predictions, every text costs the full length
    padded, teacher = models["padded"], models["teacher"]
    assert padded.padding == "max_length" and teacher.padding == "dynamic"
    assert padded.accuracy == teacher.accuracy
    assert padded.flops_per_example > teacher.flops_per_example
    assert report.machine["gemm_flops_per_s"] > 0
    # what `lahan bench --json` writes is the flat JSON it always was
    flat = report.to_dict()["models"]["teacher"]
    assert flat["latency_batch32"] == teacher.latency[32] and "latency" not in flat


@pytest.mark.slow
def test_memory_belongs_to_the_model_not_to_its_place_in_the_list(trained_tiny, demo_csv, tmp_path):
    """Each model's memory is measured alone in a fresh process: the same model gets the
    same figure first or last, and the larger model the larger figure either way."""
    from lahan.data.demo_corpus import demo_examples
    from tests.family import build_family_model

    rows = demo_examples(0)
    labels = sorted({label for _, label in rows})
    wide = build_family_model(
        "bert", tmp_path / "wide", [t for t, _ in rows], labels, hidden=256, layers=4, ffn=1024
    )
    tiny, small = str(trained_tiny[0]), str(wide)

    def memory(models):
        config = BenchConfig(
            models=models,
            data=DataConfig(source=str(demo_csv), seed=0),
            split="dev",
            repeats=1,
            latency_texts=4,
            batch_sizes=(8,),
            min_energy_seconds=0.1,
        )
        report = run_bench(config, progress=lambda m: None).models
        return {spec: report[spec].memory["peak_bytes"] for spec in models}

    forward, backward = memory([tiny, small]), memory([small, tiny])
    for spec in (tiny, small):
        assert abs(forward[spec] - backward[spec]) <= 0.25 * max(forward[spec], 8e6), spec
    assert forward[small] > forward[tiny] and backward[small] > backward[tiny]


def test_bench_cli_writes_json_and_table(trained_tiny, demo_csv, tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = main(
        [
            "bench",
            "--model",
            str(trained_tiny[0]),
            "--data",
            str(demo_csv),
            "--data-seed",
            "0",
            "--split",
            "dev",
            "--repeats",
            "1",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "docs/s" in printed and "GEMM" in printed
    assert json.loads(out.read_text())["models"]


def test_model_spec_options_follow_the_last_at(tmp_path):
    from lahan.config import parse_model_spec

    folder = tmp_path / "m@v2"
    folder.mkdir()
    assert parse_model_spec(str(folder)) == (str(folder), "fp32", False)
    assert parse_model_spec(f"{folder}@int8,padded") == (str(folder), "int8", True)


@pytest.mark.parametrize(
    "models, message", [([], "at least one"), (["nowhere"], "no such folder"), (["."], None)]
)
def test_bad_models(models, message, demo_csv):
    if message is None:
        with pytest.raises(LahanError, match="unknown option 'int4'"):
            BenchConfig(models=[".@int4"], data=DataConfig(source=str(demo_csv)))
        with pytest.raises(LahanError, match="two precisions"):
            BenchConfig(models=[".@int8,bf16"], data=DataConfig(source=str(demo_csv)))
        return
    with pytest.raises(LahanError, match=message):
        BenchConfig(models=models, data=DataConfig(source=str(demo_csv)))


def test_bench_table_columns_never_run_together():
    """Large figures (a ratio past 100, thousands of docs/s) keep their own columns."""
    import re

    from lahan.recipes.bench import format_bench_table
    from lahan.records import BenchReport

    def model(acc, docs, ratio):
        return {
            "accuracy": acc,
            "macro_f1": acc,
            "throughput_docs_per_s": docs,
            "ratios_vs_first": {"throughput": ratio, "speed_batch1": ratio},
            "latency_batch1": {"median_s": 0.0123},
            "flops_per_example": None,
            "fraction_of_gemm_rate": None,
            "memory": {"peak_bytes": 38e6},
            "size_on_disk_bytes": 2.5e6,
            "energy": {"kwh_per_1000": 1e-5, "kg_co2_per_1000": 7e-6},
        }

    report = BenchReport.from_dict(
        {
            "config": {"batch_sizes": [1]},
            "models": {
                "teacher": model(0.727, 88.0, 1.0),
                "svm@x": model(0.8372, 123456.7, 1402.9),
            },
        }
    )
    lines = format_bench_table(report).splitlines()
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines]
    assert all(len(row) == len(cells[0]) == 13 for row in cells), cells
    assert cells[2][1:5] == ["0.8372", "0.8372", "123456.7", "1402.90"]
