"""The report renders from a fixture results file; Pareto front and recommendation."""

import json

import pytest

from lahan.cli import main
from lahan.config import ReportConfig
from lahan.errors import LahanError
from lahan.recipes.report import (
    baseline_drift,
    pareto_front,
    place_labels,
    recommend,
    scatter_points,
    write_report,
)
from lahan.records import SweepRow
from lahan.sweep.results import RESULTS_FILE


def test_pareto_front_on_hand_made_points():
    points = [("a", 1, 0.9), ("b", 2, 0.8), ("c", 3, 0.85), ("d", 1.5, 0.7), ("e", 3, 0.85)]
    # d is beaten by b and c; b is beaten by c; a, c and e (tied with c) remain.
    assert pareto_front(points) == ["a", "c", "e"]
    assert pareto_front([("only", 1, 1)]) == ["only"]


def test_scatter_uses_same_run_ratios_not_raw_docs_per_s():
    # Two rows measured in runs where the machine was busy to different degrees: their
    # raw docs/s are not comparable, their ratios to the baseline (same run) are.
    rows = [
        _row("baseline", 0.80, 100),
        _row("a", 0.79, 300) | {"throughput_docs_per_s": 150.0},
    ]
    points = scatter_points(_typed(rows), "accuracy")
    assert points == [("baseline", 1.0, 80.0), ("a", 3.0, 79.0)]


def _typed(rows: list[dict]) -> list[SweepRow]:
    """Rows as the report reads them back from results.jsonl."""
    return [SweepRow.from_dict(r) for r in rows]


def _row(i, acc, speed, **extra):
    return {
        "id": i,
        "status": "ok",
        "row": {"runtime": "torch", "precision": "fp32"},
        "accuracy": acc,
        "macro_f1": acc - 0.02,
        "baseline_accuracy": 0.80,
        "baseline_macro_f1": 0.78,
        "throughput_docs_per_s": speed,
        "speedup_vs_baseline": speed / 100,
        "latency_batch1_p50_s": 0.01,
        "latency_batch1_p95_s": 0.012,
        "size_on_disk_bytes": 4e8 / (speed / 100),
        "params": 1000,
        "train_seconds": 100.0,
        "train_kg_co2": 0.001,
        "inference_kg_co2_per_1000": 1e-5,
        "split": "dev",
        "machine": {"processor": "test CPU", "torch_threads": 2},
        "power_method": "CPU: estimate",
        **extra,
    }


def test_report_renders_with_every_png(tmp_path, capsys):
    rows = [
        _row("baseline", 0.80, 100),
        _row("prune25+kd", 0.805, 256),
        _row("prune75", 0.77, 400),
        _row(
            "prune50+kd",
            0.795,
            300,
            by_group={
                "LPC": {"accuracy": 0.7, "macro_f1": 0.6, "n": 10},
                "SHC": {"accuracy": 0.9, "macro_f1": 0.8, "n": 20},
            },
        ),
        {
            "id": "x+fp16",
            "status": "skipped",
            "reason": "fp16 needs a CUDA GPU",
            "row": {"runtime": "torch", "precision": "fp16"},
        },
    ]
    (tmp_path / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["report", str(tmp_path)]) == 0
    assert "recommended: prune50+kd" in capsys.readouterr().out
    md = (tmp_path / "report.md").read_text()
    for png in ("accuracy_vs_throughput.png", "co2.png", "size.png"):
        assert f"]({png})" in md and (tmp_path / png).stat().st_size > 1000
    assert "2.56x" in md and "`prune25+kd`" in md and "skipped: fp16 needs" in md
    # sorted by throughput, fastest first
    main_table = md.split("Per sub-dataset")[0]
    order = [
        line.split("|")[1].strip() for line in main_table.splitlines() if line.startswith("| p")
    ]
    assert order == ["prune75", "prune50+kd", "prune25+kd"]
    # per sub-dataset: only the row that recorded groups has figures
    assert "| row | LPC acc (n=10) | LPC macro-F1 (n=10) | SHC acc (n=20) |" in md
    assert "| prune50+kd | 0.7000 | 0.6000 | 0.9000 | 0.8000 |" in md
    assert "| prune75 | - | - | - | - |" in md
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and 'src="http' not in page


def test_recommendation_rule_is_configurable():
    rows = [_row("baseline", 0.80, 100), _row("a", 0.795, 300), _row("b", 0.78, 500)]
    assert recommend(_typed(rows), ReportConfig(within=1.0)).id == "a"
    assert recommend(_typed(rows), ReportConfig(within=3.0)).id == "b"
    assert recommend(_typed(rows), ReportConfig(within=0.0)).id == "baseline"


def test_report_errors(tmp_path):
    with pytest.raises(LahanError, match="no results.jsonl"):
        write_report(tmp_path)
    with pytest.raises(LahanError, match="ReportConfig.metric must be one of accuracy, macro_f1"):
        ReportConfig(metric="speed")


def test_ratios_show_their_spread_and_moved_baselines_are_marked(tmp_path):
    """A row timed while the machine was far busier than in the other rows' runs is
    marked (its docs/s do not compare); every ratio shows its spread over the repeats."""
    extra = {"speedup_range_vs_baseline": [0.95, 1.05]}
    rows = [
        _row("baseline", 0.80, 100, baseline_throughput_docs_per_s=100.0, **extra),
        _row("a", 0.80, 130, baseline_throughput_docs_per_s=95.0),
        _row("b", 0.79, 117, baseline_throughput_docs_per_s=40.0),  # busy machine
        _row("c", 0.79, 200, baseline_throughput_docs_per_s=105.0),
    ]
    rows[1]["speedup_range_vs_baseline"] = [1.21, 1.40]
    (tmp_path / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    line = {cells.split("|")[1].strip(): cells for cells in md.splitlines() if cells[:2] == "| "}
    assert "1.30 (1.21-1.40)" in line["a"] and "130.0 (95.0)" in line["a"]
    assert "baseline -59% vs median" in line["b"] and "vs median" not in line["a"]
    assert "The baseline of 1 row(s) (`b`) ran more than 20%" in md
    assert baseline_drift(_typed([_row("x", 0.8, 100)])) == {}  # rows from before: nothing marked


def test_html_report_renders_markdown_not_backticks(tmp_path):
    rows = [_row("baseline", 0.80, 100), _row("prune25+kd", 0.80, 256)]
    (tmp_path / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_report(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "<code>prune25+kd</code>" in page and "<strong>" in page
    assert "`" not in page and "**" not in page


def test_point_labels_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # the crowded corner of a real sweep: several rows at almost the same point
    points = [(f"prune{i}+kd+int8", 1.0 + 0.01 * i, 80.0 + 0.02 * i) for i in range(6)]
    ax.scatter([x for _, x, _ in points], [y for _, _, y in points])
    ax.set_xlim(0.5, 2)
    ax.set_ylim(70, 90)
    fig.canvas.draw()
    labels = place_labels(ax, points)
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels]
    assert len(labels) == 6
    overlaps = [(i, j) for i in range(6) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert len(overlaps) <= 1, overlaps  # eight spots around each point; six crowd in


@pytest.mark.parametrize(
    ("svm_accuracy", "says"),
    [(0.805, "A cheap model is enough here"), (0.70, "the transformer earns its cost here")],
)
def test_the_reference_row_is_weighed_never_recommended(tmp_path, svm_accuracy, says):
    reference = _row("reference", svm_accuracy, 5000) | {"row": {"reference": True}}
    rows = [_row("baseline", 0.80, 100), _row("a", 0.795, 300), reference]
    assert recommend(_typed(rows), ReportConfig(within=1.0)).id == "a"  # never the SVM
    (tmp_path / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = write_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert result["recommended"] == "a" and says in md
    assert result["reference_meets_rule"] is (svm_accuracy >= 0.79)
    line = next(x for x in md.splitlines() if x.startswith("| reference |"))
    assert "TF-IDF + linear SVM" in line and "50.00" in line  # its speed ratio, as any row's
    if svm_accuracy > 0.795:
        assert "scores higher than the recommended `a`" in md


def test_a_report_with_only_the_reference_row_does_not_contradict_itself(tmp_path):
    failed = {"id": "baseline", "row": {}, "status": "failed", "reason": "boom"}
    for accuracy, says in ((0.81, "A cheap model is enough here"), (0.70, "rule either")):
        ref = _row("reference", accuracy, 5000) | {"row": {"reference": True}}
        (tmp_path / RESULTS_FILE).write_text(json.dumps(failed) + "\n" + json.dumps(ref) + "\n")
        assert write_report(tmp_path)["recommended"] is None
        md = (tmp_path / "report.md").read_text()
        assert "No transformer configuration meets the rule" in md and says in md
        assert "earns its cost" not in md
