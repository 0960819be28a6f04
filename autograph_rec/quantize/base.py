r"""The quantizer contract shared by every latent-factor generator.

AutoGraph (Shan et al., KDD 2025, arXiv 2412.18241) turns each user's and
each item's semantic vector into a short tuple of discrete codes, one per
level; every ``(level, code)`` pair becomes one latent-factor node of the
graph. This module holds what all quantizers share:

* :class:`Quantizer`, a scikit-learn-like base class: the constructor stores
  hyperparameters only, :meth:`~Quantizer.fit` learns state in attributes
  ending in ``_``, :meth:`~Quantizer.transform` / :meth:`~Quantizer.assign`
  apply it, :meth:`~Quantizer.save` / :meth:`~Quantizer.load` round-trip it as
  a ``state_dict`` ``.pt`` file plus a JSON sidecar of hyperparameters;
* input validation with errors that say what to change;
* :func:`active_code_ratio` and :func:`code_usage`, the code-usage statistics
  the paper tunes for (> 90 % of the codes of each level in use).

Code layout (what the graph builder consumes): ``codes[n, l]`` is the code of
vector :obj:`n` at level :obj:`l`, an integer in ``[0, K)`` with :obj:`K` the
``codebook_size``; levels are ordered coarse to fine.
"""

from __future__ import annotations

import abc
import inspect
import json
import logging
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch
from torch import Tensor

log = logging.getLogger(__name__)

ArrayLike = Union[np.ndarray, Tensor]

#: Format tag written into every JSON sidecar, checked on load.
FORMAT = "autograph_rec.quantizer"
FORMAT_VERSION = 1

#: Version of the fitting and lookup algorithms: bumped when a fix changes the
#: codes a fitted quantizer produces (same data, same hyperparameters), so the
#: pipeline hashes it into the codes stage key and cached codes rebuild.
#: 2: exact nearest-centroid search far from the origin, shift-invariant k-means
#: stopping, RQ-VAE commitment loss no longer trains the codebooks,
#: hierarchical k-means splits a cluster into at most its number of distinct
#: vectors.
ALGORITHM_VERSION = 2


class NotFittedError(RuntimeError):
    """Raised when :meth:`transform` / :meth:`assign` run before :meth:`fit`."""


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------

def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """``None`` means CPU; anything else is passed to :class:`torch.device`."""
    return torch.device("cpu") if device is None else torch.device(device)


def as_vectors(
    vectors: ArrayLike,
    device: torch.device,
    name: str = "vectors",
    dim: Optional[int] = None,
) -> Tensor:
    r"""Validate :obj:`vectors` and return them as a float32 tensor on :obj:`device`.

    Args:
        vectors (np.ndarray or Tensor): Input of shape ``[N, D]``.
        device (torch.device): Where the result lives.
        name (str): Name used in error messages.
        dim (int, optional): Expected :obj:`D` (the fitted input dimension).

    Raises:
        TypeError: Not an array or a tensor.
        ValueError: Wrong number of dimensions, empty input, wrong :obj:`D`,
            NaN / infinite entries, or finite entries beyond the float32 range.
    """
    if isinstance(vectors, np.ndarray):
        if not (np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(vectors.dtype, np.integer)):
            raise TypeError(f"{name} must hold numbers, got numpy dtype {vectors.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(vectors))
    elif isinstance(vectors, Tensor):
        if vectors.is_complex() or vectors.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got tensor dtype {vectors.dtype}")
        x = vectors.detach()
    else:
        raise TypeError(
            f"{name} must be a float32 numpy array or torch tensor of shape [N, D], "
            f"got {type(vectors).__name__}"
        )
    if x.dim() != 2:
        hint = " (a single vector? pass it as [1, D] or use assign())" if x.dim() == 1 else ""
        raise ValueError(f"{name} must have shape [N, D], got {tuple(x.shape)}{hint}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(
            f"{name} have dimension {x.shape[1]} but the quantizer was fitted on dimension {dim}"
        )
    # Checked before the float32 cast too: a finite float64 beyond float32's
    # range becomes inf in the cast and must not be reported as NaN / inf.
    _check_finite(x, name, "contain NaN or infinite values", "clean or drop them before quantizing")
    wide = x.dtype == torch.float64  # the only input dtype whose finite values can overflow float32
    x = x.to(device=device, dtype=torch.float32)
    if wide:
        _check_finite(x, name, f"exceed the float32 range (|value| > {torch.finfo(torch.float32).max:.3g})",
                      "rescale them before quantizing")
    return x


def _check_finite(x: Tensor, name: str, what: str, fix: str) -> None:
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        rows = (~finite).any(dim=1).nonzero().flatten()
        raise ValueError(
            f"{name} {what} in {rows.numel()} row(s), first at row {int(rows[0])}; {fix}"
        )


def is_integer(value: Any) -> bool:
    """A Python or numpy integer (not a bool, not an integral float such as ``2.0``)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_integer(name: str, value: Any, minimum: int) -> None:
    r"""Raise a :class:`ValueError` naming :obj:`name` unless :obj:`value` is an
    integer (Python or numpy) ``>= minimum``. Floats such as ``2.0`` are rejected:
    they passed a value check before and then failed deep inside ``fit``."""
    if not is_integer(value) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def check_enough_vectors(num_vectors: int, codebook_size: int, what: str = "codebook") -> None:
    """A k-means codebook of :obj:`K` codes needs at least :obj:`K` vectors."""
    if num_vectors < codebook_size:
        suggestion = 2 ** max(0, int(math.floor(math.log2(max(1, num_vectors // 4)))))
        raise ValueError(
            f"got {num_vectors} vectors but codebook_size={codebook_size}: a {what} needs at "
            f"least as many vectors as codes; use a smaller codebook_size "
            f"(e.g. codebook_size={suggestion})"
        )


def check_decode_codes(codes: ArrayLike, num_levels: int, codebook_size: int,
                       device: torch.device) -> Tensor:
    r"""Validate codes given to a ``decode`` and return them as a LongTensor on :obj:`device`.

    Args:
        codes (np.ndarray or Tensor): Codes ``[N, T']`` of the ``T' <= num_levels``
            leading levels, integers in ``[0, codebook_size)``.

    Raises:
        ValueError: Wrong shape, too many levels, non-integer values, or a code
            outside ``[0, codebook_size)`` (the message names the first one and
            where it is: indexing would wrap ``-1`` to the last codeword).
    """
    c = torch.as_tensor(codes)
    if c.dim() != 2:
        raise ValueError(f"codes must have shape [N, levels], got {tuple(c.shape)}")
    if c.shape[1] > num_levels:
        raise ValueError(f"codes have {c.shape[1]} levels but the quantizer has {num_levels}")
    if c.dtype == torch.bool or c.is_complex() or (c.is_floating_point() and not bool((c == c.round()).all())):
        raise ValueError(f"codes must be integers, got dtype {c.dtype}")
    c = c.long()
    bad = ((c < 0) | (c >= codebook_size)).nonzero()
    if bad.numel():
        row, level = (int(v) for v in bad[0])
        raise ValueError(
            f"code {int(c[row, level])} at row {row}, level {level} is outside "
            f"[0, {codebook_size}) ({bad.shape[0]} code(s) out of range)"
        )
    return c.to(device)


def _check_codes(codes: ArrayLike) -> np.ndarray:
    c = codes.detach().cpu().numpy() if isinstance(codes, Tensor) else np.asarray(codes)
    if c.ndim != 2:
        raise ValueError(f"codes must have shape [N, levels], got {c.shape}")
    if c.size and c.min() < 0:
        raise ValueError("codes must be non-negative")
    return c.astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------
# code-usage statistics
# --------------------------------------------------------------------------------------

def code_usage(codes: ArrayLike, codebook_size: Optional[int] = None) -> List[np.ndarray]:
    r"""How often each code is used, per level.

    Args:
        codes (np.ndarray or Tensor): Codes of shape ``[N, levels]``.
        codebook_size (int, optional): :obj:`K`; every count array then has
            length :obj:`K` (unused codes count 0). By default the length is
            ``max code + 1`` of the level.

    Returns:
        list[np.ndarray]: One int64 array of counts per level (the report
        plots them as histograms).
    """
    c = _check_codes(codes)
    out = []
    for level in range(c.shape[1]):
        col = c[:, level]
        if codebook_size is not None and col.size and col.max() >= codebook_size:
            raise ValueError(f"level {level} has code {col.max()} >= codebook_size={codebook_size}")
        out.append(np.bincount(col, minlength=codebook_size or 0).astype(np.int64))
    return out


def active_code_ratio(codes: ArrayLike, codebook_size: int) -> List[float]:
    r"""Fraction of the :obj:`K` codes of each level used by at least one vector.

    The AutoGraph paper tunes its RQ-VAE for a ratio above 0.9 on every level.

    Args:
        codes (np.ndarray or Tensor): Codes of shape ``[N, levels]``.
        codebook_size (int): :obj:`K`, the number of codes per level.

    Returns:
        list[float]: One ratio in ``[0, 1]`` per level.
    """
    if codebook_size <= 0:
        raise ValueError(f"codebook_size must be positive, got {codebook_size}")
    return [float((u > 0).sum()) / codebook_size for u in code_usage(codes, codebook_size)]


# --------------------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------------------

class Quantizer(abc.ABC):
    r"""Base class of the latent-factor quantizers (AutoGraph, arXiv 2412.18241).

    Subclasses implement :meth:`_fit` (learn state from a validated float32
    tensor ``[N, D]`` on :attr:`device_`) and :meth:`_encode` (codes
    ``[N, levels]`` for such a tensor), plus :meth:`_state` /
    :meth:`_set_state` for persistence. Everything else — validation, the
    numpy/tensor in-and-out convention, :meth:`fit_transform`, :meth:`assign`,
    :meth:`save` / :meth:`load` — lives here.

    Output convention: codes are int64, ``numpy`` when the input was a numpy
    array and a :class:`torch.LongTensor` on the input's device when it was a
    tensor; ``codes[n, l]`` lies in ``[0, codebook_size)``.

    Args:
        num_levels (int): Number of code levels :obj:`T`.
        codebook_size (int): Codes per level :obj:`K`.
        seed (int): Seed of every random choice (fits are reproducible).
        device (str or torch.device, optional): Where fitting and lookups run
            (default CPU).
    """

    #: Registry name, set by subclasses (used by :meth:`load`).
    name: str = ""

    def __init__(self, num_levels: int = 3, codebook_size: int = 256, seed: int = 0,
                 device: Union[str, torch.device, None] = None):
        self.num_levels = num_levels
        self.codebook_size = codebook_size
        self.seed = seed
        self.device = device

    # -- hyperparameters ----------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> List[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> Dict[str, Any]:
        """The constructor arguments (scikit-learn's ``get_params``)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def _json_params(self) -> Dict[str, Any]:
        return {k: _to_json(v) for k, v in self.get_params().items()}

    def _validate_params(self) -> None:
        check_integer("num_levels", self.num_levels, 1)
        check_integer("codebook_size", self.codebook_size, 2)
        # every random draw is seeded from it (None failed inside fit with "int() argument must be ...")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_levels={self.num_levels}, "
                f"codebook_size={self.codebook_size})")

    # -- fitted state -------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "input_dim_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {self.__class__.__name__} is not fitted yet: call fit(vectors) first"
            )

    def _generator(self, offset: int = 0) -> torch.Generator:
        # A CPU generator: random draws are made on the CPU and moved, so the
        # same seed gives the same draws on every device.
        return torch.Generator().manual_seed(int(self.seed) + offset)

    # -- public API ---------------------------------------------------------------------
    def fit(self, vectors: ArrayLike) -> "Quantizer":
        r"""Learn the codebooks from :obj:`vectors` of shape ``[N, D]``.

        Returns:
            The quantizer itself.
        """
        self._validate_params()
        self.device_ = resolve_device(self.device)
        x = as_vectors(vectors, self.device_)
        self._fit(x)
        self.input_dim_ = int(x.shape[1])
        self.num_fitted_ = int(x.shape[0])
        return self

    def transform(self, vectors: ArrayLike) -> ArrayLike:
        r"""Codes of :obj:`vectors` ``[N, D]`` → ``[N, num_levels]`` int64
        (numpy in → numpy out; tensor in → tensor on the input's device)."""
        self._check_fitted()
        x = as_vectors(vectors, self.device_, dim=self.input_dim_)
        codes = self._encode(x)
        if isinstance(vectors, np.ndarray):
            return codes.cpu().numpy()
        return codes.to(vectors.device)

    def fit_transform(self, vectors: ArrayLike) -> ArrayLike:
        """:meth:`fit` then :meth:`transform` on the same vectors."""
        return self.fit(vectors).transform(vectors)

    def assign(self, new_vectors: ArrayLike) -> ArrayLike:
        r"""Nearest-code lookup for new users/items with the fitted model.

        The incremental path of AutoGraph: a new node costs one lookup, the
        codebooks are left unchanged (refit periodically). Accepts ``[N, D]``
        (returns ``[N, num_levels]``) or one vector ``[D]`` (returns
        ``[num_levels]``); equal to :meth:`transform` on the same rows.
        """
        self._check_fitted()
        single = getattr(new_vectors, "ndim", None) == 1
        if single:
            new_vectors = new_vectors[None, :]
        codes = self.transform(new_vectors)
        return codes[0] if single else codes

    def active_ratio(self, vectors: ArrayLike) -> List[float]:
        """:func:`active_code_ratio` of the codes of :obj:`vectors`."""
        return active_code_ratio(self.transform(vectors), self.codebook_size)

    # -- persistence --------------------------------------------------------------------
    def _extra(self) -> Dict[str, Any]:
        """JSON-serialisable fitted state that is not a tensor (e.g. history)."""
        return {}

    def _set_extra(self, extra: Dict[str, Any]) -> None:
        pass

    def state_dict(self) -> Dict[str, Tensor]:
        """All fitted tensors, CPU copies, keyed by name."""
        self._check_fitted()
        return {k: v.detach().cpu() for k, v in self._state().items()}

    def save(self, path: Union[str, Path]) -> Path:
        r"""Write the fitted state to :obj:`path` (``.pt`` state_dict, loadable
        with ``torch.load(weights_only=True)``) and the hyperparameters to a
        JSON sidecar next to it (same name, ``.json``).

        Returns:
            Path: The ``.pt`` path written.
        """
        path = _pt_path(Path(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), path)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "algorithm_version": ALGORITHM_VERSION,  # provenance only, not checked on load
            "name": self.name,
            "class": self.__class__.__name__,
            "params": self._json_params(),
            "input_dim": self.input_dim_,
            "num_fitted": self.num_fitted_,
            "extra": self._extra(),
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: Union[str, Path], device: Union[str, torch.device, None] = None) -> "Quantizer":
        r"""Load a quantizer written by :meth:`save`.

        Called on :class:`Quantizer` itself, the class is taken from the
        sidecar; called on a subclass, the sidecar must name that subclass.

        Args:
            path (str or Path): The ``.pt`` file (the ``.json`` sidecar must sit
                next to it).
            device (str or torch.device, optional): Override the saved device.
        """
        path = Path(path)
        if not path.is_file():
            path = _pt_path(path)  # the name given to save(), which appends ".pt"
        side = path.with_suffix(".json")
        if not side.is_file():
            raise FileNotFoundError(f"missing JSON sidecar {side} next to {path}")
        if not path.is_file():
            raise FileNotFoundError(f"missing state file {path} next to its sidecar {side}")
        try:
            meta = json.loads(side.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{side} is not a quantizer sidecar (not valid JSON: {exc})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"{side} is not a quantizer sidecar (format={meta.get('format')!r})")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{side} has quantizer format_version {version!r}; this version of autograph_rec "
                f"reads format_version {FORMAT_VERSION} only (refit the quantizer, or load it with "
                f"the version that saved it)"
            )
        from . import QUANTIZERS  # late import: the registry imports this module

        target = QUANTIZERS.get(meta["name"])
        if target is None:
            raise ValueError(f"{side} names unknown quantizer {meta['name']!r}")
        if cls is not Quantizer and not issubclass(target, cls):
            raise ValueError(f"{path} holds a {target.__name__}, not a {cls.__name__}")
        params = dict(meta["params"])
        if device is not None:
            params["device"] = str(device)
        obj = target(**params)
        obj._validate_params()
        obj.device_ = resolve_device(obj.device)
        state = torch.load(path, map_location="cpu", weights_only=True)
        obj._set_state({k: v.to(obj.device_) for k, v in state.items()})
        obj._set_extra(meta.get("extra", {}))
        obj.input_dim_ = int(meta["input_dim"])
        obj.num_fitted_ = int(meta["num_fitted"])
        return obj

    # -- to implement -------------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, x: Tensor) -> None:
        """Learn state from validated ``x`` ``[N, D]`` (float32, on ``device_``)."""

    @abc.abstractmethod
    def _encode(self, x: Tensor) -> Tensor:
        """Codes ``[N, num_levels]`` (int64, on ``device_``) of validated ``x``."""

    @abc.abstractmethod
    def _state(self) -> Dict[str, Tensor]:
        """Fitted tensors to save."""

    @abc.abstractmethod
    def _set_state(self, state: Dict[str, Tensor]) -> None:
        """Restore what :meth:`_state` returned."""


def _to_json(value: Any) -> Any:
    """A hyperparameter as plain JSON: numpy scalars (e.g. ``seed=np.int64(3)``,
    accepted by validation) become Python numbers, tuples lists, devices strings."""
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    return value


def _pt_path(path: Path) -> Path:
    """``path`` with the ``.pt`` suffix :meth:`Quantizer.save` writes (``x`` → ``x.pt``, ``x.a`` → ``x.a.pt``)."""
    if path.suffix == ".pt":
        return path
    return path.with_suffix(path.suffix + ".pt") if path.suffix else path.with_suffix(".pt")


def nearest(x: Tensor, centroids: Tensor, chunk_elems: int = 1 << 24) -> tuple:
    r"""Index of and squared distance to the nearest centroid, in row chunks.

    Chunking bounds memory at ``chunk_elems`` distances, so
    ``N × K`` never materialises for large :obj:`N` (e.g. 10^6 × 4096).
    Queries and centroids are first moved by the centroids' mean: distances do
    not change, but the float32 expansion ``||c||² - 2 x·c`` is then computed
    near the origin, where it does not cancel (at an offset of 10 with a
    spread of 0.01 about half the rows got a wrong centroid without it).

    Args:
        x (Tensor): Queries ``[N, D]``.
        centroids (Tensor): Codebook ``[K, D]``.

    Returns:
        (Tensor, Tensor): ``[N]`` int64 indices, ``[N]`` float32 squared distances.
    """
    n, k = x.shape[0], centroids.shape[0]
    if k == 0:
        raise ValueError("nearest() needs at least one centroid")
    ref = centroids.mean(0)
    centroids = centroids - ref
    c_sq = (centroids * centroids).sum(1)
    rows = max(1, chunk_elems // max(k, 1))
    idx = torch.empty(n, dtype=torch.long, device=x.device)
    dist = torch.empty(n, dtype=x.dtype, device=x.device)
    for s in range(0, n, rows):
        xb = x[s:s + rows] - ref  # per chunk: no second [N, D] copy of x
        # ||x||^2 is constant per row: argmin over -2 x·c + ||c||^2 suffices,
        # added back afterwards for the distance itself.
        d = torch.addmm(c_sq.unsqueeze(0), xb, centroids.t(), beta=1.0, alpha=-2.0)
        m, i = d.min(dim=1)
        idx[s:s + rows] = i
        dist[s:s + rows] = (m + (xb * xb).sum(1)).clamp_min_(0)
    return idx, dist
