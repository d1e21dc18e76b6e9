"""Grids: the paper's, custom files, and their errors."""

import pytest

from lahan.errors import LahanError
from lahan.sweep.grid import Row, load_grid, paper_grid, variant_rows


def test_paper_grid_has_every_method_alone_and_combined():
    grid = paper_grid(cuda=False)
    ids = [r.id for r in grid.rows]
    for expected in (
        "baseline",
        "prune25",
        "prune50",
        "prune75",
        "kd",
        "prune25+kd",
        "prune75+kd",
        "baseline+bf16",
        "prune50+bf16",
        "kd+bf16",
        "prune25+kd+bf16",
        "prune25+kd+fp16",
    ):
        assert expected in ids, expected
    fp16 = [r for r in grid.rows if r.precision == "fp16"]
    assert fp16 and all(r.skip and "CUDA" in r.skip for r in fp16)  # said why, not hidden
    assert all(r.skip is None for r in paper_grid(cuda=True).rows)
    assert next(r for r in grid.rows if r.id == "kd").student == "layers:half"
    padded = next(r for r in grid.rows if r.id == "baseline+padded")
    assert padded.padding == "fixed" and padded.derive_from == "baseline"
    assert [r.id for r in variant_rows(["prune50"])] == [
        "prune50+int8",
        "prune50+onnx",
        "prune50+onnx-int8",
    ]


def test_grid_file_toml_and_yaml(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(
        '[[rows]]\nid = "baseline"\n[[rows]]\nid = "p"\nprune = 0.5\n'
        '[[rows]]\nid = "p-int8"\nderive_from = "p"\nprecision = "int8"\n'
    )
    grid = load_grid(str(toml), cuda=False)
    ids = [r.id for r in grid.rows]
    assert ids == ["baseline", "p", "p-int8", "reference"] and grid.rows[1].trains
    assert grid.rows[-1].reference and not grid.rows[-1].trains  # every grid measures it
    yaml = tmp_path / "g.yaml"
    yaml.write_text(
        "best_variants: false\nrows:\n  - id: baseline\n  - id: h\n    precision: fp16\n"
        "    derive_from: baseline\n"
    )
    grid = load_grid(str(yaml), cuda=False)
    assert not grid.best_variants and grid.rows[1].skip
    toml.write_text('reference = false\n[[rows]]\nid = "baseline"\n')
    assert [r.id for r in load_grid(str(toml), cuda=False).rows] == ["baseline"]
    assert "reference" in [r.id for r in paper_grid(cuda=False).rows]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[rows]]\nid = "a"\n[[rows]]\nid = "a"\n', "unique"),
        ('[[rows]]\nid = "a"\nderive_from = "zz"\n', "unknown row"),
        ('[[rows]]\nid = "a"\nprune = 1.5\n', "prune must be"),
        ('[[rows]]\nid = "a"\ncolour = "red"\n', "unknown keys"),
        ("[[rows]]\nprune = 0.5\n", "needs an 'id'"),
        ("rows = 3\n", "list of rows"),
        ("[[rows]\n", "could not be parsed"),
        ('[[rows]]\nid = "a"\nruntime = "onnx"\nprecision = "bf16"\n', "fp32 or int8"),
        ('[[rows]]\nid = "a"\npadding = "max"\n', "dynamic or fixed"),
        ('[[rows]]\nid = "a"\nruntime = "onnx"\npadding = "fixed"\n', "for torch rows"),
        ('[[rows]]\nid = "r"\nreference = true\nprune = 0.5\n', "reference row is the TF-IDF"),
        ('[[rows]]\nid = "reference"\nprune = 0.5\n', "names the TF-IDF"),
    ],
)
def test_bad_grid_files(tmp_path, text, message):
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(LahanError, match=message):
        load_grid(str(path), cuda=False)


def test_unknown_grid_name():
    with pytest.raises(LahanError, match="no such file"):
        load_grid("papr", cuda=False)
    with pytest.raises(LahanError, match="a student needs"):
        Row("x", student="layers:2")
