"""Uniform negative sampling for pairwise (BPR) training."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from .errors import DataError
from .interactions import Interactions


class NegativeSampler:
    r"""Draws items uniformly among those a user has **not** interacted with in training.

    Membership is checked against the sorted ``user * num_items + item`` keys of the positives
    with a binary search, and only the draws that hit a positive are redrawn, so a batch costs
    ``O(B log E)`` and the result never contains a training positive.

    Args:
        positives (Interactions): the training interactions.
        num_users (int): number of users.
        num_items (int): number of items.
        device: where the returned tensors live.
    """

    def __init__(self, positives: Interactions, num_users: int, num_items: int, device: torch.device | str = "cpu"):
        self.num_items = num_items
        self.device = torch.device(device)
        keys = np.unique(positives.user * num_items + positives.item)
        self._keys = torch.as_tensor(keys, device=self.device)
        # count distinct items per user: repeated (user, item) rows counted once per row made a
        # user with duplicates look like one who had interacted with every item
        degree = np.bincount(keys // num_items, minlength=num_users)
        full = np.flatnonzero(degree >= num_items)
        if len(full):
            raise DataError(f"users {full[:5].tolist()} interacted with every item; no negative exists for them")

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        """Whether each ``(users[j], items[j])`` is a training positive, shape ``[B]`` (bool)."""
        query = users * self.num_items + items
        pos = torch.searchsorted(self._keys, query).clamp_(max=len(self._keys) - 1)
        return self._keys[pos] == query

    def sample(self, users: Tensor, num_negatives: int = 1, generator: torch.Generator | None = None) -> Tensor:
        r"""Negative items for ``users``.

        Args:
            users (Tensor): user ids, shape ``[B]``.
            num_negatives (int): negatives per user.
            generator (torch.Generator, optional): source of randomness (on ``self.device``).

        Returns:
            Tensor: item ids, shape ``[B]`` if ``num_negatives == 1`` else ``[B, num_negatives]``.
        """
        users = users.to(self.device)
        u = users.repeat_interleave(num_negatives) if num_negatives > 1 else users
        items = torch.randint(self.num_items, u.shape, device=self.device, generator=generator)
        bad = self.is_positive(u, items)
        while bad.any():  # each round redraws only the collisions; terminates since no user is full
            idx = bad.nonzero(as_tuple=True)[0]
            items[idx] = torch.randint(self.num_items, idx.shape, device=self.device, generator=generator)
            bad[idx] = self.is_positive(u[idx], items[idx])
        return items if num_negatives == 1 else items.view(-1, num_negatives)


def bpr_batches(
    positives: Interactions,
    sampler: NegativeSampler,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    r"""One epoch of shuffled ``(users, pos_items, neg_items)`` batches, each of shape ``[B]``.

    Every training interaction appears once per epoch with one fresh uniform negative.
    """
    device = sampler.device
    users = torch.as_tensor(positives.user, device=device)
    items = torch.as_tensor(positives.item, device=device)
    perm = torch.randperm(len(users), device=device, generator=generator)
    users, items = users[perm], items[perm]
    negatives = sampler.sample(users, generator=generator)
    for start in range(0, len(users), batch_size):
        stop = start + batch_size
        yield users[start:stop], items[start:stop], negatives[start:stop]
