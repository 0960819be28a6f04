r"""Metapath aggregation by LightGCN-style propagation on each metapath's subgraph.

AutoGraph (`Shan et al., KDD 2025 <https://arxiv.org/abs/2412.18241>`_) reads its
augmented graph along metapaths: the semantic paths u→q→u (users sharing a
latent user factor) and i→q→i (items sharing a latent item factor), and the
interaction paths u→i and i→u. On graph collaborative-filtering backbones the
natural form of that aggregation is a linear propagation over each metapath's
subgraph followed by a fusion of the per-path embeddings, either their mean or
a learned semantic attention as in HAN (`Wang et al., WWW 2019
<https://arxiv.org/abs/1903.07293>`_).
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor
from torch.nn import Linear

from autograph_rec.graph.augmented import AugmentedGraph
from autograph_rec.nn.base import seeded_generator, xavier_uniform_
from autograph_rec.nn.propagation import multi_hop_propagate, normalized_adjacency

logger = logging.getLogger(__name__)

__all__ = ["METAPATHS", "MetapathPropagation", "SemanticAttention", "check_paths", "metapath_subgraph"]

#: Metapath name -> (relations of :meth:`AugmentedGraph.subgraph`, node types it embeds).
#: ``"ui"`` is the interaction subgraph and stands for both u→i and i→u (Table 4
#: of the paper drops them together).
METAPATHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uqu": (("user:has_factor", "user_factor:rev_has_factor"), ("user",)),
    "iqi": (("item:has_factor", "item_factor:rev_has_factor"), ("item",)),
    "ui": (("user:interacts", "item:rev_interacts"), ("user", "item")),
}

_FUSIONS = ("mean", "attention")


def check_paths(paths) -> tuple[str, ...]:
    r"""Validates a collection of metapath names (see :data:`METAPATHS`) and
    returns them as a de-duplicated tuple in canonical order."""
    if isinstance(paths, str):
        paths = (paths,)
    paths = tuple(paths)
    unknown = sorted(set(paths) - set(METAPATHS))
    if unknown:
        raise ValueError(f"unknown metapath(s) {unknown}; choose from {list(METAPATHS)}")
    if not paths:
        raise ValueError("at least one metapath is needed")
    return tuple(name for name in METAPATHS if name in paths)


def metapath_subgraph(graph: AugmentedGraph, path: str) -> tuple[Tensor, Tensor]:
    r"""The edges of one metapath's subgraph, in the homogeneous node space of
    :obj:`graph` (both directions).

    Args:
        graph (AugmentedGraph): the augmented graph.
        path (str): ``"uqu"``, ``"iqi"`` or ``"ui"``.

    Returns:
        (torch.Tensor, torch.Tensor): ``edge_index`` ``[2, E_path]`` and
        ``edge_weight`` ``[E_path]``.
    """
    relations, _ = METAPATHS[check_paths((path,))[0]]
    return graph.subgraph(relations)


class SemanticAttention(torch.nn.Module):
    r"""HAN's semantic-level attention: a one-hidden-layer MLP scores each
    path's embeddings, the scores are averaged over the nodes, and a softmax
    over paths gives one weight per path
    :math:`\beta_p = \mathrm{softmax}_p\big(\frac{1}{|V|}\sum_{v}
    \mathbf{q}^\top \tanh(\mathbf{W}\mathbf{z}^p_v + \mathbf{b})\big)`.

    Args:
        in_channels (int): embedding size.
        hidden_channels (int, optional): MLP width. (default: :obj:`32`)
    """

    def __init__(self, in_channels: int, hidden_channels: int = 32):
        super().__init__()
        self.project = Linear(in_channels, hidden_channels)
        self.score = Linear(hidden_channels, 1, bias=False)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        xavier_uniform_(self.project.weight, generator)
        torch.nn.init.zeros_(self.project.bias)
        xavier_uniform_(self.score.weight, generator)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        r"""Args:
            z (torch.Tensor): per-path embeddings ``[num_paths, num_nodes, dim]``.

        Returns:
            (torch.Tensor, torch.Tensor): fused embeddings ``[num_nodes, dim]``
            and the path weights ``[num_paths]``.
        """
        w = self.score(torch.tanh(self.project(z))).mean(dim=1).squeeze(-1)  # [P]
        beta = torch.softmax(w, dim=0)
        return (beta.view(-1, 1, 1) * z).sum(dim=0), beta


class MetapathPropagation(torch.nn.Module):
    r"""Per-metapath LightGCN propagation and fusion over AutoGraph's
    augmented graph.

    For each chosen metapath ``p`` the subgraph of its relations (see
    :data:`METAPATHS`) is normalised symmetrically, :math:`\hat{A}_p =
    D_p^{-1/2} A_p D_p^{-1/2}` (built once per device as a sparse CSR matrix),
    and node features are propagated :math:`K` hops with the mean of the
    layers, :math:`Z_p = \frac{1}{K+1}\sum_{k=0}^{K} \hat{A}_p^k X`. With
    ``K = 2`` a user's u→q→u embedding mixes the users that share its factors.
    Users then fuse the paths that reach them (u→q→u and the interaction path),
    items theirs (i→q→i and the interaction path), by ``"mean"`` or by
    :class:`SemanticAttention` (one attention per node type). A node type no
    chosen path reaches gets zeros.

    The module has no embedding table of its own: the caller passes the
    features of every node of the augmented graph (users, items, user factors,
    item factors in the homogeneous order of :class:`AugmentedGraph`).

    Args:
        graph (AugmentedGraph): the augmented graph.
        paths (tuple[str], optional): metapaths to use, a subset of
            ``("uqu", "iqi", "ui")``. (default: all three)
        num_layers (int, optional): hops ``K`` per path. (default: :obj:`2`)
        fusion (str, optional): ``"mean"`` or ``"attention"``. (default: :obj:`"mean"`)
        embedding_dim (int, optional): feature size, needed by the attention.
            (default: :obj:`64`)
        attention_dim (int, optional): hidden size of the attention MLP.
            (default: :obj:`32`)
        seed (int, optional): seeds the attention's initialisation (its own
            stream of the seed, see :data:`~autograph_rec.nn.base.SEED_OFFSETS`).
            (default: :obj:`None`)
    """

    def __init__(
        self,
        graph: AugmentedGraph,
        paths=("uqu", "iqi", "ui"),
        num_layers: int = 2,
        fusion: str = "mean",
        embedding_dim: int = 64,
        attention_dim: int = 32,
        seed: int | None = None,
    ):
        super().__init__()
        if fusion not in _FUSIONS:
            raise ValueError(f"fusion must be one of {_FUSIONS}, got {fusion!r}")
        if int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        self.paths = check_paths(paths)
        self.num_layers = int(num_layers)
        self.fusion = fusion
        self.embedding_dim = int(embedding_dim)
        self.seed = seed
        self.num_users, self.num_items, self.num_nodes = graph.num_users, graph.num_items, graph.num_nodes
        for name in self.paths:
            edge_index, edge_weight = metapath_subgraph(graph, name)
            # Plain tensors as non-persistent buffers: they follow .to(device),
            # survive deepcopy and stay out of the state_dict.
            self.register_buffer(f"_ei_{name}", edge_index.clone(), persistent=False)
            self.register_buffer(f"_ew_{name}", edge_weight.float().clone(), persistent=False)
        self.user_paths = tuple(p for p in self.paths if "user" in METAPATHS[p][1])
        self.item_paths = tuple(p for p in self.paths if "item" in METAPATHS[p][1])
        if fusion == "attention":
            self.user_attention = SemanticAttention(self.embedding_dim, attention_dim)
            self.item_attention = SemanticAttention(self.embedding_dim, attention_dim)
        self._adj_cache: dict | None = None
        #: path weights of the last attention fusion, ``{"user": [P_u], "item": [P_i]}`` (detached).
        self.last_weights: dict[str, Tensor] = {}
        self.reset_parameters()

    _RUNTIME_STATE = ("_adj_cache",)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for name in self._RUNTIME_STATE:
            state[name] = None
        return state

    def reset_parameters(self) -> None:
        r"""Resets the attention MLPs (deterministically if :obj:`seed` is set)."""
        # Not the seed's own stream: that one draws the backbone's table, and the
        # attention's first weights were a scaled copy of the user embeddings.
        generator = seeded_generator(self.seed, "metapath_attention")
        if self.fusion == "attention":
            self.user_attention.reset_parameters(generator)
            self.item_attention.reset_parameters(generator)

    def adjacency(self, path: str, device: torch.device, dtype: torch.dtype = torch.float32) -> Tensor:
        r"""The normalised CSR adjacency ``[num_nodes, num_nodes]`` of one
        metapath's subgraph (built once per device and dtype)."""
        if self._adj_cache is None:
            self._adj_cache = {}
        key = (path, str(device), dtype)
        if key not in self._adj_cache:
            edge_index = getattr(self, f"_ei_{path}").to(device)
            edge_weight = getattr(self, f"_ew_{path}").to(device=device, dtype=dtype)
            self._adj_cache[key] = normalized_adjacency(edge_index, self.num_nodes, edge_weight)
        return self._adj_cache[key]

    def path_embeddings(self, x: Tensor) -> dict[str, Tensor]:
        r"""Propagated embeddings of every chosen path.

        Args:
            x (torch.Tensor): features of all nodes ``[num_nodes, dim]``.

        Returns:
            dict[str, torch.Tensor]: path name -> ``[num_nodes, dim]`` (rows of
            nodes outside the path's subgraph are the layer-0 term only).
        """
        if x.size(0) != self.num_nodes:
            raise ValueError(f"x has {x.size(0)} rows, the augmented graph {self.num_nodes} nodes")
        alpha = [1.0 / (self.num_layers + 1)] * (self.num_layers + 1)
        return {p: multi_hop_propagate(self.adjacency(p, x.device, x.dtype), x, alpha) for p in self.paths}

    def _fuse(self, parts: list[Tensor], attention: SemanticAttention | None, kind: str) -> Tensor:
        if len(parts) == 1:
            return parts[0]
        z = torch.stack(parts)
        if attention is None:
            return z.mean(dim=0)
        out, beta = attention(z)
        self.last_weights[kind] = beta.detach()
        return out

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Fused metapath embeddings of users and items.

        Args:
            x (torch.Tensor): features of all nodes of the augmented graph
                ``[num_nodes, dim]`` (users, items, user factors, item factors).

        Returns:
            (torch.Tensor, torch.Tensor): users ``[num_users, dim]`` and items
            ``[num_items, dim]``.
        """
        per_path = self.path_embeddings(x)
        u_end, i_end = self.num_users, self.num_users + self.num_items
        attn = self.fusion == "attention"
        if self.user_paths:
            users = self._fuse([per_path[p][:u_end] for p in self.user_paths],
                               self.user_attention if attn else None, "user")
        else:
            users = x.new_zeros(self.num_users, x.size(1))
        if self.item_paths:
            items = self._fuse([per_path[p][u_end:i_end] for p in self.item_paths],
                               self.item_attention if attn else None, "item")
        else:
            items = x.new_zeros(self.num_items, x.size(1))
        return users, items

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(paths={list(self.paths)}, num_layers={self.num_layers}, "
                f"fusion={self.fusion!r})")
