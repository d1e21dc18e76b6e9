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
        # the parts: each config's own fields and rules, the row named
        ('[[rows]]\nid = "a"\nprune = {method = "taylor"}\n', "row 'a': prune needs sparsity"),
        ('[[rows]]\nid = "a"\nprune = {sparsity = 0.5, colour = 1}\n', "prune has unknown keys"),
        (
            '[[rows]]\nid = "a"\nprune = {sparsity = 0.5, method = "magic"}\n',
            "row 'a': prune.method must be one of hard, soft, taylor",
        ),
        (
            '[[rows]]\nid = "a"\nprune = {sparsity = 0.5, method = "taylor", score_lr = 0.5}\n',
            "row 'a': prune.score_lr is used only by method hard or soft",
        ),
        ('[[rows]]\nid = "a"\nprune = {sparsity = 1.0}\n', "prune.sparsity must be in"),
        ('[[rows]]\nid = "a"\nprune = "half"\n', "a sparsity in \\(0, 1\\) or a table"),
        ('[[rows]]\nid = "a"\ndistill = {alpha = 2.0}\n', "row 'a': distill.alpha must be"),
        ('[[rows]]\nid = "a"\nprune = 0.5\ntrain = {epochs = 0}\n', "train.epochs must be"),
        ('[[rows]]\nid = "a"\ntrain = {epochs = 2}\n', "train options are for a row that"),
        ('[[rows]]\nid = "a"\ntrim = {keep_top_n = -1}\n', "trim.keep_top_n must be"),
        (
            '[[rows]]\nid = "a"\nprune = 0.5\n[[rows]]\nid = "b"\nderive_from = "a"\n'
            "prune = 0.25\n",
            "a derived row reuses",
        ),
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


def _compress(row: Row, granularity: str = "heads", **train):
    """The row's compress run in a sweep with these training options and granularity."""
    from lahan.config import DataConfig, TrainConfig

    return row.compress_config(
        teacher="t",
        data=DataConfig(source="x.csv"),
        out="o",
        train=TrainConfig(**train),
        granularity=granularity,
        cache_dir="c",
    )


def test_a_row_is_a_partial_compress_config():
    """A grid row says what `compress` can: its parts become the run's configs, over the
    sweep's training options and granularity."""
    row = Row(
        "p50-taylor-kd",
        prune={"sparsity": 0.5, "method": "taylor", "allocation": "uniform"},
        distill={"temperature": 4.0},
        student=None,
        train={"epochs": 7, "group_by_length": True},
        trim={"keep_top_n": 100},
    )
    cfg = _compress(row, epochs=5, lr=3e-4, patience=0)
    assert (cfg.prune.sparsity, cfg.prune.method, cfg.prune.allocation) == (
        0.5,
        "taylor",
        "uniform",
    )
    assert cfg.prune.granularity == "heads"  # the sweep's, the row did not say
    assert (cfg.distill.temperature, cfg.distill.alpha, cfg.distill.cache_dir) == (4.0, 0.1, "c")
    assert (cfg.train.epochs, cfg.train.group_by_length) == (7, True)  # the row's
    assert (cfg.train.lr, cfg.train.patience) == (3e-4, 0)  # the sweep's
    assert cfg.trim.enabled and cfg.trim.keep_top_n == 100
    assert row.makes and row.trains
    # the short forms are the old rows: a sparsity, distill = true
    short = _compress(Row("p", prune=0.5, distill=True), "hybrid")
    assert (short.prune.sparsity, short.prune.granularity, short.prune.method) == (
        0.5,
        "hybrid",
        "hard",
    )
    trim_only = Row("t", trim=True)
    assert trim_only.makes and not trim_only.trains
    assert not Row("baseline").makes and not Row("d", derive_from="p", precision="int8").makes


def test_a_mix_compress_refuses_is_refused_for_the_row():
    """Rules across parts are CompressConfig's: the row names itself in the same words."""
    row = Row("a", prune=0.5, distill={"attention_weight": 1.0})
    with pytest.raises(LahanError, match="row 'a': .*attention_weight cannot be combined"):
        _compress(row)


def test_the_grid_in_sweep_help_reads(tmp_path):
    """The example grid `lahan sweep --help` shows is a grid lahan accepts."""
    from lahan.commands.sweep import EXAMPLES

    text = EXAMPLES.split("a grid file (TOML; YAML has the same keys):\n", 1)[1]
    path = tmp_path / "g.toml"
    path.write_text("\n".join(line[2:] for line in text.splitlines()))
    rows = {r.id: r for r in load_grid(str(path), cuda=False).rows}
    assert rows["p50-taylor-kd"].parts()["prune"].method == "taylor"
    assert rows["p50-kd-int8"].derive_from == "p50-kd"


def test_old_rows_keep_their_fingerprint():
    """Rows written before train/trim/padding/reference existed resume: the options at
    their defaults are not part of the fingerprint material."""
    import json

    from lahan.recipes.sweep import ROW_DEFAULTS_BEFORE

    row = Row("p", prune=0.5, distill=True).to_dict()
    kept = {k: v for k, v in row.items() if (k, v) not in ROW_DEFAULTS_BEFORE}
    assert set(kept) == {
        "id",
        "prune",
        "distill",
        "student",
        "precision",
        "runtime",
        "derive_from",
        "skip",
    }
    assert json.dumps(kept, sort_keys=True) == json.dumps(
        {
            "id": "p",
            "prune": 0.5,
            "distill": True,
            "student": None,
            "precision": "fp32",
            "runtime": "torch",
            "derive_from": None,
            "skip": None,
        },
        sort_keys=True,
    )


def test_an_empty_table_turns_its_part_on():
    """`distill = {}` is distillation with its defaults, `trim = {}` trimming: a table is
    on, whatever it holds (an empty one read as false would run the teacher silently)."""
    assert Row("t", trim={}).makes
    assert _compress(Row("d", prune=0.5, distill={})).distill is not None
    assert Row("s", distill={}, student="layers:2").trains


def test_row_values_are_read_as_their_flags_read_text():
    row = Row("p", prune={"sparsity": 0.5, "granularity": "hybrid", "block": "16x16"})
    assert row.parts()["prune"].block == (16, 16)
    trim = Row("t", trim={"text_files": "corpus.txt"}).parts()["trim"]
    assert trim.text_files == ("corpus.txt",)


def test_a_row_training_in_fp16_is_skipped_without_cuda(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('[[rows]]\nid = "h"\nprune = 0.5\ntrain = {precision = "fp16"}\n')
    row = load_grid(str(path), cuda=False).rows[0]
    assert row.skip and "CUDA" in row.skip


def test_checkpoint_and_progress_options_of_a_row_leave_its_fingerprint_alone(tmp_path):
    from lahan.config import DataConfig, SweepConfig
    from lahan.recipes.sweep import fingerprint

    cfg = SweepConfig(teacher=str(tmp_path), data=DataConfig(source="x.csv"), out="o")
    plain = fingerprint(cfg, Row("p", prune=0.5))
    assert fingerprint(cfg, Row("p", prune=0.5, train={"checkpoint_every": 7})) == plain
    assert fingerprint(cfg, Row("p", prune=0.5, train={"progress": False})) == plain
    assert fingerprint(cfg, Row("p", prune=0.5, train={"epochs": 2})) != plain
