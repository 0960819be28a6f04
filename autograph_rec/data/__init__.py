"""Data stage: datasets, loaders, splits and negative sampling."""

from .dataset import DataSplit, InteractionDataset
from .errors import DataError, MissingDataError
from .interactions import Interactions
from .movielens import load_movielens_100k, load_movielens_1m
from .registry import DATASETS, load_dataset, ships_split
from .rlmrec import load_rlmrec
from .sampling import NegativeSampler, bpr_batches
from .split import (
    SEEDED_SPLITS,
    SPLIT_METHODS,
    implicit_feedback,
    kcore_filter,
    leave_one_out_split,
    random_global_split,
    random_split,
    split_dataset,
    temporal_split,
)
from .tabular import from_dataframe, load_csv

__all__ = [
    "DATASETS", "SEEDED_SPLITS", "SPLIT_METHODS", "DataError", "DataSplit", "InteractionDataset", "Interactions",
    "MissingDataError", "NegativeSampler", "bpr_batches", "from_dataframe", "implicit_feedback",
    "kcore_filter", "leave_one_out_split", "load_csv", "load_dataset", "load_movielens_100k",
    "load_movielens_1m", "load_rlmrec", "random_global_split", "random_split", "ships_split", "split_dataset",
    "temporal_split",
]
