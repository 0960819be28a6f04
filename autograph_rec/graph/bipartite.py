"""The plain user-item interaction graph in PyG's homogeneous layout."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def bipartite_edge_index(
    users: np.ndarray | Tensor,
    items: np.ndarray | Tensor,
    num_users: int,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Homogeneous ``edge_index`` of an undirected user-item graph.

    Users keep ids ``0 .. num_users-1``; item ``i`` becomes node ``num_users + i``
    (the layout of :class:`torch_geometric.nn.models.LightGCN`). Both directions
    are returned so message passing reaches users and items alike.

    Args:
        users (np.ndarray or Tensor): user ids of the (training) interactions, shape ``[E]``.
        items (np.ndarray or Tensor): item ids, shape ``[E]``.
        num_users (int): number of users (offset of the item nodes).
        device: where the result lives.

    Returns:
        Tensor: ``edge_index`` of shape ``[2, 2 * E]`` (``int64``).
    """
    u = torch.as_tensor(np.asarray(users) if not isinstance(users, Tensor) else users, dtype=torch.long)
    i = torch.as_tensor(np.asarray(items) if not isinstance(items, Tensor) else items, dtype=torch.long)
    if u.shape != i.shape or u.dim() != 1:
        raise ValueError(f"users and items must be 1-D and of equal length, got {tuple(u.shape)} and {tuple(i.shape)}")
    # a negative item id would land on a user node (num_users - 1 for item -1)
    for name, ids in (("users", u), ("items", i)):
        if ids.numel() and int(ids.min()) < 0:
            raise ValueError(f"{name} must be non-negative ids, got {int(ids.min())}")
    i = i + num_users
    edge_index = torch.stack([torch.cat([u, i]), torch.cat([i, u])])
    return edge_index.to(device) if device is not None else edge_index
