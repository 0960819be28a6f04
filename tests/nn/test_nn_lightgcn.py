import pytest
import torch

from autograph_rec.nn import LightGCN, normalized_adjacency

NUM_USERS, NUM_ITEMS = 6, 9  # sizes of the `graph` fixture in conftest.py


@pytest.mark.parametrize("num_layers", [0, 1, 3])
def test_equivalent_to_pyg_lightgcn(graph, num_layers):
    from torch_geometric.nn.models import LightGCN as PyGLightGCN

    edge_index, adj, _, _ = graph
    ours = LightGCN(NUM_USERS, NUM_ITEMS, embedding_dim=8, num_layers=num_layers)
    theirs = PyGLightGCN(NUM_USERS + NUM_ITEMS, 8, num_layers)  # alpha = 1 / (L + 1)
    # same parameter name and shape, so the state_dict transfers directly
    theirs.load_state_dict(ours.state_dict())
    expected = theirs.get_embedding(edge_index)
    torch.testing.assert_close(ours.get_embedding(adj), expected)
    torch.testing.assert_close(ours.get_embedding(edge_index), expected)
    label = torch.tensor([[0, 2, 5], [NUM_USERS + 1, NUM_USERS + 4, NUM_USERS + 8]])
    torch.testing.assert_close(ours(edge_index, label), theirs(edge_index, label))
    # and gradients agree too (custom backward vs PyG's scatter autograd)
    ours(adj, label).sum().backward()
    theirs(edge_index, label).sum().backward()
    torch.testing.assert_close(ours.embedding.weight.grad, theirs.embedding.weight.grad)


def test_sum_combination_and_explicit_alpha(graph):
    _, adj, _, _ = graph
    mean = LightGCN(NUM_USERS, NUM_ITEMS, 8, num_layers=2, seed=0)
    total = LightGCN(NUM_USERS, NUM_ITEMS, 8, num_layers=2, layer_combination="sum", seed=0)
    torch.testing.assert_close(total.get_embedding(adj), 3 * mean.get_embedding(adj))
    alpha = torch.tensor([0.0, 0.0, 1.0])
    last = LightGCN(NUM_USERS, NUM_ITEMS, 8, num_layers=2, alpha=alpha, seed=0)
    x = last.embedding.weight
    torch.testing.assert_close(last.get_embedding(adj), torch.sparse.mm(adj, torch.sparse.mm(adj, x)))
    with pytest.raises(ValueError):
        LightGCN(NUM_USERS, NUM_ITEMS, 8, num_layers=2, alpha=torch.ones(2))
    with pytest.raises(ValueError):
        LightGCN(NUM_USERS, NUM_ITEMS, 8, layer_combination="max")


def test_edge_dropout_fresh_mask_per_batch_only_in_training(graph, batch):
    _, adj, _, _ = graph
    model = LightGCN(NUM_USERS, NUM_ITEMS, 8, edge_dropout=0.2, seed=0)
    model.train()
    a, b = model.get_embedding(adj), model.get_embedding(adj)
    assert not torch.equal(a, b)  # new mask every forward pass
    l1, _ = model.training_loss(adj, *batch)
    l2, _ = model.training_loss(adj, *batch)
    assert l1.item() != l2.item()
    model.eval()
    clean = LightGCN(NUM_USERS, NUM_ITEMS, 8, seed=0)
    torch.testing.assert_close(model.get_embedding(adj), clean.get_embedding(adj))
    torch.testing.assert_close(model.user_item_embeddings(adj)[0], clean.user_item_embeddings(adj)[0])


def test_edge_dropout_matches_dense_reference(graph):
    # One layer, sum: E = X + A' X where A' has ~p of its entries zeroed and not rescaled.
    _, adj, _, _ = graph
    gen_seed = 7
    model = LightGCN(NUM_USERS, NUM_ITEMS, 4, num_layers=1, layer_combination="sum", edge_dropout=0.5, seed=0).double()
    adj64 = adj.to(torch.float64)
    model.on_epoch_start(graph[0], torch.Generator().manual_seed(gen_seed))
    model.train()
    out = model.get_embedding(adj64)
    keep = torch.rand(adj64._nnz(), generator=torch.Generator().manual_seed(gen_seed), dtype=torch.float64) >= 0.5
    dense = adj64.to_dense()
    mask = torch.zeros_like(dense)
    mask[tuple(normalized_adjacency_indices(adj64))] = keep.to(torch.float64)
    x = model.embedding.weight
    torch.testing.assert_close(out, x + (dense * mask) @ x)
    g = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, x, g)
    torch.testing.assert_close(grad, g + (dense * mask).t() @ g)


def normalized_adjacency_indices(adj):
    crow = adj.crow_indices().long()
    rows = torch.repeat_interleave(torch.arange(adj.size(0)), crow[1:] - crow[:-1])
    return rows, adj.col_indices().long()


def test_rlmrec_variant_configuration(graph, batch):
    edge_index, adj, _, _ = graph
    model = LightGCN(NUM_USERS, NUM_ITEMS, 8, layer_combination="sum", edge_dropout=0.2, reg_scope="all", seed=0)
    assert "layer_combination='sum'" in repr(model) and "edge_dropout=0.2" in repr(model)
    assert torch.equal(model.alpha, torch.ones(4))
    model.train()
    loss, parts = model.training_loss(adj, *batch, lambda_reg=1e-4)
    assert torch.isfinite(loss)
    torch.testing.assert_close(
        torch.tensor(parts["reg"]), 1e-4 * model.embedding.weight.detach().square().sum(), rtol=1e-5, atol=0
    )


def test_normalized_adjacency_is_built_once_per_edge_index(graph, monkeypatch):
    edge_index, _, _, _ = graph
    import autograph_rec.nn.base as base

    calls = []
    real = base.normalized_adjacency
    monkeypatch.setattr(base, "normalized_adjacency", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = LightGCN(NUM_USERS, NUM_ITEMS, 8)
    for _ in range(3):
        model(edge_index)
    assert len(calls) == 1
    assert isinstance(normalized_adjacency(edge_index, NUM_USERS + NUM_ITEMS), torch.Tensor)
