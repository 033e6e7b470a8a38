"""The project's error types: every expected failure is one of these, with a message a user can act on."""

from __future__ import annotations

import sys
import tokenize
import zipfile
from collections.abc import Callable
from pathlib import Path

# What numpy's .npy/.npz loading raises on a damaged file: besides I/O errors, its header parser lets
# tokenizer and literal-parse errors through (a byte flip in the header dict gives tokenize.TokenError).
NUMPY_FILE_ERRORS = (OSError, ValueError, EOFError, SyntaxError, TypeError, MemoryError, RecursionError,
                     tokenize.TokenError, zipfile.BadZipFile)


class BharnetError(Exception):
    """Base class: the CLI prints these as one line instead of a traceback."""


class ConfigError(BharnetError):
    """A configuration value or option is invalid."""


class DataFormatError(BharnetError):
    """An input file cannot be read as the format it claims to be.

    The message always starts with the file (and line, when known) so the user can open it.
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # survives the trip back from a worker process
        return (type(self), (self.path, self.problem, self.line))


class TrainingError(BharnetError):
    """Training cannot go on (the loss diverged, ...)."""


def exit_on_error(main: Callable[[], object], program: str) -> None:
    """Runs a script's ``main``; an expected failure is one line on stderr and exit status 2, as in the CLI."""
    try:
        main()
    except BharnetError as err:
        print(f"{program}: error: {err}", file=sys.stderr)
        sys.exit(2)
