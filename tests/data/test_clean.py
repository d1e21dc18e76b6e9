"""Text normalisation and row cleaning (clean.py)."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from lahan.data.clean import clean_table, normalize_label, normalize_text
from lahan.data.read import RawRow, RawTable

NBSP, NNBSP, ZWSP, SHY = "\u00a0", "\u202f", "\u200b", "\u00ad"
ZWNJ, ZWJ, BOM = "\u200c", "\u200d", "\ufeff"


def test_spaces_and_invisibles_are_normalised():
    raw = f"  पुणे{NBSP}शहर\tबातमी\n\nनवीन{NNBSP}अपडेट{ZWSP} आज{BOM}{SHY}  "
    assert normalize_text(raw) == "पुणे शहर बातमी नवीन अपडेट आज"


def test_zwj_and_zwnj_are_kept():
    text = f"र{chr(0x94D)}{ZWJ}य आणि क{chr(0x94D)}{ZWNJ}ष"
    assert normalize_text(text) == text
    assert ZWJ in normalize_text(text) and ZWNJ in normalize_text(text)


def test_nfc_applied_even_after_removal():
    assert normalize_text("cafe\u0301") == "café"
    assert normalize_text(f"e{ZWSP}\u0301") == "é"  # the removal joins base and mark


def test_label_is_stripped_and_nfc():
    assert normalize_label("  Auto\u00a0") == "Auto"
    assert normalize_label("Cafe\u0301 ") == "Café"


_ALPHABET = st.sampled_from(
    list(string.ascii_letters + " \t\n\r,.")
    + [NBSP, NNBSP, ZWSP, ZWNJ, ZWJ, BOM, SHY, "\u2003", "\u3000", "\u0301", "\u093c", "\x00"]
    + list("कखगपुणेशहर्")
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=_ALPHABET)))
def test_normalize_text_properties(text):
    once = normalize_text(text)
    assert normalize_text(once) == once  # idempotent
    for bad in (NBSP, NNBSP, ZWSP, BOM, SHY, "\t", "\n", "  "):
        assert bad not in once
    assert once == once.strip(" ")
    assert once.count(ZWJ) == text.count(ZWJ)
    assert once.count(ZWNJ) == text.count(ZWNJ)


def _table(rows, header=("text", "labels")):
    table = RawTable("f.csv", "f", None, list(header), header[0], header[1])
    table.rows = [RawRow(f"f.csv:{i}", t, lab) for i, (t, lab) in enumerate(rows, start=2)]
    return table


def test_repeated_headers_dropped_in_every_spelling():
    # LPC_Valid.csv: header "text,labels" but the copies inside read "Text,Label" / ",Label".
    out = clean_table(
        _table([("अ", "A"), ("Text", "Label"), ("", "Label"), ("text", "labels"), ("ब", "B")])
    )
    assert [r.text for r in out.records] == ["अ", "ब"]
    assert out.dropped["repeated header"].count == 3
    assert out.dropped["repeated header"].examples[0][0] == "f.csv:3"
    assert out.rows_read == 5


def test_own_header_names_count_as_repeated_header():
    table = _table([("body", "topic"), ("x", "A")], header=("body", "topic"))
    out = clean_table(table)
    assert out.dropped["repeated header"].count == 1
    assert len(out.records) == 1


def test_empty_text_and_label_dropped_with_reason():
    out = clean_table(_table([(f" {ZWSP}{NBSP} ", "A"), ("x", "  "), ("y", "B")]))
    assert out.dropped["empty text"].count == 1
    assert out.dropped["empty label"].count == 1
    assert out.dropped["empty text"].examples[0][0] == "f.csv:2"
    assert [(r.text, r.label, r.group) for r in out.records] == [("y", "B", "f")]
