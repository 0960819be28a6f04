import pandas as pd
import pytest

from autograph_rec.data import DataError, MissingDataError, from_dataframe, load_csv


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


def test_csv_infinite_rating_names_line(tmp_path):
    # "inf" parses as a number: it was kept, and passed every min_rating threshold
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,rating\n1,2,5\n1,3,inf\n")
    with pytest.raises(DataError, match="inter.csv, line 3: rating must be a finite number, got 'inf'"):
        load_csv(path)
    with pytest.raises(DataError, match="timestamp must be a finite number"):
        from_dataframe(pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "timestamp": [1.0, float("-inf")]}))


def test_csv_ids_differing_by_whitespace(tmp_path):
    # "1" and " 1" silently became two users
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id\n1,2\n1,3\n 1,4\n")
    with pytest.raises(DataError) as err:
        load_csv(path)
    msg = str(err.value)
    assert "inter.csv, line 4" in msg and "'1' and ' 1'" in msg and "whitespace" in msg and "lines 2 and 4" in msg
    # consistent padding is left alone
    path.write_text("user_id,item_id\n 1,2\n 1,3\n")
    assert load_csv(path).user_ids.tolist() == [" 1"]


def test_item_features_file_errors_name_the_file(tmp_path):
    inter = tmp_path / "inter.csv"
    inter.write_text("user_id,item_id\n1,2\n1,3\n")
    feats = tmp_path / "items.csv"
    feats.write_text("item_id,title\n2,X\n3,Y\n2,Z\n")
    # was pandas' "cannot reindex on an axis with duplicate labels"
    with pytest.raises(DataError, match="items.csv, line 4: item '2' has more than one row"):
        load_csv(inter, item_features_path=feats)
    feats.write_text("")
    with pytest.raises(DataError, match="items.csv: file is empty"):  # was pandas' EmptyDataError
        load_csv(inter, item_features_path=feats)
    with pytest.raises(MissingDataError, match="item features file not found"):
        load_csv(inter, item_features_path=tmp_path / "none.csv")


def test_dataframe_features_with_repeated_ids():
    frame = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 20]})
    feats = pd.DataFrame({"title": ["X", "Y", "Z"]}, index=[10, 20, 10])
    with pytest.raises(DataError, match="item_features has more than one row for item 10"):
        from_dataframe(frame, item_features=feats)


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame, got list"):  # was AttributeError
        from_dataframe([[1, 2]])


def test_missing_csv_is_missing_data_error(tmp_path):
    with pytest.raises(MissingDataError, match="interactions file not found"):
        load_csv(tmp_path / "none.csv")


def test_timestamps_must_fit_int64_and_fractions_are_announced(tmp_path, caplog):
    import logging

    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,timestamp\n1,2,5\n1,3,1e30\n")
    # 1e30 was cast to -2**63: the newest interaction became the oldest
    with pytest.raises(DataError, match="inter.csv, line 3: timestamp 1e\\+30 does not fit a 64-bit integer"):
        load_csv(path)
    path.write_text("user_id,item_id,timestamp\n1,2,1.2\n1,3,1.7\n1,4,3\n")
    with caplog.at_level(logging.WARNING, logger="autograph_rec.data.tabular"):
        ds = load_csv(path)
    assert ds.interactions.timestamp.tolist() == [1, 1, 3]
    assert "2 timestamp values have a fractional part (e.g. 1.2)" in caplog.text


def test_dataframe_ids_differing_only_by_type():
    # the number 1 and the string "1" silently became two users
    frame = pd.DataFrame({"user_id": [1, "1", 2], "item_id": [10, 20, 10]})
    with pytest.raises(DataError, match=r"user ids 1 and '1' \(user_id\) differ only by type \(int vs str\)"):
        from_dataframe(frame)
    # distinct ids of mixed types are fine, and so are zero-padded strings
    assert from_dataframe(pd.DataFrame({"user_id": [1, "a"], "item_id": ["007", "7"]})).num_items == 2


def test_csv_rating_must_fit_float32(tmp_path):
    # ratings are stored as float32: 1e39 is finite in the file but became inf, passing every threshold
    path = tmp_path / "inter.csv"
    path.write_text("user_id,item_id,rating\n1,2,5\n1,3,-1e39\n")
    with pytest.raises(DataError, match="inter.csv, line 3: rating -1e\\+39 does not fit a 32-bit float"):
        load_csv(path)
