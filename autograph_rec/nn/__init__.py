r"""Collaborative-filtering backbones on PyTorch Geometric's homogeneous
user-item layout (users ``0..U-1``, item ``i`` is node ``U + i``).

All backbones share the API of :class:`torch_geometric.nn.models.LightGCN`
plus the trainer hooks of :class:`~autograph_rec.nn.base.RecommenderBackbone`.
Build them by name with :func:`build_backbone`.

Example (the loop the trainer runs)::

    edge_index = bipartite_edge_index(train_users, train_items, num_users)
    adj = normalized_adjacency(edge_index, num_users + num_items)  # once per graph
    model = build_backbone("lightgcn", num_users, num_items, embedding_dim=64, seed=0)
    gen = torch.Generator().manual_seed(0)
    for epoch in range(num_epochs):
        model.train()
        model.on_epoch_start(edge_index, gen)  # SGL redraws its views here
        for users, pos, neg in batches:  # item ids 0-based, not offset
            loss, parts = model.training_loss(adj, users, pos, neg, lambda_reg=1e-4)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        model.eval()
        with torch.no_grad():
            user_emb, item_emb = model.user_item_embeddings(adj)

Pass the *same* ``adj`` object every batch: per-adjacency work (LightGCN's
edge-dropout mirror permutation) is cached by identity.
"""

from __future__ import annotations

import inspect

from autograph_rec.nn.base import RecommenderBackbone
from autograph_rec.nn.lightgcn import LightGCN
from autograph_rec.nn.losses import bpr_loss, info_nce
from autograph_rec.nn.mf import MF
from autograph_rec.nn.ngcf import NGCF, NGCFConv
from autograph_rec.nn.propagation import (
    adjacency_edge_index,
    drop_adjacency_entries,
    multi_hop_propagate,
    normalized_adjacency,
    propagate,
    transpose_permutation,
)
from autograph_rec.nn.sgl import SGL
from autograph_rec.nn.simgcl import SimGCL

__all__ = [
    "BACKBONES",
    "build_backbone",
    "RecommenderBackbone",
    "MF",
    "LightGCN",
    "NGCF",
    "NGCFConv",
    "SGL",
    "SimGCL",
    "normalized_adjacency",
    "propagate",
    "multi_hop_propagate",
    "drop_adjacency_entries",
    "transpose_permutation",
    "adjacency_edge_index",
    "bpr_loss",
    "info_nce",
]

BACKBONES: dict[str, type[RecommenderBackbone]] = {
    "mf": MF,
    "lightgcn": LightGCN,
    "ngcf": NGCF,
    "sgl": SGL,
    "simgcl": SimGCL,
}


def build_backbone(name: str, num_users: int, num_items: int, **kwargs) -> RecommenderBackbone:
    r"""Instantiates a backbone from :data:`BACKBONES` by (case-insensitive) name.

    Args:
        name (str): one of ``"mf"``, ``"lightgcn"``, ``"ngcf"``, ``"sgl"``, ``"simgcl"``.
        num_users (int): number of users.
        num_items (int): number of items.
        **kwargs: constructor arguments of the chosen class.

    Raises:
        ValueError: for an unknown name or an argument the class does not take
            (the message lists the valid choices).
    """
    key = str(name).lower()
    if key not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    cls = BACKBONES[key]
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p not in ("self", "num_users", "num_items")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(f"{cls.__name__} got unknown argument(s) {unknown}; it accepts {accepted}")
    return cls(num_users, num_items, **kwargs)

# AutoGraph: the wrapper and its metapath aggregators (imported last: they build on the backbones)
from autograph_rec.nn.autograph import AGGREGATIONS, AutoGraph  # noqa: E402
from autograph_rec.nn.gat_metapath import GATMetapathAggregator, cap_in_degree  # noqa: E402
from autograph_rec.nn.metapath import METAPATHS, MetapathPropagation, SemanticAttention  # noqa: E402
from autograph_rec.nn.module_backbone import ModuleBackbone  # noqa: E402

__all__ += ["AGGREGATIONS", "AutoGraph", "GATMetapathAggregator", "cap_in_degree", "METAPATHS",
            "MetapathPropagation", "SemanticAttention", "ModuleBackbone"]
