"""Turn raw-id interaction columns into an :class:`InteractionDataset`."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .dataset import InteractionDataset
from .errors import DataError
from .interactions import Interactions

logger = logging.getLogger(__name__)

DUPLICATE_POLICIES = ("last", "first", "error")


def drop_duplicates(frame: pd.DataFrame, policy: str = "last", source: str = "data") -> pd.DataFrame:
    """Resolve repeated (user, item) rows of ``frame`` by ``policy``.

    ``"last"`` keeps the most recent row (by ``timestamp`` when present, else by file order) —
    a re-rating replaces the earlier opinion; ``"first"`` keeps the earliest; ``"error"`` raises
    a :class:`DataError` naming the first repeated pair. The number dropped is logged.
    """
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates policy must be one of {DUPLICATE_POLICIES}, got {policy!r}")
    dup = frame.duplicated(["user", "item"], keep=False)
    if not dup.any():
        return frame
    if policy == "error":
        first = frame[dup].iloc[0]
        raise DataError(
            f"repeated (user, item) pair ({first['user']}, {first['item']}) "
            f"({int(dup.sum())} rows involved); pass duplicates='last' or 'first' to resolve",
            path=source,
        )
    ordered = frame.sort_values("timestamp", kind="stable") if "timestamp" in frame else frame
    kept = ordered.drop_duplicates(["user", "item"], keep=policy).sort_index()
    logger.info("%s: dropped %d repeated (user, item) rows (policy %r)", source, len(frame) - len(kept), policy)
    return kept


def dataset_from_frame(
    name: str,
    frame: pd.DataFrame,
    user_features: pd.DataFrame | None = None,
    item_features: pd.DataFrame | None = None,
    domain: str = "generic",
    duplicates: str = "last",
    source: str = "data",
) -> InteractionDataset:
    r"""Build a dataset from a frame with raw ids.

    Args:
        name (str): dataset name.
        frame (pd.DataFrame): columns ``user``, ``item`` and optionally ``rating``, ``timestamp``
            (raw ids of any hashable type).
        user_features (pd.DataFrame, optional): side information indexed by raw user id.
        item_features (pd.DataFrame, optional): side information indexed by raw item id.
        domain (str): prompt domain (``"movies"``, ``"books"`` or ``"generic"``).
        duplicates (str): policy for repeated (user, item) rows, see :func:`drop_duplicates`.
        source (str): where the rows came from, for error messages.
    """
    if len(frame) == 0:
        raise DataError("no interactions found", path=source)
    frame = drop_duplicates(frame.reset_index(drop=True), duplicates, source)
    user_codes, user_ids = pd.factorize(frame["user"], sort=True)
    item_codes, item_ids = pd.factorize(frame["item"], sort=True)
    inter = Interactions(
        user_codes,
        item_codes,
        frame["rating"].to_numpy() if "rating" in frame else None,
        frame["timestamp"].to_numpy() if "timestamp" in frame else None,
    )

    def align(features: pd.DataFrame | None, ids: pd.Index, kind: str) -> pd.DataFrame:
        if features is None:
            return pd.DataFrame(index=pd.RangeIndex(len(ids)))
        if features.index.has_duplicates:  # reindex below failed with "cannot reindex on an axis with duplicate labels"
            repeated = features.index[features.index.duplicated()].tolist()
            raise DataError(
                f"{kind}_features has more than one row for {kind} {repeated[0]!r} ({len(repeated)} repeated id(s)); "
                f"side information needs one row per {kind}",
                path=source,
            )
        missing = ~ids.isin(features.index)
        if missing.any():
            logger.warning("%s: %d %ss have no side information (e.g. %r)", source, int(missing.sum()), kind, ids[missing][0])
        return features.reindex(ids).reset_index(drop=True)

    return InteractionDataset(
        name=name,
        interactions=inter,
        user_ids=np.asarray(user_ids),
        item_ids=np.asarray(item_ids),
        user_features=align(user_features, user_ids, "user"),
        item_features=align(item_features, item_ids, "item"),
        domain=domain,
    )
