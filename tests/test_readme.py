"""The README's and --help's examples, as written: every `lahan` command in them parses
with today's options, and the blocks that take under a minute run."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lahan.cli import EPILOG, build_parser
from lahan.commands import COMMAND_MODULES
from tests.conftest import MAHANEWS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_END = re.compile(r"\s(?:>|\||2>|&&)\s")  # a redirection or pipe ends the command


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def commands(text: str) -> list[str]:
    """Every `lahan ...` command in ``text``: continuation lines joined, comments dropped,
    redirections and pipes cut off; `torchrun ... -m lahan ...` and `cat x | lahan ...`
    included."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split("  #")[0].strip()
        for part in re.split(r"\s(?:\||&&)\s", line):
            part = part.strip()
            if part.startswith("lahan "):
                body = part[len("lahan ") :]
            elif " -m lahan " in part:
                body = part.split(" -m lahan ", 1)[1]
            else:
                continue
            found.append(SHELL_END.split(" " + body + " ")[0].strip())
    return found


def examples() -> list[tuple[str, str]]:
    """(where, command) for the README's blocks, the root --help and each command's."""
    out = [("README", c) for block in bash_blocks(README.read_text()) for c in commands(block)]
    out += [("lahan --help", c) for c in commands(EPILOG)]
    for module in COMMAND_MODULES:
        texts = getattr(importlib.import_module(module.__name__), "EXAMPLES", "")
        # a module that registers several commands keeps their examples by command name
        for name, text in texts.items() if isinstance(texts, dict) else [(None, texts)]:
            where = f"lahan {name} --help" if name else f"{module.__name__} --help"
            out += [(where, c) for c in commands(text)]
    return out


def test_examples_are_found():
    found = examples()
    assert len(found) >= 40
    where = {w for w, _ in found}
    assert "README" in where and "lahan.commands.predict --help" in where
    assert ("README", "data check ../shared/data/mahanews") in found


@pytest.mark.parametrize(("where", "command"), examples())
def test_documented_command_parses(where, command):
    """Options renamed or removed since the docs were written fail here, not for a user."""
    parser = build_parser()
    try:
        args = parser.parse_args(shlex.split(command))
    except SystemExit as stop:
        pytest.fail(f"{where}: `lahan {command}` does not parse (exit {stop.code})")
    assert getattr(args, "func", None) is not None, command


def run(command: str, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_readme_data_check_block_runs_as_written():
    """The README's first data block (seconds) run from the repository root, as a user
    of a fresh clone with the shared data next to it would."""
    if not MAHANEWS.exists():
        pytest.skip(f"MahaNews not found at {MAHANEWS} (set LAHAN_MAHANEWS)")
    (block,) = [b for b in bash_blocks(README.read_text()) if "lahan data check" in b]
    first = block.splitlines()[0]
    assert first == "lahan data check ../shared/data/mahanews"
    if MAHANEWS.resolve() != (ROOT / "../shared/data/mahanews").resolve():
        first = first.replace("../shared/data/mahanews", str(MAHANEWS))
    result = run(first, ROOT)
    assert result.returncode == 0, result.stderr
    assert "LPC" in result.stdout and "SHC" in result.stdout


def test_readme_predict_and_export_examples_run(trained_tiny, tmp_path):
    """The shipping block's commands, run with a tiny model in place of runs/p25-kd
    and the demo texts in place of headlines.txt (everything else as written)."""
    blocks = bash_blocks(README.read_text())
    (block,) = [b for b in blocks if "lahan export" in b and "lahan predict" in b]
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "p25-kd").symlink_to(trained_tiny[0], target_is_directory=True)
    (tmp_path / "headlines.txt").write_text("भारताने सामना जिंकला\nराज्य सरकार\n")
    for line in block.splitlines():
        if line.startswith(("lahan serve", "curl")):
            continue  # a server that runs until stopped: tests/deploy/test_serve.py
        line = line.replace("../shared/data/mahanews", "demo").split("  #")[0]
        result = run(line, tmp_path, timeout=300)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
    rows = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(rows) == 2


@pytest.mark.slow
def test_readme_python_example_runs_as_written(tmp_path):
    """The "From Python" block, run as a script in an empty folder (~20-40 s)."""
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LAHAN_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout and "prune 50% heads + KD" in result.stdout
    assert (tmp_path / "runs" / "py-p50-kd-onnx" / "lahan-onnx.json").is_file()
