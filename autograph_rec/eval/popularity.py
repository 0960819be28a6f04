"""Most-popular baseline: every user gets the same item ranking."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from .evaluator import ScoreFn

logger = logging.getLogger(__name__)

__all__ = ["most_popular_scores"]


def most_popular_scores(train: sp.spmatrix, device: torch.device | str | None = None) -> ScoreFn:
    r"""Score function of the most-popular baseline.

    The score of item :math:`i` is its number of training users
    :math:`|\{u : (u, i) \in \text{train}\}|` (entries are binarised, so
    repeated or weighted interactions count once). It is the floor any
    collaborative model should clear and a quick sanity check of a split.

    Args:
        train (scipy.sparse.spmatrix): training interactions, shape
            ``[num_users, num_items]``.
        device (torch.device or str, optional): where the count vector lives;
            ``None`` follows the device of the ``user_ids`` passed in.
            (default: ``None``)

    Returns:
        Callable: ``score_fn(user_ids: LongTensor [B]) -> Tensor [B, num_items]``
        (``float32``). The result is an expanded (read-only) view of one count
        vector, so it costs no ``B x num_items`` memory; equal counts tie and
        are ordered by :func:`torch.topk`.
    """
    if not sp.issparse(train):
        raise TypeError(f"'train' must be a scipy.sparse matrix, got {type(train).__name__}")
    csc = sp.csc_matrix(train)
    csc.sum_duplicates()
    csc.eliminate_zeros()
    counts = torch.as_tensor(np.diff(csc.indptr).astype(np.float32))
    if device is not None:
        counts = counts.to(device)
    cache = {counts.device: counts}
    logger.debug("popularity baseline over %d items, max count %d", counts.numel(), int(counts.max()) if counts.numel() else 0)

    def score_fn(user_ids: Tensor) -> Tensor:
        dev = user_ids.device
        if dev not in cache:
            cache[dev] = counts.to(dev)
        return cache[dev].unsqueeze(0).expand(user_ids.numel(), -1)

    return score_fn
