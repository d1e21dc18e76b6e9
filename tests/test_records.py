"""Typed records: today's files load, and write back as they were; old files still load."""

import json

import pytest

from lahan.errors import LahanError
from lahan.records import (
    RESULT_FILE,
    BenchMeasurement,
    BenchReport,
    CompressResult,
    ModelRecord,
    SweepRow,
)
from lahan.sweep.results import RESULTS_FILE, read_results


def test_a_model_folders_record_reads_and_writes_back_unchanged(trained_tiny, pruned_tiny):
    for folder in (trained_tiny[0], pruned_tiny):
        on_disk = json.loads((folder / "lahan.json").read_text())
        record = ModelRecord.in_folder(folder)
        assert record.to_dict() == on_disk
        assert record.labels == on_disk["labels"] and record.made_by == on_disk["made_by"]
        assert record.max_length == on_disk["config"]["TrainConfig"]["max_length"]
        assert record.data_fingerprint == on_disk["data"]["fingerprint"]
        assert record.configs()["TrainConfig"].max_length == record.max_length


def test_result_json_is_the_summary_of_the_record(pruned_tiny):
    on_disk = json.loads((pruned_tiny / RESULT_FILE).read_text())
    record = ModelRecord.in_folder(pruned_tiny)
    assert CompressResult.from_record(record).to_dict() == on_disk
    assert CompressResult.read(pruned_tiny / RESULT_FILE).to_dict() == on_disk
    # every column is there, null where it does not apply (as the row always had them)
    assert set(on_disk) == set(CompressResult._names())


def test_a_compress_record_names_every_compress_field_even_when_null():
    record = ModelRecord(made_by="compress", teacher="t", metrics={"dev": {}})
    written = record.to_dict()
    assert written["train"] is None and written["sparsity"] is None
    assert written["teacher_data_fingerprint"] is None  # a hub teacher has no record
    assert "corpus" not in written  # a pretrain field: not a compress record's
    assert "table" not in written and "result" not in written  # never written


def test_an_old_record_with_fields_this_version_does_not_know_still_loads(tmp_path):
    old = {
        "lahan_version": "0.1.0",
        "labels": ["a", "b"],
        "made_by": "finetune",
        "config": {"TrainConfig": {"max_length": 64, "precision": "no", "gone_option": 1}},
        "metrics": {"dev": {"accuracy": 0.5}},
        "something_old": {"kept": True},
    }
    (tmp_path / "lahan.json").write_text(json.dumps(old))
    record = ModelRecord.in_folder(tmp_path)
    assert record.extra == {"something_old": {"kept": True}}
    assert record.to_dict() == old  # written back as it was
    assert record.max_length == 64
    assert record.configs()["TrainConfig"].precision == "fp32"  # the old name, read
    assert ModelRecord.in_folder(tmp_path / "none") == ModelRecord()  # a hub model: empty
    assert ModelRecord().max_length is None


def test_damaged_record_files_are_one_clear_line(tmp_path):
    (tmp_path / "lahan.json").write_text("{nope")
    with pytest.raises(LahanError, match="lahan.json is not valid JSON"):
        ModelRecord.in_folder(tmp_path)
    (tmp_path / "lahan.json").write_text("[1, 2]")
    with pytest.raises(LahanError, match="a ModelRecord is a JSON object, got list"):
        ModelRecord.in_folder(tmp_path)
    with pytest.raises(LahanError, match="result.json is missing"):
        CompressResult.read(tmp_path / RESULT_FILE)


def _measurement(**extra) -> dict:
    return {
        "spec": "m@int8",
        "runtime": "torch",
        "precision": "int8",
        "padding": "dynamic",
        "accuracy": 0.8,
        "macro_f1": 0.7,
        "by_group": {},
        "n": 10,
        "device": "cpu",
        "size_on_disk_bytes": 1000,
        "params": None,
        "throughput_docs_per_s": 5.0,
        "throughput_tokenization_timed": True,
        "throughput_rounds_docs_per_s": [4.0, 6.0],
        "energy": {"kwh_per_1000": 1e-6},
        "flops_per_example": None,
        "achieved_flops_per_s": None,
        "fraction_of_gemm_rate": None,
        "latency_batch1": {"median_s": 0.01},
        "latency_batch32": {"median_s": 0.1},
        "memory": {"peak_bytes": 5},
        "ratios_vs_first": {"throughput": 1.0},
        **extra,
    }


def test_a_bench_report_round_trips_with_latency_by_batch_size():
    data = {
        "split": "dev",
        "data_fingerprint": "abc",
        "machine": {"processor": "x"},
        "config": {"batch_sizes": [1, 32]},
        "models": {"a": _measurement(), "b": _measurement(future_figure=3)},
    }
    report = BenchReport.from_dict(data)
    a = report.models["a"]
    assert isinstance(a, BenchMeasurement) and a.latency == {
        1: {"median_s": 0.01},
        32: {"median_s": 0.1},
    }
    assert report.batch_sizes == [1, 32] and a.total_params is None
    assert report.models["b"].extra == {"future_figure": 3}
    odd = BenchMeasurement.from_dict({"latency_batchX": 1, "latency_batch8": {"median_s": 1}})
    assert odd.extra == {"latency_batchX": 1} and odd.latency == {8: {"median_s": 1}}
    with pytest.raises(LahanError, match="a BenchMeasurement is a JSON object, got list"):
        BenchMeasurement.from_dict([1])
    assert report.to_dict() == data
    assert json.loads(json.dumps(report.to_dict())) == data


def test_sweep_rows_read_back_as_written_skipped_failed_and_ok(tmp_path):
    skipped = {"id": "s", "row": {}, "fingerprint": "f", "status": "skipped", "reason": "no GPU"}
    ok = {
        "id": "o",
        "row": {"runtime": "onnx"},
        "fingerprint": "g",
        "status": "ok",
        "accuracy": 0.8,
        "baseline_accuracy": 0.81,
        "params": None,  # an ONNX row has no parameter count
    }
    lines = [skipped, ok]
    (tmp_path / RESULTS_FILE).write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows = read_results(tmp_path)
    assert rows["s"].to_dict() == skipped  # a skipped row stays short
    assert not rows["s"].ok and rows["o"].ok
    assert rows["o"].to_dict() == ok  # its keys, its nulls, nothing added
    assert list(rows["o"].to_dict()) == list(ok)  # and in its order
    built = SweepRow(id="n", status="ok", accuracy=0.8).to_dict()  # built in code
    assert "reason" not in built and built["params"] is None  # a finished row's columns
    assert rows["o"].metric("baseline_accuracy") == 0.81
    with pytest.raises(LahanError, match="no metric 'speed'"):
        rows["o"].metric("speed")
