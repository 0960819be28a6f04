r"""Hierarchical k-means (the paper's "HC" baseline)."""

from __future__ import annotations

import logging
from typing import Dict, Optional, Union

import numpy as np
import torch
from torch import Tensor

from .base import ArrayLike, Quantizer, as_vectors, check_enough_vectors, check_integer, nearest
from .kmeans import kmeans

log = logging.getLogger(__name__)


class HierarchicalKMeans(Quantizer):
    r"""Hierarchical k-means codes: each level splits the previous level's clusters.

    The "HC" latent-factor strategy of AutoGraph's Table 5 (Shan et al.,
    KDD 2025, arXiv 2412.18241): level 0 is k-means with :obj:`K` clusters on
    the vectors; at level :obj:`l` the members of every level-``(l-1)``
    cluster are clustered again, into ``min(branching, distinct members)``
    sub-clusters, giving a tree (as in DSI's hierarchical document ids).
    A node without training members (e.g. a level-0 cluster left empty when
    the data has fewer than :obj:`K` distinct vectors) gets one child, a copy
    of itself with code 0, so that every node a new vector can be routed to
    has children.

    **How the code space stays at K per level.** A level-:obj:`l` tree node is
    identified by its whole path, so there can be up to :math:`K^{l+1}` of
    them — too many latent-factor nodes. The code stored in ``codes[n, l]`` is
    therefore the *rank of the sub-cluster within its parent* (sub-clusters
    ordered by size, largest first; ties by k-means order), an integer in
    ``[0, K)``. Code :obj:`k` at level :obj:`l` thus means "the
    :obj:`k`-th largest sub-group of my level-``(l-1)`` cluster" and is shared
    across parents, exactly like a residual codebook index is shared — but
    without a shared meaning of the offset, which is the difference from
    residual quantization that Table 5 measures. Level 0 codes are global
    k-means clusters. The globally unique tree nodes are available from
    :meth:`node_ids` (``[N, T]``, level-:obj:`l` ids in ``[0, num_nodes_[l])``)
    for callers who want the tree itself.

    Consequence worth knowing: a level-``(l-1)`` cluster with :obj:`m`
    members has at most :obj:`m` children, so at level :obj:`l` only ranks
    below about ``N / K^l`` occur and the active-code ratio of deeper levels
    is low when ``N`` is not much larger than ``K^2`` (e.g. N = 3000, K = 256:
    level 1 uses ~20 % of the codes). Lower :obj:`branching` (children per
    cluster) to trade depth resolution for a denser code space.

    Args:
        num_levels (int): Levels :obj:`T` (default 3).
        codebook_size (int): Level-0 clusters :obj:`K` (default 256); codes
            of every level lie in ``[0, K)``.
        branching (int, optional): Maximum children per cluster at levels
            ``>= 1`` (default :obj:`K`; must not exceed it).
        n_iter (int): Lloyd iterations per k-means (default 25).
        tol (float): Relative k-means stopping tolerance (default 1e-4).
        seed (int): Seed (default 0).
        device (str or torch.device, optional): Default CPU.

    Fitted attributes:
        centroids_ (list[Tensor]): Per level, ``[M_l, D]`` centroids of the
            tree nodes (``M_0 = K``).
        parents_ (list[Tensor]): Per level, ``[M_l]`` parent node id at level
            ``l-1`` (level 0: all ``-1``).
        local_codes_ (list[Tensor]): Per level, ``[M_l]`` the code in
            ``[0, K)`` each node carries.
        num_nodes_ (list[int]): :math:`M_l` per level.
    """

    name = "hc"

    def __init__(self, num_levels: int = 3, codebook_size: int = 256,
                 branching: Optional[int] = None, n_iter: int = 25, tol: float = 1e-4,
                 seed: int = 0, device: Union[str, torch.device, None] = None):
        super().__init__(num_levels, codebook_size, seed, device)
        self.branching = branching
        self.n_iter = n_iter
        self.tol = tol

    def _validate_params(self) -> None:
        super()._validate_params()
        b = self.branching
        if b is not None:
            check_integer("branching", b, 1)
            if b > self.codebook_size:
                raise ValueError(f"branching must be an integer in [1, codebook_size={self.codebook_size}], "
                                 f"got {b!r}")
        check_integer("n_iter", self.n_iter, 0)

    def _fit(self, x: Tensor) -> None:
        check_enough_vectors(x.shape[0], self.codebook_size)
        g = self._generator()
        K, dev = self.codebook_size, x.device
        branching = int(self.branching) if self.branching is not None else K
        res = kmeans(x, K, n_iter=self.n_iter, tol=self.tol, generator=g)
        # Level 0: order clusters by size too, for a canonical layout.
        centroids, node, local = self._ranked(res.centroids, res.labels, x.shape[0])
        self.centroids_ = [centroids]
        self.parents_ = [torch.full((K,), -1, dtype=torch.long, device=dev)]
        self.local_codes_ = [local]
        for level in range(1, self.num_levels):
            cents, pars, locs = [], [], []
            new_node = torch.empty_like(node)
            offset = 0
            # Sorting once and slicing avoids an O(N) mask per parent.
            order = torch.argsort(node, stable=True)
            counts = torch.bincount(node, minlength=self.centroids_[-1].shape[0]).tolist()
            start = 0
            for parent, cnt in enumerate(counts):
                if cnt == 0:
                    continue
                members = order[start:start + cnt]
                start += cnt
                xm = x[members]
                # At most one child per distinct member: k above it gives
                # duplicate centroids whose spare copies end up empty.
                k = min(branching, int(torch.unique(xm, dim=0).shape[0]))
                sub = kmeans(xm, k, n_iter=self.n_iter, tol=self.tol, generator=g)
                c, lab, loc = self._ranked(sub.centroids, sub.labels, cnt)
                cents.append(c)
                pars.append(torch.full((k,), parent, dtype=torch.long, device=dev))
                locs.append(loc)
                new_node[members] = lab + offset
                offset += k
            self.centroids_.append(torch.cat(cents))
            self.parents_.append(torch.cat(pars))
            self.local_codes_.append(torch.cat(locs))
            node = new_node
            log.info("hc level %d: %d tree nodes", level, offset)
        self._complete_tree()

    def _complete_tree(self) -> None:
        r"""Give every childless node above the last level one child: a copy of
        the node (same centroid) with code 0, appended after the existing
        nodes of its level (so existing node ids do not change).

        Nodes without training members (empty k-means clusters) have no
        children, yet routing can send a new vector to them; their own
        centroid is the best a child can offer. Levels are completed top down,
        so an appended node gets its own child at the next level. Also applied
        on :meth:`load`, which repairs quantizers saved before this existed.
        """
        for level in range(1, self.num_levels):
            above = self.centroids_[level - 1]
            has_child = torch.bincount(self.parents_[level].cpu(), minlength=above.shape[0]) > 0
            orphans = (~has_child).nonzero().flatten().to(above.device)
            if orphans.numel() == 0:
                continue
            self.centroids_[level] = torch.cat([self.centroids_[level], above[orphans]])
            self.parents_[level] = torch.cat([self.parents_[level], orphans])
            self.local_codes_[level] = torch.cat(
                [self.local_codes_[level], torch.zeros_like(orphans)])
            log.info("hc level %d: %d childless node(s) given a copy of themselves", level - 1,
                     orphans.numel())
        self.num_nodes_ = [int(c.shape[0]) for c in self.centroids_]

    @staticmethod
    def _ranked(centroids: Tensor, labels: Tensor, n: int):
        """Reorder clusters by size (largest first): returns the reordered
        centroids, relabelled points and the local codes ``0..k-1``."""
        k = centroids.shape[0]
        sizes = torch.bincount(labels, minlength=k).cpu().numpy()
        # stable sort on -size keeps k-means order among equal sizes
        perm = torch.as_tensor(np.argsort(-sizes, kind="stable"), device=centroids.device)
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(k, device=centroids.device)
        return centroids[perm], inv[labels], torch.arange(k, device=centroids.device)

    def _nodes(self, x: Tensor) -> Tensor:
        # Descend the tree: at each level the nearest child of the node chosen
        # one level up (the fit's members were clustered within their parent,
        # so lookups must stay within it too).
        node, _ = nearest(x, self.centroids_[0])
        out = [node]
        for level in range(1, self.num_levels):
            parents = self.parents_[level]
            # Children grouped by parent: fit builds them parent by parent
            # (the stable sort is then the identity), nodes appended by
            # _complete_tree sit at the end.
            children = torch.argsort(parents, stable=True)
            ptr = torch.zeros(self.num_nodes_[level - 1] + 1, dtype=torch.long)
            ptr[1:] = torch.cumsum(torch.bincount(parents.cpu(), minlength=self.num_nodes_[level - 1]), 0)
            new = torch.empty_like(node)
            order = torch.argsort(node, stable=True)
            counts = torch.bincount(node, minlength=self.num_nodes_[level - 1]).tolist()
            start = 0
            for parent, cnt in enumerate(counts):
                if cnt == 0:
                    continue
                rows = order[start:start + cnt]
                start += cnt
                kids = children[int(ptr[parent]):int(ptr[parent + 1])]
                idx, _ = nearest(x[rows], self.centroids_[level][kids])
                new[rows] = kids[idx]
            node = new
            out.append(node)
        return torch.stack(out, dim=1)

    def _encode(self, x: Tensor) -> Tensor:
        nodes = self._nodes(x)
        return torch.stack([self.local_codes_[l][nodes[:, l]] for l in range(self.num_levels)], 1)

    def node_ids(self, vectors: ArrayLike) -> Tensor:
        r"""Globally unique tree-node ids ``[N, T]`` (level :obj:`l` in
        ``[0, num_nodes_[l])``), for callers who want the tree rather than the
        per-level codes."""
        self._check_fitted()
        return self._nodes(as_vectors(vectors, self.device_, dim=self.input_dim_))

    def _state(self) -> Dict[str, Tensor]:
        out = {}
        for l in range(self.num_levels):
            out[f"centroids.{l}"] = self.centroids_[l]
            out[f"parents.{l}"] = self.parents_[l]
            out[f"local_codes.{l}"] = self.local_codes_[l]
        return out

    def _set_state(self, state: Dict[str, Tensor]) -> None:
        self.centroids_ = [state[f"centroids.{l}"] for l in range(self.num_levels)]
        self.parents_ = [state[f"parents.{l}"] for l in range(self.num_levels)]
        self.local_codes_ = [state[f"local_codes.{l}"] for l in range(self.num_levels)]
        self._complete_tree()  # no-op for trees fitted by this version
