"""Evaluation: top-K ranking metrics, a batched full / sampled ranking evaluator
and a most-popular baseline."""

from .evaluator import RankingEvaluator, ScoreFn
from .metrics import (
    METRICS,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)
from .popularity import most_popular_scores

__all__ = [
    "RankingEvaluator",
    "ScoreFn",
    "METRICS",
    "ranking_metrics",
    "recall_at_k",
    "precision_at_k",
    "ndcg_at_k",
    "hit_rate_at_k",
    "mrr_at_k",
    "most_popular_scores",
]
