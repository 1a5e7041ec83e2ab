"""One error type for bad input, and the one place that turns it into a user message.

Readers, writers and the CLI raise :class:`LiCellInputError`; the GUI shows
it as a notification and the CLI as one line with exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LiCellInputError", "cli_message", "EXIT_BAD_INPUT"]

#: Exit code of the CLI for bad input (a file it cannot use, a wrong option).
EXIT_BAD_INPUT = 2


class LiCellInputError(ValueError):
    """Bad input: names the file, the problem and, where known, a hint.

    Parameters
    ----------
    path : str or Path or None
        The file (or folder) the problem is in; None when no file is involved.
    problem : str
        What is wrong, in the user's words.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str, hint: str = "") -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``FILE: problem (hint)``."""
        where = f"{self.path}: " if self.path is not None else ""
        tail = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.problem}{tail}"

    def __reduce__(self):  # picklable across dask workers
        return (type(self), (self.path, self.problem, self.hint))


def cli_message(exc: BaseException) -> str:
    """One line describing ``exc`` for the command line."""
    if isinstance(exc, LiCellInputError):
        return f"napari-licell: error: {exc.message}"
    return f"napari-licell: error: {type(exc).__name__}: {exc}"
