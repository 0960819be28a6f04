"""Strict readers for delimited interaction files: fast, with exact error locations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .sources import open_text


def _scan_for_error(path: Path, sep: str, columns: list[str], numeric: set[str], encoding: str, skip: int) -> None:
    """Walk the file line by line and raise a :class:`DataError` at the first bad line."""
    with open_text(path, encoding) as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno <= skip:
                continue
            line = line.rstrip("\r\n")
            if not line.strip():
                raise DataError("empty line", path, lineno)
            fields = line.split(sep)
            if len(fields) != len(columns):
                raise DataError(
                    f"expected {len(columns)} fields ({sep.join(columns)}) separated by {sep!r}, found {len(fields)}: {line[:80]!r}",
                    path,
                    lineno,
                )
            for name, value in zip(columns, fields):
                if name in numeric:
                    try:
                        float(value)
                    except ValueError:
                        raise DataError(f"{name} must be numeric, got {value!r}", path, lineno) from None


def read_delimited(
    path: Path,
    sep: str,
    columns: list[str],
    numeric: set[str],
    encoding: str = "utf-8",
    header: bool = False,
) -> pd.DataFrame:
    """Read a delimited file whose every line has exactly ``len(columns)`` fields.

    Args:
        path (Path): the file (``.gz`` is decompressed).
        sep (str): field separator (multi-character separators such as ``"::"`` are fine).
        columns (list[str]): names of the fields, in file order.
        numeric (set[str]): fields that must parse as numbers.
        encoding (str): text encoding (MovieLens files are latin-1).
        header (bool): whether the first line is a header to skip.

    Raises:
        DataError: naming the file, the 1-based line and what is wrong with it.
    """
    with open_text(path, encoding) as fh:
        text = fh.read()
    if not text.strip():
        raise DataError("file is empty", path)
    # Splitting on a literal separator ourselves keeps multi-char separators fast and exact
    # (pandas would treat "::" as a regex and switch to its slow python engine).
    skip = 1 if header else 0
    lines = text.splitlines()[skip:]
    try:
        rows = [ln.split(sep) for ln in lines]
        if any(len(r) != len(columns) for r in rows):
            raise ValueError("ragged rows")
        frame = pd.DataFrame(rows, columns=columns)
        for name in numeric:
            frame[name] = pd.to_numeric(frame[name], errors="raise")
    except (ValueError, AssertionError, TypeError):
        _scan_for_error(path, sep, columns, numeric, encoding, skip)
        raise DataError("could not parse file", path) from None
    if frame[list(numeric)].isna().any().any():
        _scan_for_error(path, sep, columns, numeric, encoding, skip)
    return frame


def ensure_integer_ids(frame: pd.DataFrame, cols: list[str], path: Path, first_line: int = 1) -> None:
    """Raise :class:`DataError` at the first row whose id in ``cols`` is not an integer."""
    for col in cols:
        values = frame[col].to_numpy()
        bad = ~np.isfinite(values.astype(float)) | (values.astype(float) != np.round(values.astype(float)))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"{col} must be an integer id, got {values[row]!r}", path, row + first_line)


__all__ = ["read_delimited", "ensure_integer_ids"]
