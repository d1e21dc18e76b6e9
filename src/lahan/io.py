"""Atomic writes: every file lahan writes appears whole or not at all.

Temporary files and folders are created private (0600 / 0700) by ``tempfile``; before
they are renamed into place they get the modes an ordinary ``open`` / ``mkdir`` would
give under the user's umask, so a service account can read a model folder whenever
it could read its neighbours.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lahan.errors import OptionError


def _umask() -> int:
    """The process's umask, read from /proc (Linux) without changing it; elsewhere by
    setting and restoring it (a brief window another thread could see)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: str | os.PathLike, folder: bool = False) -> None:
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        _as_umask_allows(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_text_stream(path: str | os.PathLike) -> Iterator[Any]:
    """A text file to write to bit by bit; it replaces ``path`` only when the block ends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _as_umask_allows(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temp name next to ``path``; move it into place on success.

    An existing folder at ``path`` is replaced only once the new one is complete,
    so a crash half-way leaves the old folder (or nothing), never a half-written one.
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        _as_umask_allows(tmp, folder=True)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib Figure as PNG atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi)
        _as_umask_allows(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


RECORD_FILE = "lahan.json"  # marks a folder lahan wrote: how it was made, its metrics


def check_output_folder(out: Path, marker: str = RECORD_FILE) -> None:
    """Refuse an --out that would destroy something that is not a lahan output folder.

    ``marker`` is the file that marks a folder lahan wrote (and may replace).
    """
    if not out.name or out.resolve() == Path.cwd().resolve():
        raise OptionError("out", f" '{out}' names no new folder: pass e.g. runs/teacher")
    if out.exists() and not out.is_dir():
        raise OptionError("out", f" '{out}' is a file: pass a folder path")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).exists():
        raise OptionError(
            "out",
            f" '{out}' is a folder that holds other files and is not a lahan model: "
            "lahan replaces its output folder, so pass a new or empty folder",
        )
