r"""A small, seeded, batched k-means in torch (no scikit-learn).

k-means++ seeding (Arthur & Vassilvitskii, SODA 2007) on a bounded sample,
then Lloyd iterations with chunked distance computations and reseeding of
empty clusters. Used by the residual k-means, hierarchical k-means and the
RQ-VAE codebook initialisation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from .base import nearest

log = logging.getLogger(__name__)


@dataclass
class KMeansResult:
    """Output of :func:`kmeans`.

    Attributes:
        centroids (Tensor): ``[k, D]``.
        labels (Tensor): ``[N]`` int64, nearest centroid of every point
            (consistent with :attr:`centroids`: a final assignment follows the
            last update).
        inertia (float): Mean squared distance of a point to its centroid.
        n_iter (int): Lloyd iterations run.
    """

    centroids: Tensor
    labels: Tensor
    inertia: float
    n_iter: int


def kmeans_plusplus(x: Tensor, k: int, generator: torch.Generator) -> Tensor:
    r"""k-means++ seeding: each new centre is drawn with probability
    proportional to the squared distance to the closest centre so far.

    Args:
        x (Tensor): Points ``[N, D]`` with ``N >= k``.
        k (int): Number of centres.
        generator (torch.Generator): CPU generator (draws are device-independent).

    Returns:
        Tensor: Centres ``[k, D]`` (rows of :obj:`x`).
    """
    n = x.shape[0]
    first = int(torch.randint(n, (1,), generator=generator))
    chosen = [first]
    d2 = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        w = d2.double().cpu()
        total = float(w.sum())
        if total <= 0:
            # every point coincides with a centre: fill with unused points
            used = torch.zeros(n, dtype=torch.bool)
            used[chosen] = True
            rest = (~used).nonzero().flatten()
            perm = rest[torch.randperm(rest.numel(), generator=generator)]
            chosen.extend(perm[: k - len(chosen)].tolist())
            break
        i = int(torch.multinomial(w / total, 1, generator=generator))
        chosen.append(i)
        d2 = torch.minimum(d2, ((x - x[i]) ** 2).sum(1))
    return x[torch.tensor(chosen, device=x.device)].clone()


def kmeans(
    x: Tensor,
    k: int,
    n_iter: int = 25,
    tol: float = 1e-4,
    seed: int = 0,
    init_sample: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> KMeansResult:
    r"""Seeded k-means: k-means++ init, Lloyd iterations, empty-cluster reseeding.

    Args:
        x (Tensor): Points ``[N, D]`` float32, any device, ``N >= k``.
        k (int): Number of clusters.
        n_iter (int): Maximum Lloyd iterations (default 25).
        tol (float): Stop when the mean squared centroid move is at most
            :obj:`tol` times the data's total variance (mean squared distance
            to the data mean), so the rule is scale-free and shift-invariant.
        seed (int): Seed used when no :obj:`generator` is given.
        init_sample (int, optional): k-means++ runs on at most this many random
            points (default ``max(20 * k, 4096)``), because its :obj:`k`
            sequential passes dominate the cost for large :obj:`N`.
        generator (torch.Generator, optional): CPU generator to draw from.

    Returns:
        KMeansResult
    """
    n = x.shape[0]
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n < k:
        raise ValueError(f"k-means with k={k} needs at least {k} points, got {n}")
    g = generator if generator is not None else torch.Generator().manual_seed(int(seed))
    x = x.float()
    if k == n:
        # each point its own cluster: nothing to optimise
        labels = torch.arange(n, device=x.device)
        return KMeansResult(x.clone(), labels, 0.0, 0)

    cap = init_sample if init_sample is not None else max(20 * k, 4096)
    if n > cap:
        sub = torch.randperm(n, generator=g)[:cap].to(x.device)
        centroids = kmeans_plusplus(x[sub], k, g)
    else:
        centroids = kmeans_plusplus(x, k, g)

    # Variance, not the mean squared norm: with a common offset the norm is
    # dominated by the offset and Lloyd stopped after 1-3 iterations.
    scale = float(((x - x.mean(0)) ** 2).sum(1).mean())
    if scale == 0.0:
        scale = 1.0  # all points coincide: any move is 0, no relative scale needed
    it = 0
    for it in range(1, n_iter + 1):
        labels, d2 = nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=k).to(x.dtype)
        new = sums / counts.clamp_min(1).unsqueeze(1)
        empty = (counts == 0).nonzero().flatten()
        if empty.numel():
            # Reseed an empty cluster at a point far from its centroid (drawn
            # ∝ distance², like k-means++): it splits the worst-fitting cluster
            # instead of leaving a dead code.
            w = d2.double().cpu()
            if int((w > 0).sum()) >= empty.numel():
                pick = torch.multinomial(w / w.sum(), empty.numel(), replacement=False, generator=g)
            else:
                pick = torch.randperm(n, generator=g)[: empty.numel()]
            new[empty] = x[pick.to(x.device)]
        shift = float(((new - centroids) ** 2).sum(1).mean())
        centroids = new
        if shift <= tol * scale and empty.numel() == 0:
            break
    labels, d2 = nearest(x, centroids)
    return KMeansResult(centroids, labels, float(d2.mean()), it)
