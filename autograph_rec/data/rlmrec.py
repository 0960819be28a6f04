"""RLMRec's pre-split Amazon-book and Yelp data (Ren et al., WWW 2024)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .dataset import DataSplit, InteractionDataset
from .errors import DataError
from .interactions import Interactions
from .sources import locate

# dataset name -> (folder, mapper prefix, raw user id key, raw item id key)
RLMREC_DATASETS = {
    "rlmrec-amazon": ("rlmrec_amazon", "amazon", "reviewerID", "asin"),
    "rlmrec-yelp": ("rlmrec_yelp", "yelp", "user_id", "business_id"),
}


class _SparseOnlyUnpickler(pickle.Unpickler):
    """Unpickle only scipy sparse matrices and the numpy pieces they are made of.

    Pickle can run arbitrary code; the split files are data, so any other global is refused
    with a :class:`DataError` naming the file and the global. The check is on exact
    ``(module, name)`` pairs: a module prefix such as ``"numpy"`` also admitted
    ``numpy.testing._private.utils.runstring``, which runs its argument with ``exec``. A global is
    looked up when the pickle names it, so a refused one is never called.

    Args:
        file: the open binary file.
        path (Path): the file's name, for error messages.
    """

    # What the real RLMRec pickles name (numpy.core.multiarray._reconstruct, numpy.ndarray,
    # numpy.dtype, scipy.sparse._coo.coo_matrix; protocol 4), plus the same objects under the
    # module paths other numpy/scipy versions and pickle protocols 3-5 write: numpy >= 2 moved
    # numpy.core to numpy._core; protocol 5 rebuilds arrays with numeric._frombuffer; numpy
    # scalars use multiarray.scalar; SciPy < 1.8 defined the classes in scipy.sparse.coo etc.
    _ALLOWED = frozenset(
        [("numpy", "ndarray"), ("numpy", "dtype")]
        + [(f"numpy.{core}.{mod}", name)
           for core in ("core", "_core")
           for mod, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))]
        + [(f"scipy.sparse.{prefix}{fmt}", f"{fmt}_matrix") for prefix in ("_", "") for fmt in ("coo", "csr", "csc")]
    )

    def __init__(self, file, path: Path):
        super().__init__(file)
        self._path = path

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise DataError(
            f"refusing to load {module}.{name}: a split file may only hold a scipy sparse matrix "
            "(pickle globals are allow-listed because loading can run code)",
            self._path,
        )


def read_sparse_pickle(path: Path) -> sp.coo_matrix:
    """Read an RLMRec ``*_mat.pkl`` (a pickled scipy COO matrix) safely."""
    try:
        with open(path, "rb") as fh:
            mat = _SparseOnlyUnpickler(fh, path).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise DataError(f"not a pickled scipy sparse matrix ({exc}); RLMRec splits need SciPy >= 1.8", path) from None
    if not sp.issparse(mat):
        raise DataError(f"expected a scipy sparse matrix, found {type(mat).__name__}", path)
    return mat.tocoo()


def read_json_lines(path: Path, id_key: str, raw_key: str) -> np.ndarray:
    """Read an RLMRec mapper (JSON Lines ``{id_key: int, raw_key: str}``) into ``raw[id]``."""
    ids, raws = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                ids.append(int(row[id_key]))
                raws.append(str(row[raw_key]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataError(f"expected a JSON object with {id_key!r} and {raw_key!r} ({exc})", path, lineno) from None
    ids_arr = np.asarray(ids)
    if len(ids_arr) == 0:
        raise DataError("mapper is empty", path)
    if not np.array_equal(np.sort(ids_arr), np.arange(len(ids_arr))):
        raise DataError(f"{id_key} values are not the contiguous ids 0..{len(ids_arr) - 1}", path)
    out = np.empty(len(ids_arr), dtype=object)
    out[ids_arr] = raws
    return out


def load_rlmrec(name: str, data_dir: str | Path | None = None, download: bool = True) -> InteractionDataset:
    r"""RLMRec's published 3:1:1 split (``rlmrec-amazon`` or ``rlmrec-yelp``), implicit feedback.

    The returned dataset carries the split as :attr:`~InteractionDataset.predefined_split`;
    raw ids are the Amazon reviewer/ASIN or Yelp user/business ids of the mappers. No item
    text ships with the split, so item features are only the raw ids.

    Args:
        name (str): ``"rlmrec-amazon"`` or ``"rlmrec-yelp"``.
        data_dir (str or Path, optional): a folder holding ``rlmrec_amazon/`` / ``rlmrec_yelp/``.
        download (bool): fetch missing files from the official repositories.
    """
    if name not in RLMREC_DATASETS:
        raise ValueError(f"unknown RLMRec dataset {name!r}; choose from {sorted(RLMREC_DATASETS)}")
    folder, prefix, user_key, item_key = RLMREC_DATASETS[name]
    parts = {}
    shape = None
    for part, fname in (("train", "trn_mat.pkl"), ("valid", "val_mat.pkl"), ("test", "tst_mat.pkl")):
        path = locate(folder, fname, data_dir, download)
        mat = read_sparse_pickle(path)
        if shape is not None and mat.shape != shape:
            raise DataError(f"shape {mat.shape} differs from the training matrix's {shape}", path)
        shape = mat.shape
        parts[part] = Interactions(mat.row, mat.col)
    user_ids = read_json_lines(locate(folder, f"{prefix}_user.json", data_dir, download), "uid", user_key)
    item_ids = read_json_lines(locate(folder, f"{prefix}_item.json", data_dir, download), "iid", item_key)
    if (len(user_ids), len(item_ids)) != shape:
        raise DataError(f"mappers list {len(user_ids)} users x {len(item_ids)} items but the matrices are {shape}", folder)
    split = DataSplit(**parts, num_users=shape[0], num_items=shape[1])
    return InteractionDataset(
        name=name,
        interactions=Interactions.concat([parts["train"], parts["valid"], parts["test"]]),
        user_ids=user_ids,
        item_ids=item_ids,
        item_features=pd.DataFrame({"raw_id": item_ids}),
        user_features=pd.DataFrame({"raw_id": user_ids}),
        domain="books" if prefix == "amazon" else "generic",
        predefined_split=split,
    )
