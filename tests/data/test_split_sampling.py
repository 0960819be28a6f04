import numpy as np
import pandas as pd
import pytest
import torch

from autograph_rec.data import (
    DataError,
    NegativeSampler,
    bpr_batches,
    from_dataframe,
    implicit_feedback,
    kcore_filter,
    load_dataset,
    split_dataset,
)


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    rows = []
    for u in range(30):
        items = rng.choice(50, size=rng.integers(3, 20), replace=False)
        for t, i in enumerate(items):
            rows.append((u, int(i), float(rng.integers(1, 6)), t))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return from_dataframe(frame)


def _pairs(part):
    return set(zip(part.user.tolist(), part.item.tolist()))


@pytest.mark.parametrize("method", ["random", "random_global", "temporal", "leave_one_out"])
def test_splits_partition_without_leak(toy, method):
    split = split_dataset(toy, method, ratios=(0.6, 0.2, 0.2), seed=3)
    tr, va, te = _pairs(split.train), _pairs(split.valid), _pairs(split.test)
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert len(tr) + len(va) + len(te) == len(toy.interactions)


@pytest.mark.parametrize("method", ["random", "temporal", "leave_one_out"])
def test_per_user_splits_keep_training_rows(toy, method):
    split = split_dataset(toy, method, seed=1)
    assert set(split.train.user.tolist()) == set(range(toy.num_users))
    split.require_train_for("test")


def test_random_split_seeded(toy):
    a = split_dataset(toy, "random", seed=5)
    b = split_dataset(toy, "random", seed=5)
    c = split_dataset(toy, "random", seed=6)
    assert _pairs(a.test) == _pairs(b.test) and _pairs(a.test) != _pairs(c.test)


@pytest.mark.parametrize("method", ["random", "random_global"])
def test_valid_seed_redraws_validation_and_keeps_test(toy, method):
    ratios = (0.6, 0.2, 0.2)
    base = split_dataset(toy, method, ratios=ratios, seed=5)
    # None and valid_seed == seed are seed's own split, row for row
    for same in (split_dataset(toy, method, ratios=ratios, seed=5, valid_seed=None),
                 split_dataset(toy, method, ratios=ratios, seed=5, valid_seed=5)):
        for part in ("train", "valid", "test"):
            assert np.array_equal(getattr(same, part).user, getattr(base, part).user)
            assert np.array_equal(getattr(same, part).item, getattr(base, part).item)
    other = split_dataset(toy, method, ratios=ratios, seed=5, valid_seed=8)
    assert _pairs(other.test) == _pairs(base.test)  # the test set never moves
    assert _pairs(other.valid) != _pairs(base.valid)
    assert _pairs(other.train) | _pairs(other.valid) == _pairs(base.train) | _pairs(base.valid)
    assert len(other.valid) == len(base.valid) and not (_pairs(other.train) & _pairs(other.valid))
    if method == "random":  # per user: the same number of validation rows as seed's split
        assert np.array_equal(np.bincount(other.valid.user, minlength=toy.num_users),
                              np.bincount(base.valid.user, minlength=toy.num_users))
        assert set(other.train.user.tolist()) == set(range(toy.num_users))
    # reproducible, and different validation seeds draw different sets
    again = split_dataset(toy, method, ratios=ratios, seed=5, valid_seed=8)
    assert _pairs(again.valid) == _pairs(other.valid)
    assert _pairs(split_dataset(toy, method, ratios=ratios, seed=5, valid_seed=9).valid) != _pairs(other.valid)


@pytest.mark.parametrize("method", ["temporal", "leave_one_out"])
def test_valid_seed_needs_a_seeded_split(toy, method):
    with pytest.raises(ValueError, match=f"split '{method}' has no seed"):
        split_dataset(toy, method, valid_seed=1)


def test_temporal_and_loo_take_latest(toy):
    loo = split_dataset(toy, "leave_one_out")
    ts = toy.interactions.timestamp
    user = toy.interactions.user
    last = {u: ts[user == u].max() for u in range(toy.num_users)}
    tmap = {(u, i): t for u, i, t in zip(user, toy.interactions.item, ts)}
    for u, i in zip(loo.test.user, loo.test.item):
        assert tmap[(u, i)] == last[u]
    temporal = split_dataset(toy, "temporal")
    for u in range(toy.num_users):
        tr = [tmap[(u, i)] for uu, i in zip(temporal.train.user, temporal.train.item) if uu == u]
        te = [tmap[(u, i)] for uu, i in zip(temporal.test.user, temporal.test.item) if uu == u]
        if te:
            assert max(tr) < min(te)


def test_ml100k_random_split_ratios(real_data_dir):
    split = split_dataset(load_dataset("ml-100k", real_data_dir), "random", seed=0)
    s = split.summary()
    assert abs(s["train"] / 100000 - 0.8) < 0.01 and abs(s["test"] / 100000 - 0.1) < 0.01
    split.check_no_leak()


def test_missing_train_user_is_reported():
    frame = pd.DataFrame({"user_id": [0, 0, 0, 1], "item_id": [0, 1, 2, 0]})
    split = split_dataset(from_dataframe(frame), "random_global", ratios=(0.5, 0.5, 0.0), seed=0)
    # whatever the shuffle, force a user that only appears in valid
    from autograph_rec.data import DataSplit, Interactions

    bad = DataSplit(Interactions([0], [0]), Interactions([1], [0]), Interactions([], []), 2, 3)
    with pytest.raises(DataError, match="no training interaction"):
        bad.require_train_for("valid")
    assert split.num_users == 2


def test_implicit_and_kcore(toy):
    pos = implicit_feedback(toy, 4)
    assert pos.interactions.rating.min() >= 4
    core = kcore_filter(toy, 5)
    assert np.bincount(core.interactions.user).min() >= 5
    assert np.bincount(core.interactions.item).min() >= 5
    # a string threshold failed inside numpy ("ufunc 'greater_equal' did not contain a loop ...")
    with pytest.raises(ValueError, match="min_rating must be a finite number or None, got '4'"):
        implicit_feedback(toy, "4")


def test_sampler_never_returns_positive(toy):
    split = split_dataset(toy, "random", seed=0)
    sampler = NegativeSampler(split.train, split.num_users, split.num_items)
    train = split.train.to_csr(split.num_users, split.num_items)
    gen = torch.Generator().manual_seed(0)
    users = torch.arange(split.num_users).repeat(200)
    neg = sampler.sample(users, num_negatives=3, generator=gen)
    assert neg.shape == (len(users), 3)
    hits = train[users.repeat_interleave(3).numpy().copy(), neg.reshape(-1).numpy().copy()]
    assert hits.sum() == 0
    batches = list(bpr_batches(split.train, sampler, 64, gen))
    assert sum(len(b[0]) for b in batches) == len(split.train)
    for u, p, n in batches:
        assert np.asarray(train[u.numpy().copy(), p.numpy().copy()]).all()
        assert not np.asarray(train[u.numpy().copy(), n.numpy().copy()]).any()


def test_sampler_rejects_full_user():
    from autograph_rec.data import Interactions

    with pytest.raises(DataError, match="every item"):
        NegativeSampler(Interactions([0, 0], [0, 1]), 1, 2)


@pytest.mark.parametrize("method", ["random", "random_global", "temporal"])
@pytest.mark.parametrize("ratios", [(float("nan"), 0.1, 0.1), (0.8, float("inf"), 0.1)])
def test_non_finite_ratios_are_rejected(toy, method, ratios):
    # NaN passed the non-negative check and put every interaction in train (no valid, no test)
    with pytest.raises(ValueError, match="finite non-negative"):
        split_dataset(toy, method, ratios)


def _chain_frame(n_users: int) -> pd.DataFrame:
    """Users u_j rate items i_j and i_{j+1}: a path whose 2-core is empty, but a 2-core
    filter peels only its two ends each round, so it needs ~n_users / 2 rounds."""
    users = [f"u{j}" for j in range(n_users) for _ in range(2)]
    items = [f"i{j + d}" for j in range(n_users) for d in range(2)]
    return pd.DataFrame({"user_id": users, "item_id": items})


def test_kcore_runs_to_convergence():
    # a capped loop (100 rounds) returned part of the chain: users of degree 1 in a "2-core"
    block = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "x", "y"]})
    ds = from_dataframe(pd.concat([_chain_frame(300), block], ignore_index=True))
    core = kcore_filter(ds, 2)
    assert sorted(zip(core.user_ids[core.interactions.user], core.item_ids[core.interactions.item])) == [
        ("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")
    ]
    with pytest.raises(DataError, match="nothing survives"):
        kcore_filter(from_dataframe(_chain_frame(300)), 2)


@pytest.mark.parametrize("threshold", [4.1, np.float64(4.1), np.float32(4.1), 0.7, np.float64(0.7)])
def test_implicit_feedback_threshold_in_rating_dtype(threshold):
    # ratings are stored as float32 (4.1 -> 4.0999999); a float64 threshold compared in float64
    # and dropped the ratings equal to it
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "item_id": ["x", "y", "x", "y"],
                          "rating": [4.1, 3.0, 4.1, 0.7]})
    kept = implicit_feedback(from_dataframe(frame), threshold).interactions.rating
    expected = [r for r in np.float32([4.1, 3.0, 4.1, 0.7]) if r >= np.float32(threshold)]
    assert sorted(kept.tolist()) == sorted(float(r) for r in expected)
    assert len(kept) == (2 if float(threshold) > 4 else 4)


def test_implicit_feedback_threshold_beyond_float32_range(toy):
    assert len(implicit_feedback(toy, -1e300).interactions) == len(toy.interactions)
    with pytest.raises(DataError):
        implicit_feedback(toy, 1e300)


def test_sampler_counts_distinct_items_per_user():
    from autograph_rec.data import Interactions

    # user 0 has 3 rows but only 2 distinct items out of 3: item 2 is a valid negative
    sampler = NegativeSampler(Interactions([0, 0, 0], [0, 0, 1]), 1, 3)
    neg = sampler.sample(torch.zeros(20, dtype=torch.long), generator=torch.Generator().manual_seed(0))
    assert (neg == 2).all()
