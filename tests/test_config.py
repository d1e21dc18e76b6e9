"""lahan.config: one layer of options shared by the CLI and the library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lahan.cli import build_parser, main
from lahan.commands._args import train_config_from_args
from lahan.config import (
    METHOD_TRAIN_DEFAULTS,
    CompressConfig,
    ConfigError,
    DataConfig,
    DistillConfig,
    ModelConfig,
    PruneConfig,
    TrainConfig,
    config_dict,
    from_dict,
    from_record,
    parse_model_spec,
    train_defaults,
)

# what lahan f6dacea (before "no" became "fp32") computed in the fingerprint test below
PREVIOUS_FINGERPRINT = "d7182addc8bb4f04"
HEAVY = ("torch", "transformers", "onnxruntime", "fastapi", "matplotlib")


def _imported_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter has imported after running ``code``."""
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1].replace("'", '"'))


def test_the_config_module_imports_only_the_standard_library():
    assert _imported_after("import lahan.config") == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["prune", "--help"], ["serve", "--help"], ["sweep", "--help"], ["report", "-h"]],
)
def test_help_imports_neither_torch_nor_transformers(argv):
    code = (
        "import contextlib, io\n"
        "from lahan.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass"
    )
    assert _imported_after(code) == []


def test_data_check_imports_neither_torch_nor_transformers(demo_csv):
    code = (
        "import contextlib, io\n"
        "from lahan.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['data', 'check', {str(demo_csv)!r}]) == 0"
    )
    assert _imported_after(code) == []


@pytest.mark.parametrize("method", ["prune", "distill", "compress"])
def test_cli_and_library_start_from_the_same_training_defaults(method):
    """`lahan prune` and CompressConfig(method="prune") train alike (issue 16: the CLI
    said 4 epochs, the library 3)."""
    sub = build_parser()._subparsers._group_actions[0].choices[method]
    cli = {a.dest: a.default for a in sub._actions}
    library = CompressConfig(
        teacher="t",
        data=DataConfig(),
        out="o",
        method=method,
        prune=PruneConfig() if method != "distill" else None,
        distill=DistillConfig() if method != "prune" else None,
        student="layers:1" if method == "distill" else None,
    ).train
    assert library == train_defaults(method)
    for name, value in METHOD_TRAIN_DEFAULTS[method].items():
        assert cli[name] == value == getattr(library, name)
    assert library.epochs != TrainConfig().epochs  # each job has its own, not the generic 3


def test_errors_name_the_field_in_python_and_the_flag_on_the_command_line(capsys, demo_csv):
    with pytest.raises(ConfigError, match=r"^TrainConfig\.epochs must be >= 1, got 0$"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match=r"^DataConfig\.seed must be >= 0"):
        DataConfig(seed=-1)
    cases = [
        (["finetune", "--model", "preset:tiny", "--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["data", "check", str(demo_csv), "--data-seed", "-1"], "--data-seed must be >= 0"),
        (["compress", "--teacher", "t", "--prune", "1.5"], "--prune must be in [0, 1), got 1.5"),
        (["prune", "--teacher", "t", "--sparsity", "1.5"], "--sparsity must be in [0, 1)"),
        (["distill", "--teacher", "t", "--student", "layers:1", "--alpha", "2"], "--alpha must"),
        (["serve", "--model", "m", "--timeout", "0"], "--timeout must be > 0, got 0.0"),
    ]
    for argv, message in cases:
        if argv[0] not in ("data", "serve"):
            argv = [*argv, "--out", "o", "--data", str(demo_csv)]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"lahan: error: {message}" or err.startswith(f"lahan: error: {message}"), (
            argv,
            err,
        )


def test_option_errors_name_the_argument_in_python_and_the_flag_on_the_command_line(
    capsys, demo_csv, tmp_path
):
    from lahan.errors import OptionError
    from lahan.threads import resolve_threads

    with pytest.raises(OptionError, match=r"^threads must be >= 1, got 0$"):
        resolve_threads(0)
    with pytest.raises(OptionError, match=r"^model '.*': no such folder$"):
        parse_model_spec(str(tmp_path / "nowhere"))
    cases = [
        (["evaluate", "--model", "m", "--data", str(demo_csv), "--threads", "0"], "--threads"),
        (["bench", "--model", str(tmp_path / "nowhere"), "--data", str(demo_csv)], "--model '"),
    ]
    for argv, flag in cases:
        assert main(argv) == 2
        assert capsys.readouterr().err.startswith(f"lahan: error: {flag}"), argv


def test_a_run_rebuilds_its_configs_from_its_record():
    configs = (
        DataConfig(source="news.csv", subsets=("SHC",), dev_ratio=0.2),
        ModelConfig(source="preset:small", vocab_size=500, labels=("a", "b")),
        TrainConfig(epochs=7, precision="bf16", lr=1e-4),
        PruneConfig(sparsity=0.25, block=(16, 16)),
        DistillConfig(temperature=3.0),
    )
    stored = json.loads(json.dumps({"config": config_dict(*configs)}))  # as lahan.json has it
    rebuilt = from_record(stored)
    assert list(rebuilt.values()) == list(configs)


def test_older_records_still_load():
    """A field added since, a field since removed, and the older precision name."""
    old = {"epochs": 2, "precision": "no", "fp16_opt_level": "O1"}
    config = from_dict(TrainConfig, old)
    assert config.precision == "fp32" and config.epochs == 2
    assert config.seed == TrainConfig().seed


def test_the_older_precision_name_is_fp32_everywhere():
    assert TrainConfig(precision="no") == TrainConfig(precision="fp32") == TrainConfig()
    argv = ["finetune", "--model", "m", "--data", "d", "--out", "o", "--precision", "no"]
    args = build_parser().parse_args(argv)
    assert args.precision == "no"  # accepted, and TrainConfig reads it as fp32
    assert train_config_from_args(args).precision == "fp32"


def test_fingerprints_are_those_the_previous_version_made():
    """Checkpoints and sweep rows written before "no" became "fp32" still match the same
    options: the value below is what lahan f6dacea computed for this input."""
    import torch

    from lahan.train import train_fingerprint

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    found = train_fingerprint(TrainConfig(), {"s": 1}, ["a", "b"], [0, 1], model)
    assert found == PREVIOUS_FINGERPRINT
    assert (
        train_fingerprint(TrainConfig(precision="no"), {"s": 1}, ["a", "b"], [0, 1], model) == found
    )


@pytest.mark.parametrize(
    "method, flag, value",
    [("hard", "--score-batches", "4"), ("soft", "--score-batches", "4"),
     ("taylor", "--score-lr", "0.05")],
)  # fmt: skip
def test_an_option_the_method_does_not_read_is_refused(method, flag, value, tmp_path, capsys):
    """--score-batches (taylor) and --score-lr (movement pruning) would be silently ignored
    by the other methods: the CLI says so in one line instead of running without them."""
    argv = ["prune", "--teacher", str(tmp_path / "t"), "--data", str(tmp_path / "d.csv"),
            "--out", str(tmp_path / "o"), "--method", method, flag, value]  # fmt: skip
    if method == "taylor":
        argv += ["--granularity", "heads"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"lahan: error: {flag} is used only by method")
    assert f"method is {method}" in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    # the library refuses the same mix with the same words, the field in place of the flag
    field = flag[2:].replace("-", "_")
    with pytest.raises(ConfigError) as refused:
        PruneConfig(
            method=method,
            granularity="heads",
            **{field: type(getattr(PruneConfig(), field))(value)},
        )
    assert err == f"lahan: error: {flag} {refused.value.problem}"
    assert str(refused.value) == f"PruneConfig.{field} {refused.value.problem}"


@pytest.mark.parametrize(
    "method, field, value",
    [("taylor", "l1", 2.0), ("hard", "l1", 0.5), ("soft", "score_batches", 8)],
)
def test_the_library_refuses_a_field_its_method_does_not_read(method, field, value):
    with pytest.raises(ConfigError, match=rf"PruneConfig.{field} is used only by method"):
        PruneConfig(method=method, granularity="heads", **{field: value})
    # the default value changes nothing: a saved record of any method loads as before
    PruneConfig(method=method, granularity="heads", **{field: getattr(PruneConfig(), field)})


@pytest.mark.parametrize("flag, value", [("--score-lr", "0.05"), ("--score-batches", "4")])
def test_a_pruning_option_without_prune_is_refused(flag, value, tmp_path, capsys):
    argv = ["compress", "--teacher", str(tmp_path / "t"), "--data", str(tmp_path / "d.csv"),
            "--out", str(tmp_path / "o"), "--distill", flag, value]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"lahan: error: {flag} is a pruning option, and this run has no --prune S: "
        "add one, or drop it"
    )
    assert not (tmp_path / "o").exists()


def test_method_options_reach_the_config_when_the_method_reads_them():
    from lahan.commands.compress import config_from_args

    base = ["compress", "--teacher", "t", "--data", "d", "--out", "o", "--prune", "0.5"]
    args = build_parser().parse_args([*base, "--method", "hard", "--score-lr", "0.05"])
    prune = config_from_args(args).prune
    assert prune.score_lr == 0.05 and prune.score_batches == PruneConfig().score_batches
    args = build_parser().parse_args(
        [*base, "--method", "taylor", "--granularity", "heads", "--score-batches", "3"]
    )
    prune = config_from_args(args).prune
    assert prune.score_batches == 3 and prune.score_lr == PruneConfig().score_lr
    # not given: the config's defaults, whatever the method
    prune = config_from_args(build_parser().parse_args([*base, "--method", "soft"])).prune
    defaults = PruneConfig()
    assert (prune.score_lr, prune.score_batches) == (defaults.score_lr, defaults.score_batches)


def test_evaluate_refuses_the_same_values_as_its_config(capsys, demo_csv, tmp_path):
    """EvaluateConfig holds evaluate's rules: the library and the CLI refuse the same
    values in the same words, the CLI naming the flag."""
    from lahan.config import EvaluateConfig

    afile = tmp_path / "a-file"
    afile.write_text("x")
    data = DataConfig(source=str(demo_csv))
    cases = [
        ({"batch_size": 0}, ["--batch-size", "0"], "batch_size", "must be >= 1, got 0"),
        ({"out": str(afile)}, ["--out", str(afile)], "out", f"'{afile}' is a file: pass a folder"),
    ]
    for values, flags, name, problem in cases:
        with pytest.raises(ConfigError) as err:
            EvaluateConfig("m", data, **values)
        assert str(err.value) == f"EvaluateConfig.{name} {problem}"
        argv = ["evaluate", "--model", "m", "--data", str(demo_csv), *flags]
        assert main(argv) == 2
        flag = "--" + name.replace("_", "-")
        assert capsys.readouterr().err.strip() == f"lahan: error: {flag} {problem}"
