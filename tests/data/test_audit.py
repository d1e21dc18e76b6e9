"""The audit behind `lahan data check`."""

from __future__ import annotations

from pathlib import Path

from lahan.config import DataConfig
from lahan.data import audit_dataset, load_dataset, render_audit
from lahan.data.audit import mojibake_run, percentiles

LABELS = ["Auto", "Crime", "Sports"]
MOJIBAKE = "स्ट्रीप्स नवीन".encode().decode("cp866")  # 'рд╕реНрдЯреНрд░реАрдкреНрд╕ ...'


def write_csv(path: Path, rows, header="text,label") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join([header] + [f"{t},{lab}" for t, lab in rows]) + "\n", encoding="utf-8"
    )
    return path


def make_folder(root: Path) -> Path:
    shc = [(f"बातमी {lab} {i}", lab) for lab in LABELS for i in range(10)]
    shc += [("हीच बातमी", "Auto"), ("हीच बातमी", "Crime"), ("हीच बातमी", "Auto")]  # conflict
    shc += [(MOJIBAKE, "Tech"), ("Text", "Label")]
    write_csv(root / "SHC" / "SHC_Valid.csv", shc, header="Text,Label")
    lpc = [(f"लेख {lab} {i}", lab) for lab in LABELS for i in range(10)] + [("बातमी Auto 1", "Auto")]
    lpc += [("", "Label"), ("Text", "Label")]
    write_csv(root / "LPC" / "LPC_Valid.csv", lpc, header="text,labels")
    return root


def test_mojibake_detector():
    assert mojibake_run(MOJIBAKE)
    assert mojibake_run("Привет, мир") is None  # real Russian text has no box drawing
    assert mojibake_run("┌──┐ table") is None
    assert mojibake_run("स्ट्रीप्स") is None


def test_percentiles_nearest_rank():
    assert percentiles(list(range(1, 101))) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentiles([]) == {"p50": 0, "p90": 0, "p99": 0, "max": 0}


def test_audit_per_file_as_read_and_per_split(tmp_path):
    audit = audit_dataset(make_folder(tmp_path / "news"))
    files = {f["name"]: f for f in audit["files"]}
    shc, lpc = files["SHC/SHC_Valid.csv"], files["LPC/LPC_Valid.csv"]
    assert (shc["rows"], shc["usable"], shc["dropped"]) == (34, 34, {"repeated header": 1})
    assert (lpc["rows"], lpc["dropped"]) == (31, {"repeated header": 2})
    assert shc["duplicates"] == 2
    assert shc["conflicting_labels"]["count"] == 1
    assert shc["conflicting_labels"]["examples"][0]["labels"] == {"Auto": 2, "Crime": 1}
    assert shc["mojibake"]["count"] == 1
    assert shc["mojibake"]["examples"][0]["origin"].endswith("SHC_Valid.csv:35")
    assert shc["labels"]["Tech"] == 1 and shc["length_chars"]["max"] > 0
    assert audit["overlap"]["files"] == [
        {"a": "LPC/LPC_Valid.csv", "b": "SHC/SHC_Valid.csv", "shared_texts": 1}
    ]
    assert audit["dropped"]["repeated header"]["count"] == 3
    assert set(audit["splits"]) == {"train", "dev", "test"}
    assert all(o["shared_texts"] == 0 for o in audit["overlap"]["splits"])
    assert audit["split_policy"]["mode"] == "pooled"
    assert any("mis-decoded" in f for f in audit["findings"])
    assert any("different labels" in f for f in audit["findings"])
    text = render_audit(audit)
    assert "SHC/SHC_Valid.csv (group SHC, split dev): 34 rows" in text
    assert "3 repeated header rows dropped" in text
    assert "suspected mojibake (1 texts)" in text


def test_audit_token_lengths_with_any_tokenizer(tmp_path):
    class WordTokenizer:
        name_or_path = "words"

        def __call__(self, texts, **kwargs):
            return {"input_ids": [[0] + [1] * len(t.split()) + [2] for t in texts]}

    path = write_csv(
        tmp_path / "a.csv",
        [("एक दोन तीन", "A"), ("चार", "B")] * 5 + [("पाच सहा", "A"), ("सात", "B")],
    )
    audit = audit_dataset(DataConfig(source=str(path)), tokenizer=WordTokenizer())
    assert audit["files"][0]["length_tokens"]["max"] == 5
    assert "tokens p50/p90/p99/max" in render_audit(audit)


def test_audit_of_single_class_reports_instead_of_failing(tmp_path):
    path = write_csv(tmp_path / "one.csv", [("a", "Auto"), ("b", "Auto")])
    audit = audit_dataset(path)
    assert "splits" not in audit
    assert any("found only one label 'Auto'" in f for f in audit["findings"])
    assert audit["files"][0]["rows"] == 2


def test_audit_of_loaded_dataset(tmp_path):
    ds = load_dataset(str(make_folder(tmp_path / "news")))
    audit = audit_dataset(ds)
    assert sum(s["rows"] for s in audit["splits"].values()) == sum(
        len(v) for v in ds.splits.values()
    )
    assert {f["group"] for f in audit["files"]} == {"SHC", "LPC"}
