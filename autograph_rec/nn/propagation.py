r"""Sparse graph propagation shared by the collaborative-filtering backbones.

Everything here stays sparse: the normalised adjacency is a ``torch.sparse_csr``
tensor with one stored entry per (directed) edge, and propagation is a single
sparse-dense product per layer. Nothing of size ``[num_nodes, num_nodes]`` is
ever materialised densely.
"""

from __future__ import annotations

import logging
import warnings

import torch
from torch import Tensor

logger = logging.getLogger(__name__)

__all__ = [
    "normalized_adjacency",
    "propagate",
    "multi_hop_propagate",
    "csr_mm",
    "transpose_permutation",
    "drop_adjacency_entries",
    "adjacency_edge_index",
]


def _csr(crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    # torch warns "sparse CSR support is in beta" on every construction; it is
    # noise for library users, so it is silenced locally (not globally).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, size=size)


def normalized_adjacency(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
) -> Tensor:
    r"""Symmetrically normalised adjacency
    :math:`\mathbf{\hat{A}} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}`
    as a sparse CSR matrix, the propagation matrix of LightGCN
    (`He et al., SIGIR 2020 <https://arxiv.org/abs/2002.02126>`_).

    The result follows the message-passing convention of
    :class:`torch_geometric.nn.conv.LGConv`: an edge ``(j, i)`` in
    :obj:`edge_index` sends a message from node ``j`` to node ``i``, so it is
    stored at row ``i``, column ``j``, and degrees are in-degrees. For the
    undirected graphs of :func:`~autograph_rec.graph.bipartite.bipartite_edge_index`
    (both directions present) the matrix is symmetric. Duplicate edges are
    summed, which gives the same propagation as keeping them. Nodes without
    edges get an all-zero row and column instead of a division by zero.

    Args:
        edge_index (torch.Tensor): edges ``[2, num_edges]`` (``int64``).
        num_nodes (int): number of nodes ``N``.
        edge_weight (torch.Tensor, optional): edge weights ``[num_edges]``;
            ``1`` for every edge when :obj:`None`. (default: :obj:`None`)

    Returns:
        torch.Tensor: sparse CSR tensor of shape ``[N, N]`` on the device of
        :obj:`edge_index`, dtype of :obj:`edge_weight` (``float32`` otherwise).

    Raises:
        ValueError: if :obj:`edge_index` is not ``[2, E]`` or holds a node id outside ``[0, N)``.
    """
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    device = edge_index.device
    src, dst = edge_index[0].long(), edge_index[1].long()
    if src.numel():
        # an id >= N would land in another row of the flattened (row, col) key below, i.e. a
        # silently wrong edge, and a negative one indexes from the end: check once per graph
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            bad = ((edge_index < 0) | (edge_index >= num_nodes)).any(dim=0).nonzero()[0, 0].item()
            raise ValueError(
                f"edge_index holds node ids in [{lo}, {hi}] but num_nodes={num_nodes}; first bad edge: "
                f"column {bad} = {edge_index[:, bad].tolist()}"
            )
    if edge_weight is None:
        edge_weight = torch.ones(src.numel(), device=device)
    elif edge_weight.numel() != src.numel():
        raise ValueError(f"edge_weight has {edge_weight.numel()} entries for {src.numel()} edges")

    deg = torch.zeros(num_nodes, dtype=edge_weight.dtype, device=device)
    deg.index_add_(0, dst, edge_weight)
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt.masked_fill_(deg_inv_sqrt == float("inf"), 0.0)
    values = deg_inv_sqrt[dst] * edge_weight * deg_inv_sqrt[src]

    # Sort by (row, col) once and merge duplicates: the CSR kernels require it.
    key = dst * num_nodes + src
    key, inverse = torch.unique(key, sorted=True, return_inverse=True)
    merged = torch.zeros(key.numel(), dtype=values.dtype, device=device)
    merged = merged.index_add(0, inverse, values)
    row, col = key // num_nodes, key % num_nodes
    crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=num_nodes), 0)
    if key.numel() < 2**31 - 1:
        # int32 indices: MKL's CPU kernel needs them and would otherwise
        # convert int64 indices on every product (measured ~2x slower here).
        crow, col = crow.int(), col.int()
    return _csr(crow, col, merged, (num_nodes, num_nodes))


def adjacency_edge_index(adj: Tensor) -> Tensor:
    r"""The stored entries of a CSR adjacency as an ``edge_index``.

    Entry ``(i, j)`` (row ``i``, column ``j``) means ``j`` sends to ``i``, so
    it becomes the edge ``(j, i)``: the inverse of :func:`normalized_adjacency`.

    Args:
        adj (torch.Tensor): sparse CSR tensor ``[N, N]``.

    Returns:
        torch.Tensor: ``edge_index`` of shape ``[2, nnz]``.
    """
    crow, col = adj.crow_indices().long(), adj.col_indices().long()
    counts = crow[1:] - crow[:-1]
    row = torch.repeat_interleave(torch.arange(adj.size(0), device=col.device), counts)
    return torch.stack([col, row])


def transpose_permutation(adj: Tensor) -> Tensor:
    r"""For a structurally symmetric CSR matrix, the position of each entry's
    mirror: ``perm[p]`` is the index (in CSR order) of entry ``(j, i)`` when
    entry ``p`` is ``(i, j)``.

    With it, the transpose of ``adj`` with any value vector ``v`` on the same
    sparsity pattern is the CSR matrix with the same indices and values
    ``v[perm]``, with no sort or format conversion: that is what makes random
    (asymmetric) entry dropout cheap in :func:`drop_adjacency_entries`.

    Args:
        adj (torch.Tensor): sparse CSR tensor ``[N, N]`` whose pattern is symmetric.

    Returns:
        torch.Tensor: ``int64`` tensor ``[nnz]``.

    Raises:
        ValueError: if the sparsity pattern is not symmetric.
    """
    n = adj.size(0)
    src_dst = adjacency_edge_index(adj)
    col, row = src_dst[0], src_dst[1]
    key = row * n + col  # sorted ascending: CSR order
    mirror = col * n + row
    perm = torch.searchsorted(key, mirror)
    perm.clamp_(max=max(key.numel() - 1, 0))
    if key.numel() and not torch.equal(key[perm], mirror):
        raise ValueError("adjacency is not structurally symmetric; cannot mirror its entries")
    return perm


def drop_adjacency_entries(
    adj: Tensor,
    p: float,
    perm: Tensor | None = None,
    generator: torch.Generator | None = None,
    rescale: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""Randomly zero stored entries of a (normalised) adjacency, each
    independently with probability :obj:`p`, without renormalising: the
    edge dropout of RLMRec's LightGCN (`Ren et al., WWW 2024
    <https://arxiv.org/abs/2310.15950>`_).

    The two directions of an undirected edge are dropped independently, so the
    result is in general not symmetric; its transpose is returned alongside for
    the backward pass of :func:`propagate`. Dropped entries are kept as
    explicit zeros (same sparsity pattern), which costs a few percent more work
    in the product but avoids rebuilding and sorting indices every batch.

    Args:
        adj (torch.Tensor): structurally symmetric CSR tensor ``[N, N]``.
        p (float): drop probability in ``[0, 1)``.
        perm (torch.Tensor, optional): :func:`transpose_permutation` of
            :obj:`adj`; computed when :obj:`None` (cache it across batches).
        generator (torch.Generator, optional): source of randomness.
            (default: :obj:`None`, the global generator)
        rescale (bool, optional): divide kept values by ``1 - p`` (inverted
            dropout). RLMRec does not. (default: :obj:`False`)

    Returns:
        (torch.Tensor, torch.Tensor): the dropped adjacency and its transpose.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop probability must be in [0, 1), got {p}")
    if perm is None:
        perm = transpose_permutation(adj)
    values = adj.values()
    keep = random_uniform(values.shape, generator, values.device, values.dtype) >= p
    new_values = values * keep
    if rescale:
        new_values = new_values / (1.0 - p)
    crow, col = adj.crow_indices(), adj.col_indices()
    size = tuple(adj.shape)
    return _csr(crow, col, new_values, size), _csr(crow, col, new_values[perm], size)


def random_uniform(
    shape: torch.Size | tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""``U[0, 1)`` samples on :obj:`device` drawn from :obj:`generator`.

    A generator can only fill tensors on its own device, so a CPU generator
    driving a CUDA model samples on the CPU and copies; the stream of numbers
    then depends only on the generator, not on where the model lives.
    """
    if generator is None:
        return torch.rand(shape, device=device, dtype=dtype)
    out = torch.rand(shape, generator=generator, device=generator.device, dtype=dtype)
    return out.to(device)


def csr_mm(adj: Tensor, x: Tensor) -> Tensor:
    r"""``adj @ x`` for a sparse CSR :obj:`adj` and dense :obj:`x`, without autograd.

    ``torch.sparse.mm`` zero-fills a result, multiplies into a temporary and
    copies it over; ``addmm`` with ``beta=0`` writing into an uninitialised
    output does one pass. On Amazon-book's adjacency (241k entries, dim 64) the
    two were equal at one thread and 1.0-3.5x apart in favour of this one at
    two threads, across runs on this project's shared 2-core VM
    (``scripts/bench_spmm.py``, docs/benchmarks.md §2c).

    Args:
        adj (torch.Tensor): sparse CSR ``[M, N]``.
        x (torch.Tensor): dense ``[N, dim]``.

    Returns:
        torch.Tensor: ``[M, dim]``.
    """
    out = x.new_empty(adj.size(0), x.size(1))
    # beta=0: the uninitialised contents of `out` are ignored, never read into the result
    return torch.addmm(out, adj, x, beta=0.0, out=out)


class _SparseMatmul(torch.autograd.Function):
    r"""``adj @ x`` whose backward is ``adj_t @ grad`` with a *given* transpose.

    torch's own autograd for sparse CSR products transposes the matrix in the
    backward pass (a COO round trip), which dominated the epoch time of
    LightGCN here. The transpose of a symmetric normalised adjacency is itself,
    so the backward is one more CSR product of the same cost as the forward.
    Gradients flow to :obj:`x` only; the adjacency is treated as constant.
    """

    @staticmethod
    def forward(ctx, adj: Tensor, adj_t: Tensor, x: Tensor) -> Tensor:  # type: ignore[override]
        ctx.adj_t = adj_t
        return csr_mm(adj, x)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        grad_x = None
        if ctx.needs_input_grad[2]:
            grad_x = csr_mm(ctx.adj_t, grad.contiguous())
        return None, None, grad_x


def propagate(adj: Tensor, x: Tensor, adj_t: Tensor | None = None) -> Tensor:
    r"""One propagation step :math:`\mathbf{\hat{A}} \mathbf{X}`.

    Args:
        adj (torch.Tensor): sparse CSR tensor ``[N, N]``, e.g. from
            :func:`normalized_adjacency`. Without :obj:`adj_t` it must be
            symmetric (it is used as its own transpose in the backward pass).
        x (torch.Tensor): node features ``[N, dim]``.
        adj_t (torch.Tensor, optional): the transpose of :obj:`adj` (sparse
            CSR) when :obj:`adj` is not symmetric, e.g. after
            :func:`drop_adjacency_entries`. (default: :obj:`None`)

    Returns:
        torch.Tensor: ``[N, dim]``.

    .. note::
        If the adjacency's values require grad (learnable edge weights), the
        product falls back to torch's generic sparse autograd, which is correct
        but several times slower.
    """
    if adj.layout != torch.sparse_csr:
        raise TypeError(f"propagate expects a sparse CSR adjacency, got layout {adj.layout}")
    if adj.requires_grad:
        return torch.sparse.mm(adj, x)
    if x.dtype != adj.dtype:
        raise TypeError(f"adjacency dtype {adj.dtype} does not match features dtype {x.dtype}")
    return _SparseMatmul.apply(adj, adj if adj_t is None else adj_t, x.contiguous())


class _MultiHop(torch.autograd.Function):
    r"""``sum_l alpha_l A^l x`` as one autograd node.

    The forward keeps no per-layer tensors (it accumulates in place), and the
    backward evaluates ``sum_l alpha_l (A^T)^l g`` by Horner's rule with fused
    ``addmm`` calls: ``L`` sparse products and no separate scale/add kernels,
    against ``L`` products plus ``2L + 1`` elementwise ops (and their
    backward nodes) for the layer-list formulation.
    """

    @staticmethod
    def forward(ctx, adj: Tensor, adj_t: Tensor, x: Tensor, alpha: list[float]) -> Tensor:  # type: ignore[override]
        ctx.adj_t = adj_t
        ctx.alpha = alpha
        out = x * alpha[0]
        h = x
        for weight in alpha[1:]:
            h = csr_mm(adj, h)
            out.add_(h, alpha=weight)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        if not ctx.needs_input_grad[2]:
            return None, None, None, None
        alpha, adj_t = ctx.alpha, ctx.adj_t
        grad = grad.contiguous()
        h = grad * alpha[-1]
        for weight in reversed(alpha[:-1]):
            h = torch.addmm(grad, adj_t, h, beta=weight)
        return None, None, h, None


def multi_hop_propagate(
    adj: Tensor,
    x: Tensor,
    alpha: list[float] | tuple[float, ...],
    adj_t: Tensor | None = None,
) -> Tensor:
    r"""Weighted sum of propagation powers
    :math:`\sum_{l=0}^{L} lpha_l \mathbf{\hat{A}}^l \mathbf{X}` (the
    LightGCN output with ``L = len(alpha) - 1``), in one fused autograd node.

    Args:
        adj (torch.Tensor): sparse CSR adjacency ``[N, N]``, symmetric unless
            :obj:`adj_t` is given.
        x (torch.Tensor): layer-0 features ``[N, dim]``.
        alpha (list[float]): layer weights ``[L + 1]`` (constants, no gradient).
        adj_t (torch.Tensor, optional): transpose of :obj:`adj` if not symmetric.

    Returns:
        torch.Tensor: ``[N, dim]``.
    """
    alpha = [float(a) for a in alpha]
    if not alpha:
        raise ValueError("alpha needs at least one weight (layer 0)")
    if adj.layout != torch.sparse_csr:
        raise TypeError(f"multi_hop_propagate expects a sparse CSR adjacency, got layout {adj.layout}")
    if adj.requires_grad:  # learnable edge weights: generic autograd path
        out, h = x * alpha[0], x
        for weight in alpha[1:]:
            h = torch.sparse.mm(adj, h)
            out = out + h * weight
        return out
    if x.dtype != adj.dtype:
        raise TypeError(f"adjacency dtype {adj.dtype} does not match features dtype {x.dtype}")
    return _MultiHop.apply(adj, adj if adj_t is None else adj_t, x.contiguous(), alpha)
