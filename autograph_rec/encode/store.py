"""On-disk store of text embeddings keyed by (model id, text hash)."""

from __future__ import annotations

import hashlib
import threading
from typing import Dict, Sequence

import numpy as np

from ..llm.cache import connect_sqlite


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingStore:
    r"""A persistent map ``(model_id, sha256(text)) -> float32 vector``.

    One SQLite file in WAL mode (like the LLM response cache), so several
    processes may encode into it at once and a killed run keeps every chunk it
    committed. Vectors are stored as raw little-endian float32 bytes.

    Args:
        path (str): The SQLite file (created with its folder if missing).
    """

    def __init__(self, path: str):
        self.path = str(path)
        self._conn = connect_sqlite(self.path)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL,"
                " dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, hash))"
            )

    def get_many(self, model_id: str, hashes: Sequence[str]) -> Dict[str, np.ndarray]:
        """Return the stored vectors among :obj:`hashes` (misses are absent)."""
        out: Dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(hashes))
        for start in range(0, len(uniq), 500):
            chunk = uniq[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT hash, vec FROM vectors WHERE model=? AND hash IN ({marks})",
                    [model_id, *chunk],
                ).fetchall()
            for h, blob in rows:
                out[h] = np.frombuffer(blob, dtype="<f4").copy()
        return out

    def put_many(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store rows of :obj:`vectors` ``[N, D]`` in one transaction."""
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        rows = [(model_id, h, int(v.shape[0]), v.tobytes()) for h, v in zip(hashes, vectors)]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?,?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def count(self, model_id: str) -> int:
        with self._lock:
            return self._conn.execute(
                "SELECT COUNT(*) FROM vectors WHERE model=?", (model_id,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"EmbeddingStore({self.path!r})"
