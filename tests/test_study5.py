"""bench/study5.py (issue 30): Study 5's steps on study.py's machinery, on the tiny model."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "peers"))

import study  # noqa: E402  (bench/peers/study.py)
import study5  # noqa: E402  (bench/study5.py)


def test_steps_chain_trimmed_and_int8_rows_onto_their_base_models(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(study, "call", lambda command, logfile, env=None: commands.append(command))
    opts = study.Options(
        tmp_path / "teacher", "data.csv", tmp_path / "out", seeds=(1,), corpus="corpus.txt"
    )
    (opts.out / "models").mkdir(parents=True)
    by_name = {s.name: s for s in study5.steps(opts)}
    # the peers at 50% and 75% only; extra seeds at 50% only
    assert "textpruner-prune50-ft" in by_name and "torch_pruning-prune75-ft" in by_name
    assert not any(n.startswith(("textpruner-prune25", "torch_pruning-prune25")) for n in by_name)
    assert "lahan-prune50-kd-seed1" in by_name and "lahan-prune25-kd-seed1" not in by_name

    by_name["lahan-prune50-kd"].run(opts)
    make, measure = (list(map(str, c)) for c in commands)
    assert "--group-by-length" in make and "--distill" in make
    assert "--paper-speed" not in measure

    commands.clear()
    by_name["lahan-prune50-kd-trim"].run(opts)
    make, measure = (list(map(str, c)) for c in commands)
    assert make[make.index("--teacher") + 1] == str(opts.out / "models" / "lahan-prune50-kd")
    assert make[make.index("--trim-vocab-text") + 1] == "corpus.txt"
    assert "--epochs" not in make  # trimming alone: nothing trained
    assert "--paper-speed" in measure

    commands.clear()
    by_name["lahan-prune50-kd-trim-int8"].run(opts)
    make, measure = (list(map(str, c)) for c in commands)
    assert make[1:4] == ["export", "--model", str(opts.out / "models" / "lahan-prune50-kd-trim")]
    assert measure[measure.index("--task") + 1] == "onnx"

    # the teacher's own vocabulary trimmed with the corpus, then int8: nothing trained
    commands.clear()
    by_name["lahan-trim-corpus-int8"].run(opts)
    make, measure = (list(map(str, c)) for c in commands)
    assert make[1:4] == ["export", "--model", str(opts.out / "models" / "lahan-trim-corpus")]
    assert "--paper-speed" in measure
