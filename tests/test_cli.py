"""Command-line smoke tests: each command runs, prints what it promises, fails in one line."""

import json
import subprocess
import sys

import pytest

from lahan.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "data", "finetune", "evaluate"):
        assert command in out


def test_every_help_page_renders_its_percent_signs():
    """argparse %-formats an option's help but prints a description as written: a '%%'
    there reaches the user as two signs."""
    from lahan.cli import build_parser

    parser = build_parser()
    pages = [parser.format_help()]
    commands = parser._subparsers._group_actions[0].choices
    while commands:
        name, sub = commands.popitem()
        pages.append(sub.format_help())
        for action in sub._actions:  # `data check` and the like
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                commands.update({f"{name} {k}": v for k, v in action.choices.items()})
    assert len(pages) > 10
    assert not [page.splitlines()[0] for page in pages if "%%" in page]


@pytest.mark.slow
def test_python_dash_m_works():
    proc = subprocess.run(
        [sys.executable, "-m", "lahan", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.startswith("lahan ")


def test_importing_lahan_as_a_library_is_quiet():
    """No import-time noise on stderr (torchao's CUDA kernels, torch's pytree warnings),
    from the CLI or from `import lahan...` in a user's script."""
    code = "import lahan.models, lahan.recipes.compress, lahan.deploy.predictor"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_export_says_only_what_it_did(trained_tiny, tmp_path):
    """torch's ONNX exporter logs that torchvision is absent and trips a pytree
    deprecation warning: neither reaches a user of `lahan export` (issue 18, item 14)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lahan", "export", "--model", str(trained_tiny[0]),
         "--out", str(tmp_path / "onnx"), "--quantize", "int8"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "torchvision" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert "exported model.int8.onnx" in proc.stdout


def test_finetune_then_evaluate(tmp_path, demo_csv, capsys):
    out = tmp_path / "m"
    rc = main(
        [
            "finetune",
            "--model",
            "preset:tiny",
            "--data",
            str(demo_csv),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--vocab-size",
            "600",
            "--no-progress",
            "--data-seed",
            "1",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and f"saved to {out}" in printed
    record = json.loads((out / "lahan.json").read_text())
    assert record["made_by"] == "finetune"
    assert record["config"]["TrainConfig"]["epochs"] == 2
    assert record["data"]["fingerprint"] and record["versions"]["transformers"].startswith("5")
    assert (out / "eval" / "confusion_dev.png").exists()

    rc = main(
        [
            "evaluate",
            "--model",
            str(out),
            "--data",
            str(demo_csv),
            "--split",
            "test",
            "--data-seed",
            "1",
            "--json",
        ]
    )
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "eval" / "metrics_test.json").read_text())
    assert report["split"] == "test" and report["accuracy"] == saved["accuracy"]
    assert report["n"] == record["data"]["split_sizes"]["test"]
    assert report["same_data_as_training"] is True


def test_demo_runs_and_writes_report(tmp_path, capsys):
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test" in out and "report:" in out
    report = (tmp_path / "demo" / "report.md").read_text(encoding="utf-8")
    assert "| label | precision |" in report
    result = json.loads((tmp_path / "demo" / "result.json").read_text())
    assert result["split_sizes"]["test"] > 0 and len(result["labels"]) >= 6
    # teacher -> prune 50% + KD -> evaluation: the compressed model is smaller and reloads
    assert result["configuration"] == "prune 50% heads + KD"
    assert result["params"]["compressed"] < result["params"]["teacher"]
    assert 0 <= result["compressed_test"]["accuracy"] <= 1 and result["speedup_vs_teacher"] > 0
    assert (tmp_path / "demo" / "compressed" / "result.json").exists()
    assert "compressed test" in out


def test_demo_never_overwrites_a_users_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "result.json").write_text('{"mine": true}')
    rc = main(["demo", "--out", str(folder)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "lahan demo did not write" in err[0]
    assert (folder / "result.json").read_text() == '{"mine": true}'
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "result.json"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["finetune", "--model", "preset:huge", "--data", "demo", "--out", "x"], "unknown preset"),
        (
            ["finetune", "--model", "preset:tiny", "--data", "demo", "--out", "x", "--epochs", "0"],
            "--epochs must be >= 1",
        ),
        (
            [
                "finetune",
                "--model",
                "preset:tiny",
                "--data",
                "demo",
                "--out",
                "x",
                "--precision",
                "fp16",
            ],
            "fp16 needs a CUDA GPU",
        ),
        (["evaluate", "--model", "no/such/folder", "--data", "demo"], "no model folder"),
        (["evaluate", "--model", ".", "--data", "demo", "--batch-size", "0"], "--batch-size"),
        (
            [
                "finetune",
                "--model",
                "owner/model",
                "--data",
                "demo",
                "--out",
                "x",
                "--vocab-size",
                "900",
            ],
            "--vocab-size applies only to a model built from a preset (preset:NAME), not to "
            "'owner/model'",
        ),
        (
            ["finetune", "--model", "preset:tiny", "--data", "demo", "--out", "x", "--seed", "-1"],
            "--seed must be >= 0",
        ),
        (["finetune", "--model", "preset:tiny", "--data", "demo", "--out", "."], "names no new"),
    ],
)
def test_user_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lahan: error:") and message in err
    assert "\n" not in err and "Traceback" not in err


def test_out_folder_with_other_files_is_never_replaced(tmp_path, capsys):
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    argv = [
        "finetune",
        "--model",
        "preset:tiny",
        "--data",
        "demo",
        "--out",
        str(precious),
        "--epochs",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 2
    assert "not a lahan model" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"


def test_every_command_module_declares_whether_it_computes():
    """--threads comes from COMPUTES: a module that forgot it would fail here, not lose the
    flag silently."""
    from lahan.cli import build_parser
    from lahan.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        assert isinstance(getattr(module, "COMPUTES", None), bool), module.__name__
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        has_threads = any("--threads" in a.option_strings for a in sub._actions)
        assert has_threads == sub.get_default("computes"), name
    assert not commands["data"].get_default("computes")
    assert commands["compress"].get_default("computes") and commands["prune"].get_default(
        "computes"
    )
