r"""Random-projection hashing (LSH) per level: the paper's "LSH" baseline."""

from __future__ import annotations

import logging
import math
from typing import Dict, Union

import torch
from torch import Tensor

from .base import Quantizer

log = logging.getLogger(__name__)


class LSHQuantizer(Quantizer):
    r"""Random-hyperplane LSH codes, one hash per level on the residual.

    The "LSH" latent-factor strategy of AutoGraph's Table 5 (Shan et al.,
    KDD 2025, arXiv 2412.18241), made residual like RQ-VAE (Lee et al.,
    CVPR 2022) so that levels refine each other instead of being independent
    hashes:

    1. the vectors are centred on their training mean;
    2. level :obj:`l` row-normalises the current residual (so the hash
       depends on direction only — SimHash / cosine LSH, Charikar 2002),
       projects it on :math:`b = \log_2 K` random Gaussian hyperplanes and
       reads the :obj:`b` sign bits as an integer code in ``[0, K)``;
    3. the residual drops the mean of its bucket (learned at fit time; an
       empty bucket has mean 0), and the next level hashes what is left.

    With ``balanced=True`` (default) each hyperplane's offset is the median
    of the training projections instead of 0, so every bit splits the
    training set in half and far more of the :obj:`K` buckets are used —
    a documented departure from plain SimHash (``balanced=False``).
    No iterative fitting: the projections are random, only offsets and bucket
    means are data-dependent.

    Args:
        num_levels (int): Levels :obj:`T` (default 3).
        codebook_size (int): Codes per level :obj:`K`, a power of two
            (default 256 = 8 hyperplanes).
        balanced (bool): Median offsets (default) or zero offsets.
        seed (int): Seed of the hyperplanes (default 0).
        device (str or torch.device, optional): Default CPU.

    Fitted attributes:
        mean_ (Tensor): ``[D]`` centring vector.
        planes_ (Tensor): ``[T, D, b]`` hyperplane normals.
        offsets_ (Tensor): ``[T, b]`` thresholds.
        bucket_means_ (Tensor): ``[T, K, D]`` mean residual of each bucket.
    """

    name = "lsh"

    def __init__(self, num_levels: int = 3, codebook_size: int = 256, balanced: bool = True,
                 seed: int = 0, device: Union[str, torch.device, None] = None):
        super().__init__(num_levels, codebook_size, seed, device)
        self.balanced = balanced

    def _validate_params(self) -> None:
        super()._validate_params()
        k = int(self.codebook_size)
        if k & (k - 1):
            lo = 1 << (k.bit_length() - 1)
            raise ValueError(
                f"LSHQuantizer needs a power-of-two codebook_size (log2 K hyperplanes per level), "
                f"got {k}; use {lo} or {lo * 2}"
            )

    @property
    def num_bits(self) -> int:
        """Hyperplanes per level, ``log2(codebook_size)``."""
        return int(round(math.log2(self.codebook_size)))

    def _hash(self, residual: Tensor, level: int) -> Tensor:
        u = residual / residual.norm(dim=1, keepdim=True).clamp_min(1e-12)
        bits = (u @ self.planes_[level]) > self.offsets_[level]
        weights = 2 ** torch.arange(self.num_bits, device=residual.device)
        return (bits.long() * weights).sum(1)

    def _fit(self, x: Tensor) -> None:
        if x.shape[0] < self.codebook_size:
            log.warning("LSH: %d vectors for %d buckets per level: many codes will be unused",
                        x.shape[0], self.codebook_size)
        g = self._generator()
        d, b, k = x.shape[1], self.num_bits, self.codebook_size
        self.mean_ = x.mean(0)
        # Gaussian normals drawn on the CPU then moved: same planes on any device.
        self.planes_ = torch.randn(self.num_levels, d, b, generator=g).to(x.device)
        self.offsets_ = torch.zeros(self.num_levels, b, device=x.device)
        self.bucket_means_ = torch.zeros(self.num_levels, k, d, device=x.device)
        residual = x - self.mean_
        for level in range(self.num_levels):
            if self.balanced:
                u = residual / residual.norm(dim=1, keepdim=True).clamp_min(1e-12)
                self.offsets_[level] = (u @ self.planes_[level]).median(dim=0).values
            codes = self._hash(residual, level)
            sums = torch.zeros(k, d, device=x.device).index_add_(0, codes, residual)
            counts = torch.bincount(codes, minlength=k).clamp_min(1).unsqueeze(1)
            self.bucket_means_[level] = sums / counts
            residual = residual - self.bucket_means_[level][codes]
            log.info("lsh level %d: %d/%d buckets used", level,
                     int(torch.unique(codes).numel()), k)

    def _encode(self, x: Tensor) -> Tensor:
        residual = x - self.mean_
        codes = []
        for level in range(self.num_levels):
            c = self._hash(residual, level)
            codes.append(c)
            residual = residual - self.bucket_means_[level][c]
        return torch.stack(codes, dim=1)

    def _state(self) -> Dict[str, Tensor]:
        return {"mean": self.mean_, "planes": self.planes_, "offsets": self.offsets_,
                "bucket_means": self.bucket_means_}

    def _set_state(self, state: Dict[str, Tensor]) -> None:
        self.mean_ = state["mean"]
        self.planes_ = state["planes"]
        self.offsets_ = state["offsets"]
        self.bucket_means_ = state["bucket_means"]
