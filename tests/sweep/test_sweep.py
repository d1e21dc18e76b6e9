"""A small sweep end to end: resume after a killed row, no duplicates, best-row variants."""

import json

import pytest

import lahan.recipes.sweep as sweep_run
from lahan.cli import main
from lahan.config import DataConfig, SweepConfig, TrainConfig
from lahan.models import load_model
from lahan.recipes.sweep import best_rows, run_sweep
from lahan.records import SweepRow
from lahan.sweep.results import RESULTS_FILE, append_result, read_results

GRID = """
best_variants = false
reference = false
[[rows]]
id = "p50"
prune = 0.5
[[rows]]
id = "p50+bf16"
derive_from = "p50"
precision = "bf16"
[[rows]]
id = "p50+onnx-int8"
derive_from = "p50"
runtime = "onnx"
precision = "int8"
[[rows]]
id = "p50+fp16"
derive_from = "p50"
precision = "fp16"
"""


def _config(trained_tiny, demo_csv, tmp_path, grid) -> SweepConfig:
    """A one-epoch sweep of ``grid`` against the tiny teacher, measured once."""
    return SweepConfig(
        teacher=str(trained_tiny[0]),
        data=DataConfig(source=str(demo_csv), seed=0),
        out=str(tmp_path / "sweep"),
        grid=str(grid),
        train=TrainConfig(epochs=1, batch_size=32, max_length=48, lr=1e-3, progress=False),
        repeats=1,
        min_energy_seconds=0.1,
    )


@pytest.mark.slow
def test_sweep_resumes_after_a_killed_row(trained_tiny, demo_csv, tmp_path, monkeypatch):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    config = _config(trained_tiny, demo_csv, tmp_path, grid)
    calls = []
    real = sweep_run.run_row

    def killed_once(cfg, row, rows, done):
        calls.append(row.id)
        if row.id == "p50+bf16" and calls.count("p50+bf16") == 1:
            raise KeyboardInterrupt  # the process dies half-way through this row
        return real(cfg, row, rows, done)

    monkeypatch.setattr(sweep_run, "run_row", killed_once)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, progress=False)
    assert list(read_results(config.out)) == ["p50"]
    # a kill during the write of a line leaves a partial line: it is dropped, not trusted
    with open(tmp_path / "sweep" / RESULTS_FILE, "a", encoding="utf-8") as f:
        f.write('{"id": "p50+bf16", "status": "o')

    done = run_sweep(config, progress=False)
    assert calls == ["p50", "p50+bf16", "p50+bf16", "p50+onnx-int8", "p50+fp16"]
    lines = (tmp_path / "sweep" / RESULTS_FILE).read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == ["p50", "p50+bf16", "p50+onnx-int8", "p50+fp16"]  # once each
    assert done["p50+fp16"].status == "skipped" and "CUDA" in done["p50+fp16"].reason
    p50 = done["p50"]
    assert p50.ok and p50.train_seconds > 0 and p50.train_kg_co2 > 0
    teacher_params = sum(p.numel() for p in load_model(trained_tiny[0])[0].parameters())
    assert p50.params < teacher_params and p50.baseline_accuracy > 0
    assert done["p50+bf16"].train_seconds == p50.train_seconds  # derived: same model
    assert done["p50+onnx-int8"].size_on_disk_bytes < p50.size_on_disk_bytes
    # what the sweep returned is what results.jsonl holds, read back
    assert read_results(config.out)["p50"] == p50
    # a third run has nothing to do
    calls.clear()
    run_sweep(config, progress=False)
    assert calls == []


def test_best_rows_pick_the_fastest_within_the_margin(tmp_path):
    def row(i, acc, speed, precision="fp32"):
        return SweepRow(
            id=i,
            status="ok",
            accuracy=acc,
            baseline_accuracy=0.80,
            throughput_docs_per_s=1000 / speed,  # raw docs/s from separate runs: ignored
            speedup_vs_baseline=speed / 10,
            row={"runtime": "torch", "precision": precision},
        )

    results = {
        r.id: r
        for r in [
            row("baseline", 0.80, 10),
            row("a", 0.795, 50),
            row("b", 0.70, 90),
            row("c", 0.81, 20),
            row("d", 0.792, 30),
            row("e", 0.80, 99, precision="bf16"),
        ]
    }
    assert best_rows(results, within=1.0) == ["a", "d", "c"]
    assert best_rows(results, within=0.0) == ["c", "baseline"]
    append_result(tmp_path, results["a"])
    append_result(tmp_path, results["b"])
    assert list(read_results(tmp_path)) == ["a", "b"]


def test_changed_settings_and_failed_rows(trained_tiny, demo_csv, tmp_path, monkeypatch):
    from lahan.errors import LahanError

    grid = tmp_path / "grid.toml"
    grid.write_text(
        'best_variants = false\nreference = false\n[[rows]]\nid = "baseline"\n'
        '[[rows]]\nid = "p"\nprune = 0.5\n'
    )
    config = _config(trained_tiny, demo_csv, tmp_path, grid)
    real = sweep_run.run_row

    def failing(cfg, row, rows, done):
        if row.id == "p":  # a bug deep in a library, not one of our errors
            raise TypeError("unsupported operand type(s) for +: 'Tensor' and 'NoneType'")
        return real(cfg, row, rows, done)

    monkeypatch.setattr(sweep_run, "run_row", failing)
    done = run_sweep(config, progress=False)  # the failure is recorded, the sweep goes on
    assert done["p"].status == "failed" and "TypeError: unsupported" in done["p"].reason
    assert "Traceback" in (tmp_path / "sweep" / "failures" / "p.txt").read_text()
    monkeypatch.setattr(sweep_run, "run_row", real)
    done = run_sweep(config, progress=False)  # ... and retried next time
    assert done["p"].ok
    assert not (tmp_path / "sweep" / "failures" / "p.txt").exists()  # stale trace removed
    changed = SweepConfig(
        **{**config.__dict__, "train": TrainConfig(epochs=2, batch_size=32, max_length=48)}
    )
    with pytest.raises(LahanError, match="other settings"):
        run_sweep(changed, progress=False)


@pytest.mark.slow
def test_every_sweep_measures_the_tfidf_svm_reference_and_the_report_weighs_it(
    trained_tiny, demo_csv, tmp_path
):
    """A grid with no rows of its own still gets the reference row: trained on the same
    train split, benched against the teacher in one run, reported and never recommended."""
    from lahan.recipes.report import write_report

    grid, out = tmp_path / "grid.toml", tmp_path / "sweep"
    grid.write_text("rows = []\n")
    config = SweepConfig(
        teacher=str(trained_tiny[0]),
        data=DataConfig(source=str(demo_csv), seed=0),
        out=str(out),
        grid=str(grid),
        repeats=1,
        min_energy_seconds=0.1,
    )
    ref = run_sweep(config, progress=False)["reference"]
    assert ref.ok and ref.row["reference"], ref
    # the teacher, measured in the same bench run, scores what it scored when trained
    assert ref.baseline_accuracy == pytest.approx(trained_tiny[1].metrics["dev"]["accuracy"])
    assert ref.accuracy > 0.5  # the demo corpus's topics are easy for character n-grams
    assert ref.train_seconds > 0 and ref.params > 0 and ref.size_on_disk_bytes > 0
    assert ref.flops_per_example is None  # not a transformer: no FLOPs counted
    assert ref.configuration.startswith("TF-IDF")
    files = sorted(p.name for p in (out / "models" / "reference").iterdir())
    assert files == ["reference.json", "vocabulary.json", "weights.safetensors"]
    report = write_report(out)
    assert report["recommended"] is None  # the SVM is never the recommendation
    md = (out / "report.md").read_text()
    assert "No transformer configuration meets the rule" in md and "TF-IDF + linear SVM" in md
    assert ("A cheap model is enough here" in md) is report["reference_meets_rule"]
    assert run_sweep(config, progress=False)["reference"] == ref  # finished: not run again
    assert len((out / RESULTS_FILE).read_text().splitlines()) == 1


def test_the_sweep_command_sums_up_and_reports(trained_tiny, demo_csv, tmp_path, capsys):
    """`lahan sweep` end to end on a grid whose one row is skipped here (fp16 without a
    GPU): it counts the rows, then the report refuses in one line (nothing finished)."""
    grid, out = tmp_path / "grid.toml", tmp_path / "sweep"
    grid.write_text(
        'reference = false\n[[rows]]\nid = "h"\nprecision = "fp16"\nderive_from = "b"\n'
        '[[rows]]\nid = "b"\nskip = "not needed here"\n'
    )
    argv = ["sweep", "--teacher", str(trained_tiny[0]), "--data", str(demo_csv)]
    argv += ["--grid", str(grid), "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "lahan: error: " in captured.err and "no row finished yet" in captured.err
    rows = read_results(out)
    assert [r.status for r in rows.values()] == ["skipped", "skipped"]


def test_a_refused_row_stops_the_sweep_before_the_first_row(trained_tiny, demo_csv, tmp_path):
    """Every row's compress run is built at the start: a mix `compress` refuses in the last
    row fails before hours of the rows above it, and nothing is written."""
    from lahan.errors import LahanError

    grid = tmp_path / "grid.toml"
    grid.write_text(
        'reference = false\n[[rows]]\nid = "p"\nprune = 0.5\n'
        '[[rows]]\nid = "bad"\nprune = 0.5\ndistill = {attention_weight = 1.0}\n'
    )
    config = _config(trained_tiny, demo_csv, tmp_path, grid)
    with pytest.raises(LahanError, match="row 'bad': .*cannot be combined with --prune"):
        run_sweep(config, progress=False)
    assert not (tmp_path / "sweep" / RESULTS_FILE).exists()
