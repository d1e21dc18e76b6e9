"""Flags declared beside their config fields (lahan.config.flag), built by commands/_args.

Every field of a flagged config has exactly one flag or is marked internal; each flag is
on the commands that build its config, and a value given on the command line reaches the
field (the generic round trip below sets every flag to a value other than its default).
"""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from lahan.cli import build_parser, main
from lahan.commands._args import add_config_flags, config_from_flags
from lahan.config import (
    FLAG,
    FLAGGED_CLASSES,
    INTERNAL,
    BenchConfig,
    ConfigError,
    DataConfig,
    DistillConfig,
    EvaluateConfig,
    ExportConfig,
    ModelConfig,
    PredictConfig,
    PretrainConfig,
    PruneConfig,
    ReportConfig,
    ServeConfig,
    SweepConfig,
    TrainConfig,
    TrimConfig,
    flag_name,
)

# The configs whose flags are declared beside their fields, and the commands that set them.
FLAGGED = {
    ModelConfig: ("finetune",),  # pretrain: the model flags less the head's (below)
    DataConfig: (
        "finetune",
        "evaluate",
        "pretrain",
        "prune",
        "distill",
        "compress",
        "bench",
        "export",
        "sweep",
    ),
    TrainConfig: ("finetune", "pretrain", "prune", "distill", "compress"),
    PretrainConfig: ("pretrain",),
    PruneConfig: ("prune", "compress"),
    DistillConfig: ("distill", "compress"),
    TrimConfig: ("prune", "distill", "compress"),
    BenchConfig: ("bench",),
    SweepConfig: ("sweep",),
    ReportConfig: ("report",),
    ExportConfig: ("export",),
    EvaluateConfig: ("evaluate",),
    PredictConfig: ("predict",),
    ServeConfig: ("serve",),
}
# pretrain makes an encoder: the model flags less those of a classification head
PRETRAIN_MODEL_FLAGS = {"--model", "--vocab-size", "--dropout", "--tokenizer"}
# set on the command line by a flag the command writes itself (it also chooses the job)
BY_THE_COMMAND = {(DataConfig, "source"): "--data", (PruneConfig, "sparsity"): "--prune"}


def _options(command: str) -> set[str]:
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return {s for a in sub._actions for s in a.option_strings}


def test_the_cli_knows_every_flagged_config():
    assert set(FLAGGED) == set(FLAGGED_CLASSES.values())


@pytest.mark.parametrize("cls", list(FLAGGED), ids=lambda c: c.__name__)
def test_every_field_has_one_flag_or_is_internal(cls):
    for f in fields(cls):
        assert (FLAG in f.metadata) != (INTERNAL in f.metadata), (
            f"{cls.__name__}.{f.name}: declare its flag with config.flag(...), or mark it "
            "config.internal(...)"
        )
    names = [flag_name(cls, f.name) for f in fields(cls) if FLAG in f.metadata]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "cls, command", [(c, cmd) for c, cmds in FLAGGED.items() for cmd in cmds],
    ids=lambda x: getattr(x, "__name__", x),
)  # fmt: skip
def test_each_flag_is_on_the_commands_that_build_its_config(cls, command):
    options = _options(command)
    for f in fields(cls):
        if FLAG not in f.metadata:
            continue
        flag = flag_name(cls, f.name)
        # compress spells the sparsity --prune (giving it turns pruning on)
        if command == "compress" and (cls, f.name) in BY_THE_COMMAND:
            flag = BY_THE_COMMAND[cls, f.name]
        assert flag in options, f"lahan {command} has no {flag} for {cls.__name__}.{f.name}"


def _other_value(cls, f):
    """A value of field ``f`` other than its default, as argv words."""
    default, spec = f.default, f.metadata[FLAG]
    if isinstance(default, bool):
        return [], not default
    if spec.choices:
        choice = next(c for c in spec.choices if c != default)
        return [choice], choice
    if spec.repeat:
        return ["a.txt"], ("a.txt",)
    if f.name == "subsets":
        return ["SHC,LPC"], ("SHC", "LPC")
    if f.name == "block":
        return ["16x8"], (16, 8)
    if isinstance(default, int) and not isinstance(default, bool):
        return [str(default + 1)], default + 1
    if isinstance(default, float):
        value = default / 2 if default else 0.5
        return [str(value)], value
    value = {"lr": 1e-4, "max_steps": 7}.get(f.name, "x")
    return [str(value)], value


@pytest.mark.parametrize(
    "cls, extra", [(DataConfig, {"source": "d.csv"}), (TrainConfig, {}), (PretrainConfig, {}),
                   (DistillConfig, {}), (TrimConfig, {"enabled": True})],
    ids=lambda x: getattr(x, "__name__", ""),
)  # fmt: skip
def test_a_value_given_on_the_command_line_reaches_its_field(cls, extra):
    parser = argparse.ArgumentParser()
    add_config_flags(parser, cls)
    argv, expected = [], {}
    for f in fields(cls):
        if FLAG not in f.metadata or f.name in extra:
            continue
        words, value = _other_value(cls, f)
        argv += [flag_name(cls, f.name), *words]
        expected[f.name] = value
    if cls is TrimConfig:
        argv.append("--trim-vocab")
    built = config_from_flags(cls, parser.parse_args(argv), **extra)
    assert {name: getattr(built, name) for name in expected} == expected
    # and nothing given: the dataclass's own defaults
    defaults = config_from_flags(cls, parser.parse_args([]), **extra)
    assert defaults == cls(**extra)


def test_pruning_flags_reach_the_config_for_each_method():
    from lahan.commands.compress import config_from_args

    base = ["prune", "--teacher", "t", "--data", "d", "--out", "o", "--sparsity", "0.3"]
    argv = [*base, "--method", "soft", "--prune-warmup", "0.05", "--prune-cooldown", "0.3",
            "--l1", "0.5", "--score-lr", "0.02", "--granularity", "hybrid",
            "--block", "16x8"]  # fmt: skip
    prune = config_from_args(build_parser().parse_args(argv)).prune
    assert (prune.sparsity, prune.method, prune.warmup, prune.cooldown) == (0.3, "soft", 0.05, 0.3)
    assert (prune.l1, prune.score_lr, prune.granularity, prune.block) == (
        0.5,
        0.02,
        "hybrid",
        (16, 8),
    )
    argv = [*base, "--method", "taylor", "--score-batches", "3", "--allocation", "uniform",
            "--ffn-multiple", "1"]  # fmt: skip
    prune = config_from_args(build_parser().parse_args(argv)).prune
    assert (prune.score_batches, prune.allocation, prune.ffn_multiple) == (3, "uniform", 1)
    assert prune.warmup == PruneConfig().warmup  # not given: the default, which taylor allows


@pytest.mark.parametrize(
    "flag, value, field",
    [("--prune-warmup", "0.05", "warmup"), ("--prune-cooldown", "0.3", "cooldown")],
)
def test_a_schedule_flag_with_one_shot_pruning_is_refused_like_the_library(
    flag, value, field, capsys, tmp_path
):
    argv = ["prune", "--teacher", str(tmp_path / "t"), "--data", str(tmp_path / "d.csv"),
            "--out", str(tmp_path / "o"), "--method", "taylor", flag, value]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    with pytest.raises(Exception) as refused:
        PruneConfig(method="taylor", **{field: float(value)})
    assert err == f"lahan: error: {flag} {refused.value.problem}"


def test_a_bad_block_is_one_argparse_line(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["prune", "--teacher", "t", "--data", "d", "--out", "o",
                                   "--block", "big"])  # fmt: skip
    err = capsys.readouterr().err
    assert "expected ROWSxCOLS like 32x32, got 'big'" in err


def test_bench_flags_reach_its_config(tmp_path, capsys):
    from lahan.commands._args import data_config_from_args

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    argv = ["bench", "--model", str(a), "--model", f"{b}@int8", "--data", "d.csv",
            "--batch-sizes", "1,8,64", "--repeats", "2", "--threads", "1"]  # fmt: skip
    args = build_parser().parse_args(argv)
    config = config_from_flags(BenchConfig, args, data=data_config_from_args(args))
    assert config.models == [str(a), f"{b}@int8"] and config.batch_sizes == (1, 8, 64)
    assert (config.repeats, config.threads, config.split) == (2, 1, "test")
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv[:7], "--batch-sizes", "1,x"])
    assert "expected comma-separated whole numbers like 1,32, got '1,x'" in capsys.readouterr().err


@pytest.mark.parametrize("sizes", [",", "8,8"])
def test_bench_refuses_no_batch_size_and_a_repeated_one(sizes, tmp_path, capsys):
    argv = ["bench", "--model", str(tmp_path), "--data", "demo", "--batch-sizes", sizes]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("lahan: error: --batch-sizes ")


def test_pretrain_takes_the_model_flags_of_an_encoder():
    options = _options("pretrain")
    assert PRETRAIN_MODEL_FLAGS <= options and not {"--relabel", "--new-head"} & options


@pytest.mark.parametrize(
    "field, value", [("vocab_size", 900), ("dropout", 0.2), ("tokenizer", "t")]
)
def test_a_preset_only_option_for_a_checkpoint_is_refused_by_the_library_and_the_cli(
    field, value, capsys
):
    with pytest.raises(ConfigError) as refused:
        ModelConfig(source="owner/model", **{field: value})
    assert "applies only to a model built from a preset" in refused.value.problem
    ModelConfig(source="preset:tiny", **{field: value})  # a preset reads it
    flag = flag_name(ModelConfig, field)
    argv = ["finetune", "--model", "owner/model", "--data", "demo", "--out", "x"]
    argv += [flag, str(value)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"lahan: error: {flag} {refused.value.problem}"
