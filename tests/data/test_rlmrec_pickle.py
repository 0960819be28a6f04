"""The RLMRec split reader only unpickles scipy sparse matrices."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from autograph_rec.data import DataError
from autograph_rec.data.rlmrec import read_sparse_pickle


def test_numpy_submodule_global_is_refused_before_it_runs(tmp_path):
    # numpy.testing._private.utils.runstring(code, dict) exec()s code; a module-prefix
    # allow-list ("numpy...") let this pickle write a file while being "loaded".
    marker = tmp_path / "pwned"
    code = f"open({str(marker)!r}, 'w').write('executed')"
    payload = b"cnumpy.testing._private.utils\nrunstring\n(V" + code.encode() + b"\n}tR."
    path = tmp_path / "trn_mat.pkl"
    path.write_bytes(payload)
    with pytest.raises(DataError) as err:
        read_sparse_pickle(path)
    assert not marker.exists()
    assert "numpy.testing._private.utils.runstring" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("protocol", [3, 4, 5])
@pytest.mark.parametrize("fmt", ["coo", "csr", "csc"])
def test_sparse_matrices_of_every_protocol_load(tmp_path, fmt, protocol):
    # the allow-list names exact globals, so each format/protocol's globals must be on it
    mat = sp.random(4, 5, density=0.5, format=fmt, random_state=0)
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(mat, protocol=protocol))
    out = read_sparse_pickle(path)
    assert np.array_equal(out.toarray(), mat.toarray())


@pytest.mark.parametrize("folder", ["rlmrec_amazon", "rlmrec_yelp"])
@pytest.mark.parametrize("part", ["trn", "val", "tst"])
def test_real_rlmrec_pickles_load(real_data_dir, folder, part):
    mat = read_sparse_pickle(real_data_dir / folder / f"{part}_mat.pkl")
    assert mat.nnz > 0 and (mat.data == 1.0).all()
