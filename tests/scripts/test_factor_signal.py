"""scripts/factor_signal.py: the code-group and kNN scorers against brute force on a toy matrix."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _module():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("factor_signal", SCRIPTS / "factor_signal.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


def _toy(seed=0, users=7, items=9):
    rng = np.random.default_rng(seed)
    train = sp.csr_matrix((rng.random((users, items)) < 0.4).astype(np.float32))
    return train, rng


def test_group_scores_match_brute_force():
    fs = _module()
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


def test_knn_scores_use_the_nearest_other_rows(monkeypatch):
    fs = _module()
    monkeypatch.setattr(fs, "NEIGHBOURS", 2)
    train, rng = _toy(1)
    dense = train.toarray()
    vectors = rng.normal(size=(7, 5))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = unit @ unit.T
    want = np.zeros_like(dense)
    for u in range(7):
        nearest = [v for v in np.argsort(-sim[u]) if v != u][:2]
        want[u] = sum(max(sim[u, v], 0) * dense[v] for v in nearest)  # negative similarities count 0
    np.testing.assert_allclose(fs.knn_scores(train, vectors, "users"), want, rtol=1e-5, atol=1e-6)

    items = rng.normal(size=(9, 5))
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    sim = unit @ unit.T
    want = np.zeros_like(dense)
    for i in range(9):
        nearest = [j for j in np.argsort(-sim[i]) if j != i][:2]
        want[:, i] = sum(max(sim[i, j], 0) * dense[:, j] for j in nearest)
    np.testing.assert_allclose(fs.knn_scores(train, items, "items"), want, rtol=1e-5, atol=1e-6)
