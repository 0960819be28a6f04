"""A column store of (user, item[, rating, timestamp]) interactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Interactions:
    r"""Interactions as parallel numpy columns, with internal (0-based) ids.

    Args:
        user (np.ndarray): user ids, shape ``[E]`` (``int64``).
        item (np.ndarray): item ids, shape ``[E]`` (``int64``).
        rating (np.ndarray, optional): explicit ratings, shape ``[E]`` (``float32``).
        timestamp (np.ndarray, optional): event times, shape ``[E]`` (``int64``).
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray | None = None
    timestamp: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", np.ascontiguousarray(self.user, dtype=np.int64))
        object.__setattr__(self, "item", np.ascontiguousarray(self.item, dtype=np.int64))
        n = len(self.user)
        if self.user.ndim != 1 or self.item.shape != (n,):
            raise ValueError(f"user and item must be 1-D of equal length, got {self.user.shape} and {self.item.shape}")
        for name, dtype in (("rating", np.float32), ("timestamp", np.int64)):
            col = getattr(self, name)
            if col is not None:
                col = np.ascontiguousarray(col, dtype=dtype)
                if col.shape != (n,):
                    raise ValueError(f"{name} has shape {col.shape}, expected ({n},)")
                object.__setattr__(self, name, col)

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask_or_index: np.ndarray) -> "Interactions":
        """The interactions selected by a boolean mask or an index array."""

        def pick(col):
            return None if col is None else col[mask_or_index]

        return Interactions(self.user[mask_or_index], self.item[mask_or_index], pick(self.rating), pick(self.timestamp))

    @staticmethod
    def concat(parts: list["Interactions"]) -> "Interactions":
        """Concatenate interaction sets (optional columns kept only if all parts have them)."""

        def cat(name):
            cols = [getattr(p, name) for p in parts]
            return None if any(c is None for c in cols) else np.concatenate(cols)

        return Interactions(cat("user"), cat("item"), cat("rating"), cat("timestamp"))

    def to_csr(self, num_users: int, num_items: int) -> sp.csr_matrix:
        """Binary ``[num_users, num_items]`` CSR matrix of these interactions (duplicates count once)."""
        mat = sp.csr_matrix(
            (np.ones(len(self), dtype=np.float32), (self.user, self.item)), shape=(num_users, num_items)
        )
        mat.sum_duplicates()
        mat.data[:] = 1.0
        return mat

    def pairs(self) -> np.ndarray:
        """Each interaction as one ``int64`` key ``user * 2**32 + item`` (for set operations)."""
        return (self.user << 32) | self.item
