import warnings

import pytest
import torch

from autograph_rec.graph.bipartite import bipartite_edge_index
from autograph_rec.nn.propagation import (
    csr_mm,
    adjacency_edge_index,
    drop_adjacency_entries,
    multi_hop_propagate,
    normalized_adjacency,
    propagate,
    transpose_permutation,
)


def dense_reference(edge_index, num_nodes, edge_weight=None):
    # Dense is fine for a 6-node test graph; the library never does this.
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=torch.float64)
    a = torch.zeros(num_nodes, num_nodes, dtype=edge_weight.dtype)
    a.index_put_((edge_index[1], edge_index[0]), edge_weight, accumulate=True)
    deg = a.sum(1)
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    return d[:, None] * a * d[None, :]


def small_graph():
    # 2 users, 3 items (node 4 = item 2 has no edges); one duplicate interaction.
    users = torch.tensor([0, 0, 1, 1])
    items = torch.tensor([0, 1, 1, 1])
    return bipartite_edge_index(users, items, num_users=2), 5


def test_normalized_adjacency_matches_dense_reference():
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n, torch.ones(edge_index.size(1), dtype=torch.float64))
    assert adj.layout == torch.sparse_csr
    assert adj.shape == (n, n)
    torch.testing.assert_close(adj.to_dense(), dense_reference(edge_index, n))
    # symmetric, and the isolated item gives zeros instead of inf / nan
    torch.testing.assert_close(adj.to_dense(), adj.to_dense().t())
    assert torch.isfinite(adj.values()).all()
    assert adj.to_dense()[4].abs().sum() == 0


def test_normalized_adjacency_weights_and_directed_convention():
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 5], [1, 2, 2, 0, 0, 4]])
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5, 2.0], dtype=torch.float64)
    adj = normalized_adjacency(edge_index, 6, weight)
    torch.testing.assert_close(adj.to_dense(), dense_reference(edge_index, 6, weight))
    assert adj.dtype == torch.float64
    assert normalized_adjacency(edge_index, 6).dtype == torch.float32


def test_normalized_adjacency_matches_pyg_gcn_norm():
    from torch_geometric.nn.conv import LGConv

    edge_index, n = small_graph()
    x = torch.randn(n, 4)
    expected = LGConv()(x, edge_index)
    torch.testing.assert_close(propagate(normalized_adjacency(edge_index, n), x), expected)


def test_normalized_adjacency_rejects_bad_shapes():
    with pytest.raises(ValueError):
        normalized_adjacency(torch.zeros(3, 4, dtype=torch.long), 5)
    with pytest.raises(ValueError):
        normalized_adjacency(torch.zeros(2, 4, dtype=torch.long), 5, torch.ones(3))


@pytest.mark.parametrize("bad, column", [(5, 1), (-1, 2)])
def test_normalized_adjacency_rejects_node_ids_outside_the_graph(bad, column):
    # id 5 of 5 nodes used to become the edge (0 -> row 1), id -1 an edge of the last node
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
    edge_index[0 if bad > 0 else 1, column] = bad
    with pytest.raises(ValueError, match=rf"num_nodes=5; first bad edge: column {column}"):
        normalized_adjacency(edge_index, 5)
    assert normalized_adjacency(torch.tensor([[0, 4], [4, 0]]), 5)._nnz() == 2  # N - 1 is valid


def test_no_beta_warning_leaks():
    edge_index, n = small_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalized_adjacency(edge_index, n)


def test_propagate_gradcheck_symmetric():
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n, torch.ones(edge_index.size(1), dtype=torch.float64))
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: propagate(adj, t), (x,))
    # and the gradient equals the dense computation's
    dense = adj.to_dense()
    g = torch.randn(n, 3, dtype=torch.float64)
    (grad,) = torch.autograd.grad(propagate(adj, x), x, g)
    (ref,) = torch.autograd.grad(dense @ x, x, g)
    torch.testing.assert_close(grad, ref)


def test_dropped_adjacency_transpose_and_gradient():
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n, torch.ones(edge_index.size(1), dtype=torch.float64))
    gen = torch.Generator().manual_seed(3)
    dropped, dropped_t = drop_adjacency_entries(adj, 0.5, generator=gen)
    torch.testing.assert_close(dropped_t.to_dense(), dropped.to_dense().t())
    # values are a subset of the originals, not rescaled
    kept = dropped.values() != 0
    torch.testing.assert_close(dropped.values()[kept], adj.values()[kept])
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: propagate(dropped, t, dropped_t), (x,))
    rescaled, _ = drop_adjacency_entries(adj, 0.5, generator=torch.Generator().manual_seed(3), rescale=True)
    torch.testing.assert_close(rescaled.values(), dropped.values() * 2)


def test_drop_probability_is_roughly_respected():
    users = torch.randint(0, 50, (2000,), generator=torch.Generator().manual_seed(0))
    items = torch.randint(0, 80, (2000,), generator=torch.Generator().manual_seed(1))
    adj = normalized_adjacency(bipartite_edge_index(users, items, 50), 130)
    dropped, _ = drop_adjacency_entries(adj, 0.2, generator=torch.Generator().manual_seed(0))
    frac = (dropped.values() == 0).float().mean().item()
    assert 0.17 < frac < 0.23


def test_adjacency_edge_index_roundtrip_and_mirror_permutation():
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n)
    back = adjacency_edge_index(adj)
    assert back.dtype == torch.long
    as_set = lambda ei: set(map(tuple, ei.t().tolist()))  # noqa: E731
    assert as_set(back) == as_set(edge_index)
    perm = transpose_permutation(adj)
    assert torch.equal(back[:, perm], back.flip(0))
    asym = normalized_adjacency(torch.tensor([[0], [1]]), 2)
    with pytest.raises(ValueError):
        transpose_permutation(asym)


def test_propagate_requires_csr_and_matching_dtype():
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n)
    with pytest.raises(TypeError):
        propagate(adj.to_sparse_coo(), torch.randn(n, 2))
    with pytest.raises(TypeError):
        propagate(adj, torch.randn(n, 2, dtype=torch.float64))


def test_learnable_edge_weights_fall_back_to_autograd():
    edge_index, n = small_graph()
    w = torch.rand(edge_index.size(1), dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 2, dtype=torch.float64)
    out = propagate(normalized_adjacency(edge_index, n, w), x)
    out.sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()


@pytest.mark.parametrize("alpha", [[1.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.5, 0.5], [1.0, 2.0, -1.0, 0.5]])
def test_multi_hop_propagate_matches_layer_list(alpha):
    edge_index, n = small_graph()
    adj = normalized_adjacency(edge_index, n, torch.ones(edge_index.size(1), dtype=torch.float64))
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: multi_hop_propagate(adj, t, alpha), (x,))
    dense = adj.to_dense()
    ref, h = x * alpha[0], x
    for a in alpha[1:]:
        h = dense @ h
        ref = ref + a * h
    torch.testing.assert_close(multi_hop_propagate(adj, x, alpha), ref)
    dropped, dropped_t = drop_adjacency_entries(adj, 0.4, generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(lambda t: multi_hop_propagate(dropped, t, alpha, dropped_t), (x,))


def test_csr_mm_ignores_uninitialised_output_memory():
    # csr_mm writes into torch.empty memory with beta=0: rows without stored
    # entries must come out as exact zeros, never as leftovers of freed tensors.
    dense = torch.zeros(64, 48)
    dense[::3, ::5] = torch.arange(1.0, 1 + dense[::3, ::5].numel()).view(dense[::3, ::5].shape)
    adj = dense.to_sparse_csr()
    # small integers: every product and sum is exact in float32, so the comparison cannot fail on
    # rounding (random normal inputs occasionally cancelled below assert_close's tolerance)
    x = torch.randint(-3, 4, (48, 16), generator=torch.Generator().manual_seed(0)).float()
    for _ in range(3):
        del_me = torch.full((64, 16), float("nan"))  # poison the allocator's free list
        del del_me
        out = csr_mm(adj, x)
        assert torch.isfinite(out).all()
        assert torch.equal(out, dense @ x)
        assert (out[1::3] == 0).all()
