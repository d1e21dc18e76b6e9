import pytest

from lahan.io import atomic_dir, atomic_write_json


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("crash half-way")
    assert (target / "a.txt").read_text() == "one"  # the old folder survives a crash
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folder left


def test_atomic_write_json(tmp_path):
    atomic_write_json(tmp_path / "x" / "r.json", {"मराठी": 1})
    assert (tmp_path / "x" / "r.json").read_text(encoding="utf-8").startswith('{\n  "मराठी": 1')
