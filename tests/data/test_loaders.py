import numpy as np
import pytest

from autograph_rec.data import (
    DataError,
    MissingDataError,
    load_dataset,
    load_movielens_1m,
    split_dataset,
)


def test_ml100k_real(real_data_dir):
    ds = load_dataset("ml-100k", real_data_dir)
    assert (ds.num_users, ds.num_items, len(ds.interactions)) == (943, 1682, 100000)
    assert ds.domain == "movies"
    assert ds.item_features.loc[0, "title"] == "Toy Story (1995)"
    assert ds.item_features.loc[0, "genres"] == "Animation|Children's|Comedy"
    assert ds.item_features.loc[0, "year"] == 1995
    assert set(ds.user_features.columns) == {"age", "gender", "occupation", "zip"}
    assert ds.interactions.rating.min() == 1 and ds.interactions.rating.max() == 5
    # raw ids map back: internal user 0 is raw user 1
    assert ds.user_ids[0] == 1 and ds.item_ids[0] == 1


def test_ml1m_subset_real(real_data_dir):
    ds = load_movielens_1m(real_data_dir, subset=True)
    assert ds.name == "ml-1m-subset"
    assert (ds.num_users, ds.num_items, len(ds.interactions)) == (2999, 3615, 487650)
    assert ds.user_features.loc[0, "age"] == "Under 18"
    assert ds.user_features.loc[0, "occupation"] == "K-12 student"


def test_ml1m_full_missing_names_file_and_places(real_data_dir):
    with pytest.raises(MissingDataError) as err:
        load_movielens_1m(real_data_dir, download=False)
    msg = str(err.value)
    assert "ml-1m/ratings.dat" in msg and str(real_data_dir) in msg and "downloading is disabled" in msg


def test_rlmrec_amazon_real(real_data_dir):
    ds = load_dataset("rlmrec-amazon", real_data_dir)
    split = split_dataset(ds, "predefined")
    assert split.summary() == {"users": 11000, "items": 9332, "train": 120464, "valid": 40290, "test": 40106}
    split.check_no_leak()
    assert ds.item_ids[0] == "0373730489"


def test_missing_dataset_offline(tmp_path):
    with pytest.raises(MissingDataError) as err:
        load_dataset("ml-100k", tmp_path / "nowhere", download=False)
    assert "ml-100k/u.data" in str(err.value) and "nowhere" in str(err.value)


def _write_ml100k(root, udata: str):
    folder = root / "ml-100k"
    folder.mkdir(parents=True)
    (folder / "u.data").write_text(udata)
    (folder / "u.item").write_text("1|A (1990)|01-Jan-1990||url|" + "|".join(["0"] * 18 + ["1"]) + "\n"
                                   "2|B (1991)|01-Jan-1991||url|" + "|".join(["1"] + ["0"] * 18) + "\n")
    (folder / "u.user").write_text("1|20|M|writer|11111\n2|30|F|other|22222\n")
    return root


def test_malformed_row_names_file_and_line(tmp_path):
    root = _write_ml100k(tmp_path, "1\t1\t5\t100\n1\t2\t4\n")
    with pytest.raises(DataError) as err:
        load_dataset("ml-100k", root, download=False)
    assert "u.data, line 2" in str(err.value) and "expected 4 fields" in str(err.value)


def test_non_numeric_id_names_line(tmp_path):
    root = _write_ml100k(tmp_path, "1\t1\t5\t100\n1\t2\t4\t101\nx\t2\t4\t102\n")
    with pytest.raises(DataError) as err:
        load_dataset("ml-100k", root, download=False)
    assert "line 3" in str(err.value) and "user must be numeric" in str(err.value)


def test_empty_file(tmp_path):
    root = _write_ml100k(tmp_path, "")
    with pytest.raises(DataError, match="empty"):
        load_dataset("ml-100k", root, download=False)


def test_duplicates_policy(tmp_path):
    root = _write_ml100k(tmp_path, "1\t1\t5\t100\n1\t1\t2\t200\n2\t2\t4\t100\n")
    ds = load_dataset("ml-100k", root, download=False)  # default policy: keep the latest
    assert len(ds.interactions) == 2
    assert ds.interactions.rating[0] == 2
    ds = load_dataset("ml-100k", root, download=False, duplicates="first")
    assert ds.interactions.rating[0] == 5
    with pytest.raises(DataError, match="repeated"):
        load_dataset("ml-100k", root, download=False, duplicates="error")


def test_rlmrec_refuses_non_sparse_pickle(tmp_path):
    import pickle

    folder = tmp_path / "rlmrec_amazon"
    folder.mkdir()
    with open(folder / "trn_mat.pkl", "wb") as fh:
        pickle.dump(np.arange(3), fh)  # a numpy array: allowed class, wrong type
    with pytest.raises(DataError, match="expected a scipy sparse matrix"):
        load_dataset("rlmrec-amazon", tmp_path, download=False)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(folder / "trn_mat.pkl", "wb") as fh:
        pickle.dump(Evil(), fh)
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        load_dataset("rlmrec-amazon", tmp_path, download=False)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("1\t2\tinf\t101", "rating must be a finite number, got 'inf'"),  # passed every min_rating
        ("1\t2\tnan\t101", "rating must be a finite number, got 'nan'"),  # was "could not parse file"
        ("1\t2\t4\t1e30", "timestamp 1e+30 does not fit a 64-bit integer"),  # became -2**63
        ("1\t2\t1e39\t101", "rating 1e+39 does not fit a 32-bit float"),  # became inf in float32
        ("1e30\t2\t4\t101", "user must be an integer id"),  # wrapped to -2**63
    ],
)
def test_out_of_range_numbers_name_line(tmp_path, bad_line, message):
    root = _write_ml100k(tmp_path, f"1\t1\t5\t100\n{bad_line}\n2\t2\t4\t102\n")
    with pytest.raises(DataError) as err:
        load_dataset("ml-100k", root, download=False)
    assert "u.data, line 2" in str(err.value) and message in str(err.value)


def test_lines_split_only_at_newline(tmp_path):
    # byte 0x85 (cp1252 "...") decodes to "\x85" in latin-1, which str.splitlines() treats as a
    # line break: the row turned ragged and the error could not name a line
    root = _write_ml100k(tmp_path, "1\t1\t5\t100\r\n2\t2\t4\t101\r\n")  # CRLF still reads
    item = "2|Wait\x85 What? (1991)|01-Jan-1991||url|" + "|".join(["1"] + ["0"] * 18)
    (root / "ml-100k" / "u.item").write_bytes(
        ("1|A (1990)|01-Jan-1990||url|" + "|".join(["0"] * 18 + ["1"]) + "\n" + item + "\n").encode("latin-1")
    )
    ds = load_dataset("ml-100k", root, download=False)
    assert ds.item_features["title"].tolist() == ["A (1990)", "Wait\x85 What? (1991)"]
    assert ds.interactions.timestamp.tolist() == [100, 101]
    # and a bad line after it is reported at its own line number
    (root / "ml-100k" / "u.item").write_bytes((item + "\n" + item + "|extra\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"u.item, line 2: expected 24 fields"):
        load_dataset("ml-100k", root, download=False)


def test_ml100k_year_is_last_parenthesised_year_or_release_year(tmp_path):
    # an end-anchored "(dddd)$" missed "... (1995) (V)" and left the year NaN
    root = _write_ml100k(tmp_path, "1\t1\t5\t100\n2\t2\t4\t101\n3\t3\t4\t102\n")
    flags = "|".join(["0"] * 18 + ["1"])
    (root / "ml-100k" / "u.item").write_text(
        f"1|Land Before Time III: The Time of the Great Giving (1995) (V)|01-Jan-1995||url|{flags}\n"
        f"2|No Year In Title|12-Oct-1993||url|{flags}\n"
        f"3|unknown|||url|{flags}\n"
    )
    (root / "ml-100k" / "u.user").write_text("1|20|M|writer|11111\n2|30|F|other|22222\n3|40|F|other|33333\n")
    years = load_dataset("ml-100k", root, download=False).item_features["year"].tolist()
    assert years[:2] == [1995, 1993] and np.isnan(years[2])


def test_ml100k_real_years(real_data_dir):
    items = load_dataset("ml-100k", real_data_dir).item_features
    assert items["title"][items["year"].isna()].tolist() == ["unknown"]  # the only item without a date
