"""Interactions from any CSV file or pandas DataFrame, given a column mapping."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .build import dataset_from_frame
from .dataset import InteractionDataset
from .errors import DataError, MissingDataError

logger = logging.getLogger(__name__)

DEFAULT_COLUMNS = {"user": "user_id", "item": "item_id", "rating": "rating", "timestamp": "timestamp"}


def from_dataframe(
    frame: pd.DataFrame,
    columns: dict[str, str] | None = None,
    name: str = "dataframe",
    user_features: pd.DataFrame | None = None,
    item_features: pd.DataFrame | None = None,
    domain: str = "generic",
    duplicates: str = "last",
    source: str = "DataFrame",
    first_line: int = 0,
) -> InteractionDataset:
    r"""Build a dataset from a DataFrame of interactions.

    Args:
        frame (pd.DataFrame): one row per interaction.
        columns (dict, optional): maps our fields ``user``, ``item`` (required) and ``rating``,
            ``timestamp`` (optional) to column names of ``frame``. Defaults to
            ``user_id``/``item_id``/``rating``/``timestamp``; optional fields absent from the frame
            are skipped unless named explicitly.
        name (str): dataset name.
        user_features (pd.DataFrame, optional): side text indexed by raw user id.
        item_features (pd.DataFrame, optional): side text indexed by raw item id (e.g. ``title``).
        domain (str): prompt domain (``"movies"``, ``"books"``, ``"generic"``).
        duplicates (str): policy for repeated (user, item) rows: ``"last"``, ``"first"`` or ``"error"``.
        source (str): name used in error messages.
        first_line (int): file line of the frame's first row (1 for a CSV with header would be 2).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    explicit = dict(columns or {})
    mapping = {**DEFAULT_COLUMNS, **explicit}
    unknown = set(explicit) - set(DEFAULT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown column roles {sorted(unknown)}; expected some of {sorted(DEFAULT_COLUMNS)}")
    picked = {}
    for role, col in mapping.items():
        if col in frame.columns:
            picked[role] = frame[col]
        elif role in ("user", "item") or role in explicit:
            raise DataError(
                f"missing column {col!r} for {role}; available columns: {list(frame.columns)}", path=source
            )
    out = pd.DataFrame(picked)
    if len(out) == 0:
        raise DataError("no interactions (the table is empty)", path=source)
    for role in ("user", "item"):
        nulls = out[role].isna().to_numpy()
        if nulls.any():
            row = int(nulls.argmax())
            raise DataError(f"empty {role} id ({mapping[role]})", path=source, line=row + first_line if first_line else None)
        twins = _id_twins(out[role])
        if twins is not None:
            a, b = twins
            where = f" (lines {a + first_line} and {b + first_line})" if first_line else ""
            first, second = out[role].iloc[a], out[role].iloc[b]
            how = ("surrounding whitespace" if type(first) is type(second)
                   else f"type ({type(first).__name__} vs {type(second).__name__})")
            raise DataError(
                f"{role} ids {first!r} and {second!r} ({mapping[role]}) differ only by {how}{where} "
                f"and would be two {role}s; make the column one type, stripped, or check the separator",
                path=source,
                line=b + first_line if first_line else None,
            )
    for role in ("rating", "timestamp"):
        if role in out:
            values = pd.to_numeric(out[role], errors="coerce")
            # infinite values parse as numbers: inf ratings passed every min_rating threshold
            bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                row = int(bad.argmax())
                value = out[role].iloc[row]
                shown = "an empty value" if pd.isna(value) else repr(value)
                raise DataError(
                    f"{mapping[role]} must be a finite number, got {shown} "
                    f"({int(bad.sum())} such row{'s' if bad.sum() > 1 else ''})",
                    path=source,
                    line=row + first_line if first_line else None,
                )
            if role == "timestamp":
                check_timestamps(values.to_numpy(dtype=float), mapping[role], source, first_line)
            else:
                check_ratings(values.to_numpy(dtype=float), mapping[role], source, first_line)
            out[role] = values
    return dataset_from_frame(name, out, user_features, item_features, domain, duplicates, source)


def check_timestamps(values: np.ndarray, column: str, source: str, first_line: int | None) -> None:
    """Timestamps are stored as int64: reject values outside it (1e30 became -2**63, reordering a
    temporal split) and say when fractions are dropped (1.2 and 1.7 both become 1, a tie)."""
    out_of_range = np.abs(values) >= 2.0 ** 63
    if out_of_range.any():
        row = int(out_of_range.argmax())
        raise DataError(f"{column} {float(values[row])!r} does not fit a 64-bit integer timestamp",
                        path=source, line=row + first_line if first_line else None)
    fractional = values != np.floor(values)
    if fractional.any():
        logger.warning("%s: %d %s values have a fractional part (e.g. %r) and are truncated to integers; "
                       "scale them (e.g. to milliseconds) if their order within a unit matters",
                       source, int(fractional.sum()), column, float(values[int(fractional.argmax())]))


def check_ratings(values: np.ndarray, column: str, source: str, first_line: int | None) -> None:
    """Ratings are stored as float32: reject finite values beyond its range, which became inf
    there (and, like an inf in the file, passed every min_rating threshold)."""
    out_of_range = np.abs(values) > np.finfo(np.float32).max
    if out_of_range.any():
        row = int(out_of_range.argmax())
        raise DataError(f"{column} {float(values[row])!r} does not fit a 32-bit float rating",
                        path=source, line=row + first_line if first_line else None)


def _id_twins(ids: pd.Series) -> tuple[int, int] | None:
    """Positions of the first two distinct ids that are equal as stripped text: ``"1"`` and ``" 1"``,
    or the number ``1`` and the string ``"1"`` in one DataFrame column."""
    if ids.dtype != object and not isinstance(ids.dtype, pd.StringDtype):
        return None
    stripped = ids.astype(str).str.strip()
    if not (stripped != ids).any():  # all strings, none padded: nothing can collide
        return None
    table = pd.DataFrame({"raw": ids.to_numpy(), "key": stripped.to_numpy()})
    table = table.drop_duplicates("raw")
    twin = table.duplicated("key", keep=False).to_numpy()
    if not twin.any():
        return None
    key = table["key"].to_numpy()[twin.argmax()]
    a, b = table.index[table["key"] == key][:2]
    return int(a), int(b)


def load_csv(
    path: str | Path,
    columns: dict[str, str] | None = None,
    sep: str = ",",
    name: str | None = None,
    item_features_path: str | Path | None = None,
    item_id_column: str | None = None,
    domain: str = "generic",
    duplicates: str = "last",
) -> InteractionDataset:
    """Read interactions from a delimited text file with a header line (see :func:`from_dataframe`).

    Args:
        path (str or Path): the interactions file.
        columns (dict, optional): column mapping, as in :func:`from_dataframe`.
        sep (str): field separator.
        name (str, optional): dataset name (default: the file stem).
        item_features_path (str or Path, optional): a CSV of item side text (e.g. titles).
        item_id_column (str, optional): id column of that file (default: the interactions' item column).
        domain (str): prompt domain.
        duplicates (str): duplicate policy.
    """
    path = Path(path)
    if not path.is_file():
        # MissingDataError is a FileNotFoundError the CLI reports as a one-line message
        raise MissingDataError(f"interactions file not found: {path}")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", path) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"malformed row: {exc}", path) from None
    item_features = None
    if item_features_path is not None:
        id_col = item_id_column or {**DEFAULT_COLUMNS, **(columns or {})}["item"]
        if not Path(item_features_path).is_file():
            raise MissingDataError(f"item features file not found: {item_features_path}")
        try:
            feats = pd.read_csv(item_features_path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError("file is empty", item_features_path) from None
        except pd.errors.ParserError as exc:
            raise DataError(f"malformed row: {exc}", item_features_path) from None
        if id_col not in feats.columns:
            raise DataError(f"missing id column {id_col!r}; available: {list(feats.columns)}", item_features_path)
        repeated = feats[id_col].duplicated().to_numpy()
        if repeated.any():
            row = int(repeated.argmax())
            raise DataError(
                f"item {feats[id_col].iloc[row]!r} has more than one row ({int(repeated.sum())} repeated id(s)); "
                "side information needs one row per item",
                item_features_path,
                row + 2,
            )
        item_features = feats.set_index(id_col)
    # line 1 is the header, so the first data row is line 2
    return from_dataframe(
        frame, columns, name or path.stem, None, item_features, domain, duplicates, str(path), first_line=2
    )
