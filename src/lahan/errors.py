"""User-facing errors.

A ``LahanError`` is a problem the user can fix (bad path, bad data, bad option).
The CLI prints its message as one line and exits with status 2; it never shows a
traceback for these. Messages say what was wrong, where, and what to do.
"""


class LahanError(Exception):
    """An error caused by user input, reported as one clear line."""
