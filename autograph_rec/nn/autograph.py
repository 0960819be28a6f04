r"""The AutoGraph wrapper: any backbone on the LLM-built augmented graph."""

from __future__ import annotations

import inspect
import logging
import math
import warnings

import torch
from torch import Tensor
from torch.nn import Embedding, Linear

from autograph_rec.graph.augmented import AugmentedGraph
from autograph_rec.nn.base import RecommenderBackbone, chunked_topk, seeded_generator, xavier_uniform_
from autograph_rec.nn.gat_metapath import GATMetapathAggregator
from autograph_rec.nn.losses import bpr_loss
from autograph_rec.nn.metapath import METAPATHS, MetapathPropagation, check_paths
from autograph_rec.nn.mf import MF
from autograph_rec.nn.module_backbone import ModuleBackbone
from autograph_rec.nn.propagation import propagate

logger = logging.getLogger(__name__)

__all__ = ["AGGREGATIONS", "AutoGraph"]

#: Aggregation modes of :class:`AutoGraph`.
AGGREGATIONS = ("plain", "metapath_mean", "metapath_attention", "gat")
_FUSIONS = ("sum", "concat")


def _union_edges(graph: AugmentedGraph, paths: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    relations = tuple(r for p in paths for r in METAPATHS[p][0])
    return graph.subgraph(relations)


def _takes_edge_weight(hook) -> bool:
    """Whether an ``on_epoch_start`` accepts ``edge_weight=`` (by name or through ``**kwargs``)."""
    params = inspect.signature(hook).parameters.values()
    return any(p.name == "edge_weight" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


class AutoGraph(torch.nn.Module):
    r"""AutoGraph (`Shan et al., "LLM-based Automated Graph Construction for
    Recommendation", KDD 2025 <https://arxiv.org/abs/2412.18241>`_) around a
    collaborative-filtering backbone: the backbone learns on the augmented
    graph of users, items and quantized latent-factor nodes.

    Aggregations:

    * ``"plain"``: the backbone propagates over the whole augmented
      homogeneous graph (the union of the chosen :obj:`paths`' relations), so
      factor nodes get embeddings and pass messages like any node; only user
      and item rows are scored. The backbone's embedding table is **extended in
      place** to ``graph.num_nodes`` rows (the new factor rows drawn
      Xavier-uniform from :obj:`seed`); the backbone's ``num_users`` and
      ``num_items`` are unchanged. A backbone that does not propagate (MF) gets
      instead, with :obj:`factor_mean`, the mean of its factor embeddings added
      to each user's and item's embedding.
    * ``"metapath_mean"`` / ``"metapath_attention"``: the backbone runs on the
      user-item graph; :class:`~autograph_rec.nn.metapath.MetapathPropagation`
      propagates the backbone's layer-0 user/item embeddings together with new
      factor embeddings (``factor_embedding``, ``[num_factors, embedding_dim]``)
      over each metapath subgraph and fuses the paths by mean or by HAN
      semantic attention.
    * ``"gat"``: as above with the paper's
      :class:`~autograph_rec.nn.gat_metapath.GATMetapathAggregator` (2 heads,
      hidden 32, semantic paths then interaction paths).

    In the metapath and GAT modes the signal ``z`` joins the backbone's output
    ``e`` by :obj:`fusion`: ``"sum"``: ``e + P z`` (``P`` the identity when the
    sizes agree, else a bias-free linear map); ``"concat"``:
    ``W [e ; z] + b`` back to the backbone's output size.

    The factor edges' weight (``factor_weight`` of
    :class:`~autograph_rec.graph.AugmentedGraphBuilder`, stored in the graph's
    ``edge_weight``) acts only in ``"plain"`` mode, where it sets the factor
    edges' share of the propagation (and, for MF, the scale of the factor
    mean). In the ``"metapath_*"`` modes each semantic path's subgraph holds
    factor edges only, so its symmetric normalisation cancels a uniform weight
    (a weight of ``0`` empties the semantic paths); the GAT ignores edge
    weights. A weight other than ``1`` that a mode ignores triggers a
    :class:`UserWarning`.

    The model follows the trainer contract of
    :class:`~autograph_rec.nn.base.RecommenderBackbone` (and PyG's
    ``LightGCN`` API) over the user-item node space: ``num_nodes`` is
    ``num_users + num_items``, so :class:`~autograph_rec.train.Trainer` builds
    its usual user-item adjacency. The wrapper holds every graph it needs
    (built from :obj:`graph`, i.e. from the training interactions) and
    **ignores** the ``adj`` / ``edge_index`` arguments of
    :meth:`training_loss`, :meth:`user_item_embeddings`,
    :meth:`on_epoch_start` and the PyG methods; pass ``Trainer(model, split,
    ...)`` without ``edge_index=``.

    :meth:`training_loss` is BPR on the final (fused) embeddings + the
    backbone's own L2 term (:meth:`RecommenderBackbone.l2_regularization`,
    with ``reg_scope="all"`` extended to the wrapper's parameters) + the
    backbone's :meth:`auxiliary_loss` hook on the backbone's own graph: SGL's
    and SimGCL's contrastive terms act on the backbone's embeddings
    (over the augmented graph in ``"plain"`` mode, where SGL's views drop
    factor edges too and both weigh them by :obj:`view_factor_weight`), not
    on the metapath signal.

    Args:
        backbone (RecommenderBackbone): the backbone, built for
            ``graph.num_users`` users and ``graph.num_items`` items.
        graph (AugmentedGraph): the augmented graph of the **training** split.
        aggregation (str, optional): one of :data:`AGGREGATIONS`.
            (default: :obj:`"metapath_mean"`)
        paths (tuple[str], optional): metapaths to keep, a subset of
            ``("uqu", "iqi", "ui")`` (``"ui"`` = u→i and i→u); the paper's
            Table 4 ablations drop one. In ``"plain"`` mode they choose the
            relations of the propagation graph. (default: all three)
        num_metapath_layers (int, optional): hops per metapath for the
            ``"metapath_*"`` modes. (default: :obj:`2`)
        fusion (str, optional): ``"sum"`` or ``"concat"``. (default: :obj:`"sum"`)
        attention_dim (int, optional): hidden size of the semantic attention.
            (default: :obj:`32`)
        gat_hidden (int, optional): GAT output size. (default: :obj:`32`)
        gat_heads (int, optional): GAT heads. (default: :obj:`2`)
        max_neighbors (int, optional): GAT neighbour cap per node and relation
            (seeded subsample drawn once; :obj:`None`: all). (default: :obj:`15`)
        gat_dropout (float, optional): GAT attention dropout. (default: :obj:`0.0`)
        factor_mean (bool, optional): ``"plain"`` mode: add the mean factor
            embedding, times the graph's factor edge weight, to each user/item;
            default :obj:`True` for :class:`MF` only. (default: :obj:`None`)
        factor_l2 (bool, optional): with the backbone's ``reg_scope="batch"``,
            also apply L2 to the factor embeddings of the batch's users and
            items (each counted as often as its entity occurs in the batch,
            like the backbone's own rows). Without it factor rows are never
            regularised: they occur in no batch. (default: :obj:`True`)
        seed (int, optional): seeds the new parameters (factor rows, metapath
            and fusion layers, GAT subsample), each component from its own
            stream (see :data:`~autograph_rec.nn.base.SEED_OFFSETS`); defaults
            to the backbone's seed.
        view_factor_weight (float, optional): ``"plain"`` mode, backbones
            with a contrastive (auxiliary) loss: the factor edges' weight in
            the graph its views come from, apart from their weight in the
            propagation graph that BPR and scoring use. SGL draws its
            edge-dropout views from that graph each epoch; SimGCL (and any
            backbone's :meth:`auxiliary_loss`) receives its adjacency.
            :obj:`None` keeps the graph's weight. Views with heavier factor
            edges than the main graph make the contrastive task lean on the
            semantic neighbourhoods (docs/benchmarks.md §4g measures it on SGL
            and SimGCL). (default: :obj:`None`)
    """

    def __init__(
        self,
        backbone: RecommenderBackbone,
        graph: AugmentedGraph,
        aggregation: str = "metapath_mean",
        paths=("uqu", "iqi", "ui"),
        num_metapath_layers: int = 2,
        fusion: str = "sum",
        attention_dim: int = 32,
        gat_hidden: int = 32,
        gat_heads: int = 2,
        max_neighbors: int | None = 15,
        gat_dropout: float = 0.0,
        factor_mean: bool | None = None,
        factor_l2: bool = True,
        seed: int | None = None,
        view_factor_weight: float | None = None,
    ):
        super().__init__()
        if not isinstance(backbone, RecommenderBackbone):
            raise TypeError(
                f"backbone must be a RecommenderBackbone, got {type(backbone).__name__}; for a module taking "
                "(x, edge_index) use AutoGraph.from_module(module, graph, embedding_dim)"
            )
        if not isinstance(graph, AugmentedGraph):
            raise TypeError(
                f"graph must be an AugmentedGraph (AugmentedGraphBuilder().build(...)), got {type(graph).__name__}"
            )
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        if fusion not in _FUSIONS:
            raise ValueError(f"fusion must be one of {_FUSIONS}, got {fusion!r}")
        if view_factor_weight is not None:
            if aggregation != "plain":
                raise ValueError("view_factor_weight needs aggregation='plain': only there do the backbone's "
                                 f"views hold factor edges (got aggregation={aggregation!r})")
            if not (float(view_factor_weight) >= 0 and math.isfinite(view_factor_weight)):
                raise ValueError(f"view_factor_weight must be a finite number >= 0, got {view_factor_weight!r}")
        if (backbone.num_users, backbone.num_items) != (graph.num_users, graph.num_items):
            raise ValueError(
                f"backbone has {backbone.num_users} users / {backbone.num_items} items, the graph "
                f"{graph.num_users} / {graph.num_items}"
            )
        self.backbone = backbone
        self.aggregation = aggregation
        self.paths = check_paths(paths)
        self.fusion = fusion
        self.seed = backbone.seed if seed is None else seed
        self._warn_ignored_factor_weight(graph)
        self.num_users, self.num_items = graph.num_users, graph.num_items
        self.num_nodes = self.num_users + self.num_items  # the trainer's user-item node space
        self.num_user_factors, self.num_item_factors = graph.num_user_factors, graph.num_item_factors
        self.num_factors = graph.num_user_factors + graph.num_item_factors
        self.num_graph_nodes = graph.num_nodes
        self.embedding_dim = backbone.embedding_dim
        self.out_dim = int(getattr(backbone, "out_dim", backbone.embedding_dim))
        self.factor_mean = isinstance(backbone, MF) if factor_mean is None else bool(factor_mean)
        self.factor_l2 = bool(factor_l2)
        # what a checkpoint needs to rebuild this wrapper around the backbone and graph
        self._settings = {
            "aggregation": aggregation, "paths": list(self.paths), "num_metapath_layers": num_metapath_layers,
            "fusion": fusion, "attention_dim": attention_dim, "gat_hidden": gat_hidden, "gat_heads": gat_heads,
            "max_neighbors": max_neighbors, "gat_dropout": gat_dropout, "factor_mean": self.factor_mean,
            "factor_l2": self.factor_l2, "seed": self.seed, "view_factor_weight": view_factor_weight,
        }
        self.view_factor_weight = view_factor_weight
        # entity -> factor edges, factor ids counted from 0: what the batch L2 of factors needs
        has_factor = (graph.edge_index[0] < self.num_nodes) & (graph.edge_index[1] >= self.num_nodes)
        self.register_buffer("_factor_src", graph.edge_index[0, has_factor].clone(), persistent=False)
        self.register_buffer("_factor_dst", graph.edge_index[1, has_factor] - self.num_nodes, persistent=False)

        ui_ei, ui_ew = _union_edges(graph, ("ui",))
        self.register_buffer("_ui_edge_index", ui_ei.clone(), persistent=False)
        self.register_buffer("_ui_edge_weight", ui_ew.float().clone(), persistent=False)
        self.factor_embedding = None
        self.metapath = None
        self.project = None
        self.signal_dim = 0
        self._factor_cache: tuple | None = None
        self._view_adj_cache: tuple | None = None
        generator = self._new_generator()
        if aggregation == "plain":
            aug_ei, aug_ew = _union_edges(graph, self.paths)
            self.register_buffer("_aug_edge_index", aug_ei.clone(), persistent=False)
            self.register_buffer("_aug_edge_weight", aug_ew.float().clone(), persistent=False)
            view_ew = self._aug_edge_weight
            if view_factor_weight is not None:
                view_ew = torch.where((aug_ei >= self.num_nodes).any(0), float(view_factor_weight), view_ew)
            # one tensor for every epoch: SGL caches its per-graph preprocessing on the weights' identity
            self.register_buffer("_view_edge_weight", view_ew.clone(), persistent=False)
            self._grow_backbone(generator)
            return
        self.factor_embedding = Embedding(self.num_factors, self.embedding_dim)
        if aggregation == "gat":
            self.metapath = GATMetapathAggregator(
                graph, self.embedding_dim, gat_hidden, gat_heads, self.paths, max_neighbors, gat_dropout, self.seed)
            signal_dim = gat_hidden
        else:
            self.metapath = MetapathPropagation(
                graph, self.paths, num_metapath_layers, "mean" if aggregation == "metapath_mean" else "attention",
                self.embedding_dim, attention_dim, self.seed)
            signal_dim = self.embedding_dim
        if fusion == "concat":
            self.project = Linear(self.out_dim + signal_dim, self.out_dim)
        elif signal_dim != self.out_dim:
            self.project = Linear(signal_dim, self.out_dim, bias=False)
        self.signal_dim = signal_dim
        self._reset_own(generator)

    # ------------------------------------------------------------- factories
    @classmethod
    def from_module(
        cls,
        module: torch.nn.Module,
        graph: AugmentedGraph,
        embedding_dim: int = 64,
        aggregation: str = "plain",
        out_dim: int | None = None,
        reg_scope: str = "batch",
        seed: int | None = None,
        input_format: str = "edge_index",
        **kwargs,
    ) -> "AutoGraph":
        r"""Plugs a user's own module ``module(x, edge_index) -> x'`` (e.g. a
        stack of :class:`~torch_geometric.nn.conv.GCNConv`) into the augmented
        graph: the wrapper owns an embedding table for every node (users,
        items, factor nodes), runs the module over the augmented homogeneous
        ``edge_index`` and scores users × items by dot product.

        Args:
            module (torch.nn.Module): called as ``module(x, edge_index)`` with
                ``x`` ``[num_nodes, embedding_dim]``, plus ``edge_weight=``
                (the graph's edge weights) when its ``forward`` takes one; a
                module that takes none raises a :class:`ValueError` on a graph
                with ``factor_weight != 1`` (use ``input_format="adj_t"``).
            graph (AugmentedGraph): the augmented training graph.
            embedding_dim (int, optional): input embedding size. (default: :obj:`64`)
            aggregation (str, optional): ``"plain"`` (the module sees the whole
                augmented graph) or a metapath mode (the module sees the
                user-item graph). (default: :obj:`"plain"`)
            out_dim (int, optional): the module's output size (inferred when
                :obj:`None`). (default: :obj:`None`)
            reg_scope (str, optional): ``"batch"`` or ``"all"``. (default: :obj:`"batch"`)
            seed (int, optional): seeds all initialisation. (default: :obj:`None`)
            input_format (str, optional): ``"edge_index"``, or ``"adj_t"`` to
                hand the module a ``torch.sparse_csr`` adjacency (much faster
                on CPU for convolutions that accept it, e.g. ``GCNConv``), see
                :class:`~autograph_rec.nn.module_backbone.ModuleBackbone`.
                (default: :obj:`"edge_index"`)
            **kwargs: further :class:`AutoGraph` arguments.
        """
        backbone = ModuleBackbone(graph.num_users, graph.num_items, module, embedding_dim, out_dim, reg_scope, seed,
                                  input_format)
        model = cls(backbone, graph, aggregation=aggregation, seed=seed, **kwargs)
        # Build the module's graph input now: a module that would drop the graph's edge
        # weights raises here rather than at the first batch.
        model._backbone_adj()
        return model

    # ------------------------------------------------------------------ init
    def _new_generator(self) -> torch.Generator | None:
        # A stream apart from the backbone's (init and batches) and the aggregators'.
        return seeded_generator(self.seed, "autograph")

    def _warn_ignored_factor_weight(self, graph: AugmentedGraph) -> None:
        # Only "plain" propagation reads the factor edges' weight (see the class docstring).
        semantic = tuple(p for p in self.paths if p != "ui")  # the paths through factor nodes
        if self.aggregation == "plain" or not semantic:
            return
        weights = torch.unique(_union_edges(graph, semantic)[1])
        if weights.numel() == 0 or bool((weights == 1).all()):
            return
        if self.aggregation != "gat" and weights.numel() == 1 and float(weights) == 0.0:
            return  # a zero weight empties the semantic paths: it does act there
        shown = ", ".join(f"{w:g}" for w in weights[:3].tolist()) + (", ..." if weights.numel() > 3 else "")
        reason = ("the GAT ignores edge weights" if self.aggregation == "gat" else
                  "each semantic path's symmetric normalisation cancels a uniform weight")
        warnings.warn(
            f"the graph's factor edges have weight {shown} (AugmentedGraphBuilder's factor_weight), which "
            f"aggregation={self.aggregation!r} ignores: {reason}; only aggregation='plain' uses factor_weight",
            UserWarning, stacklevel=3)

    def _grow_backbone(self, generator: torch.Generator | None) -> None:
        bb = self.backbone
        old = bb.embedding.weight
        if old.size(0) == self.num_graph_nodes:
            return  # already extended (e.g. a second wrapper around the same backbone)
        if old.size(0) != self.num_nodes:
            raise ValueError(f"backbone table has {old.size(0)} rows, expected {self.num_nodes} or {self.num_graph_nodes}")
        new = Embedding(self.num_graph_nodes, self.embedding_dim, device=old.device, dtype=old.dtype)
        with torch.no_grad():
            new.weight[: self.num_nodes] = old
            if self.num_factors:
                xavier_uniform_(new.weight[self.num_nodes :], generator)
        bb.embedding = new
        bb.num_nodes = self.num_graph_nodes
        for name in ("_adj_cache", "_mirror_cache", "_views", "_pairs_cache"):
            if hasattr(bb, name):
                setattr(bb, name, None)

    def _reset_own(self, generator: torch.Generator | None) -> None:
        if self.factor_embedding is not None and self.num_factors:
            xavier_uniform_(self.factor_embedding.weight, generator)
        if self.metapath is not None:
            self.metapath.reset_parameters()
        if self.project is not None:
            xavier_uniform_(self.project.weight, generator)
            if self.project.bias is not None:
                torch.nn.init.zeros_(self.project.bias)

    def reset_parameters(self) -> None:
        r"""Resets the backbone and the wrapper's own parameters (in
        ``"plain"`` mode the factor rows of the backbone's table), to the
        constructed state when seeded."""
        self.backbone.reset_parameters()  # user and item rows only
        generator = self._new_generator()
        if self.aggregation == "plain" and self.num_factors:
            # the factor rows come from the wrapper's stream, as in _grow_backbone
            xavier_uniform_(self.backbone.embedding.weight[self.num_nodes :], generator)
        self._reset_own(generator)

    def settings(self) -> dict:
        r"""The wrapper's constructor arguments besides :obj:`backbone` and
        :obj:`graph` (JSON-serialisable, defaults resolved), so that
        ``AutoGraph(backbone, graph, **model.settings())`` rebuilds the same
        architecture; :func:`~autograph_rec.train.save_checkpoint` stores them."""
        # numpy / torch scalars as Python numbers: the JSON sidecar wrote them as strings
        return {key: value.item() if hasattr(value, "item") else value for key, value in self._settings.items()}

    # ------------------------------------------------------------- internals
    _RUNTIME_STATE = ("_factor_cache", "_view_adj_cache")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for name in self._RUNTIME_STATE:
            state[name] = None
        return state

    def _backbone_graph(self) -> tuple[Tensor, Tensor]:
        if self.aggregation == "plain":
            return self._aug_edge_index, self._aug_edge_weight
        return self._ui_edge_index, self._ui_edge_weight

    def _backbone_adj(self) -> Tensor:
        edge_index, edge_weight = self._backbone_graph()
        return self.backbone.adjacency(edge_index, edge_weight)

    def _view_adj(self, adj):
        """The graph argument the backbone's auxiliary (contrastive) loss gets: ``adj`` (the
        propagation graph's), or in ``"plain"`` mode with a ``view_factor_weight`` the augmented
        graph with factor edges at that weight, in the backbone's own format (its
        :meth:`adjacency`). Built once per device and dtype and kept here, outside the backbone's
        one-slot adjacency cache, which would otherwise rebuild the main graph every batch; not
        built at all for a backbone without an auxiliary loss."""
        bb = self.backbone
        if (self.aggregation != "plain" or self.view_factor_weight is None
                or type(bb).auxiliary_loss is RecommenderBackbone.auxiliary_loss):
            return adj
        key = (str(self._aug_edge_index.device), bb.embedding.weight.dtype)
        cache = self._view_adj_cache
        if cache is None or cache[0] != key:
            main_slot = getattr(bb, "_adj_cache", None)
            cache = (key, bb.adjacency(self._aug_edge_index, self._view_edge_weight))
            bb._adj_cache = main_slot  # keep the backbone's cache on the main graph
            self._view_adj_cache = cache
        return cache[1]

    def _factor_mean_matrices(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        # Row-normalised entity <- factor matrix [N, N] scaled by the factor edge weight, and its
        # transpose (CSR): the graph's factor_weight sets how much the factor mean adds, as it
        # sets the factor edges' share of propagation for the graph backbones.
        cache = self._factor_cache
        if cache is not None and cache[0] == (str(device), dtype):
            return cache[1], cache[2]
        edge_index = self._aug_edge_index
        fac = edge_index[0] >= self.num_nodes  # factor -> entity edges
        src, dst = edge_index[0, fac].to(device), edge_index[1, fac].to(device)
        n = self.num_graph_nodes
        deg = torch.bincount(dst, minlength=n).to(dtype)
        values = self._aug_edge_weight[fac].to(device=device, dtype=dtype) / deg[dst]
        with warnings.catch_warnings():  # torch's "sparse CSR is beta" notice is noise here
            warnings.simplefilter("ignore", UserWarning)
            mat, mat_t = (
                torch.sparse_coo_tensor(torch.stack(pair), values, (n, n), check_invariants=False)
                .coalesce().to_sparse_csr()
                for pair in ((dst, src), (src, dst))
            )
        self._factor_cache = ((str(device), dtype), mat, mat_t)
        return mat, mat_t

    def _fuse(self, e: Tensor, z: Tensor) -> Tensor:
        if self.fusion == "concat":
            return self.project(torch.cat([e, z], dim=-1))
        return e + (z if self.project is None else self.project(z))

    def encode(self, stochastic: bool = False) -> tuple[Tensor, Tensor]:
        r"""Final embeddings of all user and item nodes and the backbone's adjacency.

        Args:
            stochastic (bool, optional): training-time randomness of the
                backbone (dropout, noise). (default: :obj:`False`)

        Returns:
            (torch.Tensor, torch.Tensor): ``[num_users + num_items, out_dim]``
            and the graph argument the backbone was run on.
        """
        bb = self.backbone
        adj = self._backbone_adj()
        out = bb.encode(adj, stochastic=stochastic)
        if self.aggregation == "plain":
            if self.factor_mean:
                mat, mat_t = self._factor_mean_matrices(out.device, out.dtype)
                out = out + propagate(mat, out, mat_t)
            return out[: self.num_nodes], adj
        out = out[: self.num_nodes]
        ego = bb.embedding.weight
        # The GAT's attention dropout follows the module's mode: tie it to `stochastic`, as
        # for the backbone, so that scoring is deterministic in training mode too.
        was_training = self.metapath.training
        self.metapath.train(stochastic)
        try:
            if self.aggregation == "gat":
                u, i = self.num_users, self.num_nodes
                fac = self.factor_embedding.weight
                z_u, z_i = self.metapath(ego[:u], ego[u:i], fac[: self.num_user_factors], fac[self.num_user_factors :])
            else:
                z_u, z_i = self.metapath(torch.cat([ego, self.factor_embedding.weight]))
        finally:
            self.metapath.train(was_training)
        return self._fuse(out, torch.cat([z_u, z_i])), adj

    def _factor_table(self) -> Tensor:
        """The factor-node embeddings ``[num_factors, embedding_dim]``."""
        if self.aggregation == "plain":
            return self.backbone.embedding.weight[self.num_nodes :]
        return self.factor_embedding.weight

    def _factor_l2(self, nodes: Tensor, batch_size: int, lambda_reg: float) -> Tensor:
        # lambda * sum over batch entities of ||their factor rows||^2 / 2 / B, as a
        # per-factor count times the row norm: O(entity-factor edges), no gather backward.
        table = self._factor_table()
        occurs = torch.bincount(nodes, minlength=self.num_nodes).to(table.dtype)[self._factor_src]
        counts = table.new_zeros(self.num_factors).index_add_(0, self._factor_dst, occurs)
        return lambda_reg * (counts * table.square().sum(-1)).sum() / 2 / batch_size

    def _own_parameters(self):
        return [p for name, p in self.named_parameters() if not name.startswith("backbone.") and p.requires_grad]

    # --------------------------------------------------------- trainer hooks
    def on_epoch_start(self, edge_index: Tensor | None = None, generator: torch.Generator | None = None) -> None:
        r"""Forwards the epoch hook to the backbone with the wrapper's own
        backbone graph and its edge weights (augmented in ``"plain"`` mode,
        user-item otherwise), so that SGL's views weight factor edges as the
        main adjacency does.

        Args:
            edge_index (torch.Tensor, optional): the trainer's training graph;
                ignored (the wrapper holds its graph).
            generator (torch.Generator, optional): randomness for this epoch.
        """
        edge_index, edge_weight = self._backbone_graph()
        if self.aggregation == "plain":
            edge_weight = self._view_edge_weight  # the graph's weights unless view_factor_weight is set
        if _takes_edge_weight(self.backbone.on_epoch_start):
            self.backbone.on_epoch_start(edge_index, generator, edge_weight=edge_weight)
        else:  # a user's backbone written against the earlier two-argument hook
            self.backbone.on_epoch_start(edge_index, generator)

    def user_item_embeddings(self, adj: Tensor | None = None) -> tuple[Tensor, Tensor]:
        r"""Deterministic final embeddings for scoring; call under
        :func:`torch.no_grad` when evaluating.

        Args:
            adj (torch.Tensor, optional): ignored (see the class docstring).

        Returns:
            (torch.Tensor, torch.Tensor): users ``[num_users, out_dim]`` and
            items ``[num_items, out_dim]``.
        """
        out, _ = self.encode(stochastic=False)
        return out[: self.num_users], out[self.num_users :]

    def training_loss(
        self,
        adj: Tensor | None,
        users: Tensor,
        pos_items: Tensor,
        neg_items: Tensor,
        lambda_reg: float = 1e-4,
    ) -> tuple[Tensor, dict[str, float]]:
        r"""Loss of one training batch: BPR on the fused embeddings + the
        backbone's L2 term + the backbone's auxiliary (e.g. contrastive) terms.

        Args:
            adj (torch.Tensor, optional): ignored (see the class docstring).
            users (torch.Tensor): user ids ``[B]``.
            pos_items (torch.Tensor): item ids ``[B]`` (0-based).
            neg_items (torch.Tensor): item ids ``[B]`` (0-based).
            lambda_reg (float, optional): L2 strength. (default: :obj:`1e-4`)

        Returns:
            (torch.Tensor, dict[str, float]): the loss and its parts.
        """
        bb = self.backbone
        out, bb_adj = self.encode(stochastic=self.training)
        batch = users.numel()
        nodes = torch.cat([users, pos_items + self.num_users, neg_items + self.num_users])
        u, p, n = out.index_select(0, nodes).split(batch)
        terms = {"bpr": bpr_loss((u * p).sum(-1), (u * n).sum(-1))}
        reg = bb.l2_regularization(nodes, batch, lambda_reg)
        if lambda_reg != 0 and bb.reg_scope == "all":
            own = self._own_parameters()
            if own:
                reg = reg + lambda_reg * sum(param.square().sum() for param in own)
        elif lambda_reg != 0 and self.factor_l2 and self.num_factors:
            reg = reg + self._factor_l2(nodes, batch, lambda_reg)
        terms["reg"] = reg
        terms.update(bb.auxiliary_loss(self._view_adj(bb_adj), users, pos_items))
        loss = sum(terms.values())
        parts = {name: float(value.detach()) for name, value in terms.items()}
        parts["loss"] = float(loss.detach())
        return loss, parts

    # ------------------------------------------------------------- PyG API
    def get_embedding(self, edge_index: Tensor | None = None, edge_weight: Tensor | None = None) -> Tensor:
        r"""Final embeddings of users and items ``[num_users + num_items, out_dim]``
        (PyG layout, item ``i`` at row ``num_users + i``); stochastic in
        training mode. The graph arguments are ignored."""
        return self.encode(stochastic=self.training)[0]

    def forward(
        self,
        edge_index: Tensor | None = None,
        edge_label_index: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        r"""Dot-product scores of node pairs, as PyG's ``LightGCN``.

        Args:
            edge_index (torch.Tensor, optional): ignored.
            edge_label_index (torch.Tensor, optional): pairs ``[2, num_labels]``
                in the user-item node space; the training interactions (both
                directions) when :obj:`None`. (default: :obj:`None`)
            edge_weight (torch.Tensor, optional): ignored.

        Returns:
            torch.Tensor: ``[num_labels]``.
        """
        if edge_label_index is None:
            edge_label_index = self._ui_edge_index
        out = self.get_embedding()
        return (out[edge_label_index[0]] * out[edge_label_index[1]]).sum(dim=-1)

    @torch.no_grad()
    def recommend(
        self,
        edge_index: Tensor | None = None,
        edge_weight: Tensor | None = None,
        src_index: Tensor | None = None,
        dst_index: Tensor | None = None,
        k: int = 1,
        sorted: bool = True,
    ) -> Tensor:
        r"""Top-:obj:`k` nodes for each node of :obj:`src_index` (PyG
        semantics, user-item node space, no masking of seen items), scored
        in row chunks.

        Args:
            edge_index (torch.Tensor, optional): ignored.
            edge_weight (torch.Tensor, optional): ignored.
            src_index (torch.Tensor, optional): ``[num_src]``; all user and
                item nodes when :obj:`None`. (default: :obj:`None`)
            dst_index (torch.Tensor, optional): ``[num_dst]`` candidate nodes;
                the items ``num_users .. num_users + num_items - 1`` when
                :obj:`None` (users are not recommended). (default: :obj:`None`)
            k (int, optional): number of recommendations. (default: :obj:`1`)
            sorted (bool, optional): sort each row by score. (default: :obj:`True`)

        Returns:
            torch.Tensor: ``[num_src, k]`` node indices (items are
            ``num_users + i``).
        """
        out, _ = self.encode(stochastic=False)
        if dst_index is None:
            dst_index = torch.arange(self.num_users, self.num_nodes, device=out.device)
        out_src = out if src_index is None else out[src_index]
        out_dst = out[dst_index]
        return chunked_topk(out_src, out_dst, k, sorted, dst_index)

    def recommendation_loss(
        self,
        pos_edge_rank: Tensor,
        neg_edge_rank: Tensor,
        node_id: Tensor | None = None,
        lambda_reg: float = 1e-4,
        **kwargs,
    ) -> Tensor:
        r"""PyG's ``LightGCN.recommendation_loss``: BPR + ``lambda_reg *
        ||E[node_id]||² / len(pos)`` on the backbone's layer-0 table (all rows,
        factor rows included in ``"plain"`` mode, when :obj:`node_id` is
        :obj:`None`)."""
        return self.backbone.recommendation_loss(pos_edge_rank, neg_edge_rank, node_id, lambda_reg, **kwargs)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.backbone!r}, aggregation={self.aggregation!r}, "
            f"paths={list(self.paths)}, factors={self.num_user_factors}+{self.num_item_factors}"
            + (f", fusion={self.fusion!r}" if self.aggregation != "plain" else "")
            + ")"
        )
