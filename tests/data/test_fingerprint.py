"""The content digest that keys the LLM-side stages."""

import dataclasses

import numpy as np
import pandas as pd

from autograph_rec.data import Interactions, from_dataframe, split_dataset
from autograph_rec.data.fingerprint import training_fingerprint


def _dataset(title_of_item_3="Heat (1995)", rating_of_first=5.0):
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
                          "item_id": [1, 2, 3, 1, 3, 4, 2, 3, 4, 5],
                          "rating": [rating_of_first, 4, 3, 5, 2, 1, 4, 4, 5, 3],
                          "timestamp": np.arange(10)})
    titles = pd.DataFrame({"title": ["Alien (1979)", "Up (2009)", title_of_item_3, "Jaws (1975)", "Big (1988)"]},
                          index=[1, 2, 3, 4, 5])
    ds = from_dataframe(frame, item_features=titles, domain="movies")
    return ds, split_dataset(ds, "random", (0.6, 0.2, 0.2), seed=0)


def test_equal_content_gives_equal_digest():
    assert training_fingerprint(*_dataset()) == training_fingerprint(*_dataset())


def test_item_text_and_training_ratings_change_the_digest():
    base = training_fingerprint(*_dataset())
    assert training_fingerprint(*_dataset(title_of_item_3="Heat (1986)")) != base
    ds, split = _dataset()
    rating = split.train.rating.copy()
    rating[0] += 1
    changed = dataclasses.replace(split, train=dataclasses.replace(split.train, rating=rating))
    assert training_fingerprint(ds, changed) != base


def test_validation_and_test_interactions_do_not_enter():
    # no profile may read them, so they must not rebuild the LLM stages either
    ds, split = _dataset()
    empty = Interactions(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert training_fingerprint(ds, dataclasses.replace(split, valid=empty, test=empty)) == training_fingerprint(ds, split)
