r"""Residual k-means: residual quantization without a network."""

from __future__ import annotations

import logging
from typing import Dict, List, Union

import torch
from torch import Tensor

from .base import (
    ArrayLike, Quantizer, as_vectors, check_decode_codes, check_enough_vectors, check_integer, nearest,
)
from .kmeans import kmeans

log = logging.getLogger(__name__)


class ResidualKMeans(Quantizer):
    r"""Residual k-means quantizer (the "RQ without the VAE" baseline).

    Level 0 runs k-means with :obj:`K` clusters on the vectors; level
    :obj:`l` runs k-means on the residuals left after levels ``< l``
    (vector minus the sum of the chosen centroids), so each level refines the
    previous ones — the residual idea of RQ-VAE (Lee et al., CVPR 2022) and
    TIGER's semantic IDs (Rajput et al., NeurIPS 2023), as used for
    AutoGraph's latent factors (Shan et al., KDD 2025, arXiv 2412.18241),
    applied directly in the input space.

    Codes are greedy: at every level the nearest centroid to the current
    residual, which is exactly what :meth:`fit` used to compute the next
    level's residuals, so ``transform(x)`` on the training vectors reproduces
    the fitted assignment.

    Args:
        num_levels (int): Levels :obj:`T` (default 3).
        codebook_size (int): Codes per level :obj:`K` (default 256).
        n_iter (int): Lloyd iterations per level (default 25).
        tol (float): Relative k-means stopping tolerance (default 1e-4).
        seed (int): Seed (default 0).
        device (str or torch.device, optional): Default CPU.

    Fitted attributes:
        codebooks_ (Tensor): ``[T, K, D]`` centroids per level.
        inertia_ (list[float]): Mean squared residual norm after each level.
    """

    name = "rkmeans"

    def __init__(self, num_levels: int = 3, codebook_size: int = 256, n_iter: int = 25,
                 tol: float = 1e-4, seed: int = 0,
                 device: Union[str, torch.device, None] = None):
        super().__init__(num_levels, codebook_size, seed, device)
        self.n_iter = n_iter
        self.tol = tol

    def _validate_params(self) -> None:
        super()._validate_params()
        check_integer("n_iter", self.n_iter, 0)

    def _fit(self, x: Tensor) -> None:
        check_enough_vectors(x.shape[0], self.codebook_size)
        g = self._generator()
        residual = x
        books, inertia = [], []
        for level in range(self.num_levels):
            res = kmeans(residual, self.codebook_size, n_iter=self.n_iter, tol=self.tol, generator=g)
            books.append(res.centroids)
            residual = residual - res.centroids[res.labels]
            inertia.append(float((residual * residual).sum(1).mean()))
            log.info("rkmeans level %d: mse %.5g after %d iterations", level, inertia[-1], res.n_iter)
        self.codebooks_ = torch.stack(books)
        self.inertia_ = inertia

    def _encode(self, x: Tensor) -> Tensor:
        residual = x
        codes = []
        for book in self.codebooks_:
            idx, _ = nearest(residual, book)
            codes.append(idx)
            residual = residual - book[idx]
        return torch.stack(codes, dim=1)

    def decode(self, codes: ArrayLike) -> Tensor:
        r"""Approximate vectors ``[N, D]`` from codes ``[N, T']`` (``T' <= T``
        leading levels, each code in ``[0, K)``; :class:`ValueError` otherwise):
        the sum of the chosen centroids."""
        self._check_fitted()
        c = check_decode_codes(codes, int(self.num_levels), int(self.codebook_size), self.device_)
        out = torch.zeros(c.shape[0], self.input_dim_, device=self.device_)
        for level in range(c.shape[1]):
            out = out + self.codebooks_[level][c[:, level]]
        return out

    def quantization_error(self, vectors: ArrayLike) -> List[float]:
        r"""Mean squared error ``||x - decode(codes[:, :l+1])||²`` after each
        level ``l`` (non-increasing on the training vectors)."""
        self._check_fitted()
        x = as_vectors(vectors, self.device_, dim=self.input_dim_)
        codes = self._encode(x)
        return [float(((x - self.decode(codes[:, : l + 1])) ** 2).sum(1).mean())
                for l in range(self.num_levels)]

    def _state(self) -> Dict[str, Tensor]:
        return {"codebooks": self.codebooks_}

    def _set_state(self, state: Dict[str, Tensor]) -> None:
        self.codebooks_ = state["codebooks"]

    def _extra(self):
        return {"inertia": self.inertia_}

    def _set_extra(self, extra):
        self.inertia_ = extra.get("inertia", [])
