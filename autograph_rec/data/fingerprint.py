"""A content digest of the data the LLM-side stages read.

The profiles, vectors and codes stages depend on the data only through what they read: the
training interactions (user histories), the users' and items' side text, the prompt domain and
the id space. Keying those stages on this digest instead of on the data *settings* means an
edited CSV, another copy of a dataset or a different ``$AUTOGRAPH_REC_DATA`` rebuilds them,
while settings that cannot change the data (``data_dir``, ``download``, a column mapping that
names the defaults) do not. Validation and test interactions are left out on purpose: no
profile may depend on them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .dataset import DataSplit, InteractionDataset


def _update_array(digest, name: str, array: np.ndarray | None) -> None:
    if array is None:
        digest.update(f"{name}:none;".encode())
        return
    array = np.ascontiguousarray(array)
    # dtype with explicit byte order, so the digest is the same on any machine
    digest.update(f"{name}:{array.dtype.newbyteorder('<').str}:{array.shape};".encode())
    digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def _update_frame(digest, name: str, frame: pd.DataFrame) -> None:
    digest.update(f"{name}:".encode())
    digest.update(frame.to_csv(index=True, lineterminator="\n").encode("utf-8"))


def training_fingerprint(dataset: InteractionDataset, split: DataSplit) -> str:
    r"""A 16-hex-digit SHA-256 digest of what profiling reads from the data.

    Args:
        dataset (InteractionDataset): the loaded dataset (side text and domain).
        split (DataSplit): its split; only ``train`` and the id space enter the digest.

    Returns:
        str: equal for equal content, whatever files or settings it was loaded from.
    """
    digest = hashlib.sha256()
    digest.update(f"users={split.num_users};items={split.num_items};domain={dataset.domain};".encode())
    train = split.train
    for name in ("user", "item", "rating", "timestamp"):
        _update_array(digest, f"train.{name}", getattr(train, name))
    _update_frame(digest, "user_features", dataset.user_features)
    _update_frame(digest, "item_features", dataset.item_features)
    return digest.hexdigest()[:16]
