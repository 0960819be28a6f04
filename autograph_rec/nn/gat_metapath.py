r"""The GAT metapath aggregator of AutoGraph.

`Shan et al., KDD 2025 <https://arxiv.org/abs/2412.18241>`_ aggregate the
augmented graph with graph attention (2 heads, hidden size 32, at most 15
sampled neighbours): the semantic paths u→q→u and i→q→i first, then the
interaction paths u→i and i→u, and feed the resulting vector to the backbone
as an extra feature. This module is the full-graph form of that aggregator
(PyG's neighbour loaders need pyg-lib): the neighbour cap is applied once, by a
seeded subsample of each node's incoming edges per relation.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, ModuleDict

from autograph_rec.graph.augmented import AugmentedGraph
from autograph_rec.nn.base import seeded_generator, xavier_uniform_
from autograph_rec.nn.metapath import check_paths

logger = logging.getLogger(__name__)

__all__ = ["GATMetapathAggregator", "cap_in_degree"]


def cap_in_degree(edge_index: Tensor, max_neighbors: int | None, generator: torch.Generator | None = None) -> Tensor:
    r"""Keeps at most :obj:`max_neighbors` incoming edges per destination node,
    chosen uniformly at random (all edges of nodes below the cap are kept).

    Args:
        edge_index (torch.Tensor): ``[2, E]`` (row 1 = destinations).
        max_neighbors (int, optional): the cap; :obj:`None` keeps every edge.
        generator (torch.Generator, optional): CPU generator for the draw.

    Returns:
        torch.Tensor: boolean mask ``[E]`` of the kept edges.
    """
    num_edges = edge_index.size(1)
    if max_neighbors is None or num_edges == 0:
        return torch.ones(num_edges, dtype=torch.bool, device=edge_index.device)
    if int(max_neighbors) != max_neighbors or max_neighbors < 1:
        raise ValueError(f"max_neighbors must be a positive integer or None, got {max_neighbors!r}")
    dst = edge_index[1].cpu()
    noise = torch.rand(num_edges, generator=generator)
    # Sort by (dst, random key): the rank within each destination's run is a
    # uniform random order, and ranks below the cap are kept.
    order = torch.argsort(noise)
    order = order[torch.argsort(dst[order], stable=True)]
    sorted_dst = dst[order]
    counts = torch.bincount(sorted_dst)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(num_edges) - starts[sorted_dst]
    keep = torch.zeros(num_edges, dtype=torch.bool)
    keep[order[rank < max_neighbors]] = True
    return keep.to(edge_index.device)


class GATMetapathAggregator(torch.nn.Module):
    r"""Two-stage GAT over AutoGraph's metapaths (the paper's aggregator).

    Stage 1, semantic paths (each a two-hop bipartite GAT):
    u→q→u: :math:`\mathbf{q} = \mathrm{GAT}_{u\to q}(\mathbf{x}_u, \mathbf{x}_q)`,
    :math:`\mathbf{s}_u = \mathrm{GAT}_{q\to u}(\mathbf{q}, \mathbf{x}_u)`, and
    likewise i→q→i for items. A dropped semantic path is replaced by a linear
    map of the node's own features.
    Stage 2, interaction paths:
    :math:`\mathbf{h}_u = \mathrm{GAT}_{i\to u}(\mathbf{s}_i, \mathbf{s}_u)`,
    :math:`\mathbf{h}_i = \mathrm{GAT}_{u\to i}(\mathbf{s}_u, \mathbf{s}_i)`
    (skipped when ``"ui"`` is not among the paths: then :math:`\mathbf{h} =
    \mathbf{s}`).

    Every layer is a :class:`torch_geometric.nn.conv.GATConv` with
    :obj:`heads` heads averaged to :obj:`hidden_channels` outputs, plus a
    residual linear map of the destination's features (so nodes with no
    sampled neighbour still get a vector), and no self-loops (the graphs are bipartite);
    ELU follows every layer but the last.

    Args:
        graph (AugmentedGraph): the augmented graph.
        in_channels (int): feature size of every node.
        hidden_channels (int, optional): output size. (default: :obj:`32`)
        heads (int, optional): attention heads. (default: :obj:`2`)
        paths (tuple[str], optional): subset of ``("uqu", "iqi", "ui")``.
            (default: all three)
        max_neighbors (int, optional): incoming edges kept per node and
            relation (seeded subsample, drawn once, see :obj:`seed`);
            :obj:`None` keeps all.
            (default: :obj:`15`)
        dropout (float, optional): attention dropout in training mode.
            (default: :obj:`0.0`)
        seed (int, optional): seeds the initialisation and the subsample
            (each from its own stream of the seed, see
            :data:`~autograph_rec.nn.base.SEED_OFFSETS`). Without a seed the
            initialisation uses the global generator but the subsample still
            comes from a fixed seed: it is not part of the ``state_dict``, so
            a model rebuilt on the same graph must draw the same one.
            (default: :obj:`None`)
    """

    def __init__(
        self,
        graph: AugmentedGraph,
        in_channels: int,
        hidden_channels: int = 32,
        heads: int = 2,
        paths=("uqu", "iqi", "ui"),
        max_neighbors: int | None = 15,
        dropout: float = 0.0,
        seed: int | None = None,
    ):
        super().__init__()
        from torch_geometric.nn import GATConv

        self.paths = check_paths(paths)
        for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels), ("heads", heads)):
            if int(value) != value or value < 1:  # heads=0 failed later in a reshape of an empty tensor
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_channels, self.hidden_channels, self.heads = int(in_channels), int(hidden_channels), int(heads)
        self.max_neighbors = max_neighbors
        self.seed = seed
        self.num_users, self.num_items = graph.num_users, graph.num_items
        off = graph.offsets
        # The sample lives in non-persistent buffers, so it must be a function of the graph and
        # the seed alone (a fixed one when none is given) for a state_dict round trip to hold.
        sample_gen = seeded_generator(0 if seed is None else seed, "gat_sample")

        def local(relation: str, src_type: str, dst_type: str) -> Tensor:
            edge_index, _ = graph.subgraph((relation,))
            edge_index = torch.stack([edge_index[0] - off[src_type], edge_index[1] - off[dst_type]])
            return edge_index[:, cap_in_degree(edge_index, max_neighbors, sample_gen)].clone()

        self.convs = ModuleDict()
        self.self_lins = ModuleDict()
        # (name, relation, source node type, destination node type)
        self._relations: list[tuple[str, str, str, str]] = []
        sem = {"uqu": ("user", "user_factor"), "iqi": ("item", "item_factor")}
        for path, (ent, fac) in sem.items():
            if path in self.paths:
                self._relations.append((f"{ent}_to_factor", f"{ent}:has_factor", ent, fac))
                self._relations.append((f"factor_to_{ent}", f"{fac}:rev_has_factor", fac, ent))
                self.convs[f"{ent}_to_factor"] = GATConv(
                    self.in_channels, self.hidden_channels, heads=self.heads, concat=False, dropout=dropout,
                    add_self_loops=False)
                self.convs[f"factor_to_{ent}"] = GATConv(
                    (self.hidden_channels, self.in_channels), self.hidden_channels, heads=self.heads,
                    concat=False, dropout=dropout, add_self_loops=False)
            else:
                self.self_lins[ent] = Linear(self.in_channels, self.hidden_channels)
        if "ui" in self.paths:
            self._relations.append(("item_to_user", "item:rev_interacts", "item", "user"))
            self._relations.append(("user_to_item", "user:interacts", "user", "item"))
            for name in ("item_to_user", "user_to_item"):
                self.convs[name] = GATConv(self.hidden_channels, self.hidden_channels, heads=self.heads,
                                           concat=False, dropout=dropout, add_self_loops=False)
        # Residual term of the destination's features (GATConv's own `residual`
        # flag needs PyG >= 2.6): nodes with no sampled neighbour still get a vector.
        self.residuals = ModuleDict({
            name: Linear(self.in_channels if name.endswith("_to_factor") or name.startswith("factor_to_")
                         else self.hidden_channels, self.hidden_channels, bias=False)
            for name in self.convs
        })
        for name, relation, src, dst in self._relations:
            self.register_buffer(f"_ei_{name}", local(relation, src, dst), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Re-initialises every layer (deterministically if :obj:`seed` is set)."""
        generator = seeded_generator(self.seed, "gat_init")
        for module in list(self.convs.values()) + list(self.self_lins.values()) + list(self.residuals.values()):
            module.reset_parameters()  # PyG's init sets the shapes' defaults (global RNG) ...
            for param in module.parameters():  # ... then re-draw from our seed
                if param.dim() >= 2:  # weights and attention vectors [1, heads, C]
                    xavier_uniform_(param.data.view(param.size(0), -1), generator)
                else:  # biases
                    torch.nn.init.zeros_(param)

    def _edges(self, name: str) -> Tensor:
        return getattr(self, f"_ei_{name}")

    def _layer(self, name: str, x_src: Tensor, x_dst: Tensor) -> Tensor:
        return self.convs[name]((x_src, x_dst), self._edges(name)) + self.residuals[name](x_dst)

    def forward(self, x_user: Tensor, x_item: Tensor, x_user_factor: Tensor, x_item_factor: Tensor) -> tuple[Tensor, Tensor]:
        r"""Args:
            x_user (torch.Tensor): ``[num_users, in_channels]``.
            x_item (torch.Tensor): ``[num_items, in_channels]``.
            x_user_factor (torch.Tensor): ``[num_user_factors, in_channels]``.
            x_item_factor (torch.Tensor): ``[num_item_factors, in_channels]``.

        Returns:
            (torch.Tensor, torch.Tensor): users ``[num_users, hidden_channels]``
            and items ``[num_items, hidden_channels]``.
        """
        sem = {}
        for ent, x_ent, x_fac in (("user", x_user, x_user_factor), ("item", x_item, x_item_factor)):
            if f"{ent}_to_factor" in self.convs:
                q = F.elu(self._layer(f"{ent}_to_factor", x_ent, x_fac))
                sem[ent] = self._layer(f"factor_to_{ent}", q, x_ent)
            else:
                sem[ent] = self.self_lins[ent](x_ent)
        if "ui" not in self.paths:
            return sem["user"], sem["item"]
        s_u, s_i = F.elu(sem["user"]), F.elu(sem["item"])
        h_u = self._layer("item_to_user", s_i, s_u)
        h_i = self._layer("user_to_item", s_u, s_i)
        return h_u, h_i

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, heads={self.heads}, "
                f"paths={list(self.paths)}, max_neighbors={self.max_neighbors})")
