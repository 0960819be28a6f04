"""Per-user training histories: the only interactions a user prompt may show."""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np


def train_histories(
    train, num_users: int, max_len: Optional[int] = 30
) -> Tuple[List[np.ndarray], List[Optional[np.ndarray]]]:
    r"""The last :obj:`max_len` training items of every user, oldest first.

    Takes the training :class:`~autograph_rec.data.Interactions` explicitly
    (not the whole dataset) so validation and test items cannot reach a
    prompt. Order is by timestamp when known, else by row order.

    Args:
        train (Interactions): Training interactions (internal ids).
        num_users (int): Number of users.
        max_len (int, optional): Keep the most recent :obj:`max_len` items
            (:obj:`None` keeps all). (default: :obj:`30`)

    Returns:
        ``(items, ratings)``: lists of length :obj:`num_users`; ``ratings[u]``
        is :obj:`None` when the data has no ratings.
    """
    user = np.asarray(train.user)
    ts = train.timestamp if train.timestamp is not None else np.arange(len(user))
    # Stable lexsort: by user, then time, ties keep file order.
    order = np.lexsort((np.arange(len(user)), ts, user))
    user_sorted = user[order]
    bounds = np.searchsorted(user_sorted, np.arange(num_users + 1))
    items, ratings = [], []
    for u in range(num_users):
        lo, hi = bounds[u], bounds[u + 1]
        if max_len is not None:
            lo = max(lo, hi - max_len)
        idx = order[lo:hi]
        items.append(np.asarray(train.item)[idx])
        ratings.append(None if train.rating is None else np.asarray(train.rating)[idx])
    return items, ratings
