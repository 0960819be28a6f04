"""The dataset object every stage reads: interactions, id maps and side text."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DataError
from .interactions import Interactions

logger = logging.getLogger(__name__)

DOMAINS = ("movies", "books", "generic")


@dataclass
class DataSplit:
    r"""Train / validation / test interactions over one id space.

    Args:
        train (Interactions): training interactions (the only ones any graph or prompt may use).
        valid (Interactions): validation interactions (model selection).
        test (Interactions): test interactions (reported once, never used to select).
        num_users (int): number of users.
        num_items (int): number of items.
    """

    train: Interactions
    valid: Interactions
    test: Interactions
    num_users: int
    num_items: int

    def __post_init__(self) -> None:
        self._csr: dict[str, sp.csr_matrix] = {}

    def csr(self, part: str) -> sp.csr_matrix:
        """Binary ``[num_users, num_items]`` CSR matrix of ``part`` in {"train", "valid", "test"} (cached)."""
        if part not in ("train", "valid", "test"):
            raise ValueError(f"unknown split part {part!r}; expected 'train', 'valid' or 'test'")
        if part not in self._csr:
            self._csr[part] = getattr(self, part).to_csr(self.num_users, self.num_items)
        return self._csr[part]

    def summary(self) -> dict[str, int]:
        return {
            "users": self.num_users,
            "items": self.num_items,
            "train": len(self.train),
            "valid": len(self.valid),
            "test": len(self.test),
        }

    def check_no_leak(self) -> None:
        """Raise :class:`DataError` if any (user, item) pair is in two parts."""
        keys = {p: np.unique(getattr(self, p).pairs()) for p in ("train", "valid", "test")}
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
            both = np.intersect1d(keys[a], keys[b], assume_unique=True)
            if len(both):
                raise DataError(f"{len(both)} (user, item) pairs are in both {a} and {b}")

    def require_train_for(self, part: str) -> None:
        """Raise :class:`DataError` if a user of ``part`` has no training interaction."""
        has_train = np.bincount(self.train.user, minlength=self.num_users) > 0
        users = np.unique(getattr(self, part).user)
        missing = users[~has_train[users]]
        if len(missing):
            raise DataError(
                f"{len(missing)} users of the {part} part have no training interaction "
                f"(first internal ids: {missing[:5].tolist()}); filter them or use a per-user split"
            )

    def save_npz(self, path) -> None:
        """Write the split as a portable ``.npz`` (used by the benchmark drivers of other libraries)."""
        arrays = {"num_users": self.num_users, "num_items": self.num_items}
        for p in ("train", "valid", "test"):
            arrays[f"{p}_user"] = getattr(self, p).user
            arrays[f"{p}_item"] = getattr(self, p).item
        np.savez_compressed(path, **arrays)

    @classmethod
    def load_npz(cls, path) -> "DataSplit":
        with np.load(path) as z:
            parts = {p: Interactions(z[f"{p}_user"], z[f"{p}_item"]) for p in ("train", "valid", "test")}
            return cls(**parts, num_users=int(z["num_users"]), num_items=int(z["num_items"]))


@dataclass
class InteractionDataset:
    r"""Users, items, their interactions and their side text.

    Internal ids are contiguous and 0-based; ``user_ids[u]`` / ``item_ids[i]`` give the raw ids
    of the source files. Side information lives in DataFrames indexed by internal id so prompt
    builders can read e.g. ``item_features.loc[i, "title"]``.

    Args:
        name (str): dataset name, e.g. ``"ml-100k"``.
        interactions (Interactions): all interactions (with ratings/timestamps when known).
        user_ids (np.ndarray): raw user id of each internal user, shape ``[num_users]``.
        item_ids (np.ndarray): raw item id of each internal item, shape ``[num_items]``.
        user_features (pd.DataFrame): one row per internal user (may have no columns).
        item_features (pd.DataFrame): one row per internal item (e.g. ``title``, ``genres``, ``year``).
        domain (str): prompt domain, one of ``"movies"``, ``"books"``, ``"generic"``.
        predefined_split (DataSplit, optional): a split shipped with the data (RLMRec), used by
            :func:`~autograph_rec.data.split.split_dataset` when ``method="predefined"``.
    """

    name: str
    interactions: Interactions
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_features: pd.DataFrame = field(default_factory=pd.DataFrame)
    item_features: pd.DataFrame = field(default_factory=pd.DataFrame)
    domain: str = "generic"
    predefined_split: DataSplit | None = None

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {DOMAINS}, got {self.domain!r}")
        if len(self.interactions) == 0:
            raise DataError(f"dataset {self.name!r} has no interactions")
        for kind, ids, feats in (("user", self.user_ids, self.user_features), ("item", self.item_ids, self.item_features)):
            n = len(ids)
            col = getattr(self.interactions, kind)
            if col.min() < 0 or col.max() >= n:
                raise DataError(f"dataset {self.name!r}: {kind} ids must lie in [0, {n}), got [{col.min()}, {col.max()}]")
            if len(feats.columns) == 0 and len(feats) == 0:
                feats = pd.DataFrame(index=pd.RangeIndex(n))
                setattr(self, f"{kind}_features", feats)
            if len(feats) != n:
                raise DataError(f"dataset {self.name!r}: {kind}_features has {len(feats)} rows for {n} {kind}s")

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def __repr__(self) -> str:
        return (
            f"InteractionDataset({self.name!r}, users={self.num_users}, items={self.num_items}, "
            f"interactions={len(self.interactions)}, domain={self.domain!r})"
        )

    def with_interactions(self, interactions: Interactions, name: str | None = None) -> "InteractionDataset":
        """A copy holding ``interactions``, re-indexed so that only users/items that occur remain.

        The predefined split, if any, is dropped (its ids would no longer match).
        """
        users, user_inv = np.unique(interactions.user, return_inverse=True)
        items, item_inv = np.unique(interactions.item, return_inverse=True)
        new = Interactions(user_inv, item_inv, interactions.rating, interactions.timestamp)
        if len(new) == 0:
            raise DataError(f"dataset {self.name!r}: no interactions left after filtering")
        return replace(
            self,
            name=name or self.name,
            interactions=new,
            user_ids=self.user_ids[users],
            item_ids=self.item_ids[items],
            user_features=self.user_features.iloc[users].reset_index(drop=True),
            item_features=self.item_features.iloc[items].reset_index(drop=True),
            predefined_split=None,
        )
