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
