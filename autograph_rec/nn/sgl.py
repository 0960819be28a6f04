r"""Self-supervised Graph Learning (SGL-ED) on a LightGCN encoder."""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from autograph_rec.nn.base import _check_probability
from autograph_rec.nn.lightgcn import LightGCN
from autograph_rec.nn.losses import info_nce
from autograph_rec.nn.propagation import adjacency_edge_index, normalized_adjacency, random_uniform

logger = logging.getLogger(__name__)

__all__ = ["SGL"]


class SGL(LightGCN):
    r"""The SGL model from `"Self-supervised Graph Learning for
    Recommendation" <https://arxiv.org/abs/2010.10783>`_ (Wu et al., SIGIR
    2021), with edge-dropout ("ED") augmentation.

    Each epoch, :meth:`on_epoch_start` draws two sub-graphs that each keep an
    interaction with probability ``1 - ssl_ratio`` (both directions together,
    with its edge weight, e.g. AutoGraph's factor weight) and re-normalises
    them: with ``ssl_ratio=0`` a view is the training adjacency itself (for a
    graph without duplicate edges). :meth:`training_loss` adds
    ``ssl_lambda * (InfoNCE_users + InfoNCE_items)`` between the LightGCN
    embeddings of the two views, over the batch's distinct users and distinct
    positive items, with in-batch negatives and cosine similarity over
    temperature :obj:`tau`. The InfoNCE terms are averaged over rows (the
    authors' code sums), so :obj:`ssl_lambda` is on the scale of the mean BPR loss.

    Args:
        num_users (int): number of users.
        num_items (int): number of items.
        embedding_dim (int, optional): embedding size. (default: :obj:`64`)
        num_layers (int, optional): LightGCN layers. (default: :obj:`3`)
        ssl_ratio (float, optional): edge drop probability of each view.
            (default: :obj:`0.1`)
        tau (float, optional): InfoNCE temperature. (default: :obj:`0.2`)
        ssl_lambda (float, optional): weight of the contrastive loss.
            (default: :obj:`0.1`)
        layer_combination (str, optional): ``"mean"`` or ``"sum"``, see
            :class:`~autograph_rec.nn.lightgcn.LightGCN`. The sum, as in
            RLMRec's SGL, because the InfoNCE term is scale-free and BPR is
            not: at initialisation on MovieLens-100K the InfoNCE gradient was
            174x BPR's with the mean and 11x with the sum, and with the mean
            BPR stayed at 0.693 (validation Recall@20 0.02 after 30 epochs at
            ``ssl_lambda=0.1``, against 0.29 with the sum). (default: :obj:`"sum"`)
        reg_scope (str, optional): ``"batch"`` or ``"all"``. (default: :obj:`"batch"`)
        seed (int, optional): seeds initialisation and the views when
            :meth:`on_epoch_start` gets no generator. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        ssl_ratio: float = 0.1,
        tau: float = 0.2,
        ssl_lambda: float = 0.1,
        layer_combination: str = "sum",
        reg_scope: str = "batch",
        seed: int | None = None,
    ):
        super().__init__(
            num_users,
            num_items,
            embedding_dim,
            num_layers=num_layers,
            layer_combination=layer_combination,
            reg_scope=reg_scope,
            seed=seed,
        )
        self.ssl_ratio = _check_probability("ssl_ratio", ssl_ratio)
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.tau = float(tau)
        self.ssl_lambda = float(ssl_lambda)
        self._views: tuple[Tensor, Tensor] | None = None
        self._pairs_cache: tuple | None = None

    def _undirected_pairs(
        self, edge_index: Tensor, edge_weight: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        # Canonical (min, max) pairs so each interaction is dropped as a whole,
        # whether edge_index lists one direction or both, and one weight per
        # pair: the mean over its directed (and duplicate) edges, i.e. w for an
        # interaction listed in both directions with weight w. Cached: the
        # training graph is the same every epoch and this costs a sort.
        versions = (edge_index._version, None if edge_weight is None else edge_weight._version)
        cache = self._pairs_cache
        if cache is not None and cache[0] is edge_index and cache[1] is edge_weight and cache[2] == versions:
            return cache[3]
        lo = torch.minimum(edge_index[0], edge_index[1]).long()
        hi = torch.maximum(edge_index[0], edge_index[1]).long()
        key, inverse = torch.unique(lo * self.num_nodes + hi, return_inverse=True)
        pairs = torch.stack([key // self.num_nodes, key % self.num_nodes])
        weight = None
        if edge_weight is not None:
            total = torch.zeros(key.numel(), dtype=edge_weight.dtype, device=edge_weight.device)
            total.index_add_(0, inverse, edge_weight)
            weight = total / torch.bincount(inverse, minlength=key.numel()).to(total.dtype)
        self._pairs_cache = (edge_index, edge_weight, versions, (pairs, weight))
        return pairs, weight

    def make_view(
        self,
        edge_index: Tensor,
        generator: torch.Generator | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        r"""One edge-dropped, re-normalised view of the graph: each interaction
        is kept with probability ``1 - ssl_ratio``, in both directions, with
        its weight.

        Args:
            edge_index (torch.Tensor): homogeneous training edges ``[2, num_edges]``.
            generator (torch.Generator, optional): randomness. (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): ``[num_edges]``; ``1`` for
                every edge when :obj:`None`. (default: :obj:`None`)

        Returns:
            torch.Tensor: sparse CSR adjacency ``[num_nodes, num_nodes]``.
        """
        pairs, pair_weight = self._undirected_pairs(edge_index, edge_weight)
        keep = random_uniform((pairs.size(1),), generator, pairs.device) >= self.ssl_ratio
        kept = pairs[:, keep]
        view = torch.cat([kept, kept.flip(0)], dim=1)
        dtype = self.embedding.weight.dtype
        if pair_weight is None:
            weight = torch.ones(view.size(1), dtype=dtype, device=view.device)
        else:  # kept edges keep their weight: factor_weight=0 must not open factor paths in the views
            weight = pair_weight[keep].to(device=view.device, dtype=dtype).repeat(2)
        return normalized_adjacency(view, self.num_nodes, weight)

    def on_epoch_start(
        self,
        edge_index: Tensor,
        generator: torch.Generator | None = None,
        edge_weight: Tensor | None = None,
    ) -> None:
        r"""Regenerates the two augmented views (SGL draws new ones every epoch).

        Args:
            edge_index (torch.Tensor): homogeneous training edges ``[2, num_edges]``
                (a sparse CSR adjacency is read as its edges, values ignored).
            generator (torch.Generator, optional): randomness for this epoch;
                the model's seeded generator (or the global one) when :obj:`None`.
            edge_weight (torch.Tensor, optional): ``[num_edges]`` weights the
                views keep; ``1`` for every edge when :obj:`None`. (default: :obj:`None`)
        """
        super().on_epoch_start(edge_index, generator, edge_weight)
        if edge_index.layout == torch.sparse_csr:
            if edge_weight is not None:
                raise ValueError("edge_weight must be None when passing a sparse adjacency")
            edge_index = adjacency_edge_index(edge_index)
        rng = self._rng(edge_index.device)
        self._views = tuple(self.make_view(edge_index, rng, edge_weight) for _ in range(2))

    def auxiliary_loss(self, adj: Tensor, users: Tensor, pos_items: Tensor) -> dict[str, Tensor]:
        if self.ssl_lambda == 0:
            return {}
        if self._views is None:
            logger.warning("SGL.training_loss called before on_epoch_start: drawing views from the training adjacency")
            self.on_epoch_start(adjacency_edge_index(adj))
        x = self.embedding.weight
        view1, view2 = (self.propagate_combined(x, view) for view in self._views)
        user_ids = users.unique()
        item_ids = pos_items.unique() + self.num_users
        ssl = info_nce(view1[user_ids], view2[user_ids], self.tau) + info_nce(
            view1[item_ids], view2[item_ids], self.tau
        )
        return {"ssl": self.ssl_lambda * ssl}

    def extra_repr_args(self) -> str:
        return super().extra_repr_args() + f", ssl_ratio={self.ssl_ratio}, tau={self.tau}, ssl_lambda={self.ssl_lambda}"
