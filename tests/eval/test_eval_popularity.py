"""Most-popular baseline."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from autograph_rec.eval import RankingEvaluator, most_popular_scores


def test_scores_are_binarised_training_counts():
    # item 0: users 0,1,2 -> 3;  item 1: user 0 twice (duplicate) + weight 5 -> 1;  item 2: 0
    train = sp.coo_matrix(
        (np.array([1, 1, 1, 1, 1, 5], np.float32), (np.array([0, 1, 2, 0, 0, 0]), np.array([0, 0, 0, 1, 1, 1]))),
        shape=(3, 3),
    )
    score = most_popular_scores(train)
    s = score(torch.tensor([2, 0]))
    assert s.shape == (2, 3)
    assert s.tolist() == [[3.0, 1.0, 0.0], [3.0, 1.0, 0.0]]


def test_popularity_beats_random_on_skewed_data_and_is_not_mutated():
    # Interactions drawn from a Zipf-like item distribution: popularity must beat random.
    rng = np.random.default_rng(0)
    num_users, num_items = 300, 100
    p = 1.0 / np.arange(1, num_items + 1)
    p /= p.sum()
    dense = np.zeros((num_users, num_items), dtype=bool)
    for u in range(num_users):
        dense[u, rng.choice(num_items, 10, replace=False, p=p)] = True
    split = rng.random(dense.shape) < 0.8
    train, test = sp.csr_matrix(dense & split), sp.csr_matrix(dense & ~split)

    score = most_popular_scores(train)
    counts_before = score(torch.tensor([0])).clone()
    ev = RankingEvaluator(ks=(10,))
    pop = ev.evaluate(score, test, exclude=[train])
    g = torch.Generator().manual_seed(0)
    rand_scores = torch.rand(num_users, num_items, generator=g)
    rand = ev.evaluate(lambda ids: rand_scores[ids], test, exclude=[train])
    assert pop["num_users"] == rand["num_users"] > 0
    assert pop["recall@10"] > 2 * rand["recall@10"]
    # masking ran on an expanded view of the count vector: it must be untouched
    assert torch.equal(score(torch.tensor([0])), counts_before)


def test_rejects_dense_input():
    with pytest.raises(TypeError):
        most_popular_scores(np.ones((2, 2)))
