import hashlib

import numpy as np

from autograph_rec.encode import EmbeddingStore, TextEncoder


class HashEncoder(TextEncoder):
    """Deterministic toy encoder: counts how many texts reach the 'model'."""

    model_id = "hash-8"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    @property
    def dim(self):
        return 8

    def _encode_batch(self, texts):
        self.seen.extend(texts)
        return np.stack([np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], np.uint8)
                         for t in texts]).astype(np.float64)  # base class must cast


def test_shapes_order_dtype_and_dedup():
    enc = HashEncoder(batch_size=3)
    texts = ["a", "b", "a", "c", "d", "e", "f", "b"]
    out = enc.encode(texts)
    assert out.shape == (8, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], out[2])
    assert sorted(enc.seen) == ["a", "b", "c", "d", "e", "f"]
    assert enc.encode([]).shape == (0, 8)


def test_disk_cache_across_instances(tmp_path):
    path = str(tmp_path / "vec.sqlite")
    first = HashEncoder(batch_size=2, cache=path).encode(["x", "y", "z"])
    enc = HashEncoder(batch_size=2, cache=path)
    again = enc.encode(["z", "new", "x"])
    assert enc.seen == ["new"]
    np.testing.assert_array_equal(again[0], first[2])
    np.testing.assert_array_equal(again[2], first[0])
    store = EmbeddingStore(path)
    assert store.count("hash-8") == 4 and store.count("other") == 0


def test_model_id_separates_cache_rows(tmp_path):
    path = str(tmp_path / "vec.sqlite")
    HashEncoder(cache=path).encode(["x"])
    other = HashEncoder(cache=path)
    other.model_id = "other-model"
    other.encode(["x"])
    assert other.seen == ["x"]
