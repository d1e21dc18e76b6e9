"""The ``lahan`` command line: parse, call the library, print.

Each subcommand lives in its own module under ``lahan.commands`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed namespace and returning an exit status.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading

# Nothing here imports torch or transformers: `lahan --help`, `lahan CMD --help` and
# `lahan data check` stay fast. Commands import the heavy libraries when they run.
from lahan import __version__
from lahan.commands import COMMAND_MODULES
from lahan.config import FLAGGED_CLASSES, ConfigError, flag_name
from lahan.errors import LahanError, OptionError
from lahan.threads import ENV, apply_threads, resolve_threads

EPILOG = """\
examples:
  lahan demo                                   # whole pipeline, offline, on a built-in corpus
  lahan data check ../shared/data/mahanews            # audit a dataset before trusting numbers
  lahan finetune --model preset:small --data ../shared/data/mahanews --out runs/teacher
  lahan evaluate --model runs/teacher --data ../shared/data/mahanews --split test
  lahan compress --teacher runs/teacher --data ../shared/data/mahanews --prune 0.25 --distill \
      --out runs/p25-kd
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lahan",
        description="Make transformer text classifiers small and fast, and measure it honestly.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lahan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        before = set(subparsers.choices)
        module.register(subparsers)
        # each command module declares COMPUTES (tests/test_cli checks that every one does):
        # the commands it registered that compute get --threads and the heavy set-up in main
        for name in set(subparsers.choices) - before:
            sub = subparsers.choices[name]
            sub.set_defaults(computes=module.COMPUTES)
            if module.COMPUTES and not any("--threads" in a.option_strings for a in sub._actions):
                sub.add_argument(
                    "--threads",
                    type=int,
                    default=None,
                    help=f"CPU threads for PyTorch and ONNX Runtime (default: ${ENV}, else all "
                    "cores); fewer keeps a shared machine responsive",
                )
    return parser


def flag_for(err: ConfigError, command: str | None, parser: argparse.ArgumentParser) -> str:
    """The command-line flag that set ``err``'s field, or the field's own name when no
    flag of this command sets it (a library default the user cannot have given)."""
    if (err.owner, err.field) == ("PruneConfig", "sparsity") and command == "compress":
        return "--prune"
    # every flag is declared beside its field (lahan.config.flag)
    declared = FLAGGED_CLASSES.get(err.owner)
    flag = (declared and flag_name(declared, err.field)) or "--" + err.field.replace("_", "-")
    return flag if flag in _options(parser, command) else f"{err.owner}.{err.field}"


def _options(parser: argparse.ArgumentParser, command: str | None) -> set[str]:
    """Every option string of ``command``'s parser and of its own subcommands."""
    parsers = [parser._subparsers._group_actions[0].choices.get(command, parser)]
    options: set[str] = set()
    while parsers:
        p = parsers.pop()
        for action in p._actions:
            options.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return options


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt("SIGTERM")


def _interrupted(err: KeyboardInterrupt, args: argparse.Namespace, argv: list[str]) -> int:
    """Say what a stopped run left and how to continue it (training stops at a step
    boundary after writing its checkpoint: lahan.stop.TrainingInterrupted)."""
    checkpoint = getattr(err, "checkpoint", None)
    why = getattr(err, "signal_name", None) or (str(err) or "SIGINT")
    if checkpoint is None:
        print(f"lahan: interrupted ({why})", file=sys.stderr)
        return 130
    print(
        f"lahan: interrupted ({why}); the run's state at optimizer step {err.steps} is saved "
        f"in {checkpoint}",
        file=sys.stderr,
    )
    again = ["lahan", *argv] + (["--resume"] if "--resume" not in argv else [])
    how = shlex.join(again) if hasattr(args, "resume") else shlex.join(["lahan", *argv])
    print(f"lahan: continue it with: {how}", file=sys.stderr)
    return 130


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "computes", False):
        # lahan draws its own progress; transformers' per-file load/save bars are noise
        # here. lahan says itself what loading did (a new head, unused tensors, refused
        # folders); transformers' per-load tables of missing/unexpected keys are noise too.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    # SIGTERM (a scheduler, `kill`) ends the run like Ctrl-C: with a message, not silently
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        if getattr(args, "computes", False):
            apply_threads(resolve_threads(getattr(args, "threads", None)))
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"lahan: error: {err.named(flag_for(err, args.command, parser))}", file=sys.stderr)
        return 2
    except OptionError as err:  # named as the library knows it: say the command's flag
        known = err.flag in _options(parser, args.command)
        print(f"lahan: error: {err.named(err.flag) if known else err}", file=sys.stderr)
        return 2
    except LahanError as err:
        print(f"lahan: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        return _interrupted(err, args, argv)
    finally:
        if main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
