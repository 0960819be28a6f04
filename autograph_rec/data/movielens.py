"""MovieLens loaders (100K and the 1M format, including the users 1-2999 subset)."""

from __future__ import annotations

import logging
import re
from pathlib import Path


from .build import dataset_from_frame
from .dataset import InteractionDataset
from .readers import ensure_integer_ids, read_delimited
from .sources import locate
from .tabular import check_ratings, check_timestamps

logger = logging.getLogger(__name__)

ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]
# Codes of ML-1M users.dat, from the dataset README.
ML1M_AGES = {1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"}
ML1M_OCCUPATIONS = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
    "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer",
    "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
    "tradesman/craftsman", "unemployed", "writer",
]
# Any "(dddd)" in a title; the last one is the year: ML-100K appends qualifiers after it, as in
# "Land Before Time III: The Time of the Great Giving (1995) (V)", which an end-anchored
# pattern missed.
_YEAR = re.compile(r"\((\d{4})\)")
# ML-100K release dates look like "01-Jan-1995".
_DATE_YEAR = re.compile(r"(\d{4})\s*$")


def _year_from_title(title: str, release_date: str | None = None) -> float:
    """The last ``(dddd)`` in ``title``; else the year ending ``release_date``; else NaN."""
    years = _YEAR.findall(title or "")
    if years:
        return float(years[-1])
    match = _DATE_YEAR.search(release_date or "")
    return float(match.group(1)) if match else float("nan")


def _check_rating_columns(ratings, path: Path) -> None:
    """Reject ratings and timestamps that their float32 / int64 columns cannot hold, at their
    file line (a timestamp of 1e30 became -2**63 and sorted first in a temporal split)."""
    # same checks as CSV input; row r of a MovieLens ratings file (no header) is line r + 1
    check_ratings(ratings["rating"].to_numpy(dtype=float), "rating", str(path), 1)
    check_timestamps(ratings["timestamp"].to_numpy(dtype=float), "timestamp", str(path), 1)


def load_movielens_100k(data_dir: str | Path | None = None, download: bool = True, duplicates: str = "last") -> InteractionDataset:
    r"""MovieLens-100K: 100,000 ratings of 943 users on 1,682 movies (Harper & Konstan, 2015).

    Item features: ``title``, ``year``, ``genres`` (``"|"``-joined), ``release_date``.
    User features: ``age``, ``gender``, ``occupation``, ``zip``. ``year`` is the last ``(dddd)`` of
    the title, else the year of the release date (NaN only for the placeholder item "unknown").

    Args:
        data_dir (str or Path, optional): a folder holding ``ml-100k/`` (see :mod:`.sources`).
        download (bool): fetch missing files from GroupLens when a network is available.
        duplicates (str): policy for repeated (user, item) rows (none in the official file).
    """
    ratings_path = locate("ml-100k", "u.data", data_dir, download)
    ratings = read_delimited(ratings_path, "\t", ["user", "item", "rating", "timestamp"], {"user", "item", "rating", "timestamp"}, "latin-1")
    ensure_integer_ids(ratings, ["user", "item"], ratings_path)
    _check_rating_columns(ratings, ratings_path)

    item_path = locate("ml-100k", "u.item", data_dir, download)
    items = read_delimited(
        item_path, "|", ["item", "title", "release_date", "video_release_date", "url", *ML100K_GENRES], {"item"}, "latin-1"
    )
    flags = items[ML100K_GENRES].astype(int).to_numpy().astype(bool)
    items["genres"] = ["|".join(g for g, on in zip(ML100K_GENRES, row) if on) for row in flags]
    items["year"] = [_year_from_title(t, d) for t, d in zip(items["title"], items["release_date"])]
    items = items.set_index(items["item"].astype(int))[["title", "year", "genres", "release_date"]]

    user_path = locate("ml-100k", "u.user", data_dir, download)
    users = read_delimited(user_path, "|", ["user", "age", "gender", "occupation", "zip"], {"user", "age"}, "latin-1")
    users = users.set_index(users["user"].astype(int))[["age", "gender", "occupation", "zip"]]

    ratings = ratings.astype({"user": int, "item": int, "timestamp": int})
    return dataset_from_frame("ml-100k", ratings, users, items, "movies", duplicates, str(ratings_path))


def load_movielens_1m(
    data_dir: str | Path | None = None,
    download: bool = True,
    subset: bool = False,
    ratings_path: str | Path | None = None,
    duplicates: str = "last",
) -> InteractionDataset:
    r"""MovieLens-1M format: ``ratings.dat[.gz]`` + ``movies.dat`` + ``users.dat`` (``::``-separated, latin-1).

    Args:
        data_dir (str or Path, optional): a folder holding ``ml-1m/`` (and ``ml-1m-users1-2999/``).
        download (bool): fetch missing files from their official sources.
        subset (bool): read the real ratings of users 1-2999 (``ml-1m-users1-2999/ratings.dat.gz``)
            instead of the full ``ml-1m/ratings.dat``; the dataset is then named ``"ml-1m-subset"``.
        ratings_path (str or Path, optional): an explicit ratings file in the ML-1M format.
        duplicates (str): policy for repeated (user, item) rows.
    """
    if ratings_path is not None:
        rpath = Path(ratings_path)
    elif subset:
        rpath = locate("ml-1m-users1-2999", "ratings.dat.gz", data_dir, download)
    else:
        rpath = locate("ml-1m", "ratings.dat", data_dir, download)
    ratings = read_delimited(rpath, "::", ["user", "item", "rating", "timestamp"], {"user", "item", "rating", "timestamp"}, "latin-1")
    ensure_integer_ids(ratings, ["user", "item"], rpath)
    _check_rating_columns(ratings, rpath)

    mpath = locate("ml-1m", "movies.dat", data_dir, download)
    movies = read_delimited(mpath, "::", ["item", "title", "genres"], {"item"}, "latin-1")
    movies["year"] = movies["title"].map(_year_from_title)
    movies = movies.set_index(movies["item"].astype(int))[["title", "year", "genres"]]

    upath = locate("ml-1m", "users.dat", data_dir, download)
    users = read_delimited(upath, "::", ["user", "gender", "age", "occupation", "zip"], {"user", "age", "occupation"}, "latin-1")
    users["age"] = users["age"].astype(int).map(ML1M_AGES)
    users["occupation"] = users["occupation"].astype(int).map(lambda c: ML1M_OCCUPATIONS[c] if 0 <= c < len(ML1M_OCCUPATIONS) else "other")
    users = users.set_index(users["user"].astype(int))[["age", "gender", "occupation", "zip"]]

    ratings = ratings.astype({"user": int, "item": int, "timestamp": int})
    name = "ml-1m-subset" if subset else "ml-1m"
    return dataset_from_frame(name, ratings, users, movies, "movies", duplicates, str(rpath))
