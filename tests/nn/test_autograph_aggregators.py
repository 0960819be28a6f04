"""Metapath aggregators on their own: per-path propagation, fusion, the GAT
aggregator and its neighbour cap."""

import pytest
import torch

from autograph_rec.graph import AugmentedGraphBuilder
from autograph_rec.nn.gat_metapath import GATMetapathAggregator, cap_in_degree
from autograph_rec.nn.metapath import METAPATHS, MetapathPropagation, check_paths, metapath_subgraph

U, I, KU, KI, DIM = 6, 7, 3, 4, 5


@pytest.fixture(scope="module")
def graph():
    gen = torch.Generator().manual_seed(0)
    users = torch.cat([torch.arange(U), torch.randint(0, U, (20,), generator=gen)])
    items = torch.cat([torch.arange(U) % I, torch.randint(0, I, (20,), generator=gen)])
    return AugmentedGraphBuilder(2).build(
        users.numpy(), items.numpy(), U, I,
        torch.randint(0, KU, (U, 2), generator=gen), torch.randint(0, KI, (I, 2), generator=gen), KU, KI)


def test_check_paths_canonical_order():
    assert check_paths(("ui", "uqu")) == ("uqu", "ui")
    assert check_paths("iqi") == ("iqi",)
    with pytest.raises(ValueError):
        check_paths(())
    with pytest.raises(ValueError):
        check_paths(("u2i",))


def test_subgraphs_hold_only_their_relations(graph):
    off = graph.offsets
    ei, _ = metapath_subgraph(graph, "uqu")
    nodes = ei.unique()
    assert ((nodes < U) | ((nodes >= off["user_factor"]) & (nodes < off["item_factor"]))).all()
    ei, _ = metapath_subgraph(graph, "ui")
    assert (ei < U + I).all() and ei.size(1) == 2 * int((graph.edge_type == 0).sum())
    assert set(METAPATHS) == {"uqu", "iqi", "ui"}


def test_metapath_propagation_matches_dense_reference(graph):
    x = torch.randn(graph.num_nodes, DIM, generator=torch.Generator().manual_seed(0))
    module = MetapathPropagation(graph, num_layers=2, fusion="mean", embedding_dim=DIM)
    per_path = module.path_embeddings(x)
    for path, z in per_path.items():
        ei, ew = metapath_subgraph(graph, path)
        a = torch.zeros(graph.num_nodes, graph.num_nodes)
        a.index_put_((ei[1], ei[0]), ew, accumulate=True)
        deg = a.sum(1)
        d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
        a = d[:, None] * a * d[None, :]
        ref = (x + a @ x + a @ a @ x) / 3
        assert torch.allclose(z, ref, atol=1e-5), path
    users, items = module(x)
    assert torch.allclose(users, (per_path["uqu"][:U] + per_path["ui"][:U]) / 2, atol=1e-6)
    assert torch.allclose(items, (per_path["iqi"][U:U + I] + per_path["ui"][U:U + I]) / 2, atol=1e-6)


def test_missing_node_type_gets_zeros(graph):
    x = torch.randn(graph.num_nodes, DIM)
    users, items = MetapathPropagation(graph, paths=("iqi",), embedding_dim=DIM)(x)
    assert users.shape == (U, DIM) and not users.any()
    assert items.abs().sum() > 0


def test_semantic_attention_weights_and_gradients(graph):
    x = torch.randn(graph.num_nodes, DIM, requires_grad=True)
    module = MetapathPropagation(graph, fusion="attention", embedding_dim=DIM, attention_dim=4, seed=0)
    users, items = module(x)
    assert users.shape == (U, DIM) and items.shape == (I, DIM)
    for kind in ("user", "item"):
        beta = module.last_weights[kind]
        assert beta.shape == (2,) and torch.allclose(beta.sum(), torch.tensor(1.0)) and (beta > 0).all()
    (users.square().sum() + items.square().sum()).backward()
    assert x.grad[U + I:].abs().sum() > 0  # factor features receive gradient
    for p in module.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_cap_in_degree():
    dst = torch.tensor([0] * 10 + [1] * 3 + [2] * 6)
    ei = torch.stack([torch.arange(dst.numel()), dst])
    keep = cap_in_degree(ei, 4, torch.Generator().manual_seed(0))
    assert torch.bincount(dst[keep]).tolist() == [4, 3, 4]
    again = cap_in_degree(ei, 4, torch.Generator().manual_seed(0))
    assert torch.equal(keep, again)
    assert cap_in_degree(ei, None).all()
    with pytest.raises(ValueError):
        cap_in_degree(ei, 0)


@pytest.mark.parametrize("paths", [("uqu", "iqi", "ui"), ("uqu", "iqi"), ("iqi", "ui"), ("ui",)])
def test_gat_aggregator_shapes_and_gradients(graph, paths):
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(n, DIM, generator=gen, requires_grad=True)
          for n in (U, I, graph.num_user_factors, graph.num_item_factors)]
    module = GATMetapathAggregator(graph, DIM, hidden_channels=6, heads=2, paths=paths, max_neighbors=2, seed=0)
    users, items = module(*xs)
    assert users.shape == (U, 6) and items.shape == (I, 6)
    (users.sum() + items.square().sum()).backward()
    if "uqu" in paths:
        assert xs[2].grad is not None and xs[2].grad.abs().sum() > 0
    if "iqi" in paths:
        assert xs[3].grad is not None and xs[3].grad.abs().sum() > 0
    # the neighbour cap holds for every relation
    for name, *_ in module._relations:
        ei = module._edges(name)
        assert ei.size(1) == 0 or torch.bincount(ei[1]).max() <= 2


def test_gat_seeded(graph):
    xs = [torch.randn(n, DIM) for n in (U, I, graph.num_user_factors, graph.num_item_factors)]
    a = GATMetapathAggregator(graph, DIM, seed=1)(*xs)[0]
    b = GATMetapathAggregator(graph, DIM, seed=1)(*xs)[0]
    assert a.shape == (U, 32) and torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{"heads": 0}, {"hidden_channels": 0}])
def test_gat_sizes_must_be_positive(graph, kwargs):
    # heads=0 failed in the first forward with "cannot reshape tensor of 0 elements"
    with pytest.raises(ValueError, match=f"{next(iter(kwargs))} must be a positive integer, got 0"):
        GATMetapathAggregator(graph, DIM, **kwargs)
