"""`lahan data check` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lahan.cli import main

LABELS = ["Auto", "Crime"]
MOJIBAKE = "स्ट्रीप्स".encode().decode("cp866")


def write_csv(path: Path, rows, header="text,label") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join([header] + [f"{t},{lab}" for t, lab in rows]) + "\n", encoding="utf-8"
    )
    return path


def news_folder(root: Path) -> Path:
    rows = [(f"बातमी {lab} {i}", lab) for lab in LABELS for i in range(20)]
    write_csv(root / "SHC" / "SHC_Valid.csv", rows + [("Text", "Label"), (MOJIBAKE, "Auto")])
    write_csv(
        root / "LPC" / "LPC_Valid.csv", [(f"लेख {t}", lab) for t, lab in rows], header="text,labels"
    )
    return root


def test_check_prints_tables_and_exits_0_with_findings(tmp_path, capsys):
    root = news_folder(tmp_path / "news")
    assert main(["data", "check", str(root)]) == 0
    out = capsys.readouterr().out
    assert "SHC/SHC_Valid.csv (group SHC, split dev): 41 rows" in out
    assert "LPC/LPC_Valid.csv (group LPC, split dev): 40 rows" in out
    assert "1 repeated header rows dropped" in out
    assert "suspected mojibake (1 texts)" in out
    for section in ("files (as read", "splits (what a model sees)", "labels", "leakage guard on"):
        assert section in out


def test_check_json(tmp_path, capsys):
    root = news_folder(tmp_path / "news")
    assert main(["data", "check", str(root), "--json", "--subset", "SHC"]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in audit["files"]] == ["SHC/SHC_Valid.csv"]
    assert audit["files"][0]["rows"] == 41
    assert audit["dropped"]["repeated header"]["count"] == 1
    assert audit["labels"] == LABELS
    assert {
        "files",
        "splits",
        "overall",
        "overlap",
        "dropped",
        "findings",
        "split_policy",
        "leakage",
    } <= set(audit)


def test_check_columns_flags(tmp_path, capsys):
    path = write_csv(tmp_path / "x.tsv", [("एक", "A"), ("दोन", "B")] * 5, header="body\ttopic")
    path.write_text(path.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-8")
    assert main(["data", "check", str(path), "--text-col", "body", "--label-col", "topic"]) == 0
    assert "x.tsv (group x): 10 rows" in capsys.readouterr().out


def _utf16(folder: Path) -> Path:
    path = folder / "u16.csv"
    path.write_text("text,label\na,b\n", encoding="utf-16")
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p / "missing.csv", "missing.csv does not exist"),
        (_utf16, "is not UTF-8 (looks like UTF-16)"),
        (
            lambda p: write_csv(p / "cols.csv", [("a", "b")], header="foo,bar"),
            "no text column found",
        ),
    ],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys, make, expected):
    assert main(["data", "check", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lahan: error: ") and expected in err
    assert err.count("\n") == 1


def test_check_with_tokenizer_folder(tmp_path, capsys):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "[PAD]": 1, "बातमी": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    fast.save_pretrained(tmp_path / "tok")
    path = write_csv(tmp_path / "a.csv", [("बातमी एक", "A"), ("बातमी दोन तीन", "B")] * 5)
    assert main(["data", "check", str(path), "--tokenizer", str(tmp_path / "tok"), "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert audit["files"][0]["length_tokens"] == {"p50": 2, "p90": 3, "p99": 3, "max": 3}
    assert main(["data", "check", str(path), "--tokenizer", str(tmp_path / "nope")]) == 2
    assert "--tokenizer" in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "check", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--json" in out
    assert "lahan data check ../shared/data/mahanews" in out
