"""Every script in bench/ runs to the end at a tiny shape and writes what it promises.

The figures in BENCHMARKS.md come from these scripts at full size; these runs only
check that a script still works with today's lahan (seconds each, slow-marked where a
script starts servers or busy processes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_script(name: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LAHAN_CACHE_DIR": str(cwd / "cache")}
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args], cwd=cwd, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, f"bench/{name}: {result.stderr[-3000:]}"
    return result.stdout


def last_json(stdout: str) -> dict:
    """The JSON object a script printed last (scripts print progress lines before it)."""
    start = stdout.rindex("\n{") + 1 if "\n{" in stdout else stdout.index("{")
    return json.loads(stdout[start:])


def test_every_script_has_a_smoke_test():
    tested = set(re.findall(r'run_script\(\s*"([\w.]+\.py)"', Path(__file__).read_text()))
    assert {p.name for p in BENCH.glob("*.py")} <= tested


def test_prune_speed(tmp_path):
    out = last_json(
        run_script(
            "prune_speed.py",
            "--smoke",
            "--repeats",
            "1",
            "--batch-size",
            "2",
            "--seq-len",
            "16",
            cwd=tmp_path,
        )  # fmt: skip
    )
    heads50, unpruned = out["models"]["heads-0.50"], out["models"]["unpruned"]
    # the smoke shape: 2 layers x 4 heads, 128 FFN neurons each
    assert (unpruned["heads"], heads50["heads"]) == (8, 4)
    assert (unpruned["ffn"], heads50["ffn"]) == (2 * 128, 2 * 64)
    assert heads50["params"] < unpruned["params"]
    assert heads50["tokenization_timed"] is False and heads50["speedup"] > 0


@pytest.mark.slow  # ~40-55 s: ONNX export and int8 quantization inside
def test_precision_speed(tmp_path):
    out = tmp_path / "p.json"
    run_script(
        "precision_speed.py", "--smoke", "--repeats", "1", "--texts-batch32", "32",
        "--texts-batch1", "2", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert report["tokenization_timed"] is False and report["results"]
    assert report["results"][0]["torch_fp32"]["speedup_vs_torch_fp32"] == 1.0
    assert "torch" in report["machine"] and "onnxruntime" in report["machine"]


@pytest.mark.slow  # ~40-55 s: ONNX export and int8 quantization inside
def test_paper_speed(tmp_path):
    out = tmp_path / "p.json"
    run_script(
        "paper_speed.py", "--smoke", "--repeats", "1", "--texts-batch32", "32",
        "--texts-batch1", "2", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert report["tokenization_timed"] is False and report["machine"]["cpu_count"] >= 1


@pytest.mark.slow  # ~40-55 s: ONNX export and int8 quantization inside
def test_size_study(tmp_path, demo_csv):
    out = tmp_path / "s.json"
    run_script("size_study.py", "--smoke", "--data", str(demo_csv), "--out", str(out), cwd=tmp_path)
    assert json.loads(out.read_text())


def test_cli_startup(tmp_path):
    out = tmp_path / "c.json"
    run_script("cli_startup.py", "--runs", "1", "--json", str(out), cwd=tmp_path)
    rows = {r["command"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["lahan --help"]["median_s"] > 0 and "python -c pass" in rows


@pytest.mark.slow
def test_pretrain_speed(tmp_path):
    out = tmp_path / "p.json"
    run_script(
        "pretrain_speed.py", "--preset", "tiny", "--vocab-size", "500", "--texts", "300",
        "--batch-size", "4", "--max-length", "32", "--steps", "1", "--rounds", "1",
        "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(out.read_text())


@pytest.mark.slow
def test_kd_cache(tmp_path, trained_tiny, demo_csv):
    stdout = run_script(
        "kd_cache.py", "--teacher", str(trained_tiny[0]), "--data", str(demo_csv),
        "--steps", "2", "--repeats", "1", "--max-length", "32", cwd=tmp_path,
    )  # fmt: skip
    assert last_json(stdout)


@pytest.mark.slow
def test_precision_variants(tmp_path, trained_tiny, demo_csv):
    stdout = run_script(
        "precision_variants.py", "--model", str(trained_tiny[0]), "--data", str(demo_csv),
        cwd=tmp_path,
    )  # fmt: skip
    assert last_json(stdout)


@pytest.mark.slow
def test_tfidf_svm(tmp_path, trained_tiny, demo_csv):
    stdout = run_script(
        "tfidf_svm.py", "--data", str(demo_csv), "--teacher", str(trained_tiny[0]),
        "--min-seconds", "0.5", cwd=tmp_path,
    )  # fmt: skip
    assert last_json(stdout)


@pytest.mark.slow
def test_serve_load(tmp_path, trained_tiny, demo_csv):
    stdout = run_script(
        "serve_load.py", "--model", str(trained_tiny[0]), "--data", str(demo_csv),
        "--requests", "10", "--concurrency", "1,2", cwd=tmp_path,
    )  # fmt: skip
    assert last_json(stdout)


@pytest.mark.slow
def test_thread_contention(tmp_path):
    out = tmp_path / "t.json"
    run_script(
        "thread_contention.py", "--seconds", "0.5", "--rounds", "1", "--hogs", "1",
        "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(out.read_text())


def test_gpu_study(tmp_path):
    """The GPU study at a tiny shape on this CPU (fp32 and bf16; fp16 needs a GPU)."""
    out = tmp_path / "g.json"
    run_script(
        "gpu_study.py", "--smoke", "--repeats", "1", "--kd-steps", "1", "--batch-size", "2",
        "--seq-len", "16", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert report["inference"]["unpruned@fp32"]["speedup_vs_unpruned_fp32"] == 1.0
    assert {"heads-0.50@bf16", "heads-0.75@fp32"} <= set(report["inference"])
    assert set(report["kd_step"]) == {f"heads-{s}@{p}" for s in ("0.25", "0.50", "0.75")
                                      for p in ("fp32", "bf16")}  # fmt: skip
    assert report["tokenization_timed"] is False


def test_gpu_shapes(tmp_path):
    """The pruned-shape study at a tiny shape: the variants keep the movement model's
    totals (heads) and round its FFN widths to the multiple."""
    out = tmp_path / "s.json"
    run_script(
        "gpu_shapes.py", "--smoke", "--repeats", "1", "--batch-size", "2", "--seq-len", "8",
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(out.read_text())
    shapes, multiple = report["shapes"], report["multiple"]
    for level in ("0.25", "0.50"):
        moved, rounded = shapes[f"movement-{level}"], shapes[f"ffn{multiple}-{level}"]
        assert rounded["layer_heads"] == moved["layer_heads"]
        assert all(n % multiple == 0 for n in rounded["layer_intermediate"])
        assert len(set(shapes[f"uniform-{level}"]["layer_heads"])) == 1
    assert report["latency"]["unpruned/fp32"]["speed_vs_unpruned_same_precision"] == 1.0
    assert len(report["latency"]) == 2 * len(shapes)


@pytest.mark.slow
def test_gpu_study_shell_script(tmp_path):
    """bench/gpu_study.sh as the device runs it, at the tiny shape."""
    env = {**os.environ, "OUT": str(tmp_path), "REPEATS": "1"}
    result = subprocess.run(
        ["bash", str(BENCH / "gpu_study.sh"), "--smoke", "--kd-steps", "1", "--batch-size", "2",
         "--seq-len", "16"], env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "gpu_study.json").read_text())["inference"]


def test_study5_teacher_row(tmp_path, trained_tiny, demo_csv):
    """Study 5's teacher row at the tiny shape: each group timed against the padded teacher."""
    out = tmp_path / "study5"
    run_script(
        "study5.py", "--teacher", str(trained_tiny[0]), "--data", str(demo_csv), "--out",
        str(out), "--student-layers", "1", "--repeats", "1", "--only", "prepare,lahan-teacher",
        cwd=tmp_path,
    )  # fmt: skip
    row = json.loads((out / "rows" / "lahan-teacher.json").read_text())
    groups = {json.loads(line)["group"] for line in (out / "split" / "dev.jsonl").open()}
    assert set(row["speed_by_group"]) == groups
    for by in row["speed_by_group"].values():
        assert set(by) == {"teacher", "teacher_padded", "lahan"}
        # the teacher against itself padded: the same model, more tokens per batch
        assert by["lahan"]["batch32"]["ratio_vs_padded_teacher"] > 0
    text = (out / "study5.md").read_text()
    assert "| lahan-teacher |" in text  # the per-group speed table
    assert "| lahan-layers4-kd | not run |" in text
