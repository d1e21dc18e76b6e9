"""Reading sources: layouts, formats, column detection and every bad-input message."""

from __future__ import annotations

from pathlib import Path

import pytest

from lahan.config import DataConfig
from lahan.data import load_dataset
from lahan.data.read import read_source, split_of
from lahan.errors import LahanError

ROWS = [
    ("पहिली बातमी", "Auto"),
    ("दुसरी बातमी", "Crime"),
    ("तिसरी बातमी", "Auto"),
    ("चौथी बातमी", "Crime"),
    ("पाचवी बातमी", "Auto"),
    ("सहावी बातमी", "Crime"),
]


def write_csv(path: Path, rows, header="text,label", sep=",", encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] + [f"{t}{sep}{lab}" for t, lab in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def read(path, **kw):
    return read_source(DataConfig(source=str(path), **kw))


def error_of(source, **kw) -> str:
    with pytest.raises(LahanError) as err:
        load_dataset(DataConfig(source=str(source), **kw))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_csv_columns_detected_case_insensitively_in_any_order(tmp_path):
    swapped = [(lab, t) for t, lab in ROWS]
    path = write_csv(tmp_path / "news.csv", swapped, header="Category,Headline")
    (table,) = read(path)
    assert (table.text_col, table.label_col, table.group) == ("Headline", "Category", "news")
    assert table.rows[0].text == "पहिली बातमी" and table.rows[0].label == "Auto"
    assert table.rows[0].origin == f"{path}:2"


def test_explicit_columns(tmp_path):
    rows = [(t, f"{lab},1") for t, lab in ROWS]
    path = write_csv(tmp_path / "x.csv", rows, header="body,topic,id")
    (table,) = read(path, text_col="BODY", label_col="topic")
    assert table.rows[1].label == "Crime"
    msg = error_of(path, text_col="missing")
    assert "no column 'missing'" in msg and "'body', 'topic', 'id'" in msg and "--text-col" in msg


def test_tsv_and_sniffed_delimiter(tmp_path):
    rows = [(f"{t}, with a comma", lab) for t, lab in ROWS]
    (table,) = read(write_csv(tmp_path / "a.tsv", rows, header="text\tlabel", sep="\t"))
    assert table.info["delimiter"] == "\t" and table.rows[0].text.endswith("with a comma")
    (table,) = read(write_csv(tmp_path / "b.txt", rows, header="text\tlabel", sep="\t"))
    assert table.info["delimiter"] == "\t"


def test_multiline_quoted_field_and_line_numbers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('text,label\n"एक\nदोन\nतीन",A\nचार,B\n', encoding="utf-8")
    (table,) = read(path)
    assert [r.origin for r in table.rows] == [f"{path}:2", f"{path}:5"]


def test_wrong_number_of_fields_counted(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("text,label\nएक,A\nदोन,B,extra\n\nतीन,A\nचार,B\n", encoding="utf-8")
    ds = load_dataset(DataConfig(source=str(path), dev_ratio=0.0, test_ratio=0.0))
    assert ds.report["dropped"]["wrong number of fields"]["count"] == 1
    assert ds.report["dropped"]["wrong number of fields"]["examples"][0][0] == f"{path}:3"
    assert ds.report["dropped"]["blank line"]["count"] == 1


def test_utf8_bom_loads(tmp_path):
    path = write_csv(tmp_path / "bom.csv", ROWS, encoding="utf-8-sig")
    (table,) = read(path)
    assert table.columns == ["text", "label"]


def test_jsonl(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"label": 1, "sentence": "एक"}\n\n{"label": 0, "sentence": "दोन"}\n{"sentence": "तीन"}\n',
        encoding="utf-8",
    )
    (table,) = read(path)
    assert [(r.text, r.label) for r in table.rows] == [("एक", "1"), ("दोन", "0")]
    assert table.dropped["missing field"].count == 1
    assert table.dropped["missing field"].examples[0][0] == f"{path}:4"


def test_jsonl_bad_line_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', encoding="utf-8")
    msg = error_of(path)
    assert f"{path}:2" in msg and "not valid JSON" in msg


def test_mahanews_folder_layout_and_subset(tmp_path):
    root = tmp_path / "mahanews"
    write_csv(root / "SHC" / "Marathi_SHC_Train.csv", ROWS)
    write_csv(root / "SHC" / "marathi_shc_valid.CSV", ROWS[:2])
    write_csv(root / "SHC" / "SHC_Test.csv", ROWS[2:4])
    write_csv(root / "LPC" / "LPC_Valid.csv", ROWS[:2], header="text,labels")
    (root / "README.md").write_text("not data")
    tables = read(root)
    assert [(t.group, t.split) for t in tables] == [
        ("LPC", "dev"),
        ("SHC", "train"),
        ("SHC", "dev"),
        ("SHC", "test"),
    ]
    tables = read(root, subsets=("shc",))
    assert {t.group for t in tables} == {"SHC"}
    msg = error_of(root, subsets=("LDC",))
    assert "subset LDC not found" in msg and "LPC, SHC" in msg


def test_plain_folder_of_split_files(tmp_path):
    write_csv(tmp_path / "train.csv", ROWS)
    write_csv(tmp_path / "validation.tsv", [("दुसरी", "Auto")], header="text\tlabel", sep="\t")
    write_csv(tmp_path / "test.csv", [("तिसरी", "Crime")])
    tables = read(tmp_path)
    assert [t.split for t in tables] == ["train", "dev", "test"]
    assert {t.group for t in tables} == {tmp_path.name}


def test_split_names():
    assert split_of(Path("Marathi_SHC_Train.csv")) == "train"
    assert split_of(Path("x-VALID.tsv")) == "dev"
    assert split_of(Path("validation.jsonl")) == "dev"
    assert split_of(Path("test.csv")) == "test"
    assert split_of(Path("contest.csv")) is None


def test_folder_without_split_files(tmp_path):
    write_csv(tmp_path / "data.csv", ROWS)
    msg = error_of(tmp_path)
    assert "no train/valid/test data files found" in msg and "data.csv" in msg


def test_missing_path(tmp_path):
    msg = error_of(tmp_path / "nope.csv")
    assert "nope.csv does not exist" in msg and "pass an existing" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty.csv is empty" in error_of(path)
    path.write_text("text,label\n", encoding="utf-8")
    assert "no data rows" in error_of(path)


def test_no_text_column(tmp_path):
    path = write_csv(tmp_path / "cols.csv", ROWS, header="foo,label")
    msg = error_of(path)
    assert "no text column found in" in msg and "cols.csv" in msg
    assert "'foo', 'label'" in msg and "--text-col" in msg


def test_binary_garbage(tmp_path):
    path = tmp_path / "model.csv"
    path.write_bytes(bytes(range(256)) * 8)
    msg = error_of(path)
    assert "model.csv" in msg and "binary" in msg


def test_utf16(tmp_path):
    for name, encoding in (("bom.csv", "utf-16"), ("nobom.csv", "utf-16-le")):
        path = tmp_path / name
        path.write_text("text,label\nhello,A\nworld,B\n", encoding=encoding)
        msg = error_of(path)
        assert f"{path} is not UTF-8 (looks like UTF-16)" in msg
        assert f"iconv -f UTF-16 -t UTF-8 {path} > out.csv" in msg


def test_cp1252(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_text("text,label\ncafé “quoted”,A\nnaïve,B\n", encoding="cp1252")
    msg = error_of(path)
    assert "latin.csv is not UTF-8 (looks like cp1252/latin-1)" in msg and "iconv" in msg


def test_hub_id_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    for source in ("nobody-xyz/no-such-dataset", "hf:nobody-xyz/no-such-dataset"):
        msg = error_of(source)
        assert "could not fetch Hugging Face dataset 'nobody-xyz/no-such-dataset'" in msg
        assert "no local file or folder named" in msg and "pass a local" in msg


def test_missing_local_csv_is_not_taken_for_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "does not exist" in error_of("data/train.csv")


def test_demo_source_reads_builtin_corpus():
    pytest.importorskip("lahan.data.demo_corpus")
    (table,) = read("demo")
    assert table.group == "demo" and table.rows[0].origin == "demo:1"


def test_subset_on_single_file_is_an_error(tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    assert "subset SHC applies to folders" in error_of(path, subsets=("SHC",))


def test_bomless_utf16_devanagari_is_named(tmp_path):
    from lahan.data.demo_corpus import demo_examples

    text = "text,label\n" + "\n".join(f"{t},{label}" for t, label in demo_examples(0)[:40])
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        with pytest.raises(LahanError, match="not UTF-8 \\(looks like UTF-16\\)"):
            load_dataset(DataConfig(source=str(path)))


def test_old_mac_line_endings_with_a_semicolon_delimiter(tmp_path):
    # Lines ending in "\r" alone: the header is the first of them, not the whole file
    # (found by tests/data/test_fuzz.py: the sniffer saw the rows' commas).
    path = tmp_path / "mac.csv"
    path.write_bytes("text;label\rपुणे, मुंबई;city\rशेअर बाजार;market\r".encode())
    (table,) = read_source(DataConfig(source=str(path)))
    assert [(r.text, r.label) for r in table.rows] == [
        ("पुणे, मुंबई", "city"),
        ("शेअर बाजार", "market"),
    ]
