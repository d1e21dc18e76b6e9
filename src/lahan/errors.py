"""User-facing errors.

A ``LahanError`` is a problem the user can fix (bad path, bad data, bad option).
The CLI prints its message as one line and exits with status 2; it never shows a
traceback for these. Messages say what was wrong, where, and what to do.
"""


class LahanError(Exception):
    """An error caused by user input, reported as one clear line."""


class OptionError(LahanError):
    """A value given for one option that cannot be used. The library's message names the
    option as Python callers know it (``out``, ``label_map``); the CLI names its flag
    (``--out``, ``--label-map``) with the same words after it."""

    def __init__(self, option: str, rest: str) -> None:
        # ``rest`` is the message after the option's name (from a space or a colon on)
        self.option, self.rest = option, rest
        super().__init__(f"{option}{rest}")

    @property
    def flag(self) -> str:
        return "--" + self.option.replace("_", "-")

    def named(self, name: str) -> str:
        """The same message with ``name`` (a CLI flag) in place of the option."""
        return f"{name}{self.rest}"
