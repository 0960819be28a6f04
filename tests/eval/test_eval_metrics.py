"""Ranking metrics against rankings worked out by hand."""

import math

import pytest
import torch

from autograph_rec.eval import (
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

L3 = math.log2(3)  # discount denominator of rank 2 (1-based): 1 / log2(3) = 0.630930

# Case A: targets {1, 3}, ranking [3, 0, 1, 2, 4]  ->  hits [T, F, T, F, F], |T| = 2
#   recall@1 = 1/2, recall@2 = 1/2, recall@3 = 2/2 = 1
#   precision@1 = 1/1, precision@2 = 1/2, precision@3 = 2/3
#   DCG@2 = 1/log2(2) = 1,            IDCG@2 = 1 + 1/log2(3) = 1.630930  -> ndcg@2 = 0.613147
#   DCG@3 = 1 + 1/log2(4) = 1.5,      IDCG@3 = IDCG@2 (only 2 targets)   -> ndcg@3 = 0.919721
#   DCG@1 = 1, IDCG@1 = 1 -> ndcg@1 = 1;  hit@k = 1;  first hit at rank 1 -> mrr@k = 1
# Case B: targets {4}, ranking [0, 2, 4, ...]  ->  hits [F, F, T, F, F], |T| = 1
#   recall@2 = 0, recall@3 = 1;  precision@3 = 1/3
#   ndcg@2 = 0;  ndcg@3 = (1/log2(4)) / 1 = 0.5;  hit@2 = 0, hit@3 = 1
#   mrr@2 = 0 (first hit beyond 2), mrr@3 = 1/3
# Case C: 5 targets, hits [T, F, T, F, F]  (more targets than k)
#   recall@3 = 2/5 = 0.4 (denominator |T|, not min(|T|, k));  precision@3 = 2/3
#   DCG@3 = 1 + 1/2 = 1.5;  IDCG@3 = 1 + 1/log2(3) + 1/2 = 2.130930  -> ndcg@3 = 0.703919
# Case D: 2 targets, no hit  ->  every metric 0.
HITS = torch.tensor(
    [
        [1, 0, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [1, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=torch.bool,
)
NUM = torch.tensor([2, 1, 5, 2])

EXPECTED = {
    "recall@1": [0.5, 0.0, 0.2, 0.0],
    "recall@2": [0.5, 0.0, 0.2, 0.0],
    "recall@3": [1.0, 1.0, 0.4, 0.0],
    "precision@1": [1.0, 0.0, 1.0, 0.0],
    "precision@2": [0.5, 0.0, 0.5, 0.0],
    "precision@3": [2 / 3, 1 / 3, 2 / 3, 0.0],
    "ndcg@1": [1.0, 0.0, 1.0, 0.0],
    "ndcg@2": [1 / (1 + 1 / L3), 0.0, 1 / (1 + 1 / L3), 0.0],
    "ndcg@3": [1.5 / (1 + 1 / L3), 0.5, 1.5 / (1 + 1 / L3 + 0.5), 0.0],
    "hit@1": [1.0, 0.0, 1.0, 0.0],
    "hit@2": [1.0, 0.0, 1.0, 0.0],
    "hit@3": [1.0, 1.0, 1.0, 0.0],
    "mrr@1": [1.0, 0.0, 1.0, 0.0],
    "mrr@2": [1.0, 0.0, 1.0, 0.0],
    "mrr@3": [1.0, 1 / 3, 1.0, 0.0],
}


def test_hand_computed_cases():
    out = ranking_metrics(HITS, NUM, ks=(1, 2, 3))
    assert set(out) == set(EXPECTED)
    for key, want in EXPECTED.items():
        assert out[key].shape == (4,)
        assert out[key].tolist() == pytest.approx(want, abs=1e-6), key
    # the literal numbers from the comments, as a check on the comments themselves
    assert out["ndcg@2"][0].item() == pytest.approx(0.613147, abs=1e-6)
    assert out["ndcg@3"][0].item() == pytest.approx(0.919721, abs=1e-6)
    assert out["ndcg@3"][2].item() == pytest.approx(0.703919, abs=1e-6)


def test_single_metric_functions_match():
    for fn, name in [
        (recall_at_k, "recall"),
        (precision_at_k, "precision"),
        (ndcg_at_k, "ndcg"),
        (hit_rate_at_k, "hit"),
        (mrr_at_k, "mrr"),
    ]:
        assert fn(HITS, NUM, 3).tolist() == pytest.approx(EXPECTED[f"{name}@3"], abs=1e-6)


def test_cutoff_beyond_list_counts_as_misses():
    # Only 2 ranks available (tiny catalogue) but k = 4: precision still divides by 4.
    hits = torch.tensor([[True, True]])
    out = ranking_metrics(hits, torch.tensor([2]), ks=(4,))
    assert out["precision@4"].item() == pytest.approx(0.5)
    assert out["recall@4"].item() == pytest.approx(1.0)
    assert out["ndcg@4"].item() == pytest.approx(1.0)


def test_zero_targets_give_zero_not_nan():
    out = ranking_metrics(torch.zeros(2, 3, dtype=torch.bool), torch.tensor([0, 0]), ks=(3,))
    for v in out.values():
        assert torch.equal(v, torch.zeros(2))


def test_metric_subset_and_validation():
    out = ranking_metrics(HITS, NUM, ks=(2,), metrics=("ndcg",))
    assert list(out) == ["ndcg@2"]
    with pytest.raises(ValueError):
        ranking_metrics(HITS, NUM, ks=(2,), metrics=("auc",))
    with pytest.raises(ValueError):
        ranking_metrics(HITS, NUM, ks=(0,))
    with pytest.raises(ValueError):
        ranking_metrics(HITS, NUM[:2], ks=(2,))
