r"""Latent factors by quantization (AutoGraph step 2, arXiv 2412.18241).

Every quantizer maps semantic vectors ``[N, D]`` to codes ``[N, T]``
(``codes[n, l]`` in ``[0, codebook_size)``, levels coarse to fine) with one
scikit-learn-like contract: ``fit`` / ``transform`` / ``fit_transform`` /
``assign`` (nearest-code lookup for new users or items) / ``save`` / ``load``.
Users and items get separate quantizers.

:data:`ALGORITHM_VERSION` is bumped when a fix changes the codes a fitted
quantizer produces; the pipeline hashes it into the codes stage key so cached
codes rebuild.

========== ================================ ==========================================
name       class                            what
========== ================================ ==========================================
``rqvae``  :class:`RQVAE`                   the paper's RQ-VAE (MLP auto-encoder)
``rkmeans``:class:`ResidualKMeans`          residual k-means in the input space
``lsh``    :class:`LSHQuantizer`            random-hyperplane hashing of residuals
``hc``     :class:`HierarchicalKMeans`      hierarchical k-means (the paper's "HC")
========== ================================ ==========================================
"""

from __future__ import annotations

from typing import Dict, Type

from .base import ALGORITHM_VERSION, NotFittedError, Quantizer, active_code_ratio, code_usage
from .hierarchical import HierarchicalKMeans
from .kmeans import KMeansResult, kmeans
from .lsh import LSHQuantizer
from .residual_kmeans import ResidualKMeans
from .rqvae import RQVAE

#: Registry: name → quantizer class.
QUANTIZERS: Dict[str, Type[Quantizer]] = {
    "rqvae": RQVAE,
    "rkmeans": ResidualKMeans,
    "lsh": LSHQuantizer,
    "hc": HierarchicalKMeans,
}

_ALIASES = {
    "rq-vae": "rqvae", "rq_vae": "rqvae", "rq": "rqvae",
    "residual_kmeans": "rkmeans", "residual-kmeans": "rkmeans", "rkm": "rkmeans",
    "hierarchical": "hc", "hierarchical_kmeans": "hc", "hkmeans": "hc",
}


def quantizer_name(name: str) -> str:
    """The registry name behind ``name`` (case-insensitive; aliases such as ``"rq-vae"``).

    Raises:
        ValueError: Unknown name.
    """
    key = str(name).lower().strip()
    key = _ALIASES.get(key, key)
    if key not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {name!r}; choose one of {sorted(QUANTIZERS)}")
    return key


def build_quantizer(name: str, **kwargs) -> Quantizer:
    r"""Build a quantizer by registry name (case-insensitive; a few aliases such
    as ``"rq-vae"`` or ``"residual_kmeans"`` are accepted).

    Args:
        name (str): One of :data:`QUANTIZERS`.
        **kwargs: Constructor arguments of that quantizer.

    Raises:
        ValueError: Unknown name, or keyword arguments the quantizer does not
            take (the message lists the accepted ones).
    """
    key = quantizer_name(name)
    cls = QUANTIZERS[key]
    accepted = cls._param_names()
    bad = sorted(set(kwargs) - set(accepted))
    if bad:
        raise ValueError(f"{cls.__name__} ({key!r}) got unknown argument(s) {bad}; "
                         f"accepted: {accepted}")
    return cls(**kwargs)


def load_quantizer(path, device=None) -> Quantizer:
    """Load any quantizer saved with :meth:`Quantizer.save` (class read from the sidecar)."""
    return Quantizer.load(path, device=device)


__all__ = [
    "Quantizer", "NotFittedError", "RQVAE", "ResidualKMeans", "LSHQuantizer",
    "HierarchicalKMeans", "QUANTIZERS", "build_quantizer", "quantizer_name", "load_quantizer",
    "active_code_ratio", "code_usage", "kmeans", "KMeansResult", "ALGORITHM_VERSION",
]
