"""RankingEvaluator: full ranking against a brute-force reference, masking,
batching, scorer forms and the sampled protocol."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from autograph_rec.eval import RankingEvaluator


def _random_split(num_users=60, num_items=40, density=0.15, seed=0):
    """Disjoint train / valid / test matrices; a few users get no test item."""
    rng = np.random.default_rng(seed)
    dense = rng.random((num_users, num_items)) < density
    which = rng.integers(0, 5, size=dense.shape)  # 3:1:1 like RLMRec
    train = sp.csr_matrix((dense & (which < 3)).astype(np.float32))
    valid = sp.csr_matrix((dense & (which == 3)).astype(np.float32))
    test = (dense & (which == 4)).astype(np.float32)
    test[:5] = 0  # users 0..4 have no target
    return train, valid, sp.csr_matrix(test)


def _reference(scores, target, exclude, ks):
    """Brute force: dense per-user sort, metrics by their textbook formulas."""
    scores = scores.copy()
    for m in exclude:
        scores[m.toarray() > 0] = -np.inf
    tgt = target.toarray() > 0
    out = {f"{m}@{k}": [] for m in ("recall", "precision", "ndcg", "hit", "mrr") for k in ks}
    for u in range(tgt.shape[0]):
        t = set(np.flatnonzero(tgt[u]))
        if not t:
            continue
        order = np.argsort(-scores[u], kind="stable")
        for k in ks:
            top = [i for i in order[:k] if scores[u, i] > -np.inf]
            rel = [i in t for i in top]
            out[f"recall@{k}"].append(sum(rel) / len(t))
            out[f"precision@{k}"].append(sum(rel) / k)
            dcg = sum(1 / math.log2(j + 2) for j, r in enumerate(rel) if r)
            idcg = sum(1 / math.log2(j + 2) for j in range(min(len(t), k)))
            out[f"ndcg@{k}"].append(dcg / idcg)
            out[f"hit@{k}"].append(float(any(rel)))
            first = next((j for j, r in enumerate(rel) if r), None)
            out[f"mrr@{k}"].append(0.0 if first is None else 1 / (first + 1))
    n = len(out["recall@%d" % ks[0]])
    return {key: float(np.mean(v)) for key, v in out.items()}, n


def _emb(num_users, num_items, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(num_users, dim, generator=g), torch.randn(num_items, dim, generator=g)


def test_full_ranking_matches_brute_force():
    train, valid, test = _random_split()
    ue, ie = _emb(*test.shape)
    ks = (1, 5, 10)
    res = RankingEvaluator(ks=ks, batch_size=16).evaluate((ue, ie), test, exclude=[train, valid])
    want, n = _reference((ue @ ie.T).numpy(), test, [train, valid], ks)
    assert res["num_users"] == n == int((np.diff(test.indptr) > 0).sum())
    for key, v in want.items():
        assert res[key] == pytest.approx(v, abs=1e-6), key


def test_metric_names_are_the_keys_evaluate_returns():
    train, _, test = _random_split()
    ev = RankingEvaluator(ks=(5, 20), metrics=("ndcg", "recall"))
    assert ev.metric_names() == ["ndcg@5", "ndcg@20", "recall@5", "recall@20"]
    assert list(ev.evaluate(_emb(*test.shape), test, exclude=[train])) == ev.metric_names() + ["num_users"]


def test_excluded_item_with_top_score_never_counts():
    # User 0: item 0 (training) scores highest, the target item 1 second.
    # Masked, item 1 is ranked first (hit@1 = 1); unmasked, it would be second.
    target = sp.csr_matrix(np.array([[0, 1, 0, 0]], dtype=np.float32))
    train = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))
    scores = torch.tensor([[10.0, 5.0, 1.0, 0.0]])
    ev = RankingEvaluator(ks=(1,))
    assert ev.evaluate(lambda ids: scores[ids], target)["hit@1"] == 0.0
    assert ev.evaluate(lambda ids: scores[ids], target, exclude=[train])["hit@1"] == 1.0


def test_masking_matches_manual_minus_inf():
    # Give every excluded item a huge score: masking must make that irrelevant.
    train, valid, test = _random_split(seed=1)
    ue, ie = _emb(*test.shape, seed=1)
    base = ue @ ie.T
    excl = torch.as_tensor((train + valid).toarray() > 0)
    boosted = base.masked_fill(excl, 1e9)
    manual = base.masked_fill(excl, float("-inf"))
    ev = RankingEvaluator(ks=(3, 10))
    got = ev.evaluate(lambda ids: boosted[ids], test, exclude=[train, valid])
    want = ev.evaluate(lambda ids: manual[ids], test)
    assert got == pytest.approx(want, abs=1e-9)


def test_callable_result_is_not_written_to():
    # A score_fn may return a view of its own state; masking must not write into it.
    train, _, test = _random_split(seed=2)
    scores = torch.rand(test.shape)
    before = scores.clone()
    RankingEvaluator(batch_size=8).evaluate(lambda ids: scores.narrow(0, 0, ids.numel()), test, exclude=[train])
    assert torch.equal(scores, before)


def test_users_without_targets_are_skipped():
    train, _, test = _random_split(seed=3)
    ue, ie = _emb(*test.shape, seed=3)
    ev = RankingEvaluator(ks=(5,))
    res = ev.evaluate((ue, ie), test, exclude=[train])
    assert res["num_users"] == int((np.diff(test.indptr) > 0).sum()) < test.shape[0]
    # Scrambling the embeddings of target-less users (0..4) changes nothing.
    ue2 = ue.clone()
    ue2[:5] = -100 * ue2[:5]
    assert ev.evaluate((ue2, ie), test, exclude=[train]) == res
    empty = sp.csr_matrix(test.shape, dtype=np.float32)
    assert ev.evaluate((ue, ie), empty)["num_users"] == 0


@pytest.mark.parametrize("mode", ["full", "sampled"])
def test_batch_size_does_not_change_full_results(mode):
    train, valid, test = _random_split(seed=4)
    ue, ie = _emb(*test.shape, seed=4)
    if mode == "full":
        a = RankingEvaluator(batch_size=1).evaluate((ue, ie), test, exclude=[train, valid])
        b = RankingEvaluator(batch_size=1000).evaluate((ue, ie), test, exclude=[train, valid])
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], abs=1e-12), key
    else:
        # Sampled draws depend on batching, but a fixed (seed, batch_size) is reproducible.
        ev = RankingEvaluator(mode="sampled", num_negatives=10, batch_size=16, seed=3)
        assert ev.evaluate((ue, ie), test, exclude=[train]) == ev.evaluate((ue, ie), test, exclude=[train])


def test_callable_and_embedding_tuple_agree():
    train, valid, test = _random_split(seed=5)
    ue, ie = _emb(*test.shape, seed=5)
    ev = RankingEvaluator(ks=(2, 7), batch_size=13)
    a = ev.evaluate((ue, ie), test, exclude=[train, valid])
    b = ev.evaluate(lambda ids: ue[ids] @ ie.T, test, exclude=[train, valid])
    assert a == pytest.approx(b, abs=1e-9)


def test_perfect_scorer_full_ranking():
    # Targets score above everything: recall@k = min(|T|, k) / |T|, ndcg = 1.
    train, _, test = _random_split(seed=6)
    perfect = torch.as_tensor(test.toarray()) + 0.01 * torch.rand(test.shape)
    res = RankingEvaluator(ks=(1, 3, 40)).evaluate(lambda ids: perfect[ids], test, exclude=[train])
    n = np.diff(test.indptr)
    n = n[n > 0]
    assert res["recall@1"] == pytest.approx(np.mean(1 / n))
    assert res["recall@40"] == pytest.approx(1.0)
    for k in (1, 3, 40):
        assert res[f"ndcg@{k}"] == pytest.approx(1.0)
        assert res[f"mrr@{k}"] == pytest.approx(1.0)


def test_k_larger_than_catalogue():
    target = sp.csr_matrix(np.array([[0, 1, 1]], dtype=np.float32))
    res = RankingEvaluator(ks=(5,)).evaluate(lambda ids: torch.tensor([[0.0, 2.0, 1.0]]), target)
    assert res["recall@5"] == 1.0 and res["precision@5"] == pytest.approx(0.4)


def test_sampled_perfect_scorer_has_recall_one():
    train, valid, test = _random_split(seed=7)
    perfect = torch.as_tensor(test.toarray()) + 0.01 * torch.rand(test.shape)
    res = RankingEvaluator(ks=(1, 5, 10), mode="sampled", num_negatives=20).evaluate(
        lambda ids: perfect[ids], test, exclude=[train, valid])
    for k in (1, 5, 10):
        assert res[f"recall@{k}"] == 1.0
        assert res[f"hit@{k}"] == 1.0
        assert res[f"ndcg@{k}"] == pytest.approx(1.0)


def test_sampled_random_scorer_hit_rate_is_k_over_n_plus_one():
    # 1000 users x 3 positives: the std of a hit rate near 0.4 is ~0.009.
    num_users, num_items, N = 1000, 400, 49
    rng = np.random.default_rng(8)
    rows = np.repeat(np.arange(num_users), 3)
    cols = np.argsort(rng.random((num_users, num_items)), axis=1)[:, :3].ravel()
    test = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(num_users, num_items))
    ue, ie = _emb(num_users, num_items, dim=16, seed=8)
    res = RankingEvaluator(ks=(5, 10, 20), mode="sampled", num_negatives=N, seed=0).evaluate((ue, ie), test)
    for k in (5, 10, 20):
        assert res[f"hit@{k}"] == pytest.approx(k / (N + 1), abs=0.03), k
        assert res[f"recall@{k}"] == res[f"hit@{k}"]
        assert res[f"precision@{k}"] == pytest.approx(res[f"hit@{k}"] / k)


def test_sampled_negatives_avoid_interacted_items():
    # Every interacted item (train, valid or target) scores 1, every other item 0.
    # If a negative were ever drawn from interacted items it would tie with the
    # positive, and ties count against the positive -> recall@1 < 1.
    train, valid, test = _random_split(num_items=30, density=0.5, seed=9)
    seen = torch.as_tensor((train + valid + test).toarray() > 0).float()
    res = RankingEvaluator(ks=(1,), mode="sampled", num_negatives=50).evaluate(
        lambda ids: seen[ids], test, exclude=[train, valid])
    assert res["recall@1"] == 1.0
    # A constant scorer gets no credit (pessimistic ties).
    res = RankingEvaluator(ks=(1,), mode="sampled", num_negatives=5).evaluate(
        lambda ids: torch.zeros(ids.numel(), test.shape[1]), test, exclude=[train])
    assert res["recall@1"] == 0.0


def test_sampled_dense_users_fallback_and_skip():
    # User 0 has seen all items but one (rejection sampling struggles -> exact
    # fallback); user 1 has seen every item (no negative exists -> skipped).
    num_items = 200
    train = np.ones((3, num_items), dtype=np.float32)
    train[0, 7] = 0
    train[:, 0] = 0
    train[2, 10:] = 0
    test = np.zeros_like(train)
    test[:, 0] = 1
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    scores = torch.zeros(3, num_items)
    scores[:, 0] = 2.0  # positive
    scores[0, 7] = 3.0  # user 0's only possible negative beats the positive
    res = RankingEvaluator(ks=(1,), mode="sampled", num_negatives=5).evaluate(
        lambda ids: scores[ids], test, exclude=[train])
    assert res["num_users"] == 2
    assert res["hit@1"] == pytest.approx(0.5)  # user 0 misses, user 2 hits


def test_validation_errors():
    with pytest.raises(ValueError):
        RankingEvaluator(mode="loo")
    with pytest.raises(ValueError):
        RankingEvaluator(metrics=("auc",))
    with pytest.raises(ValueError):
        RankingEvaluator(ks=(0, 5))
    _, _, test = _random_split()
    ev = RankingEvaluator()
    with pytest.raises(ValueError):
        ev.evaluate((torch.randn(3, 4), torch.randn(40, 4)), test)
    with pytest.raises(ValueError):
        ev.evaluate(lambda ids: torch.zeros(ids.numel(), 3), test)
    with pytest.raises(ValueError):
        ev.evaluate(lambda ids: torch.zeros(ids.numel(), 40), test, exclude=[sp.csr_matrix((2, 2))])
    with pytest.raises(TypeError):
        ev.evaluate(lambda ids: None, test.toarray())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.gpu
def test_cuda_matches_cpu():
    train, valid, test = _random_split(seed=10)
    ue, ie = _emb(*test.shape, seed=10)
    ev = RankingEvaluator(ks=(5,))
    a = ev.evaluate((ue, ie), test, exclude=[train, valid])
    b = ev.evaluate((ue, ie), test, exclude=[train, valid], device="cuda")
    assert a == pytest.approx(b, abs=1e-5)
