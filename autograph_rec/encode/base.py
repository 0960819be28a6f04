"""TextEncoder: texts in, float32 vectors out, with an optional on-disk cache."""

from __future__ import annotations

import abc
import logging
import time
from typing import List, Optional, Sequence, Union

import numpy as np
from tqdm.auto import tqdm

from .store import EmbeddingStore, text_hash

log = logging.getLogger(__name__)


class TextEncoder(abc.ABC):
    r"""Base class of text encoders.

    Subclasses implement :meth:`_encode_batch` and :attr:`dim`, and set
    :attr:`model_id` (a stable name; it keys the on-disk cache together with
    the text's sha256). :meth:`encode` deduplicates texts, serves known ones
    from the cache, encodes the rest in chunks and commits each chunk at once,
    so an interrupted run resumes where it stopped.

    Args:
        batch_size (int): Texts per forward pass.
        cache (str or EmbeddingStore, optional): SQLite file (or store) that
            keeps vectors across runs; :obj:`None` disables it.
        show_progress (bool, optional): Force the progress bar on or off; by
            default it shows for more than two batches of work.
    """

    model_id: str = ""

    def __init__(
        self,
        batch_size: int = 32,
        cache: Union[str, EmbeddingStore, None] = None,
        show_progress: Optional[bool] = None,
    ):
        self.batch_size = int(batch_size)
        if cache is not None and not isinstance(cache, EmbeddingStore):
            cache = EmbeddingStore(cache)
        self.cache = cache
        self.show_progress = show_progress
        #: Texts encoded by the model (not served from the cache) so far.
        self.num_encoded = 0
        #: Seconds spent in the model so far.
        self.seconds = 0.0

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Output dimension :obj:`D`."""

    @abc.abstractmethod
    def _encode_batch(self, texts: List[str]) -> np.ndarray:
        """Encode one batch to a ``[len(texts), D]`` array."""

    def encode(self, texts: Sequence[str], show_progress: Optional[bool] = None) -> np.ndarray:
        r"""Encode :obj:`texts` to a float32 array of shape ``[N, D]``, row
        :obj:`i` belonging to :obj:`texts[i]` (so rows follow internal ids when
        the texts do)."""
        texts = [str(t) for t in texts]
        hashes = [text_hash(t) for t in texts]
        vecs = {}
        if self.cache is not None:
            vecs = self.cache.get_many(self.model_id, hashes)
        todo = [h for h in dict.fromkeys(hashes) if h not in vecs]
        if todo:
            first = dict(zip(hashes, texts))
            todo_texts = [first[h] for h in todo]
            show = self.show_progress if show_progress is None else show_progress
            if show is None:
                show = len(todo) > 2 * self.batch_size
            # Commit every few batches: small enough to lose little on a kill,
            # large enough that SQLite transactions cost nothing.
            chunk = self.batch_size * 4
            with tqdm(total=len(todo), desc=f"encode {self.model_id}", unit="text",
                      disable=not show) as bar:
                for s in range(0, len(todo), chunk):
                    part = todo_texts[s:s + chunk]
                    t0 = time.perf_counter()
                    out = np.concatenate([
                        np.asarray(self._encode_batch(part[b:b + self.batch_size]),
                                   dtype=np.float32)
                        for b in range(0, len(part), self.batch_size)
                    ])
                    self.seconds += time.perf_counter() - t0
                    self.num_encoded += len(part)
                    if self.cache is not None:
                        self.cache.put_many(self.model_id, todo[s:s + chunk], out)
                    vecs.update(zip(todo[s:s + chunk], out))
                    bar.update(len(part))
            log.info("encoded %d texts with %s (%d from cache) in %.1fs", len(todo),
                     self.model_id, len(set(hashes)) - len(todo), self.seconds)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([vecs[h] for h in hashes]).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(model_id={self.model_id!r})"
