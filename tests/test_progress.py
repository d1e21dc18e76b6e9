"""Long steps report progress in a log file too (tqdm draws only on a terminal)."""

from lahan import progress as module
from lahan.progress import progress


def test_plain_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(module, "PLAIN_EVERY_SECONDS", 0.0)
    assert list(progress(range(3), "teacher outputs")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"teacher outputs: {i}/3" for i in (1, 2, 3)]


def test_disabled_progress_says_nothing(monkeypatch, capsys):
    monkeypatch.setattr(module, "PLAIN_EVERY_SECONDS", 0.0)
    assert list(progress(iter("ab"), "x", enabled=False)) == ["a", "b"]
    assert capsys.readouterr().err == ""
