"""Batched full-ranking and sampled-ranking evaluation of recommenders."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from .metrics import METRICS, ranking_metrics

logger = logging.getLogger(__name__)

__all__ = ["RankingEvaluator", "ScoreFn"]

#: ``score_fn(user_ids: LongTensor [B]) -> Tensor [B, num_items]``
ScoreFn = Callable[[Tensor], Tensor]
Scorer = Union[ScoreFn, Tuple[Tensor, Tensor]]

_MODES = ("full", "sampled")
# Rejection rounds before the (exact but heavier) multinomial fallback in the
# negative sampler; each round resamples only the still-invalid draws.
_MAX_REJECTION_ROUNDS = 10


def _as_csr(m, name: str) -> sp.csr_matrix:
    if not sp.issparse(m):
        raise TypeError(f"'{name}' must be a scipy.sparse matrix, got {type(m).__name__}")
    m = sp.csr_matrix(m, copy=True)
    # Duplicates and explicit zeros would distort |targets| and the hit lookup.
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return m


class _CSRRows:
    """Rows of a CSR matrix on ``device``, sliceable by contiguous row ranges."""

    def __init__(self, m: sp.csr_matrix, device: torch.device):
        self.num_cols = m.shape[1]
        self.indptr = torch.as_tensor(m.indptr.astype(np.int64), device=device)
        self.indices = torch.as_tensor(m.indices.astype(np.int64), device=device)
        self.counts = self.indptr[1:] - self.indptr[:-1]
        # Python ints of the row pointers: slicing with them avoids a device sync per batch.
        self._indptr_host = m.indptr.astype(np.int64)

    def slice(self, start: int, end: int) -> Tuple[Tensor, Tensor]:
        """(local row ids, column ids) of all entries of rows ``start:end``."""
        a, b = int(self._indptr_host[start]), int(self._indptr_host[end])
        cols = self.indices[a:b]
        counts = self.counts[start:end]
        rows = torch.repeat_interleave(torch.arange(end - start, device=cols.device), counts, output_size=b - a)
        return rows, cols


@dataclass
class RankingEvaluator:
    r"""Top-K evaluator of a recommender over held-out user-item interactions.

    Two protocols are supported:

    * ``mode="full"`` (RLMRec / RecBole full ranking): every item of the
      catalogue is scored for each evaluated user; items in ``exclude`` are set
      to :math:`-\infty`; the top :math:`\max(ks)` items are taken with
      :func:`torch.topk` and compared to the user's targets. Ties among equal
      scores are broken however :func:`torch.topk` breaks them (unspecified,
      backend-dependent); with real-valued model scores ties are negligible,
      with count-like scores (popularity) they are not, so prefer adding a
      tie-breaker to such scores if exact reproducibility across devices matters.
      Excluded items are never counted as hits, even when fewer than ``k``
      non-excluded items remain.
    * ``mode="sampled"``: every target item :math:`p` of user :math:`u` is
      ranked against ``num_negatives`` negatives drawn uniformly *with
      replacement* from the items :math:`u` has no entry for in ``target`` or in
      any ``exclude`` matrix. The 0-based rank of :math:`p` is the number of
      negatives scoring **greater than or equal** to it (ties count against the
      model, so a constant scorer gets no credit). Each positive is one
      single-relevant-item list, so recall@k equals hit@k and precision@k is
      hit@k / k; metrics are averaged over a user's positives, then over users.
      Users with no possible negative are skipped. The draws depend on ``seed``
      and on ``batch_size`` (one random stream consumed batch by batch).

    Only users with at least one target are evaluated; results are means over
    them. Scores are computed ``batch_size`` users at a time, so peak memory is
    ``O(batch_size * num_items)`` and a dense ``num_users x num_items`` matrix is
    never formed.

    Args:
        ks (Sequence[int], optional): cutoffs. (default: ``(5, 10, 20)``)
        metrics (Sequence[str], optional): any of ``"recall"``, ``"ndcg"``,
            ``"precision"``, ``"hit"``, ``"mrr"`` (see
            :func:`~autograph_rec.eval.metrics.ranking_metrics`; recall divides
            by the full number of targets, as in RecBole / RLMRec).
            (default: all five)
        batch_size (int, optional): users scored per batch. (default: ``1024``)
        mode (str, optional): ``"full"`` or ``"sampled"``. (default: ``"full"``)
        num_negatives (int, optional): negatives per positive in sampled mode.
            (default: ``100``)
        seed (int, optional): seed of the negative sampler (sampled mode only);
            ``None`` draws a fresh seed. (default: ``0``)

    Example::

        ev = RankingEvaluator(ks=(10, 20))
        # validation: mask training items
        val = ev.evaluate((user_emb, item_emb), valid_mat, exclude=[train_mat])
        # test: mask training AND validation items
        test = ev.evaluate((user_emb, item_emb), test_mat, exclude=[train_mat, valid_mat])
        test["recall@20"], test["num_users"]
    """

    ks: Sequence[int] = (5, 10, 20)
    metrics: Sequence[str] = ("recall", "ndcg", "precision", "hit", "mrr")
    batch_size: int = 1024
    mode: str = "full"
    num_negatives: int = 100
    seed: int | None = 0

    def __post_init__(self) -> None:
        self.ks = tuple(int(k) for k in self.ks)
        self.metrics = tuple(self.metrics)
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"'ks' must be positive integers, got {self.ks}")
        unknown = set(self.metrics) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {METRICS}")
        if self.mode not in _MODES:
            raise ValueError(f"'mode' must be one of {_MODES}, got {self.mode!r}")
        if self.batch_size < 1:
            raise ValueError(f"'batch_size' must be >= 1, got {self.batch_size}")
        if self.mode == "sampled" and self.num_negatives < 1:
            raise ValueError(f"'num_negatives' must be >= 1, got {self.num_negatives}")

    # ------------------------------------------------------------------ API
    @torch.no_grad()
    def evaluate(
        self,
        scorer: Scorer,
        target: sp.spmatrix,
        exclude: Sequence[sp.spmatrix] = (),
        device: torch.device | str = "cpu",
    ) -> Dict[str, float]:
        r"""Evaluate a model against held-out interactions.

        Args:
            scorer (tuple or callable): either ``(user_emb, item_emb)`` with
                shapes ``[num_users, dim]`` and ``[num_items, dim]`` (score =
                dot product), or ``score_fn(user_ids)`` mapping a long tensor
                ``[B]`` (on ``device``) to scores ``[B, num_items]``. A callable
                may return a shared/expanded tensor: it is never written to.
            target (scipy.sparse.spmatrix): held-out positives, shape
                ``[num_users, num_items]``; any non-zero entry is a target.
            exclude (Sequence[scipy.sparse.spmatrix], optional): matrices of the
                same shape whose entries are removed from the ranking (full
                mode) and from the negative pool (sampled mode). Pass the
                training matrix when validating, and the training **and**
                validation matrices when testing. (default: ``()``)
            device (torch.device or str, optional): where scoring and ranking
                run. (default: ``"cpu"``)

        Returns:
            Dict[str, float]: ``{"recall@20": ..., "ndcg@20": ..., ...}`` means
            over evaluated users, plus ``"num_users"`` (how many were evaluated).
        """
        device = torch.device(device)
        target = _as_csr(target, "target")
        num_users, num_items = target.shape
        excl = self._combine_exclude(exclude, target.shape)

        overlap = target.multiply(excl).nnz if excl.nnz else 0
        if overlap:
            logger.warning(
                "%d target entries are also in 'exclude'; they are masked and count as misses "
                "(check the split for leakage)", overlap,
            )

        users = np.flatnonzero(np.diff(target.indptr) > 0)
        score = self._make_scorer(scorer, num_users, num_items, self.batch_size, device)
        t0 = time.perf_counter()
        if users.size == 0:
            logger.warning("no user has a target item; nothing to evaluate")
            return {**{key: 0.0 for key in self.metric_names()}, "num_users": 0}

        # Restrict both matrices to evaluated users once, so each batch is a
        # contiguous row range and slicing is two pointer lookups.
        tgt = _CSRRows(target[users], device)
        exc = _CSRRows(excl[users], device)
        users_t = torch.as_tensor(users, dtype=torch.long, device=device)

        if self.mode == "full":
            sums, n_eval = self._run_full(score, users_t, tgt, exc, num_items)
        else:
            sums, n_eval = self._run_sampled(score, users_t, tgt, exc, num_items, device)

        # One host transfer at the end instead of a sync per batch and metric.
        totals = sums.tolist() if sums is not None else [0.0] * len(self.metric_names())
        result = {key: (v / n_eval if n_eval else 0.0) for key, v in zip(self.metric_names(), totals)}
        result["num_users"] = int(n_eval)
        logger.debug(
            "%s-ranking evaluation of %d users x %d items took %.3fs",
            self.mode, n_eval, num_items, time.perf_counter() - t0,
        )
        return result

    # ------------------------------------------------------------ helpers
    def metric_names(self) -> list:
        """The ``metric@k`` keys :meth:`evaluate` returns (besides ``num_users``), in a fixed
        order: metrics outer, cutoffs inner, e.g. ``['recall@10', 'recall@20', 'ndcg@10', ...]``."""
        return [f"{m}@{k}" for m in self.metrics for k in self.ks]

    @staticmethod
    def _combine_exclude(exclude: Sequence[sp.spmatrix], shape: Tuple[int, int]) -> sp.csr_matrix:
        if sp.issparse(exclude):  # a single matrix instead of a sequence
            exclude = [exclude]
        mats = []
        for j, m in enumerate(exclude):
            m = _as_csr(m, f"exclude[{j}]")
            if m.shape != shape:
                raise ValueError(f"exclude[{j}] has shape {m.shape}, expected {shape}")
            mats.append(m)
        if not mats:
            return sp.csr_matrix(shape, dtype=np.float32)
        # Binarise before summing so the union has a clean 0/1 structure.
        union = mats[0].astype(bool).astype(np.float32)
        for m in mats[1:]:
            union = union + m.astype(bool).astype(np.float32)
        return _as_csr(union, "exclude")

    @staticmethod
    def _make_scorer(scorer: Scorer, num_users: int, num_items: int, batch_size: int, device: torch.device):
        """Returns ``f(user_ids) -> (scores [B, I], writable: bool)``."""
        if isinstance(scorer, (tuple, list)):
            if len(scorer) != 2:
                raise ValueError("an embedding scorer must be a pair (user_emb, item_emb)")
            user_emb, item_emb = (torch.as_tensor(e).to(device) for e in scorer)
            if user_emb.dim() != 2 or item_emb.dim() != 2 or user_emb.size(1) != item_emb.size(1):
                raise ValueError(
                    f"embeddings must be [num_users, d] and [num_items, d], got "
                    f"{tuple(user_emb.shape)} and {tuple(item_emb.shape)}"
                )
            if user_emb.size(0) != num_users or item_emb.size(0) != num_items:
                raise ValueError(
                    f"embedding sizes {user_emb.size(0)} x {item_emb.size(0)} do not match the "
                    f"target matrix {num_users} x {num_items}"
                )
            dtype = torch.promote_types(user_emb.dtype, item_emb.dtype)
            if not dtype.is_floating_point:
                dtype = torch.float32
            user_emb, item_emb = user_emb.to(dtype), item_emb.to(dtype)
            item_t = item_emb.t().contiguous()
            # One [batch_size, I] buffer reused by every batch: allocating a fresh
            # multi-MB output per batch costs page faults comparable to the matmul.
            buf = torch.empty(min(batch_size, num_users), num_items, dtype=dtype, device=device)

            def emb_score(ids: Tensor) -> Tuple[Tensor, bool]:
                out = buf[: ids.numel()]
                torch.mm(user_emb[ids], item_t, out=out)
                return out, True  # our own buffer: safe to mask in place

            return emb_score

        if not callable(scorer):
            raise TypeError("scorer must be (user_emb, item_emb) or a callable score_fn(user_ids)")

        def fn_score(ids: Tensor) -> Tuple[Tensor, bool]:
            s = scorer(ids)
            s = torch.as_tensor(s, device=device)
            if s.shape != (ids.numel(), num_items):
                raise ValueError(f"score_fn returned shape {tuple(s.shape)}, expected {(ids.numel(), num_items)}")
            if not s.is_floating_point():
                return s.float(), True  # .float() copied it
            # The callable may return a view of its own state (e.g. an expanded
            # popularity vector): never mask it in place.
            return s, False

        return fn_score

    def _run_full(self, score, users_t: Tensor, tgt: _CSRRows, exc: _CSRRows, num_items: int):
        k_top = min(max(self.ks), num_items)
        sums = None
        n = users_t.numel()
        # Sorted keys row * num_items + col of all targets: the hit lookup is a
        # binary search of the B x K top-k keys instead of a dense B x I mask.
        t_rows_all = torch.repeat_interleave(torch.arange(n, device=users_t.device), tgt.counts)
        t_keys = t_rows_all * num_items + tgt.indices
        for start in range(0, n, self.batch_size):
            end = min(start + self.batch_size, n)
            scores, writable = score(users_t[start:end])
            rows, cols = exc.slice(start, end)
            if cols.numel():
                neg_inf = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
                if writable:
                    scores.index_put_((rows, cols), neg_inf)
                else:
                    scores = scores.index_put((rows, cols), neg_inf)
            vals, idx = torch.topk(scores, k_top, dim=1, sorted=True)

            keys = t_keys[tgt._indptr_host[start] : tgt._indptr_host[end]]
            query = (torch.arange(start, end, device=idx.device).unsqueeze(1) * num_items) + idx
            pos = torch.searchsorted(keys, query).clamp_(max=keys.numel() - 1)
            hits = (keys[pos] == query) & (vals != float("-inf"))

            per_user = ranking_metrics(hits, tgt.counts[start:end], self.ks, self.metrics)
            # [num_metrics, B] summed in one op; float64 so the mean does not drift with U.
            s = torch.stack([per_user[key] for key in self.metric_names()]).sum(dim=1, dtype=torch.float64)
            sums = s if sums is None else sums + s
        return sums, n

    def _run_sampled(self, score, users_t: Tensor, tgt: _CSRRows, exc: _CSRRows, num_items: int,
                     device: torch.device):
        N = self.num_negatives
        gen = torch.Generator(device=device)
        if self.seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(self.seed))
        k_top = min(max(self.ks), N + 1)
        ranks_range = torch.arange(k_top, device=device)
        sums = None
        n_eval = torch.zeros((), dtype=torch.long, device=device)
        n = users_t.numel()
        skipped = 0
        for start in range(0, n, self.batch_size):
            end = min(start + self.batch_size, n)
            B = end - start
            # Dense [B, I] "has interacted" mask (B x I per batch is bounded).
            seen = torch.zeros(B, num_items, dtype=torch.bool, device=device)
            p_rows, p_cols = tgt.slice(start, end)
            seen[p_rows, p_cols] = True
            e_rows, e_cols = exc.slice(start, end)
            seen[e_rows, e_cols] = True
            has_neg = ~seen.all(dim=1)  # [B]
            if not bool(has_neg.all()):
                skipped += int((~has_neg).sum())
                keep = has_neg[p_rows]
                p_rows, p_cols = p_rows[keep], p_cols[keep]
            if p_rows.numel() == 0:
                continue

            neg = self._sample_negatives(seen, p_rows, N, gen)  # [P, N]
            scores, _ = score(users_t[start:end])  # read-only here
            pos_s = scores[p_rows, p_cols].unsqueeze(1)  # [P, 1]
            neg_s = scores[p_rows.unsqueeze(1), neg]  # [P, N]
            # Ties count against the positive (pessimistic rank).
            rank = (neg_s >= pos_s).sum(dim=1)  # [P]
            hits = ranks_range.unsqueeze(0) == rank.unsqueeze(1)  # [P, k_top]
            per_pos = ranking_metrics(hits, torch.ones_like(rank), self.ks, self.metrics)

            # Mean over each user's positives, then sum over users.
            n_pos = torch.zeros(B, device=device).index_add_(0, p_rows, torch.ones_like(p_rows, dtype=torch.float32))
            valid = n_pos > 0
            n_eval += valid.sum()
            per_pos_t = torch.stack([per_pos[key] for key in self.metric_names()], dim=1)  # [P, M]
            per_user = torch.zeros(B, per_pos_t.size(1), device=device).index_add_(0, p_rows, per_pos_t)
            s = (per_user[valid] / n_pos[valid].unsqueeze(1)).sum(dim=0, dtype=torch.float64)
            sums = s if sums is None else sums + s
        if skipped:
            logger.warning("sampled evaluation skipped %d users who interacted with every item", skipped)
        return sums, int(n_eval)

    @staticmethod
    def _sample_negatives(seen: Tensor, p_rows: Tensor, N: int, gen: torch.Generator) -> Tensor:
        """Uniform draws (with replacement) from each row's unseen items, ``[P, N]``."""
        num_items = seen.size(1)
        device = seen.device
        neg = torch.randint(0, num_items, (p_rows.numel(), N), device=device, generator=gen)
        bad = seen[p_rows.unsqueeze(1), neg]
        # Rejection sampling: cheap when users see a small share of the catalogue.
        for _ in range(_MAX_REJECTION_ROUNDS):
            n_bad = int(bad.sum())
            if n_bad == 0:
                return neg
            redraw = torch.randint(0, num_items, (n_bad,), device=device, generator=gen)
            neg[bad] = redraw
            bad[bad.clone()] = seen[p_rows.unsqueeze(1).expand_as(neg)[bad], redraw]
        # Fallback for very dense rows: exact sampling from the unseen items.
        bad_pos = bad.any(dim=1).nonzero().squeeze(1)
        if bad_pos.numel():
            weights = (~seen[p_rows[bad_pos]]).to(torch.float32)
            neg[bad_pos] = torch.multinomial(weights, N, replacement=True, generator=gen)
        return neg
