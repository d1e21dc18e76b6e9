"""bench/peers (Study 4): the shared measuring code, lahan's rows and the table.

The peers themselves run in their own virtual environments (built by study.py), which
CI does not build; what is tested here is everything around them, on the tiny model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

PEERS = Path(__file__).resolve().parents[1] / "bench" / "peers"
sys.path.insert(0, str(PEERS))

import common  # noqa: E402  (bench/peers/common.py)
import table  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_metrics_agree_with_scikit_learn(pairs):
    predicted = [p for p, _ in pairs]
    rows = [
        common.Row(text="t", label=t, group="A" if i % 2 else "B") for i, (_, t) in enumerate(pairs)
    ]
    got = common.metrics(predicted, rows, n_labels=4)
    truth = [r.label for r in rows]
    assert got["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert got["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    for group, scores in got["by_group"].items():
        index = [i for i, r in enumerate(rows) if r.group == group]
        assert scores["n"] == len(index)
        assert scores["accuracy"] == pytest.approx(
            accuracy_score([truth[i] for i in index], [predicted[i] for i in index])
        )


def test_speed_times_every_model_against_the_first():
    calls = {"slow": 0, "fast": 0}

    def model(name, seconds):
        def fn(texts):
            import time

            calls[name] += 1
            time.sleep(seconds)
            return common.torch.zeros(len(texts), 2)

        return fn

    out = common.speed(
        {"slow": model("slow", 0.004), "fast": model("fast", 0.001)},
        [str(i) for i in range(8)],
        batch_sizes=(1, 4),
        repeats=2,
    )
    assert out["slow"]["batch4"]["ratio_vs_teacher"] == 1.0
    assert out["fast"]["batch4"]["ratio_vs_teacher"] > 1.5  # 4 ms vs 1 ms per call
    assert out["fast"]["batch1"]["tokenization_timed"] is True
    # batch 1 times 8 texts one by one, batch 4 two calls; 1 warm-up + 2 rounds each
    assert calls["fast"] == 3 * 8 + 3 * 2


def run_study(out: Path, teacher: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PEERS / "study.py"), "--teacher", str(teacher), "--data",
         str(data), "--out", str(out), "--student-layers", "1", "--repeats", "1", *args],
        capture_output=True, text=True,
    )  # fmt: skip


def test_study_prepares_the_split_and_measures_lahan_rows(tmp_path, trained_tiny, demo_csv):
    from lahan.config import DataConfig
    from lahan.data import load_dataset
    from lahan.deploy.predictor import load_predictor

    teacher = trained_tiny[0]
    out = tmp_path / "study"
    done = run_study(out, teacher, demo_csv, "--only", "prepare,lahan-teacher,lahan-trim-vocab")
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]

    meta = json.loads((out / "split" / "meta.json").read_text())
    dev = [json.loads(line) for line in (out / "split" / "dev.jsonl").open()]
    dataset = load_dataset(DataConfig(source=str(demo_csv)))
    assert [r["text"] for r in dev] == [r.text for r in dataset.split("dev")]
    assert [meta["labels"][r["label"]] for r in dev] == [r.label for r in dataset.split("dev")]
    # the 1-layer student both distillers start from
    assert json.loads((out / "student-init" / "config.json").read_text())["num_hidden_layers"] == 1

    row = json.loads((out / "rows" / "lahan-teacher.json").read_text())
    logits = load_predictor(teacher).logits([r["text"] for r in dev])
    expected = sum(int(p) == r["label"] for p, r in zip(logits.argmax(-1), dev, strict=True))
    assert row["dev"]["accuracy"] == pytest.approx(expected / len(dev))  # lahan's own predictor
    assert row["agreement"] == 1.0
    assert row["speed"]["batch32"]["ratio_vs_teacher"] > 0

    trimmed = json.loads((out / "rows" / "lahan-trim-vocab.json").read_text())
    assert trimmed["vocab_after"] < trimmed["vocab_before"]
    assert trimmed["params"] < row["params"]

    # a rerun does nothing; --list says what is done and what is not
    listed = run_study(out, teacher, demo_csv, "--list")
    assert "lahan-teacher                            done" in listed.stdout
    assert "textpruner-prune25                       to do" in listed.stdout

    text = (out / "study4.md").read_text()
    assert "| lahan-trim-vocab |" in text and "| 0% | teacher |" in text
    assert "| textbrewer-distill | not run |" in text


def test_table_marks_failed_steps_and_computes_the_gap(tmp_path):
    rows = tmp_path / "rows"
    rows.mkdir()

    def write(name, peer, accuracy, ratio):
        common.write_row(
            rows / f"{name}.json",
            {
                "peer": peer,
                "dev": {"accuracy": accuracy, "macro_f1": accuracy, "by_group": {}},
                "speed": {"batch32": {"ratio_vs_teacher": ratio}},
                "params": 1e6,
                "size_bytes": 4e6,
            },
        )

    write("lahan-prune50-kd", "lahan", 0.80, 1.8)
    write("textpruner-prune50-ft", "textpruner", 0.75, 1.9)
    # reruns with other seeds: in their own table, never the best row of the gap table
    write("lahan-prune50-kd-seed1", "lahan", 0.90, 1.8)
    write("lahan-prune50-kd-seed2", "lahan", 0.85, 1.8)
    write("textpruner-prune50-ft-seed1", "textpruner", 0.70, 1.9)
    # one run only (its base failed): higher than every mean, but no mean to compare with
    write("torch_pruning-prune50-seed1", "torch_pruning", 0.95, 1.9)
    # a 5% budget: its rows are not the 50% rows (lahan-prune5... is a prefix of those),
    # and a gap of the means within one sd
    for name, acc in (("lahan-prune5-kd", 0.70), ("lahan-prune5-kd-seed1", 0.72)):
        write(name, "lahan", acc, 1.1)
    for name, acc in (("textpruner-prune5-ft", 0.71), ("textpruner-prune5-ft-seed1", 0.69)):
        write(name, "textpruner", acc, 1.1)
    (rows / "torch_pruning-prune50.error.txt").write_text("Traceback\nValueError: no heads")
    text = table.write_table(tmp_path).read_text()
    gap = "| 50% | lahan-prune50-kd | 0.8000 | 1.80x | textpruner-prune50-ft | 0.7500 | 1.90x |"
    assert gap + " +5.0 |" in text
    assert "failed: ValueError: no heads" in text
    # the study's own row has no "seed" key here: it is named "study"
    seeds = "| lahan-prune50-kd | study: 0.8000, 1: 0.9000, 2: 0.8500 | 0.8500 | 0.0500 | 3 |"
    assert seeds in text
    means = (
        "| 50% | lahan-prune50-kd (3) | 0.8500 | 0.0500 | textpruner-prune50-ft (2) | 0.7250 | "
        "0.0354 | +12.5 | yes |"
    )
    assert means in text
    gap5 = (
        "| 5% | lahan-prune5-kd | 0.7000 | 1.10x | textpruner-prune5-ft | 0.7100 | 1.10x | -1.0 |"
    )
    assert gap5 in text
    means5 = (
        "| 5% | lahan-prune5-kd (2) | 0.7100 | 0.0141 | textpruner-prune5-ft (2) | 0.7000 | "
        "0.0141 | +1.0 | no |"
    )
    assert means5 in text
    assert (tmp_path / "study4.png").stat().st_size > 0


def test_study_refuses_its_own_seed_among_the_reruns(tmp_path):
    # NAME-seed42 would repeat the study's own run of NAME and count it twice
    done = run_study(tmp_path / "out", tmp_path, tmp_path, "--seeds", "1,42")
    assert done.returncode == 2
    assert "seed 42 is the study's own run" in done.stderr.strip().splitlines()[-1]


def test_study_refuses_a_folder_that_is_not_a_lahan_model(tmp_path):
    done = run_study(tmp_path / "out", tmp_path, tmp_path)
    assert done.returncode == 2
    assert "is not a lahan model folder" in done.stderr


def test_study_says_in_one_line_when_the_data_cannot_be_read(tmp_path, trained_tiny):
    done = run_study(
        tmp_path / "out", trained_tiny[0], tmp_path / "missing.csv", "--only", "prepare"
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]  # after transformers' loading bar
    assert last.startswith("prepare: ") and "missing.csv does not exist" in last


def test_seeds_rerun_the_pruning_rows_with_their_own_seed_and_name(tmp_path, monkeypatch):
    import study  # bench/peers/study.py

    commands = []
    monkeypatch.setattr(study, "call", lambda command, logfile, env=None: commands.append(command))
    opts = study.Options(tmp_path / "teacher", "data.csv", tmp_path / "out", (0.25,), seeds=(7,))
    (opts.out / "models").mkdir(parents=True)  # where lahan (not run here) writes models
    by_name = {s.name: s for s in study.steps(opts)}
    assert "lahan-prune25-taylor-uniform-kd" in by_name
    for name in ("lahan-prune25-taylor-kd", "torch_pruning-prune25-ft"):
        assert f"{name}-seed7" in by_name
        assert f"{name}-seed42" not in by_name  # the study's own seed keeps the plain name
    by_name["lahan-prune25-taylor-kd-seed7"].run(opts)
    make, measure = (list(map(str, c)) for c in commands)
    assert make[make.index("--seed") + 1] == "7" and "--distill" in make
    assert make[make.index("--out") + 1].endswith("models/lahan-prune25-taylor-kd-seed7")
    assert measure[measure.index("--out") + 1].endswith("rows/lahan-prune25-taylor-kd-seed7.json")
    assert measure[measure.index("--seed") + 1] == "7"
    commands.clear()
    by_name["torch_pruning-prune25-ft"].run(opts)  # the plain row keeps the study's seed
    (peer,) = (list(map(str, c)) for c in commands)
    assert peer[peer.index("--seed") + 1] == "42" and "--finetune" in peer
