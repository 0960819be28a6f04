r"""RQ-VAE: the paper's latent-factor quantizer."""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .base import (
    ArrayLike, Quantizer, active_code_ratio, as_vectors, check_decode_codes, check_enough_vectors,
    check_integer, is_integer, nearest,
)
from .kmeans import kmeans

log = logging.getLogger(__name__)


def _mlp(dims: Sequence[int]) -> nn.Sequential:
    layers: List[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _RQVAEModule(nn.Module):
    """Encoder, decoder and the :obj:`T` residual codebooks ``[T, K, latent]``."""

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], latent_dim: int,
                 num_levels: int, codebook_size: int):
        super().__init__()
        dims = [in_dim, *hidden_dims, latent_dim]
        self.encoder = _mlp(dims)
        self.decoder = _mlp(dims[::-1])
        # Plain tensor parameter (not nn.Embedding) so that k-means init and
        # dead-code resets are simple in-place writes.
        self.codebooks = nn.Parameter(torch.zeros(num_levels, codebook_size, latent_dim))

    def quantize(self, z: Tensor):
        """Greedy residual quantization of ``z`` ``[B, latent]``.

        Returns codes ``[B, T]``, the quantized latent (sum of codewords)
        ``[B, latent]`` and per-level residuals (inputs of each level) and
        chosen codewords, for the losses.
        """
        residual = z
        codes, residuals, words = [], [], []
        for book in self.codebooks:
            idx, _ = nearest(residual.detach(), book.detach())
            e = book[idx]
            codes.append(idx)
            residuals.append(residual)
            words.append(e)
            # Detached: the residuals feed the commitment loss, which must train
            # the encoder only; the codebooks learn from the codebook loss, through
            # `words`, which keep their gradient.
            residual = residual - e.detach()
        zq = torch.stack(words).sum(0)
        return torch.stack(codes, 1), zq, residuals, words


class RQVAE(Quantizer):
    r"""Residual-quantized variational auto-encoder (RQ-VAE) over semantic vectors.

    The latent-factor generator of AutoGraph (Shan et al., KDD 2025,
    arXiv 2412.18241), following RQ-VAE (Lee et al., CVPR 2022) and TIGER's
    semantic ids (Rajput et al., NeurIPS 2023): an MLP encoder
    ``D → 512 → 256 → 32``, :obj:`T` residual codebooks of :obj:`K` codes in
    the latent space, and a mirrored MLP decoder. A vector's code at level
    :obj:`l` is the nearest codeword to the residual left by levels ``< l``.

    Training minimises, per batch,

    .. math::
        \frac{1}{D}\lVert x - \mathrm{dec}(z_q)\rVert^2
        + \sum_{l} \lVert \mathrm{sg}(r_l) - e_l\rVert^2
        + \beta \sum_{l} \lVert r_l - \mathrm{sg}(e_l)\rVert^2,

    i.e. reconstruction **MSE** (mean over entries; the released code's L1
    is one of the pitfalls we do not copy), the codebook loss and the
    :math:`\beta`-weighted commitment loss (means over the batch and latent
    entries), with straight-through gradients
    :math:`z_q = z + \mathrm{sg}(\sum_l e_l - z)` from decoder to encoder.

    * **k-means initialisation.** Each level's codebook is initialised by
      k-means on the first batch's latents (level 0) and residuals (levels
      ``> 0``); the first batch holds at least ``2 K`` vectors (or all of
      them) so k-means has enough points.
    * **Dead codes.** A code unused for :obj:`dead_code_steps` consecutive
      steps is reset to a random residual of the current batch at its level,
      which keeps the active-code ratio high (the paper tunes for > 90 %).
    * **Logging.** Each epoch logs (``logging``, module logger) the losses
      and the active-code ratio per level of that epoch's assignments, and
      appends them to :attr:`history_`.

    Args:
        num_levels (int): Levels :obj:`T` (default 3).
        codebook_size (int): Codes per level :obj:`K` (default 256).
        hidden_dims (tuple[int]): Encoder hidden sizes (default ``(512, 256)``;
            the decoder mirrors them).
        latent_dim (int): Latent size (default 32).
        epochs (int): Training epochs (default 100).
        batch_size (int): Batch size (default 256).
        lr (float): Adam learning rate (default 1e-3).
        commitment_weight (float): :math:`\beta` (default 0.25).
        weight_decay (float): Adam weight decay (default 0).
        dead_code_steps (int, optional): Steps without use before a code is
            reset; default one epoch's steps (at least 5). ``0`` disables resets.
        kmeans_iters (int): Lloyd iterations of the initialisation (default 25).
        show_progress (bool, optional): tqdm bar over epochs; default on when
            training takes more than 2000 steps.
        seed (int): Seed of initialisation, shuffling and resets (default 0).
        device (str or torch.device, optional): Default CPU.

    Fitted attributes:
        model_ (nn.Module): Encoder, decoder and ``codebooks`` ``[T, K, latent]``.
        history_ (list[dict]): Per epoch ``epoch``, ``loss``, ``recon_loss``,
            ``codebook_loss``, ``commitment_loss``, ``active_ratio``
            (list per level), ``dead_code_resets``.
        active_ratio_ (list[float]): Active-code ratio per level of the final
            codes of the training vectors.
    """

    name = "rqvae"

    def __init__(self, num_levels: int = 3, codebook_size: int = 256,
                 hidden_dims: Sequence[int] = (512, 256), latent_dim: int = 32,
                 epochs: int = 100, batch_size: int = 256, lr: float = 1e-3,
                 commitment_weight: float = 0.25, weight_decay: float = 0.0,
                 dead_code_steps: Optional[int] = None, kmeans_iters: int = 25,
                 show_progress: Optional[bool] = None, seed: int = 0,
                 device: Union[str, torch.device, None] = None):
        super().__init__(num_levels, codebook_size, seed, device)
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.commitment_weight = commitment_weight
        self.weight_decay = weight_decay
        self.dead_code_steps = dead_code_steps
        self.kmeans_iters = kmeans_iters
        self.show_progress = show_progress

    def __repr__(self) -> str:
        return (f"RQVAE(num_levels={self.num_levels}, codebook_size={self.codebook_size}, "
                f"hidden_dims={tuple(self.hidden_dims)}, latent_dim={self.latent_dim})")

    def _validate_params(self) -> None:
        super()._validate_params()
        for k in ("epochs", "batch_size", "latent_dim", "kmeans_iters"):
            check_integer(k, getattr(self, k), 1)
        if not all(is_integer(h) and h >= 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must hold positive integers, got {self.hidden_dims!r}")
        if self.dead_code_steps is not None:
            check_integer("dead_code_steps", self.dead_code_steps, 0)

    def _build(self, in_dim: int) -> _RQVAEModule:
        # Weight init from the global RNG, forked so the caller's RNG state is
        # untouched and the fit depends on `seed` alone.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            m = _RQVAEModule(in_dim, [int(h) for h in self.hidden_dims], int(self.latent_dim),
                             int(self.num_levels), int(self.codebook_size))
        return m.to(self.device_)

    @torch.no_grad()
    def _kmeans_init(self, model: _RQVAEModule, xb: Tensor, g: torch.Generator) -> None:
        residual = model.encoder(xb)
        for level in range(self.num_levels):
            res = kmeans(residual, self.codebook_size, n_iter=self.kmeans_iters, generator=g)
            model.codebooks.data[level] = res.centroids
            residual = residual - res.centroids[res.labels]

    def _fit(self, x: Tensor) -> None:
        n = x.shape[0]
        K, T = int(self.codebook_size), int(self.num_levels)
        check_enough_vectors(n, K)
        g = self._generator()
        model = self._build(x.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        bs = min(int(self.batch_size), n)
        steps_per_epoch = math.ceil(n / bs)
        dead_after = self.dead_code_steps
        if dead_after is None:
            dead_after = max(5, steps_per_epoch)
        beta = float(self.commitment_weight)

        # k-means init on the first (shuffled) batch, enlarged to >= 2K points
        perm = torch.randperm(n, generator=g).to(x.device)
        model.eval()
        self._kmeans_init(model, x[perm[: min(n, max(bs, 2 * K))]], g)

        last_used = torch.zeros(T, K, dtype=torch.long, device=x.device)
        step = 0
        self.history_: List[Dict[str, Any]] = []
        show = self.show_progress
        if show is None:
            show = self.epochs * steps_per_epoch > 2000
        bar = tqdm(range(int(self.epochs)), desc="RQ-VAE", unit="epoch", disable=not show)
        for epoch in bar:
            model.train()
            if epoch > 0:
                perm = torch.randperm(n, generator=g).to(x.device)
            sums = torch.zeros(4)
            used = torch.zeros(T, K, dtype=torch.bool, device=x.device)
            resets = 0
            for s in range(0, n, bs):
                xb = x[perm[s:s + bs]]
                z = model.encoder(xb)
                codes, zq, residuals, words = model.quantize(z)
                r = torch.stack(residuals)  # [T, B, latent]
                e = torch.stack(words)
                codebook_loss = F.mse_loss(e, r.detach()) * T
                commit_loss = F.mse_loss(r, e.detach()) * T
                z_st = z + (zq - z).detach()  # straight-through estimator
                recon = F.mse_loss(model.decoder(z_st), xb)
                loss = recon + codebook_loss + beta * commit_loss
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                b = xb.shape[0]
                sums += torch.tensor([loss.item(), recon.item(), codebook_loss.item(),
                                      commit_loss.item()]) * b
                for level in range(T):
                    used[level, codes[:, level]] = True
                    last_used[level, codes[:, level]] = step
                if dead_after > 0:
                    resets += self._reset_dead(model, last_used, step, dead_after, r.detach(), g)
            ratio = used.float().mean(1).tolist()
            rec = {"epoch": epoch + 1, "loss": float(sums[0]) / n, "recon_loss": float(sums[1]) / n,
                   "codebook_loss": float(sums[2]) / n, "commitment_loss": float(sums[3]) / n,
                   "active_ratio": ratio, "dead_code_resets": resets}
            self.history_.append(rec)
            log.info("RQ-VAE epoch %d/%d loss %.5f (recon %.5f) active %s resets %d",
                     epoch + 1, self.epochs, rec["loss"], rec["recon_loss"],
                     "/".join(f"{a:.2f}" for a in ratio), resets)
            if show:
                bar.set_postfix(loss=f"{rec['loss']:.4f}", active=f"{min(ratio):.2f}")
        bar.close()
        model.eval()
        self.model_ = model
        self.active_ratio_ = active_code_ratio(self._encode(x), K)
        log.info("RQ-VAE fitted: active-code ratio per level %s",
                 "/".join(f"{a:.3f}" for a in self.active_ratio_))

    @torch.no_grad()
    def _reset_dead(self, model: _RQVAEModule, last_used: Tensor, step: int, dead_after: int,
                    residuals: Tensor, g: torch.Generator) -> int:
        # A code nobody picked for `dead_after` steps gets no codebook gradient
        # and would stay dead: move it onto a random residual of this batch so
        # the next batches can pick it.
        dead = (step - last_used) >= dead_after  # [T, K]
        total = 0
        b = residuals.shape[1]
        for level in range(dead.shape[0]):
            idx = dead[level].nonzero().flatten()
            if idx.numel() == 0:
                continue
            pick = torch.randint(b, (idx.numel(),), generator=g).to(residuals.device)
            model.codebooks.data[level, idx] = residuals[level, pick]
            last_used[level, idx] = step
            total += idx.numel()
        return total

    @torch.no_grad()
    def _encode(self, x: Tensor) -> Tensor:
        self.model_.eval()
        out = []
        # batched so huge N does not hold all hidden activations at once
        for s in range(0, x.shape[0], 65536):
            codes, *_ = self.model_.quantize(self.model_.encoder(x[s:s + 65536]))
            out.append(codes)
        return torch.cat(out)

    @property
    def codebooks_(self) -> Tensor:
        """``[T, K, latent_dim]`` codebooks in the latent space."""
        if not hasattr(self, "model_"):
            raise AttributeError("codebooks_ exists after fit()")
        return self.model_.codebooks.detach()

    @torch.no_grad()
    def decode(self, codes: ArrayLike) -> Tensor:
        r"""Reconstruct vectors ``[N, D]`` from codes ``[N, T']`` (the ``T' <= T``
        leading levels, each code in ``[0, K)``; :class:`ValueError` otherwise)."""
        self._check_fitted()
        c = check_decode_codes(codes, int(self.num_levels), int(self.codebook_size), self.device_)
        books = self.model_.codebooks
        zq = sum(books[l][c[:, l]] for l in range(c.shape[1]))
        return self.model_.decoder(zq)

    @torch.no_grad()
    def reconstruction_error(self, vectors: ArrayLike) -> float:
        """Mean squared error (per entry) of ``decode(transform(x))`` against ``x``."""
        self._check_fitted()
        x = as_vectors(vectors, self.device_, dim=self.input_dim_)
        return float(F.mse_loss(self.decode(self._encode(x)), x))

    def _state(self) -> Dict[str, Tensor]:
        return dict(self.model_.state_dict())

    def _set_state(self, state: Dict[str, Tensor]) -> None:
        in_dim = state["encoder.0.weight"].shape[1]
        self.model_ = self._build(in_dim)
        self.model_.load_state_dict(state)
        self.model_.eval()

    def _extra(self):
        return {"history": self.history_, "active_ratio": self.active_ratio_}

    def _set_extra(self, extra):
        self.history_ = extra.get("history", [])
        self.active_ratio_ = extra.get("active_ratio", [])
