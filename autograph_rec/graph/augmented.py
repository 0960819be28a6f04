"""AutoGraph's augmented graph: users, items and their quantized latent-factor nodes."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

logger = logging.getLogger(__name__)

NODE_TYPES = ("user", "item", "user_factor", "item_factor")
# Edge types of the heterogeneous view; every relation is stored with its reverse.
EDGE_TYPES = (
    ("user", "interacts", "item"),
    ("item", "rev_interacts", "user"),
    ("user", "has_factor", "user_factor"),
    ("user_factor", "rev_has_factor", "user"),
    ("item", "has_factor", "item_factor"),
    ("item_factor", "rev_has_factor", "item"),
)


def factor_edges(codes: np.ndarray | Tensor, num_levels: int, codebook_size: int) -> tuple[Tensor, Tensor]:
    r"""Edges from each entity to its factor node at each of the first ``num_levels`` levels.

    Factor node ids are ``level * codebook_size + code``: one node per (level, code) pair, so
    equal codes at different levels are different factors.

    Args:
        codes (np.ndarray or Tensor): codes ``[N, T]`` with values in ``[0, codebook_size)``.
        num_levels (int): levels used, ``1 <= num_levels <= T``.
        codebook_size (int): codes per level ``K``.

    Returns:
        (Tensor, Tensor): entity ids ``[N * num_levels]`` and factor ids ``[N * num_levels]``.
    """
    codes = torch.as_tensor(np.asarray(codes) if not isinstance(codes, Tensor) else codes)
    if codes.is_floating_point() and not torch.equal(codes, codes.round()):  # the cast below would truncate
        raise ValueError("codes must be integers, got non-integral values")
    codes = codes.long()
    if codes.dim() != 2:
        raise ValueError(f"codes must have shape [N, levels], got {tuple(codes.shape)}")
    if not 1 <= num_levels <= codes.size(1):
        raise ValueError(f"num_levels must be in [1, {codes.size(1)}] (levels available), got {num_levels}")
    used = codes[:, :num_levels]
    if used.numel() and (used.min() < 0 or used.max() >= codebook_size):
        raise ValueError(f"codes must lie in [0, {codebook_size}), got [{int(used.min())}, {int(used.max())}]")
    offsets = torch.arange(num_levels, dtype=torch.long) * codebook_size
    entity = torch.arange(codes.size(0), dtype=torch.long).repeat_interleave(num_levels)
    factor = (used + offsets).reshape(-1)
    return entity, factor


@dataclass
class AugmentedGraph:
    r"""The augmented graph in both a heterogeneous and a homogeneous layout.

    Homogeneous node order: users ``[0, U)``, items ``[U, U+I)``, user factors
    ``[U+I, U+I+Fu)``, item factors ``[U+I+Fu, N)``. ``edge_index`` holds every edge in both
    directions; ``edge_type`` says which relation each column is (an index into
    :data:`EDGE_TYPES`), so metapath subgraphs are one boolean mask away.

    Attributes:
        num_users, num_items, num_user_factors, num_item_factors (int): node counts.
        edge_index (Tensor): ``[2, E]`` homogeneous edges (both directions).
        edge_type (Tensor): ``[E]`` relation index of each edge.
        edge_weight (Tensor): ``[E]`` weights (1 for interactions, ``factor_weight`` for factor edges).
    """

    num_users: int
    num_items: int
    num_user_factors: int
    num_item_factors: int
    edge_index: Tensor
    edge_type: Tensor
    edge_weight: Tensor

    @property
    def num_nodes(self) -> int:
        return self.num_users + self.num_items + self.num_user_factors + self.num_item_factors

    @property
    def offsets(self) -> dict[str, int]:
        """First homogeneous id of each node type."""
        u, i, fu = self.num_users, self.num_items, self.num_user_factors
        return {"user": 0, "item": u, "user_factor": u + i, "item_factor": u + i + fu}

    def subgraph(self, relations: tuple[str, ...]) -> tuple[Tensor, Tensor]:
        """``(edge_index, edge_weight)`` of the edges whose relation name is in ``relations``.

        Relation names are the middle of :data:`EDGE_TYPES` qualified by the source type, e.g.
        ``"user:interacts"``, ``"user:has_factor"``, ``"user_factor:rev_has_factor"``.
        """
        names = [f"{src}:{rel}" for src, rel, _ in EDGE_TYPES]
        unknown = set(relations) - set(names)
        if unknown:
            raise ValueError(f"unknown relations {sorted(unknown)}; known: {names}")
        wanted = torch.tensor([names.index(r) for r in relations], dtype=torch.long, device=self.edge_type.device)
        mask = torch.isin(self.edge_type, wanted)
        return self.edge_index[:, mask], self.edge_weight[mask]

    def to(self, device) -> "AugmentedGraph":
        return AugmentedGraph(
            self.num_users, self.num_items, self.num_user_factors, self.num_item_factors,
            self.edge_index.to(device), self.edge_type.to(device), self.edge_weight.to(device),
        )

    def save(self, path: str | Path) -> None:
        """Write the graph as tensors only (loadable with ``torch.load(weights_only=True)``)."""
        counts = torch.tensor([self.num_users, self.num_items, self.num_user_factors, self.num_item_factors])
        torch.save({"counts": counts, "edge_index": self.edge_index.cpu(), "edge_type": self.edge_type.cpu(),
                    "edge_weight": self.edge_weight.cpu()}, path)

    @classmethod
    def load(cls, path: str | Path, device="cpu") -> "AugmentedGraph":
        state = torch.load(path, map_location=device, weights_only=True)
        return cls(*[int(c) for c in state["counts"]], state["edge_index"], state["edge_type"], state["edge_weight"])

    def to_hetero_data(self):
        """The same graph as a :class:`torch_geometric.data.HeteroData`."""
        from torch_geometric.data import HeteroData

        data = HeteroData()
        counts = {
            "user": self.num_users, "item": self.num_items,
            "user_factor": self.num_user_factors, "item_factor": self.num_item_factors,
        }
        for node_type, n in counts.items():
            data[node_type].num_nodes = n
        offsets = self.offsets
        for t, (src, rel, dst) in enumerate(EDGE_TYPES):
            mask = self.edge_type == t
            ei = self.edge_index[:, mask]
            data[src, rel, dst].edge_index = torch.stack([ei[0] - offsets[src], ei[1] - offsets[dst]])
            data[src, rel, dst].edge_weight = self.edge_weight[mask]
        return data


class AugmentedGraphBuilder:
    r"""Builds AutoGraph's graph from training interactions and quantized codes.

    From Shan et al., "LLM-based Automated Graph Construction for Recommendation"
    (AutoGraph, KDD 2025): nodes are users, items, user factors and item factors; edges are
    user–item (**training interactions only**), user–user-factor and item–item-factor for the
    first ``num_levels`` code levels (the paper finds levels beyond 2 hurt). There are no u–u,
    i–i or u–item-factor edges. Time and memory are linear in nodes + edges.

    Args:
        num_levels (int): code levels that become factor edges. (default: ``2``)
        factor_weight (float): weight of factor edges relative to interactions. (default: ``1.0``)
    """

    def __init__(self, num_levels: int = 2, factor_weight: float = 1.0):
        if num_levels < 0:
            raise ValueError(f"num_levels must be >= 0, got {num_levels}")
        # a negative weight makes node degrees negative: training then failed with a NaN loss
        if not (math.isfinite(factor_weight) and factor_weight >= 0):
            raise ValueError(f"factor_weight must be a finite number >= 0, got {factor_weight!r}")
        self.num_levels = num_levels
        self.factor_weight = factor_weight

    def build(
        self,
        train_users: np.ndarray,
        train_items: np.ndarray,
        num_users: int,
        num_items: int,
        user_codes: np.ndarray | Tensor | None = None,
        item_codes: np.ndarray | Tensor | None = None,
        user_codebook_size: int = 0,
        item_codebook_size: int = 0,
    ) -> AugmentedGraph:
        r"""Assemble the graph.

        Args:
            train_users (np.ndarray): user ids of the training interactions ``[E]``.
            train_items (np.ndarray): item ids of the training interactions ``[E]``.
            num_users (int): ``U``.
            num_items (int): ``I``.
            user_codes (array, optional): ``[U, T]`` user codes (``None``: no user factors).
            item_codes (array, optional): ``[I, T]`` item codes (``None``: no item factors).
            user_codebook_size (int): ``K`` of the user quantizer.
            item_codebook_size (int): ``K`` of the item quantizer.
        """
        u = torch.as_tensor(np.asarray(train_users), dtype=torch.long)
        i = torch.as_tensor(np.asarray(train_items), dtype=torch.long)
        if u.dim() != 1 or u.shape != i.shape:
            raise ValueError(
                f"train_users and train_items must be 1-D of equal length, got {tuple(u.shape)} and {tuple(i.shape)}"
            )
        # negative ids used to pass: an item -1 became the edge to user num_users - 1
        for name, ids, n in (("train_users", u, num_users), ("train_items", i, num_items)):
            if ids.numel() and (ids.min() < 0 or ids.max() >= n):
                raise ValueError(f"{name} must lie in [0, {n}), got [{int(ids.min())}, {int(ids.max())}]")
        srcs, dsts, types, weights = [], [], [], []

        def add(src: Tensor, dst: Tensor, t: int, w: float) -> None:
            srcs.append(src)
            dsts.append(dst)
            types.append(torch.full_like(src, t))
            weights.append(torch.full(src.shape, w, dtype=torch.float32))

        add(u, i + num_users, 0, 1.0)
        add(i + num_users, u, 1, 1.0)
        num_fu = num_fi = 0
        base = num_users + num_items
        for kind, codes, size in (("user", user_codes, user_codebook_size), ("item", item_codes, item_codebook_size)):
            if codes is not None and self.num_levels > 0 and size < 1:  # else: "codes must lie in [0, 0)"
                raise ValueError(
                    f"{kind}_codebook_size (the {kind} quantizer's codebook_size) is needed with {kind}_codes, got {size}"
                )
        if user_codes is not None and self.num_levels > 0:
            if len(user_codes) != num_users:
                raise ValueError(f"user_codes has {len(user_codes)} rows for {num_users} users")
            ent, fac = factor_edges(user_codes, self.num_levels, user_codebook_size)
            num_fu = self.num_levels * user_codebook_size
            add(ent, fac + base, 2, self.factor_weight)
            add(fac + base, ent, 3, self.factor_weight)
        if item_codes is not None and self.num_levels > 0:
            if len(item_codes) != num_items:
                raise ValueError(f"item_codes has {len(item_codes)} rows for {num_items} items")
            ent, fac = factor_edges(item_codes, self.num_levels, item_codebook_size)
            num_fi = self.num_levels * item_codebook_size
            add(ent + num_users, fac + base + num_fu, 4, self.factor_weight)
            add(fac + base + num_fu, ent + num_users, 5, self.factor_weight)
        graph = AugmentedGraph(
            num_users, num_items, num_fu, num_fi,
            torch.stack([torch.cat(srcs), torch.cat(dsts)]), torch.cat(types), torch.cat(weights),
        )
        logger.info(
            "augmented graph: %d users, %d items, %d user factors, %d item factors, %d edges",
            num_users, num_items, num_fu, num_fi, graph.edge_index.size(1),
        )
        return graph
