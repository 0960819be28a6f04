"""scripts/factor_signal.py: the code-group and kNN scorers against brute force on a toy matrix."""

import numpy as np
import scipy.sparse as sp


def _toy(seed=0, users=7, items=9):
    rng = np.random.default_rng(seed)
    train = sp.csr_matrix((rng.random((users, items)) < 0.4).astype(np.float32))
    return train, rng


def test_group_scores_match_brute_force(load_script):
    fs = load_script("factor_signal")
    train, rng = _toy()
    dense = train.toarray()
    user_codes, item_codes = rng.integers(0, 3, (7, 2)), rng.integers(0, 4, (9, 2))

    got = fs.group_scores(train, user_codes, (0, 1), "users")
    want = np.zeros_like(dense)
    for u in range(7):
        for level in (0, 1):
            mates = [v for v in range(7) if v != u and user_codes[v, level] == user_codes[u, level]]
            want[u] += dense[mates].sum(axis=0)  # the other users of the same factor node
    np.testing.assert_allclose(got, want)

    got = fs.group_scores(train, item_codes, (1,), "items")
    want = np.array([[sum(dense[u, j] for j in range(9) if item_codes[j, 1] == item_codes[i, 1]) for i in range(9)]
                     for u in range(7)])
    np.testing.assert_allclose(got, want)


def _brute_knn(rows, vectors, k=2):
    """Row r of the result: the rows of the k most cosine-similar other vectors, similarity-weighted."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = unit @ unit.T
    want = np.zeros_like(rows)
    for r in range(len(vectors)):
        nearest = [v for v in np.argsort(-sim[r]) if v != r][:k]
        want[r] = sum(max(sim[r, v], 0) * rows[v] for v in nearest)  # negative similarities count 0
    return want


def test_knn_scores_use_the_nearest_other_rows(monkeypatch, load_script):
    fs = load_script("factor_signal")
    monkeypatch.setattr(fs, "NEIGHBOURS", 2)
    train, rng = _toy(1)
    dense = train.toarray()
    users, items = rng.normal(size=(7, 5)), rng.normal(size=(9, 5))
    np.testing.assert_allclose(fs.knn_scores(train, users, "users"), _brute_knn(dense, users), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fs.knn_scores(train, items, "items"), _brute_knn(dense.T, items).T, rtol=1e-5, atol=1e-6)
