"""Train / validation / test splits and the filters applied before them."""

from __future__ import annotations

import logging

import numpy as np

from .dataset import DataSplit, InteractionDataset
from .errors import DataError
from .interactions import Interactions

logger = logging.getLogger(__name__)

SPLIT_METHODS = ("random", "random_global", "temporal", "leave_one_out", "predefined")
#: The split methods whose result depends on the split seed (the others are fixed by the data).
SEEDED_SPLITS = ("random", "random_global")


def implicit_feedback(dataset: InteractionDataset, min_rating: float | None) -> InteractionDataset:
    """Keep interactions with ``rating >= min_rating`` (positives), re-indexing ids.

    ``None`` keeps everything. The AutoGraph paper uses ``rating > 3`` on MovieLens, i.e. ``min_rating=4``.
    """
    if min_rating is None:
        return dataset
    if dataset.interactions.rating is None:
        raise DataError(f"dataset {dataset.name!r} has no ratings to threshold at {min_rating}")
    if isinstance(min_rating, bool) or not isinstance(min_rating, (int, float, np.number)) or not np.isfinite(min_rating):
        raise ValueError(f"min_rating must be a finite number or None, got {min_rating!r}")
    rating = dataset.interactions.rating
    # Compare in the ratings' own dtype (float32): a numpy float64 threshold is not "weak" like a
    # Python float, so 4.1 stored as 4.0999999 failed ``>= np.float64(4.1)`` and boundary ratings
    # were dropped. A threshold beyond the dtype's range becomes +-inf, which still orders right.
    with np.errstate(over="ignore"):
        threshold = rating.dtype.type(min_rating)
    keep = rating >= threshold
    logger.info("implicit feedback: kept %d of %d interactions with rating >= %s", keep.sum(), len(keep), min_rating)
    return dataset.with_interactions(dataset.interactions.subset(keep))


def kcore_filter(dataset: InteractionDataset, k: int) -> InteractionDataset:
    """Repeatedly drop users and items with fewer than ``k`` interactions until none remain.

    Rounds continue until one removes nothing, so the result is a true ``k``-core: a fixed
    cap on rounds (formerly 100) silently returned an unconverged result on long chains.
    Every round but the last removes at least one row, so there are at most ``E + 1`` rounds.
    """
    if k <= 1:
        return dataset
    inter = dataset.interactions
    keep = np.ones(len(inter), dtype=bool)
    while True:
        ucount = np.bincount(inter.user[keep], minlength=dataset.num_users)
        icount = np.bincount(inter.item[keep], minlength=dataset.num_items)
        new_keep = keep & (ucount[inter.user] >= k) & (icount[inter.item] >= k)
        if new_keep.sum() == keep.sum():
            break
        keep = new_keep
    if not keep.any():
        raise DataError(f"dataset {dataset.name!r}: nothing survives a {k}-core filter")
    logger.info("%d-core filter: kept %d of %d interactions", k, keep.sum(), len(keep))
    return dataset.with_interactions(inter.subset(keep))


def _rank_within_user(user: np.ndarray, order_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by (user, key); return the permutation and each sorted row's 0-based rank in its user."""
    perm = np.lexsort((order_key, user))
    users_sorted = user[perm]
    starts = np.r_[0, np.flatnonzero(np.diff(users_sorted)) + 1]
    counts = np.diff(np.r_[starts, len(users_sorted)])
    rank = np.arange(len(perm)) - np.repeat(starts, counts)
    return perm, rank


def _split_by_rank(inter: Interactions, perm: np.ndarray, rank: np.ndarray, n_valid: np.ndarray, n_test: np.ndarray):
    """Assign per-user sorted rows: the last ``n_test`` to test, the ``n_valid`` before them to valid."""
    users_sorted = inter.user[perm]
    size = np.bincount(users_sorted)[users_sorted]
    from_end = size - rank  # 1 for the last row of a user
    nt, nv = n_test[users_sorted], n_valid[users_sorted]
    is_test = from_end <= nt
    is_valid = ~is_test & (from_end <= nt + nv)
    is_train = ~(is_test | is_valid)
    return inter.subset(perm[is_train]), inter.subset(perm[is_valid]), inter.subset(perm[is_test])


def _per_user_counts(sizes: np.ndarray, ratios: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """How many validation and test rows each user gets, always leaving ≥ 1 for training."""
    _, rv, rt = ratios
    n_test = np.floor(sizes * rt + 0.5).astype(np.int64)
    n_valid = np.floor(sizes * rv + 0.5).astype(np.int64)
    over = np.maximum(n_test + n_valid - (sizes - 1), 0)  # users too small to give up that many
    take_v = np.minimum(over, n_valid)
    n_valid -= take_v
    n_test -= over - take_v
    return n_valid, np.maximum(n_test, 0)


def _check_ratios(ratios) -> tuple[float, float, float]:
    ratios = tuple(float(r) for r in ratios)
    # NaN compares False with everything: (nan, 0.1, 0.1) passed and put every row in train
    if len(ratios) != 3 or not all(np.isfinite(ratios)) or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f"ratios must be three finite non-negative numbers (train, valid, test), got {ratios}")
    total = sum(ratios)
    return tuple(r / total for r in ratios)  # type: ignore[return-value]


def random_split(dataset: InteractionDataset, ratios=(0.8, 0.1, 0.1), seed: int = 0,
                 valid_seed: int | None = None) -> DataSplit:
    """Random split **per user**: each user's interactions are shuffled and divided by ``ratios``.

    Every user keeps at least one training interaction (the paper's "random 80/10/10" protocol).
    ``valid_seed`` re-draws which of the non-test interactions are validation: the test set stays
    exactly ``seed``'s, so several validation sets can score one config without any of them
    touching that test set. ``None``, or ``valid_seed == seed``, is ``seed``'s own split.
    """
    ratios = _check_ratios(ratios)
    inter = dataset.interactions
    key = np.random.default_rng(seed).random(len(inter))
    sizes = np.bincount(inter.user, minlength=dataset.num_users)
    n_valid, n_test = _per_user_counts(sizes, ratios)
    if valid_seed is not None and valid_seed != seed:
        # keys in [0, 1): lifting seed's test rows by 2 keeps them last in their user whatever the
        # new keys, and the rest are ranked by valid_seed's keys alone
        is_test = _last_per_user(inter.user, key, n_test)
        key = np.where(is_test, key + 2.0, np.random.default_rng(valid_seed).random(len(inter)))
    perm, rank = _rank_within_user(inter.user, key)
    return DataSplit(*_split_by_rank(inter, perm, rank, n_valid, n_test), dataset.num_users, dataset.num_items)


def _last_per_user(user: np.ndarray, key: np.ndarray, n_last: np.ndarray) -> np.ndarray:
    """Mask (in row order) of each user's ``n_last[user]`` rows with the largest ``key``."""
    perm, rank = _rank_within_user(user, key)
    users_sorted = user[perm]
    from_end = np.bincount(users_sorted)[users_sorted] - rank
    mask = np.zeros(len(user), dtype=bool)
    mask[perm] = from_end <= n_last[users_sorted]
    return mask


def random_global_split(dataset: InteractionDataset, ratios=(0.6, 0.2, 0.2), seed: int = 0,
                        valid_seed: int | None = None) -> DataSplit:
    """Random split over all interactions at once (RLMRec's 3:1:1); some users may lack training rows.

    ``valid_seed`` re-draws the validation part from the non-test interactions, the test part
    staying ``seed``'s (see :func:`random_split`).
    """
    ratios = _check_ratios(ratios)
    inter = dataset.interactions
    perm = np.random.default_rng(seed).permutation(len(inter))
    a = int(round(len(inter) * ratios[0]))
    b = a + int(round(len(inter) * ratios[1]))
    if valid_seed is not None and valid_seed != seed:
        rest = perm[:b]
        perm = np.concatenate([rest[np.random.default_rng(valid_seed).permutation(b)], perm[b:]])
    return DataSplit(inter.subset(perm[:a]), inter.subset(perm[a:b]), inter.subset(perm[b:]), dataset.num_users, dataset.num_items)


def _time_key(dataset: InteractionDataset) -> np.ndarray:
    if dataset.interactions.timestamp is None:
        raise DataError(f"dataset {dataset.name!r} has no timestamps; use method='random'")
    return dataset.interactions.timestamp


def temporal_split(dataset: InteractionDataset, ratios=(0.8, 0.1, 0.1)) -> DataSplit:
    """Per-user temporal split: each user's oldest interactions train, the newest test.

    Ties in time keep file order (a stable sort), so the split is deterministic.
    """
    ratios = _check_ratios(ratios)
    inter = dataset.interactions
    perm, rank = _rank_within_user(inter.user, _time_key(dataset))
    sizes = np.bincount(inter.user, minlength=dataset.num_users)
    n_valid, n_test = _per_user_counts(sizes, ratios)
    return DataSplit(*_split_by_rank(inter, perm, rank, n_valid, n_test), dataset.num_users, dataset.num_items)


def leave_one_out_split(dataset: InteractionDataset) -> DataSplit:
    """Leave-one-out: each user's last interaction is test, the one before validation (AutoGraph's protocol).

    Users with fewer than 3 interactions give up only what leaves one for training.
    """
    inter = dataset.interactions
    perm, rank = _rank_within_user(inter.user, _time_key(dataset))
    sizes = np.bincount(inter.user, minlength=dataset.num_users)
    n_test = (sizes >= 2).astype(np.int64)
    n_valid = (sizes >= 3).astype(np.int64)
    return DataSplit(*_split_by_rank(inter, perm, rank, n_valid, n_test), dataset.num_users, dataset.num_items)


def split_dataset(dataset: InteractionDataset, method: str = "random", ratios=(0.8, 0.1, 0.1), seed: int = 0,
                  valid_seed: int | None = None) -> DataSplit:
    """Dispatch to a split by name (one of :data:`SPLIT_METHODS`) and check it leaks nothing.

    ``valid_seed`` (seeded methods only, :data:`SEEDED_SPLITS`) re-draws the validation set
    with the test set fixed, see :func:`random_split`.
    """
    if valid_seed is not None and method not in SEEDED_SPLITS:
        raise ValueError(f"valid_seed re-draws a random split's validation set; split {method!r} "
                         f"has no seed (use one of {', '.join(SEEDED_SPLITS)}, or valid_seed None)")
    if method == "predefined":
        if dataset.predefined_split is None:
            raise DataError(f"dataset {dataset.name!r} ships no predefined split; use one of {SPLIT_METHODS[:-1]}")
        split = dataset.predefined_split
    elif method == "random":
        split = random_split(dataset, ratios, seed, valid_seed)
    elif method == "random_global":
        split = random_global_split(dataset, ratios, seed, valid_seed)
    elif method == "temporal":
        split = temporal_split(dataset, ratios)
    elif method == "leave_one_out":
        split = leave_one_out_split(dataset)
    else:
        raise ValueError(f"unknown split method {method!r}; choose from {SPLIT_METHODS}")
    split.check_no_leak()
    logger.info("split %s (%s): %s", dataset.name, method, split.summary())
    return split
