r"""Base class of the collaborative-filtering backbones.

The public methods mirror :class:`torch_geometric.nn.models.LightGCN`
(``get_embedding``, ``forward``, ``recommend``, ``recommendation_loss``), so
code written for PyG's model runs on ours; the extra hooks
(``user_item_embeddings``, ``training_loss``, ``on_epoch_start``) are the
contract with :mod:`autograph_rec.train`.
"""

from __future__ import annotations

import logging
import math
import operator

import torch
from torch import Tensor
from torch.nn import Embedding

from autograph_rec.nn.losses import bpr_loss
from autograph_rec.nn.propagation import adjacency_edge_index, normalized_adjacency

logger = logging.getLogger(__name__)

__all__ = ["RecommenderBackbone", "SEED_OFFSETS", "seeded_generator"]

_REG_SCOPES = ("batch", "all")
# Upper bound on the score block materialised by ``recommend`` (elements):
# scoring runs in source-row chunks so no [num_nodes, num_nodes] matrix exists.
_SCORE_BLOCK = 1 << 22


#: Offset added to a model's ``seed`` for each of its random streams. Every
#: component gets its own stream: components seeded alike drew the same
#: numbers, e.g. a semantic attention initialised as a scaled copy of the user
#: embeddings (correlation 1.0), or GAT weights equal to the backbone's
#: per-batch dropout draws.
SEED_OFFSETS = {
    "embedding": 0,  # the backbone's table (and NGCF's layers, drawn after it)
    "batches": 1,  # per-batch randomness: edge / message dropout, SimGCL noise, SGL views
    "metapath_attention": 2,  # MetapathPropagation's semantic attention
    "gat_sample": 3,  # GATMetapathAggregator's neighbour subsample
    "gat_init": 4,  # GATMetapathAggregator's layers
    "module": 5,  # ModuleBackbone: the user's module
    "autograph": 7919,  # AutoGraph's factor rows and fusion layer
}


def seeded_generator(seed: int | None, stream: str) -> torch.Generator | None:
    r"""A CPU generator for one of a model's random streams (see
    :data:`SEED_OFFSETS`), or :obj:`None` (the global generator) when
    :obj:`seed` is :obj:`None`."""
    return None if seed is None else torch.Generator().manual_seed(seed + SEED_OFFSETS[stream])


def xavier_uniform_(tensor: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""In-place Xavier-uniform initialisation drawn on the CPU from
    :obj:`generator`, so a seed gives the same weights on every device."""
    with torch.no_grad():
        tmp = torch.empty(tensor.shape, dtype=tensor.dtype)
        torch.nn.init.xavier_uniform_(tmp, generator=generator)
        tensor.copy_(tmp)
    return tensor


def check_edge_index(edge_index: Tensor, num_nodes: int) -> None:
    r"""Raise unless :obj:`edge_index` holds integer node ids in ``[0, num_nodes)``
    (out-of-range ids failed deep in torch with "index out of range in self";
    float ids were truncated)."""
    if edge_index.is_floating_point() or edge_index.is_complex() or edge_index.dtype == torch.bool:
        raise TypeError(f"edge_index must hold integer node ids, got dtype {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"edge_index has node ids in [{int(edge_index.min())}, {int(edge_index.max())}], expected [0, {num_nodes}) "
            "(users first, item i is node num_users + i)"
        )


def chunked_topk(out_src: Tensor, out_dst: Tensor, k: int, sorted: bool = True,
                 dst_index: Tensor | None = None) -> Tensor:
    r"""Top-:obj:`k` destinations by dot product for every source row, scored in
    row chunks so no ``[num_src, num_dst]`` matrix is ever materialised.

    Args:
        out_src (torch.Tensor): source embeddings ``[num_src, dim]``.
        out_dst (torch.Tensor): candidate embeddings ``[num_dst, dim]``.
        k (int): how many to return per source.
        sorted (bool, optional): sort each row by score. (default: :obj:`True`)
        dst_index (torch.Tensor, optional): node ids of the candidates ``[num_dst]``;
            positions are mapped back to them. (default: :obj:`None`)

    Returns:
        torch.Tensor: ``[num_src, k]`` indices.

    Raises:
        ValueError: if :obj:`k` is not between 1 and the number of candidates.
    """
    num_dst = out_dst.size(0)
    try:
        k_int = operator.index(k)  # ints, numpy and 0-d torch integers; not 2.0
    except TypeError:
        k_int = None
    if k_int is None or isinstance(k, bool) or not 1 <= k_int <= num_dst:
        # torch's own message ('selected index k out of range') names neither k nor the candidates
        raise ValueError(f"k={k!r} recommendations requested from {num_dst} candidates; "
                         f"k must be an integer between 1 and {num_dst}")
    k = k_int
    step = max(1, _SCORE_BLOCK // max(1, out_dst.size(0)))
    top = [(chunk @ out_dst.t()).topk(k, dim=-1, sorted=sorted).indices for chunk in out_src.split(step)]
    top_index = torch.cat(top) if top else out_src.new_empty((0, k), dtype=torch.long)
    if dst_index is not None:  # map positions among the candidates back to node ids
        top_index = dst_index[top_index.reshape(-1)].view(top_index.shape)
    return top_index


class RecommenderBackbone(torch.nn.Module):
    r"""Base class of the user-item backbones: one embedding table of
    ``num_users + num_items`` nodes in PyG's homogeneous layout (users first,
    item ``i`` is node ``num_users + i``), an encoder defined by subclasses
    in :meth:`encode`, and BPR training.

    Graph arguments (``edge_index`` / ``adj``) accept either a homogeneous
    ``edge_index`` ``[2, num_edges]`` (normalised on the fly, the result cached
    while the same tensor is passed again) or the sparse CSR adjacency returned
    by :func:`~autograph_rec.nn.propagation.normalized_adjacency`, the fast path:
    build it once per graph.

    Stochastic regularisers (edge dropout, message dropout) act only when the
    module is in training mode; :meth:`user_item_embeddings` is always
    deterministic. Randomness comes from, in order: the generator given to
    :meth:`on_epoch_start`, a private generator seeded by :obj:`seed`, or the
    global torch generator.

    Args:
        num_users (int): number of users ``U``.
        num_items (int): number of items ``I``.
        embedding_dim (int, optional): embedding size. (default: :obj:`64`)
        reg_scope (str, optional): L2 term of :meth:`training_loss`:
            ``"batch"`` regularises the layer-0 embeddings of the batch's
            users, positive and negative items as
            :math:`\lambda \cdot \sum \lVert e \rVert^2 / 2 / B` (LightGCN);
            ``"all"`` regularises every parameter of the model as
            :math:`\lambda \cdot \sum \lVert W \rVert^2` (RLMRec).
            (default: :obj:`"batch"`)
        seed (int, optional): seeds the parameter initialisation and the
            per-batch randomness. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        reg_scope: str = "batch",
        seed: int | None = None,
    ):
        super().__init__()
        for name, value in (("num_users", num_users), ("num_items", num_items), ("embedding_dim", embedding_dim)):
            if int(value) != value or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if reg_scope not in _REG_SCOPES:
            raise ValueError(f"reg_scope must be one of {_REG_SCOPES}, got {reg_scope!r}")
        self.num_users = int(num_users)
        self.num_items = int(num_items)
        self.num_nodes = self.num_users + self.num_items
        self.embedding_dim = int(embedding_dim)
        self.reg_scope = reg_scope
        self.seed = seed
        self.embedding = Embedding(self.num_nodes, self.embedding_dim)
        # Runtime state, not parameters: kept out of state_dict on purpose.
        self._generator: torch.Generator | None = None
        self._adj_cache: tuple | None = None

    # Caches and random state that are not part of the model: dropped when
    # the module is copied or pickled (sparse CSR tensors cannot be
    # deep-copied, and a copy should not share a cache or a random stream).
    _RUNTIME_STATE = ("_generator", "_adj_cache", "_mirror_cache", "_views", "_pairs_cache")

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        for name in self._RUNTIME_STATE:
            if name in state:
                state[name] = None
        return state

    # ------------------------------------------------------------------ init
    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters (deterministically if :obj:`seed` is
        set) and restarts the model's own random stream."""
        self._generator = None
        self._reset_parameters(seeded_generator(self.seed, "embedding"))

    def _reset_parameters(self, generator: torch.Generator | None) -> None:
        # Users and items are initialised as two tables (as LightGCN, SGL,
        # SimGCL and RLMRec do): Xavier bounds then depend on each table's size.
        # Rows past the items (factor nodes added by AutoGraph's "plain" mode)
        # belong to the wrapper, which redraws them from its own stream.
        weight = self.embedding.weight
        xavier_uniform_(weight[: self.num_users], generator)
        xavier_uniform_(weight[self.num_users : self.num_users + self.num_items], generator)

    # ------------------------------------------------------------ randomness
    def _rng(self, device: torch.device) -> torch.Generator | None:
        r"""Generator for per-batch randomness (see the class docstring)."""
        if self._generator is None and self.seed is not None:
            # Offset so that batch noise is not the stream used for the init.
            self._generator = torch.Generator(device=device).manual_seed(self.seed + SEED_OFFSETS["batches"])
        return self._generator

    def on_epoch_start(
        self,
        edge_index: Tensor,
        generator: torch.Generator | None = None,
        edge_weight: Tensor | None = None,
    ) -> None:
        r"""Hook called by the trainer before each training epoch.

        The default only remembers :obj:`generator` as the source of per-batch
        randomness; SGL regenerates its augmented views here.

        Args:
            edge_index (torch.Tensor): the homogeneous training ``edge_index``
                ``[2, num_edges]`` (both directions).
            generator (torch.Generator, optional): randomness for this epoch.
                (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): ``[num_edges]`` weights of
                :obj:`edge_index` (e.g. AutoGraph's factor edges); ``1`` for
                every edge when :obj:`None`. (default: :obj:`None`)
        """
        if generator is not None:
            self._generator = generator

    # ------------------------------------------------------------- adjacency
    def adjacency(self, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        r"""The normalised sparse CSR adjacency ``[N, N]`` for a graph argument.

        Args:
            edge_index (torch.Tensor): ``[2, num_edges]`` edge_index or a
                pre-built sparse CSR adjacency (returned unchanged).
            edge_weight (torch.Tensor, optional): ``[num_edges]``, only with an
                edge_index. (default: :obj:`None`)
        """
        dtype = self.embedding.weight.dtype
        if edge_index.layout in (torch.sparse_csr, torch.sparse_coo):
            if edge_weight is not None:
                raise ValueError("edge_weight must be None when passing a pre-built sparse adjacency")
            if tuple(edge_index.shape) != (self.num_nodes, self.num_nodes):
                raise ValueError(
                    f"adjacency has shape {tuple(edge_index.shape)}, expected "
                    f"({self.num_nodes}, {self.num_nodes}) = num_users + num_items"
                )
            adj = edge_index if edge_index.layout == torch.sparse_csr else edge_index.coalesce().to_sparse_csr()
            return adj if adj.dtype == dtype else adj.to(dtype)
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E] or be a sparse adjacency, got {tuple(edge_index.shape)}")
        # One-slot cache keyed on tensor identity and version (strong refs, so
        # a freed tensor can never be mistaken for a new one at the same address).
        cache = self._adj_cache
        key = (edge_index._version, None if edge_weight is None else edge_weight._version, dtype)
        if cache is not None and cache[0] is edge_index and cache[1] is edge_weight and cache[2] == key:
            return cache[3]
        check_edge_index(edge_index, self.num_nodes)
        weight = None if edge_weight is None else edge_weight.to(dtype)
        if weight is None:
            weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
        adj = normalized_adjacency(edge_index, self.num_nodes, weight)
        if edge_weight is None or not edge_weight.requires_grad:
            self._adj_cache = (edge_index, edge_weight, key, adj)
        return adj

    # --------------------------------------------------------------- encoder
    def encode(self, adj: Tensor, stochastic: bool = False) -> Tensor:
        r"""Final node embeddings ``[num_nodes, out_dim]`` from a normalised adjacency.

        Args:
            adj (torch.Tensor): sparse CSR ``[N, N]``.
            stochastic (bool, optional): apply training-time randomness
                (dropout). (default: :obj:`False`)
        """
        raise NotImplementedError

    def get_embedding(self, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        r"""Returns the final embedding of every node, ``[num_users + num_items, out_dim]``.

        Args:
            edge_index (torch.Tensor): ``[2, num_edges]`` edge_index or the
                sparse CSR adjacency of :func:`normalized_adjacency`.
            edge_weight (torch.Tensor, optional): ``[num_edges]``. (default: :obj:`None`)
        """
        return self.encode(self.adjacency(edge_index, edge_weight), stochastic=self.training)

    def user_item_embeddings(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        r"""Deterministic final embeddings for scoring (no dropout or noise).

        Call under :func:`torch.no_grad` when evaluating.

        Args:
            adj (torch.Tensor): sparse CSR adjacency (or ``edge_index``).

        Returns:
            (torch.Tensor, torch.Tensor): users ``[num_users, out_dim]`` and
            items ``[num_items, out_dim]``; item ``i`` is row ``i``. Rows past
            the items (factor nodes after AutoGraph's ``"plain"`` wrapping)
            are not returned.
        """
        out = self.encode(self.adjacency(adj), stochastic=False)
        return out[: self.num_users], out[self.num_users : self.num_users + self.num_items]

    # ------------------------------------------------------------- PyG API
    def forward(
        self,
        edge_index: Tensor,
        edge_label_index: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        r"""Scores (dot products) of node pairs, as in PyG's ``LightGCN``.

        Args:
            edge_index (torch.Tensor): ``[2, num_edges]`` or a sparse CSR adjacency.
            edge_label_index (torch.Tensor, optional): pairs to score
                ``[2, num_labels]`` in the homogeneous node space (items offset
                by ``num_users``); all edges of :obj:`edge_index` when
                :obj:`None`. (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): ``[num_edges]``. (default: :obj:`None`)

        Returns:
            torch.Tensor: ``[num_labels]``.
        """
        if edge_label_index is None:
            if edge_index.layout == torch.sparse_csr:
                edge_label_index = adjacency_edge_index(edge_index)
            elif edge_index.layout == torch.sparse_coo:
                edge_label_index = edge_index.coalesce().indices().flip(0)
            else:
                edge_label_index = edge_index
        out = self.get_embedding(edge_index, edge_weight)
        return (out[edge_label_index[0]] * out[edge_label_index[1]]).sum(dim=-1)

    @torch.no_grad()
    def recommend(
        self,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        src_index: Tensor | None = None,
        dst_index: Tensor | None = None,
        k: int = 1,
        sorted: bool = True,
    ) -> Tensor:
        r"""Top-:obj:`k` recommendations for the nodes in :obj:`src_index`
        (PyG semantics: indices in the homogeneous node space; no masking of
        already-seen items). Scores are computed in row chunks, so no
        ``[num_src, num_dst]`` matrix larger than a few million entries exists.

        Args:
            edge_index (torch.Tensor): ``[2, num_edges]`` or a sparse CSR adjacency.
            edge_weight (torch.Tensor, optional): ``[num_edges]``. (default: :obj:`None`)
            src_index (torch.Tensor, optional): ``[num_src]`` nodes to recommend
                for; all ``num_users + num_items`` user and item nodes when
                :obj:`None`. (default: :obj:`None`)
            dst_index (torch.Tensor, optional): ``[num_dst]`` candidate nodes;
                all user and item nodes when :obj:`None` (never the factor
                nodes that AutoGraph's ``"plain"`` mode adds to the table).
                (default: :obj:`None`)
            k (int, optional): number of recommendations. (default: :obj:`1`)
            sorted (bool, optional): sort each row by score. (default: :obj:`True`)

        Returns:
            torch.Tensor: ``[num_src, k]`` node indices.
        """
        out = self.encode(self.adjacency(edge_index, edge_weight), stochastic=False)
        # defaults cover the user-item node space: factor rows are neither sources nor candidates
        user_item = out[: self.num_users + self.num_items]
        out_src = user_item if src_index is None else out[src_index]
        out_dst = user_item if dst_index is None else out[dst_index]
        return chunked_topk(out_src, out_dst, k, sorted, dst_index)

    def recommendation_loss(
        self,
        pos_edge_rank: Tensor,
        neg_edge_rank: Tensor,
        node_id: Tensor | None = None,
        lambda_reg: float = 1e-4,
        **kwargs,
    ) -> Tensor:
        r"""BPR loss plus L2 on layer-0 embeddings, exactly as PyG's
        ``LightGCN.recommendation_loss``:
        ``mean(-log σ(pos - neg)) + lambda_reg * ||E[node_id]||² / len(pos)``.

        Args:
            pos_edge_rank (torch.Tensor): positive scores ``[B]``.
            neg_edge_rank (torch.Tensor): negative scores ``[B]``, row-aligned.
            node_id (torch.Tensor, optional): nodes whose layer-0 embeddings
                are regularised; all when :obj:`None`. (default: :obj:`None`)
            lambda_reg (float, optional): L2 strength. (default: :obj:`1e-4`)
            **kwargs: accepted for signature compatibility with PyG and ignored.
        """
        loss = bpr_loss(pos_edge_rank, neg_edge_rank)
        if lambda_reg != 0:
            emb = self.embedding.weight if node_id is None else self.embedding.weight[node_id]
            loss = loss + lambda_reg * emb.square().sum() / pos_edge_rank.size(0)
        return loss

    # --------------------------------------------------------- trainer hook
    def training_loss(
        self,
        adj: Tensor,
        users: Tensor,
        pos_items: Tensor,
        neg_items: Tensor,
        lambda_reg: float = 1e-4,
    ) -> tuple[Tensor, dict[str, float]]:
        r"""Loss of one training batch: BPR on the final embeddings + L2 (see
        :obj:`reg_scope`) + any model-specific term (e.g. SGL's InfoNCE).

        Args:
            adj (torch.Tensor): sparse CSR training adjacency (or ``edge_index``).
            users (torch.Tensor): user ids ``[B]``.
            pos_items (torch.Tensor): item ids ``[B]`` (0-based, not offset).
            neg_items (torch.Tensor): item ids ``[B]`` (0-based, not offset).
            lambda_reg (float, optional): L2 strength. (default: :obj:`1e-4`)

        Returns:
            (torch.Tensor, dict[str, float]): the scalar loss and its parts
            (``"bpr"``, ``"reg"``, model-specific ones, ``"loss"``).
        """
        adj = self.adjacency(adj)
        out = self.encode(adj, stochastic=self.training)
        batch = users.numel()
        # One gather for users, positives and negatives: each separate gather
        # costs a [num_nodes, dim] zero-fill and scatter in the backward pass
        # (index_select's backward, an index_add, measured faster here than
        # embedding's or advanced indexing's).
        nodes = torch.cat([users, pos_items + self.num_users, neg_items + self.num_users])
        u, p, n = out.index_select(0, nodes).split(batch)
        terms = {"bpr": bpr_loss((u * p).sum(-1), (u * n).sum(-1))}
        terms["reg"] = self.l2_regularization(nodes, batch, lambda_reg)
        terms.update(self.auxiliary_loss(adj, users, pos_items))
        loss = sum(terms.values())
        parts = {name: float(value.detach()) for name, value in terms.items()}
        parts["loss"] = float(loss.detach())
        return loss, parts

    def l2_regularization(self, nodes: Tensor, batch_size: int, lambda_reg: float) -> Tensor:
        r"""The L2 term of :meth:`training_loss` for :obj:`reg_scope`.

        Args:
            nodes (torch.Tensor): the batch's users, positive and negative item
                nodes (homogeneous ids, items offset), ``[3 * B]``.
            batch_size (int): ``B``.
            lambda_reg (float): L2 strength.
        """
        weight = self.embedding.weight
        if lambda_reg == 0:
            return weight.new_zeros(())
        if self.reg_scope == "all":
            return lambda_reg * sum(param.square().sum() for param in self.parameters() if param.requires_grad)
        if nodes.numel() * 4 >= self.num_nodes:
            # Same sum, weighting each row by how often it occurs in the batch:
            # when the batch covers much of the table this avoids a second
            # [3B, dim] gather whose backward (a scatter into a zeroed table)
            # cost ~10x more than these O(num_nodes * dim) elementwise ops.
            counts = torch.bincount(nodes, minlength=self.num_nodes).to(weight.dtype)
            return lambda_reg * (counts * (weight * weight).sum(-1)).sum() / 2 / batch_size
        ego = weight.index_select(0, nodes)
        return lambda_reg * (ego * ego).sum() / 2 / batch_size

    def auxiliary_loss(self, adj: Tensor, users: Tensor, pos_items: Tensor) -> dict[str, Tensor]:
        r"""Model-specific weighted loss terms added by :meth:`training_loss`
        (none by default)."""
        return {}

    # ------------------------------------------------------------------ misc
    def extra_repr_args(self) -> str:
        r"""Extra ``", key=value"`` text for :meth:`__repr__`."""
        return ""

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.num_users} users, {self.num_items} items, "
            f"dim={self.embedding_dim}{self.extra_repr_args()})"
        )


def _check_probability(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0 and not math.isnan(value)):
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
    return float(value)
