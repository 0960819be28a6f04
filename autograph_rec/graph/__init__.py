"""Graph stage: the user-item graph and AutoGraph's augmented graph."""

from .augmented import EDGE_TYPES, NODE_TYPES, AugmentedGraph, AugmentedGraphBuilder, factor_edges
from .bipartite import bipartite_edge_index

__all__ = ["EDGE_TYPES", "NODE_TYPES", "AugmentedGraph", "AugmentedGraphBuilder", "bipartite_edge_index", "factor_edges"]
