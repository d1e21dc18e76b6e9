"""Flags shared by several commands. A config field's flag, help and default are
declared once, beside the field in ``lahan.config`` (``config.flag``); ``add_config_flags``
builds the argparse options from them and ``config_from_flags`` the config from the
parsed namespace."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from typing import Any

from lahan.config import (
    DATA_HELP,
    FLAG,
    DataConfig,
    Flag,
    ModelConfig,
    TrainConfig,
    flag_name,
)

_SCALARS = {"int": int, "float": float, "str": str}


def _scalar(annotation: str) -> Any:
    """int / float / str from a field's annotation ("float | None" -> float)."""
    for part in str(annotation).split("|"):
        if part.strip() in _SCALARS:
            return _SCALARS[part.strip()]
    raise TypeError(f"no scalar type in {annotation!r}: give the flag a parse function")


def _parser(parse: Any) -> Any:
    """``parse`` as an argparse type: its ValueError becomes argparse's one-line error."""

    def parsed(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    parsed.__name__ = getattr(parse, "__name__", "value")
    return parsed


def _dest(cls: type, name: str) -> str:
    return flag_name(cls, name).lstrip("-").replace("-", "_")


def _declared(cls: type, names: tuple[str, ...] | None, skip: tuple[str, ...]) -> list:
    chosen = [f for f in fields(cls) if FLAG in f.metadata and f.name not in skip]
    return [f for f in chosen if names is None or f.name in names]


def add_config_flags(
    group: Any,
    cls: type,
    defaults: Any = None,
    names: tuple[str, ...] | None = None,
    skip: tuple[str, ...] = (),
) -> None:
    """Add the flag of each field of ``cls`` that declares one (``names`` only, less
    ``skip``); defaults from ``defaults`` (an instance) or the class."""
    for f in _declared(cls, names, skip):
        spec: Flag = f.metadata[FLAG]
        default = getattr(defaults, f.name) if defaults is not None else f.default
        if (default is MISSING) != spec.required:
            raise TypeError(
                f"{cls.__name__}.{f.name}: a flag is required exactly when its field has no default"
            )
        default = None if spec.required else default
        shown = spec.default_text if spec.default_text is not None else str(default)
        shown = "" if spec.required else shown
        text = spec.help.replace("%", "%%") + (f" (default {shown})" if shown else "")
        kwargs: dict[str, Any] = {"dest": _dest(cls, f.name), "help": text}
        if isinstance(default, bool):  # --x sets True; a negated --no-x sets the field False
            kwargs.update(action="store_true", default=not default if spec.negate else default)
            kwargs["help"] = spec.help.replace("%", "%%")
        else:
            if spec.parse:
                kwargs["type"] = _parser(spec.parse)
            else:  # a repeated flag's values are strings (the field: a tuple of them)
                kwargs["type"] = str if spec.repeat else _scalar(f.type)
            kwargs["default"] = None if spec.given_only else default
            if spec.repeat:
                kwargs.update(action="append", default=None)
            if spec.required:
                kwargs["required"] = True
            if spec.choices:
                kwargs["choices"] = spec.choices
            if spec.metavar:
                kwargs["metavar"] = spec.metavar
        group.add_argument(flag_name(cls, f.name), **kwargs)


def config_values(cls: type, args: argparse.Namespace, skip: tuple[str, ...] = ()) -> dict:
    """The values of ``cls``'s flagged fields found in ``args``: a flag this parser does
    not have, and a given-only flag not given, leave the field to its default."""
    values: dict[str, Any] = {}
    for f in _declared(cls, None, skip):
        spec: Flag = f.metadata[FLAG]
        dest = _dest(cls, f.name)
        if not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if isinstance(f.default, bool):
            value = not value if spec.negate else value
        elif spec.repeat:
            value = tuple(value or ())
        elif spec.given_only and value is None:
            continue
        values[f.name] = value
    return values


def config_from_flags(cls: type, args: argparse.Namespace, **given: Any) -> Any:
    """``cls`` built from its flags in ``args``; ``given`` fields win."""
    return cls(**{**config_values(cls, args, skip=tuple(given)), **given})


def add_command(
    subparsers: Any, name: str, *, help: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand's parser: its one-line help, its description, and its examples (shown
    as written, line by line, at the end of ``lahan NAME --help``)."""
    return subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser.add_argument_group("model"), ModelConfig)
    add_label_arguments(parser)


def add_label_arguments(parser: argparse.ArgumentParser, what: str = "--model") -> None:
    """--labels / --label-map: names for a classifier published with LABEL_0, LABEL_1, ..."""
    g = parser.add_argument_group("labels of a placeholder-labelled classifier")
    g.add_argument(
        "--labels",
        default=None,
        metavar="A,B,...",
        help=f"names of {what}'s outputs in output order, for a classifier whose config says "
        "LABEL_0, LABEL_1, ... (saved into the output's config)",
    )
    g.add_argument(
        "--label-map",
        default=None,
        metavar="FILE",
        help='the same from a file: JSON list, JSON {"0": "Auto", ...}, or CSV lines id,name',
    )


def label_names_from_args(args: argparse.Namespace) -> tuple | None:
    from lahan.models import read_label_names

    return read_label_names(getattr(args, "labels", None), getattr(args, "label_map", None))


def model_config_from_args(args: argparse.Namespace) -> ModelConfig:
    # ModelConfig refuses a preset-only option (--vocab-size, ...) given for a checkpoint
    return config_from_flags(ModelConfig, args, labels=label_names_from_args(args))


def add_train_arguments(
    parser: argparse.ArgumentParser, defaults: TrainConfig | None = None
) -> None:
    """The training flags (TrainConfig's), less --checkpoint-every (add_resume_arguments)."""
    g = parser.add_argument_group("training")
    add_config_flags(g, TrainConfig, defaults or TrainConfig(), skip=("checkpoint_every",))


def add_resume_arguments(parser: argparse.ArgumentParser) -> None:
    """--checkpoint-every and --resume, for the commands that train."""
    add_config_flags(parser, TrainConfig, names=("checkpoint_every",))
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed run from OUT.checkpoint (same options as that run)",
    )


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    return config_from_flags(TrainConfig, args)


# --------------------------------------------------------------------------- data


def add_data_arguments(
    parser: argparse.ArgumentParser, positional: bool = False, required: bool = True
) -> None:
    """The data flags every command shares (--data or DATA, columns, splits, leakage)."""
    g = parser.add_argument_group("data")
    if positional:
        g.add_argument("data", metavar="DATA", help=DATA_HELP)
    else:
        g.add_argument("--data", required=required, default=None, help=DATA_HELP)
    add_config_flags(g, DataConfig, skip=("source",))


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    return config_from_flags(DataConfig, args, source=args.data)
