"""Errors raised while reading or checking interaction data."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data, with the file and line it came from when known.

    Args:
        message (str): what is wrong.
        path (str or Path, optional): the file the problem was found in.
        line (int, optional): 1-based line number in ``path``.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else Path(path)
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}" + (f", line {line}" if line is not None else "") + ": "
        super().__init__(where + message)


class MissingDataError(FileNotFoundError):
    """A dataset file is not where any configured data folder says it should be.

    The message names the file, every place that was searched and how to fix it.
    """
