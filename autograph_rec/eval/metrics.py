"""Vectorised top-K ranking metrics computed from a hit matrix.

Every function takes the same two inputs:

* ``hits``: a boolean tensor of shape ``[B, K]`` whose entry ``[b, j]`` says
  whether the item ranked ``j`` (0-based) for row ``b`` is a held-out positive;
* ``num_targets``: a long tensor of shape ``[B]`` with the number of held-out
  positives of each row (``|T_b|``),

and returns one value per row (shape ``[B]``), so callers can average over
users, keep per-user values for significance tests, or weight rows as they see
fit.  Relevance is binary throughout.

Cutoffs ``k`` larger than ``K`` are allowed: the missing ranks are treated as
misses (this happens when the catalogue has fewer than ``k`` items).
"""

from __future__ import annotations

from typing import Dict, Sequence

import torch
from torch import Tensor

__all__ = [
    "METRICS",
    "ranking_metrics",
    "recall_at_k",
    "precision_at_k",
    "ndcg_at_k",
    "hit_rate_at_k",
    "mrr_at_k",
]

#: Names understood by :func:`ranking_metrics` (and the evaluator).
METRICS = ("recall", "precision", "ndcg", "hit", "mrr")


def _check(hits: Tensor, num_targets: Tensor) -> None:
    if hits.dim() != 2:
        raise ValueError(f"'hits' must have shape [B, K], got {tuple(hits.shape)}")
    if num_targets.dim() != 1 or num_targets.numel() != hits.size(0):
        raise ValueError(
            f"'num_targets' must have shape [{hits.size(0)}], got {tuple(num_targets.shape)}"
        )


def _pad(hits: Tensor, k_max: int) -> Tensor:
    # Ranks beyond the list the caller produced cannot be hits.
    if hits.size(1) >= k_max:
        return hits[:, :k_max]
    pad = hits.new_zeros(hits.size(0), k_max - hits.size(1))
    return torch.cat([hits, pad], dim=1)


def ranking_metrics(
    hits: Tensor,
    num_targets: Tensor,
    ks: Sequence[int] = (5, 10, 20),
    metrics: Sequence[str] = METRICS,
) -> Dict[str, Tensor]:
    r"""Per-row ranking metrics for several cutoffs in one pass.

    With :math:`h_j \in \{0, 1\}` the hit indicator at 0-based rank :math:`j`,
    :math:`T` the held-out positives of a row and :math:`H_k = \sum_{j<k} h_j`:

    * ``recall@k`` :math:`= H_k / |T|` (the RecBole / RLMRec definition: the
      denominator is the full number of targets, *not* :math:`\min(|T|, k)`,
      so a user with more than ``k`` targets cannot reach 1.0);
    * ``precision@k`` :math:`= H_k / k`;
    * ``ndcg@k`` :math:`= \mathrm{DCG}_k / \mathrm{IDCG}_k` with
      :math:`\mathrm{DCG}_k = \sum_{j<k} h_j / \log_2(j + 2)` and the ideal
      :math:`\mathrm{IDCG}_k = \sum_{j<\min(|T|, k)} 1 / \log_2(j + 2)`;
    * ``hit@k`` :math:`= \mathbb{1}[H_k > 0]` (HitRate);
    * ``mrr@k`` :math:`= 1 / (r + 1)` where :math:`r` is the 0-based rank of the
      first hit if :math:`r < k`, else 0.

    Rows with ``num_targets == 0`` get 0 for every metric (no division by zero);
    callers normally drop them beforehand.

    Args:
        hits (torch.Tensor): boolean hit matrix of shape ``[B, K]``, ranks in
            decreasing score order.
        num_targets (torch.Tensor): number of held-out positives per row,
            shape ``[B]``.
        ks (Sequence[int], optional): cutoffs. (default: ``(5, 10, 20)``)
        metrics (Sequence[str], optional): subset of :data:`METRICS`.
            (default: all)

    Returns:
        Dict[str, torch.Tensor]: ``{"recall@5": Tensor[B], ...}`` (``float32``),
        one entry per metric and cutoff.
    """
    _check(hits, num_targets)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {METRICS}")
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise ValueError(f"cutoffs must be positive integers, got {ks}")

    k_max = max(ks)
    device = hits.device
    h = _pad(hits.bool(), k_max).to(torch.float32)
    n = num_targets.to(device=device, dtype=torch.long)

    out: Dict[str, Tensor] = {}
    # Cumulative sums give every cutoff from a single pass over the [B, K] matrix.
    cum_hits = h.cumsum(dim=1)  # [B, k_max]
    need_ndcg = "ndcg" in metrics
    need_mrr = "mrr" in metrics
    if need_ndcg:
        discount = 1.0 / torch.log2(torch.arange(k_max, device=device, dtype=torch.float32) + 2.0)
        cum_dcg = (h * discount).cumsum(dim=1)  # [B, k_max]
        cum_idcg = discount.cumsum(dim=0)  # [k_max]
    if need_mrr:
        any_hit = h.any(dim=1) if h.numel() else torch.zeros(h.size(0), dtype=torch.bool, device=device)
        # argmax returns the first maximal index, i.e. the first hit.
        first = torch.where(any_hit, h.argmax(dim=1), torch.full_like(n, k_max))
        rr = 1.0 / (first.to(torch.float32) + 1.0)

    denom = n.clamp(min=1).to(torch.float32)
    for k in ks:
        n_hits = cum_hits[:, k - 1]
        if "recall" in metrics:
            out[f"recall@{k}"] = n_hits / denom
        if "precision" in metrics:
            out[f"precision@{k}"] = n_hits / k
        if need_ndcg:
            n_ideal = n.clamp(max=k)
            idcg = cum_idcg[(n_ideal - 1).clamp(min=0)]
            out[f"ndcg@{k}"] = torch.where(n_ideal > 0, cum_dcg[:, k - 1] / idcg, torch.zeros_like(idcg))
        if "hit" in metrics:
            out[f"hit@{k}"] = (n_hits > 0).to(torch.float32)
        if need_mrr:
            out[f"mrr@{k}"] = torch.where(first < k, rr, torch.zeros_like(rr))
    return out


def _single(name: str, hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    return ranking_metrics(hits, num_targets, ks=(k,), metrics=(name,))[f"{name}@{k}"]


def recall_at_k(hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    r"""Recall@k :math:`= |\text{hits in top-}k| / |T|` per row, shape ``[B]``.

    The denominator is the full number of held-out positives (RecBole / RLMRec),
    not :math:`\min(|T|, k)`. See :func:`ranking_metrics` for the arguments.
    """
    return _single("recall", hits, num_targets, k)


def precision_at_k(hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    r"""Precision@k :math:`= |\text{hits in top-}k| / k` per row, shape ``[B]``."""
    return _single("precision", hits, num_targets, k)


def ndcg_at_k(hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    r"""NDCG@k with binary relevance and :math:`\log_2(j + 2)` discount per row,
    the ideal DCG summed over :math:`\min(|T|, k)` ranks; shape ``[B]``."""
    return _single("ndcg", hits, num_targets, k)


def hit_rate_at_k(hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    r"""HitRate@k :math:`= \mathbb{1}[\text{any hit in top-}k]` per row, shape ``[B]``."""
    return _single("hit", hits, num_targets, k)


def mrr_at_k(hits: Tensor, num_targets: Tensor, k: int) -> Tensor:
    r"""MRR@k: reciprocal 1-based rank of the first hit within the top ``k``,
    0 if there is none; shape ``[B]``."""
    return _single("mrr", hits, num_targets, k)

