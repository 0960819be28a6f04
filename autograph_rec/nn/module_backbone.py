r"""A user's own PyG module ``(x, edge_index) -> x'`` as a recommendation backbone."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from autograph_rec.nn.base import RecommenderBackbone, check_edge_index
from autograph_rec.nn.propagation import adjacency_edge_index

__all__ = ["ModuleBackbone"]

_FORMATS = ("edge_index", "adj_t")


class ModuleBackbone(RecommenderBackbone):
    r"""Wraps any module mapping node features and an ``edge_index`` to new
    node features, e.g. a :class:`torch_geometric.nn.Sequential` stack of
    :class:`~torch_geometric.nn.conv.GCNConv`, into the backbone contract: the
    wrapper owns a learnable embedding table ``[num_nodes, embedding_dim]``
    used as the module's input features, runs ``module(x, edge_index)`` over
    the whole graph and scores user-item pairs by dot product.

    With ``input_format="edge_index"`` the module gets an ``edge_index``
    ``[2, num_edges]`` (a sparse adjacency argument is turned back into one,
    its values ignored: the module normalises itself). With
    ``input_format="adj_t"`` it gets the graph as an unnormalised
    ``torch.sparse_csr`` matrix ``adj_t`` ``[num_nodes, num_nodes]`` (row =
    destination, column = source, values = edge weights), which PyG's
    ``GCNConv``, ``GraphConv``, ``SAGEConv``, ``LGConv`` ... accept in place of
    ``edge_index`` and process with one sparse product instead of a
    scatter: on CPU without torch-scatter this is ~10x faster (use
    ``GCNConv(..., cached=True)`` to also cache the normalisation). Dropout
    inside the module follows the module's training mode, i.e. the global
    torch random stream.

    Args:
        num_users (int): number of users.
        num_items (int): number of items.
        module (torch.nn.Module): called as ``module(x, edge_index)`` with
            ``x`` ``[num_nodes, embedding_dim]``; returns ``[num_nodes, out_dim]``.
        embedding_dim (int, optional): size of the input embeddings. (default: :obj:`64`)
        out_dim (int, optional): the module's output size; inferred by one
            call on a two-node graph when :obj:`None` (the module's
            :meth:`reset_parameters`, called afterwards, must clear any graph
            cache, as PyG's convolutions do). (default: :obj:`None`)
        input_format (str, optional): ``"edge_index"`` or ``"adj_t"``.
            (default: :obj:`"edge_index"`)
        reg_scope (str, optional): ``"batch"`` or ``"all"``. (default: :obj:`"batch"`)
        seed (int, optional): seeds the embedding table and, through a forked
            global RNG, the module's :meth:`reset_parameters`. (default: :obj:`None`)
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        module: torch.nn.Module,
        embedding_dim: int = 64,
        out_dim: int | None = None,
        reg_scope: str = "batch",
        seed: int | None = None,
        input_format: str = "edge_index",
    ):
        super().__init__(num_users, num_items, embedding_dim, reg_scope=reg_scope, seed=seed)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if input_format not in _FORMATS:
            raise ValueError(f"input_format must be one of {_FORMATS}, got {input_format!r}")
        self.module = module
        self.input_format = input_format
        if out_dim is None:
            out_dim = self._infer_out_dim()
        self.out_dim = int(out_dim)
        self.reset_parameters()

    def _infer_out_dim(self) -> int:
        x = torch.zeros(2, self.embedding_dim)
        edge_index = self._to_format(torch.tensor([[0, 1], [1, 0]]), None, num_nodes=2)
        was_training = self.module.training
        try:
            self.module.eval()
            with torch.no_grad():
                out = self.module(x, edge_index)
        except Exception as exc:  # noqa: BLE001 - re-raised with a hint
            raise ValueError(
                "could not infer the module's output size from a call module(x, edge_index) on a two-node "
                f"graph ({exc}); pass out_dim="
            ) from exc
        finally:
            self.module.train(was_training)
        if not isinstance(out, Tensor) or out.dim() != 2 or out.size(0) != 2:
            raise ValueError("module(x, edge_index) must return node features [num_nodes, out_dim]")
        return int(out.size(1))

    def _reset_parameters(self, generator: torch.Generator | None) -> None:
        super()._reset_parameters(generator)
        reset = getattr(self.module, "reset_parameters", None)
        if reset is None:
            return
        if self.seed is None:
            reset()
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            reset()

    def _to_format(self, edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int) -> Tensor:
        if self.input_format == "edge_index":
            return edge_index
        n = num_nodes
        values = edge_weight if edge_weight is not None else torch.ones(edge_index.size(1), device=edge_index.device)
        with warnings.catch_warnings():  # torch's "sparse CSR is beta" notice
            warnings.simplefilter("ignore", UserWarning)
            adj = torch.sparse_coo_tensor(edge_index.flip(0), values.to(self.embedding.weight.dtype), (n, n),
                                          check_invariants=False)
            return adj.coalesce().to_sparse_csr()

    def adjacency(self, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        r"""The module's graph input for a graph argument (cached per tensor):
        an ``edge_index`` or an ``adj_t`` CSR matrix, see :obj:`input_format`."""
        if edge_index.layout in (torch.sparse_csr, torch.sparse_coo):
            if self.input_format == "adj_t":
                return edge_index
            if edge_index.layout == torch.sparse_coo:
                return edge_index.coalesce().indices().flip(0)
            edge_weight = None
        cache = self._adj_cache
        if cache is not None and cache[0] is edge_index and cache[1] is edge_weight:
            return cache[2]
        if edge_index.layout == torch.sparse_csr:
            out = adjacency_edge_index(edge_index)
        else:
            check_edge_index(edge_index, self.num_nodes)
            out = self._to_format(edge_index, edge_weight, self.num_nodes)
        self._adj_cache = (edge_index, edge_weight, out)
        return out

    def encode(self, adj: Tensor, stochastic: bool = False) -> Tensor:
        was_training = self.module.training
        self.module.train(stochastic)
        try:
            out = self.module(self.embedding.weight, adj)
        finally:
            self.module.train(was_training)
        # checked here too when out_dim was given (no trial call): a wrong shape failed later in indexing
        if not isinstance(out, Tensor) or out.dim() != 2 or out.size(0) != self.num_nodes:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"module(x, edge_index) must return node features [{self.num_nodes}, out_dim], got {shape}")
        return out

    def extra_repr_args(self) -> str:
        text = f", module={type(self.module).__name__}, out_dim={self.out_dim}"
        return text + (f", input_format={self.input_format!r}" if self.input_format != "edge_index" else "")
