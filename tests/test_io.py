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


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_follow_the_umask(tmp_path, umask):
    """Temp files are private while written; what lands follows the umask like its
    neighbours (a service account can read a model folder)."""
    import os
    import stat

    from lahan.io import atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "inner.txt").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask
