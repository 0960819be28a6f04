"""Load a dataset by name: the entry point the pipeline and CLI use."""

from __future__ import annotations

from pathlib import Path

from .dataset import InteractionDataset
from .movielens import load_movielens_100k, load_movielens_1m
from .rlmrec import RLMREC_DATASETS, load_rlmrec
from .tabular import load_csv

DATASETS = ("ml-100k", "ml-1m", "ml-1m-subset", "rlmrec-amazon", "rlmrec-yelp", "csv")


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    download: bool = True,
    path: str | Path | None = None,
    columns: dict[str, str] | None = None,
    sep: str = ",",
    domain: str = "generic",
    duplicates: str = "last",
    item_features_path: str | Path | None = None,
) -> InteractionDataset:
    r"""Load a dataset by name.

    Args:
        name (str): one of :data:`DATASETS`. ``"ml-1m"`` needs the full ``ml-1m/ratings.dat``;
            ``"ml-1m-subset"`` reads the real ratings of users 1-2999. ``"csv"`` reads ``path``.
        data_dir (str or Path, optional): data folder (else ``AUTOGRAPH_REC_DATA``, then the cache).
        download (bool): fetch missing files from their official source when online.
        path (str or Path, optional): the interactions file for ``"csv"``.
        columns (dict, optional): column mapping for ``"csv"``.
        sep (str): separator for ``"csv"``.
        domain (str): prompt domain for ``"csv"``.
        duplicates (str): repeated (user, item) policy: ``"last"``, ``"first"`` or ``"error"``.
        item_features_path (str or Path, optional): item side text for ``"csv"``.
    """
    if name == "ml-100k":
        return load_movielens_100k(data_dir, download, duplicates)
    if name in ("ml-1m", "ml-1m-subset"):
        return load_movielens_1m(data_dir, download, subset=name == "ml-1m-subset", duplicates=duplicates)
    if name in RLMREC_DATASETS:
        return load_rlmrec(name, data_dir, download)
    if name == "csv":
        if path is None:
            raise ValueError("dataset 'csv' needs a path to the interactions file (--set data.path=FILE)")
        return load_csv(path, columns, sep, item_features_path=item_features_path, domain=domain, duplicates=duplicates)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def ships_split(name: str) -> bool:
    """Whether dataset ``name`` comes with a predefined split (which ``data.split=auto`` then uses)."""
    return name in RLMREC_DATASETS
