"""Strict readers for delimited interaction files: fast, with exact error locations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .sources import open_text


def _split_lines(text: str) -> list[str]:
    r"""Split ``text`` into lines at ``"\n"`` only, dropping one trailing ``"\r"`` per line.

    ``str.splitlines`` also breaks at ``\x85``, ``\x0b``, ``\x0c`` and ``\x1c``-``\x1e``; in a
    latin-1 file byte 0x85 (an ellipsis in cp1252 titles) decodes to ``\x85``, so one row became
    two ragged ones and no line number matched the file any more.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the final newline ends the last line; it does not start one
        lines.pop()
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def _scan_for_error(path: Path, lines: list[str], sep: str, columns: list[str], numeric: set[str], skip: int) -> None:
    """Walk ``lines`` (the file's lines after the ``skip`` header lines) and raise a
    :class:`DataError` at the first bad one."""
    for lineno, line in enumerate(lines, start=skip + 1):
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
                    number = float(value)
                except ValueError:
                    raise DataError(f"{name} must be numeric, got {value!r}", path, lineno) from None
                # "inf" and "nan" parse as floats; an inf rating passed every min_rating threshold
                if not math.isfinite(number):
                    raise DataError(f"{name} must be a finite number, got {value!r}", path, lineno)


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
    lines = _split_lines(text)[skip:]
    try:
        rows = [ln.split(sep) for ln in lines]
        if any(len(r) != len(columns) for r in rows):
            raise ValueError("ragged rows")
        frame = pd.DataFrame(rows, columns=columns)
        for name in numeric:
            frame[name] = pd.to_numeric(frame[name], errors="raise")
    except (ValueError, AssertionError, TypeError):
        _scan_for_error(path, lines, sep, columns, numeric, skip)
        raise DataError("could not parse file", path) from None
    if numeric and not np.isfinite(frame[list(numeric)].to_numpy(dtype=float)).all():
        _scan_for_error(path, lines, sep, columns, numeric, skip)
        raise DataError(f"non-finite value in {sorted(numeric)}", path)  # the scan should have named the line
    return frame


def ensure_integer_ids(frame: pd.DataFrame, cols: list[str], path: Path, first_line: int = 1) -> None:
    """Raise :class:`DataError` at the first row whose id in ``cols`` is not an integer that fits int64."""
    for col in cols:
        values = frame[col].to_numpy()
        as_float = values.astype(float)
        # ids are cast to int64 next; 1e30 is "integral" but wrapped to -2**63 there
        bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (np.abs(as_float) >= 2.0**63)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"{col} must be an integer id, got {values[row]!r}", path, row + first_line)


__all__ = ["read_delimited", "ensure_integer_ids"]
