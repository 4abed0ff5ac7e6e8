"""Errors that a user can act on.

Every :class:`LvwallError` carries one sentence that names the file and the problem; the CLI
prints that sentence and exits non-zero, without a traceback. Programming errors (bad
arguments to a Python function) raise :class:`ValueError` instead.
"""

from __future__ import annotations

from pathlib import Path


class LvwallError(Exception):
    """A problem with the user's input or environment, described in one sentence.

    ``exit_code`` is the status the CLI exits with: 1, or 130 for an interruption.
    """

    exit_code = 1


class RunInterruptedError(LvwallError):
    """The user stopped a long command (Ctrl+C); the sentence says how to continue it."""

    exit_code = 130


class PathError(LvwallError):
    """A problem with one file or folder: the sentence is ``"{path}: {problem}"``."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DataError(PathError):
    """A dataset, recording, mask or metadata file is missing, unreadable or inconsistent."""


class ModelError(PathError):
    """A model or checkpoint file is missing, unknown or incompatible."""


class OutputError(PathError):
    """A file or folder that results should go to cannot be written, already holds other
    results, or (with ``--resume``) holds no run or a different one."""


def problem_with(error: LvwallError, path: str | Path) -> str:
    """``error``'s sentence for a line that already names ``path``: its problem alone where
    the error is about that file itself, the whole sentence otherwise."""
    if isinstance(error, PathError) and error.path == Path(path):
        return error.problem
    return str(error)
