import pandas as pd
import pytest

from autograph_rec.data import DataError, from_dataframe, load_csv


def test_dataframe_with_mapping():
    frame = pd.DataFrame({"u": ["a", "b", "a"], "i": [10, 10, 20], "score": [1.0, 2.0, 3.0]})
    ds = from_dataframe(frame, {"user": "u", "item": "i", "rating": "score"}, item_features=pd.DataFrame({"title": ["X", "Y"]}, index=[10, 20]))
    assert (ds.num_users, ds.num_items) == (2, 2)
    assert list(ds.item_features["title"]) == ["X", "Y"]
    assert ds.interactions.rating.tolist() == [1.0, 2.0, 3.0]


def test_missing_column_lists_available():
    frame = pd.DataFrame({"user_id": [1], "wrong": [2]})
    with pytest.raises(DataError) as err:
        from_dataframe(frame)
    assert "missing column 'item_id'" in str(err.value) and "wrong" in str(err.value)


def test_empty_frame():
    with pytest.raises(DataError, match="empty"):
        from_dataframe(pd.DataFrame({"user_id": [], "item_id": []}))


def test_csv_bad_rating_names_line(tmp_path):
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,rating\n1,2,5\n1,3,oops\n")
    with pytest.raises(DataError) as err:
        load_csv(path)
    assert "inter.csv, line 3" in str(err.value) and "oops" in str(err.value)


def test_csv_missing_id_names_line(tmp_path):
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id\n1,2\n,3\n")
    with pytest.raises(DataError) as err:
        load_csv(path)
    assert "line 3" in str(err.value) and "empty user id" in str(err.value)


def test_csv_roundtrip(tmp_path):
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,timestamp\n1,2,10\n1,3,11\n2,3,12\n")
    ds = load_csv(path)
    assert (ds.num_users, ds.num_items, len(ds.interactions)) == (2, 2, 3)
    assert ds.interactions.timestamp.tolist() == [10, 11, 12]
