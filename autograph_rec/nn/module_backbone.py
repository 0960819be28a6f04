r"""A user's own PyG module ``(x, edge_index) -> x'`` as a recommendation backbone."""

from __future__ import annotations

import copy
import inspect
import warnings

import torch
from torch import Tensor

from autograph_rec.nn.base import SEED_OFFSETS, RecommenderBackbone, check_edge_index
from autograph_rec.nn.propagation import adjacency_edge_index

__all__ = ["ModuleBackbone"]

_FORMATS = ("edge_index", "adj_t")
_CALLS = {"edge_index": "module(x, edge_index[, edge_weight])", "adj_t": "module(x, adj_t)"}


def _forward_signature(module: torch.nn.Module) -> inspect.Signature | None:
    r"""The signature :obj:`module` is called with, or :obj:`None` if unknown.

    PyG's :class:`~torch_geometric.nn.Sequential` has a ``forward(*args,
    **kwargs)`` and declares its real arguments in ``signature.param_dict``.
    """
    declared = getattr(getattr(module, "signature", None), "param_dict", None)
    if isinstance(declared, dict):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        return inspect.Signature([
            inspect.Parameter(name, kind, default=getattr(param, "default", inspect.Parameter.empty))
            for name, param in declared.items()
        ])
    try:
        return inspect.signature(module.forward)
    except (TypeError, ValueError):  # e.g. a scripted module: nothing to check
        return None


def _reset_module(module: torch.nn.Module) -> None:
    r"""Calls :obj:`module`'s ``reset_parameters``, or else that of each
    outermost submodule that has one (a plain ``torch.nn.Module`` holding PyG
    convolutions has none of its own)."""
    reset = getattr(module, "reset_parameters", None)
    if callable(reset):
        reset()
        return
    for child in module.children():
        _reset_module(child)


class ModuleBackbone(RecommenderBackbone):
    r"""Wraps any module mapping node features and an ``edge_index`` to new
    node features, e.g. a :class:`torch_geometric.nn.Sequential` stack of
    :class:`~torch_geometric.nn.conv.GCNConv`, into the backbone contract: the
    wrapper owns a learnable embedding table ``[num_nodes, embedding_dim]``
    used as the module's input features, runs ``module(x, edge_index)`` over
    the whole graph and scores user-item pairs by dot product.

    With ``input_format="edge_index"`` the module gets an ``edge_index``
    ``[2, num_edges]`` (a sparse adjacency argument is turned back into one,
    its values ignored: the module normalises itself) and, when its
    ``forward`` has an ``edge_weight`` argument (PyG's convention, e.g.
    ``GCNConv`` or ``Sequential("x, edge_index, edge_weight", ...)``), the
    graph's edge weights ``[num_edges]`` as ``edge_weight=``. A module without
    one cannot see weights: a graph whose edge weights are not all equal
    (e.g. AutoGraph's ``factor_weight``) then raises a :class:`ValueError`
    instead of being silently read as unweighted. With
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
        module (torch.nn.Module): called as ``module(x, edge_index[,
            edge_weight=...])`` or ``module(x, adj_t)`` (see above) with ``x``
            ``[num_nodes, embedding_dim]``; returns ``[num_nodes, out_dim]``.
            Its signature is checked at construction (:class:`TypeError`).
        embedding_dim (int, optional): size of the input embeddings. (default: :obj:`64`)
        out_dim (int, optional): the module's output size; inferred by one
            call of a copy of the module on a two-node graph when :obj:`None`
            (a copy, so that no graph cache is left behind). (default: :obj:`None`)
        input_format (str, optional): ``"edge_index"`` or ``"adj_t"``.
            (default: :obj:`"edge_index"`)
        reg_scope (str, optional): ``"batch"`` or ``"all"``. (default: :obj:`"batch"`)
        seed (int, optional): seeds the embedding table and, through a forked
            global RNG on a stream of its own, the module's
            :meth:`reset_parameters` (or, without one, that of each of its
            outermost submodules that has one). (default: :obj:`None`)
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
        self._takes_edge_weight = False
        self._check_signature()
        if out_dim is None:
            out_dim = self._infer_out_dim()
        self.out_dim = int(out_dim)
        self.reset_parameters()

    def _check_signature(self) -> None:
        # A module that cannot take our call failed with a bare TypeError at the first batch
        # (or, in the out_dim trial call, with the wrong advice to pass out_dim).
        sig = _forward_signature(self.module)
        if sig is None:
            return
        param = sig.parameters.get("edge_weight")
        self._takes_edge_weight = self.input_format == "edge_index" and param is not None and param.kind not in (
            inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        first = next(iter(sig.parameters), None)
        try:
            sig.bind(None, None, **({"edge_weight": None} if self._takes_edge_weight else {}))
            if first in ("edge_index", "adj_t", "edge_weight"):
                raise TypeError(f"its first argument is {first!r}, not the node features x")
        except TypeError as exc:
            raise TypeError(
                f"{type(self.module).__name__}.forward{sig} cannot be called as {_CALLS[self.input_format]} "
                f"with x [num_nodes, embedding_dim] ({exc})"
            ) from None

    def _run(self, module: torch.nn.Module, x: Tensor, graph: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        r"""``module(x, graph)``, with the edge weights as ``edge_weight=`` when
        the module takes them (:obj:`graph` is then ``(edge_index,
        edge_weight)`` or an ``edge_index`` without weights)."""
        if self._takes_edge_weight:
            edge_index, edge_weight = graph if isinstance(graph, tuple) else (graph, None)
            return module(x, edge_index, edge_weight=edge_weight)
        return module(x, graph)

    def _infer_out_dim(self) -> int:
        # Probe a copy: a call may leave state in the module, e.g. GCNConv(cached=True) kept the
        # two-node graph (edge_index then trained on it silently, adj_t crashed).
        try:
            probe = copy.deepcopy(self.module)
        except Exception as exc:  # noqa: BLE001 - re-raised with a hint
            raise ValueError(f"could not copy the module to infer its output size ({exc}); pass out_dim=") from exc
        x = torch.zeros(2, self.embedding_dim)
        graph = self._to_format(torch.tensor([[0, 1], [1, 0]]), None, num_nodes=2)
        probe.eval()
        try:
            with torch.no_grad():
                out = self._run(probe, x, graph)
        except Exception as exc:  # noqa: BLE001 - re-raised with a hint
            raise ValueError(
                f"could not infer the module's output size from a call {_CALLS[self.input_format]} on a two-node "
                f"graph ({exc}); if the module cannot run on such a graph, pass out_dim= to skip this trial call"
            ) from exc
        if not isinstance(out, Tensor) or out.dim() != 2 or out.size(0) != 2:
            raise ValueError("module(x, edge_index) must return node features [num_nodes, out_dim]")
        return int(out.size(1))

    def _reset_parameters(self, generator: torch.Generator | None) -> None:
        super()._reset_parameters(generator)
        if self.seed is None:
            _reset_module(self.module)
            return
        # The module draws from the global generator: fork it, seeded with a stream of its own
        # (the seed itself drew the embedding table: the module's first weights were a copy).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + SEED_OFFSETS["module"])
            _reset_module(self.module)

    def _to_format(
        self, edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int
    ) -> Tensor | tuple[Tensor, Tensor]:
        if self.input_format == "edge_index":
            if edge_weight is None:
                return edge_index
            if self._takes_edge_weight:
                return edge_index, edge_weight
            if edge_weight.numel() and not bool((edge_weight == edge_weight[0]).all()):
                raise ValueError(
                    f"the graph has unequal edge weights (e.g. AutoGraph's factor_weight) but "
                    f"{type(self.module).__name__}.forward takes no edge_weight, so input_format=\"edge_index\" "
                    "would drop them: use input_format=\"adj_t\" (the weights become the adjacency's values) or "
                    "a module whose forward takes edge_weight, e.g. "
                    "Sequential(\"x, edge_index, edge_weight\", ...)"
                )
            return edge_index  # equal weights: a normalising module sees the same graph
        n = num_nodes
        values = edge_weight if edge_weight is not None else torch.ones(edge_index.size(1), device=edge_index.device)
        with warnings.catch_warnings():  # torch's "sparse CSR is beta" notice
            warnings.simplefilter("ignore", UserWarning)
            adj = torch.sparse_coo_tensor(edge_index.flip(0), values.to(self.embedding.weight.dtype), (n, n),
                                          check_invariants=False)
            return adj.coalesce().to_sparse_csr()

    def adjacency(
        self, edge_index: Tensor | tuple[Tensor, Tensor], edge_weight: Tensor | None = None
    ) -> Tensor | tuple[Tensor, Tensor]:
        r"""The module's graph input for a graph argument (cached per tensor):
        an ``edge_index`` ``[2, num_edges]``, an ``(edge_index, edge_weight)``
        pair for a module taking edge weights, or an ``adj_t`` CSR matrix
        ``[num_nodes, num_nodes]``, see :obj:`input_format`.

        Raises:
            ValueError: for unequal edge weights that the module cannot take.
        """
        if isinstance(edge_index, tuple):  # already the module's input
            return edge_index
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

    def encode(self, adj: Tensor | tuple[Tensor, Tensor], stochastic: bool = False) -> Tensor:
        was_training = self.module.training
        self.module.train(stochastic)
        try:
            out = self._run(self.module, self.embedding.weight, adj)
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
