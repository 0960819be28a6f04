import pytest
import torch

from autograph_rec.nn import SGL, LightGCN, SimGCL, adjacency_edge_index, normalized_adjacency

NUM_USERS, NUM_ITEMS = 6, 9  # sizes of the `graph` fixture in conftest.py


def edge_set(adj):
    return set(map(tuple, adjacency_edge_index(adj).t().tolist()))


def test_sgl_views_differ_across_epochs_and_are_reproducible(graph):
    edge_index, adj, _, _ = graph
    model = SGL(NUM_USERS, NUM_ITEMS, 8, ssl_ratio=0.3, seed=0)
    gen = torch.Generator().manual_seed(5)
    model.on_epoch_start(edge_index, gen)
    epoch1 = [edge_set(v) for v in model._views]
    model.on_epoch_start(edge_index, gen)
    epoch2 = [edge_set(v) for v in model._views]
    assert epoch1 != epoch2
    assert epoch1[0] != epoch1[1]  # the two views of one epoch differ too
    full = edge_set(adj)
    for view in epoch1 + epoch2:
        assert view < full
        assert all((d, s) in view for s, d in view)  # interactions dropped in both directions together
    again = SGL(NUM_USERS, NUM_ITEMS, 8, ssl_ratio=0.3, seed=0)
    again.on_epoch_start(edge_index, torch.Generator().manual_seed(5))
    assert [edge_set(v) for v in again._views] == epoch1


def test_sgl_views_are_renormalised(graph):
    edge_index, _, _, _ = graph
    model = SGL(NUM_USERS, NUM_ITEMS, 8, ssl_ratio=0.5, seed=0)
    model.on_epoch_start(edge_index, torch.Generator().manual_seed(0))
    view = model._views[0].to_dense()
    deg = (view > 0).sum(1).to(view.dtype)
    expected = torch.where(view > 0, (deg[:, None] * deg[None, :]).rsqrt(), torch.zeros_like(view))
    torch.testing.assert_close(view, expected)


def test_sgl_without_epoch_start_still_trains(graph, batch):
    _, adj, _, _ = graph
    model = SGL(NUM_USERS, NUM_ITEMS, 8, seed=0)
    loss, parts = model.training_loss(adj, *batch)
    assert torch.isfinite(loss) and parts["ssl"] > 0


def test_sgl_zero_lambda_is_lightgcn(graph, batch):
    edge_index, adj, _, _ = graph
    sgl = SGL(NUM_USERS, NUM_ITEMS, 8, ssl_lambda=0.0, seed=0)
    lgn = LightGCN(NUM_USERS, NUM_ITEMS, 8, layer_combination="sum", seed=0)
    sgl.on_epoch_start(edge_index)
    (l1, p1), (l2, p2) = sgl.training_loss(adj, *batch), lgn.training_loss(adj, *batch)
    torch.testing.assert_close(l1, l2)
    assert "ssl" not in p1


def test_simgcl_excludes_layer_zero(graph):
    _, adj, _, _ = graph
    model = SimGCL(NUM_USERS, NUM_ITEMS, 8, num_layers=2, seed=0)
    x = model.embedding.weight
    a1 = torch.sparse.mm(adj, x)
    a2 = torch.sparse.mm(adj, a1)
    torch.testing.assert_close(model.get_embedding(adj), a1 + a2)
    mean = SimGCL(NUM_USERS, NUM_ITEMS, 8, num_layers=2, layer_combination="mean", seed=0)
    torch.testing.assert_close(mean.get_embedding(adj), (a1 + a2) / 2)
    rlmrec = SimGCL(NUM_USERS, NUM_ITEMS, 8, num_layers=2, include_ego=True, seed=0)
    torch.testing.assert_close(rlmrec.get_embedding(adj), x + a1 + a2)
    with pytest.raises(ValueError, match="layer_combination"):
        SimGCL(NUM_USERS, NUM_ITEMS, 8, layer_combination="max")


def test_simgcl_noise_is_sign_aligned_with_norm_eps(graph):
    _, adj, _, _ = graph
    model = SimGCL(NUM_USERS, NUM_ITEMS, 8, num_layers=1, eps=0.1, seed=0)
    x = model.embedding.weight.detach()
    clean = model.propagate_layers(x, adj)[1]
    noisy = model.propagate_layers(x, adj, noise_eps=0.1, generator=torch.Generator().manual_seed(0))[1]
    delta = noisy - clean
    torch.testing.assert_close(delta.norm(dim=-1)[clean.abs().sum(-1) > 0], torch.full((int((clean.abs().sum(-1) > 0).sum()),), 0.1))
    assert (delta * clean >= 0).all()


def test_simgcl_views_differ_and_loss_uses_them(graph, batch):
    _, adj, _, _ = graph
    model = SimGCL(NUM_USERS, NUM_ITEMS, 8, seed=0)
    (l1, p1), (l2, p2) = model.training_loss(adj, *batch), model.training_loss(adj, *batch)
    assert p1["bpr"] == p2["bpr"]  # BPR uses the clean embeddings
    assert p1["ssl"] != p2["ssl"]  # fresh noise every batch


def test_sgl_views_keep_edge_weights(graph):
    # views gave every kept edge weight 1; with nothing dropped a view equals the weighted graph
    edge_index = graph[0]
    n = NUM_USERS + NUM_ITEMS
    key = torch.unique(edge_index.min(0).values * n + edge_index.max(0).values)  # one edge per interaction
    pairs = torch.stack([key // n, key % n])
    edge_index = torch.cat([pairs, pairs.flip(0)], dim=1)
    weight = torch.linspace(0.1, 2.0, pairs.size(1)).repeat(2)
    model = SGL(NUM_USERS, NUM_ITEMS, 8, ssl_ratio=0.0, seed=0)
    model.on_epoch_start(edge_index, torch.Generator().manual_seed(0), edge_weight=weight)
    expected = normalized_adjacency(edge_index, n, weight).to_dense()
    for view in model._views:
        torch.testing.assert_close(view.to_dense(), expected)
