import math

import numpy as np
import pytest
import torch

from autograph_rec.nn import BACKBONES, NGCF, RecommenderBackbone, build_backbone

NUM_USERS, NUM_ITEMS = 6, 9  # sizes of the `graph` fixture in conftest.py

NAMES = sorted(BACKBONES)
DIM = 8


def make(name, **kwargs):
    kwargs.setdefault("embedding_dim", DIM)
    return build_backbone(name, NUM_USERS, NUM_ITEMS, **kwargs)


def out_dim(model):
    return model.out_dim if isinstance(model, NGCF) else DIM


@pytest.mark.parametrize("name", NAMES)
def test_shapes(name, graph):
    edge_index, adj, _, _ = graph
    model = make(name, seed=0).eval()
    n = NUM_USERS + NUM_ITEMS
    assert isinstance(model, RecommenderBackbone)
    assert (model.num_users, model.num_items, model.num_nodes) == (NUM_USERS, NUM_ITEMS, n)
    emb = model.get_embedding(adj)
    assert emb.shape == (n, out_dim(model))
    torch.testing.assert_close(model.get_embedding(edge_index), emb)  # edge_index path == CSR path
    assert model(edge_index).shape == (edge_index.size(1),)
    assert model(adj).shape == (adj._nnz(),)
    label = torch.tensor([[0, 1, 2], [NUM_USERS, NUM_USERS + 3, NUM_USERS + 8]])
    scores = model(adj, label)
    torch.testing.assert_close(scores, (emb[label[0]] * emb[label[1]]).sum(-1))
    users_emb, items_emb = model.user_item_embeddings(adj)
    assert users_emb.shape == (NUM_USERS, out_dim(model)) and items_emb.shape == (NUM_ITEMS, out_dim(model))
    assert model.recommend(adj, k=3).shape == (n, 3)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_maps_candidates_back(name, graph):
    _, adj, _, _ = graph
    model = make(name, seed=0).eval()
    src = torch.arange(NUM_USERS)
    dst = torch.arange(NUM_USERS, NUM_USERS + NUM_ITEMS)
    top = model.recommend(adj, src_index=src, dst_index=dst, k=4)
    assert top.shape == (NUM_USERS, 4)
    assert ((top >= NUM_USERS) & (top < NUM_USERS + NUM_ITEMS)).all()
    u, i = model.user_item_embeddings(adj)
    expected = (u @ i.t()).topk(4, dim=-1).indices + NUM_USERS
    assert torch.equal(top, expected)


def test_recommend_rejects_k_outside_the_candidates(graph):
    _, adj, _, _ = graph
    model = make("lightgcn", seed=0).eval()
    dst = torch.arange(NUM_USERS, NUM_USERS + NUM_ITEMS)
    for bad in (0, NUM_ITEMS + 1, 2.0, True):
        with pytest.raises(ValueError, match=f"between 1 and {NUM_ITEMS}"):
            model.recommend(adj, dst_index=dst, k=bad)
    # every candidate is a valid k, and numpy / torch integers are integers
    assert model.recommend(adj, dst_index=dst, k=NUM_ITEMS).shape[1] == NUM_ITEMS
    assert model.recommend(adj, dst_index=dst, k=np.int64(2)).shape[1] == 2
    assert model.recommend(adj, dst_index=dst, k=torch.tensor(2)).shape[1] == 2


@pytest.mark.parametrize("name", NAMES)
def test_training_loss_finite_and_gradients_reach_parameters(name, graph, batch):
    edge_index, adj, _, _ = graph
    model = make(name, seed=0).train()
    model.on_epoch_start(edge_index, torch.Generator().manual_seed(0))
    loss, parts = model.training_loss(adj, *batch, lambda_reg=1e-3)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert {"bpr", "reg", "loss"} <= set(parts)
    assert all(isinstance(v, float) and math.isfinite(v) for v in parts.values())
    assert math.isclose(parts["loss"], sum(v for k, v in parts.items() if k != "loss"), rel_tol=1e-5)
    if name in ("sgl", "simgcl"):
        assert parts["ssl"] > 0
    loss.backward()
    grad = model.embedding.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    if name == "ngcf":
        for conv in model.convs:
            for lin in (conv.lin_sum, conv.lin_bi):
                assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_reg_scopes(name, graph, batch):
    _, adj, _, _ = graph
    users, pos, neg = batch
    model = make(name, seed=0).eval()
    _, parts = model.training_loss(adj, users, pos, neg, lambda_reg=1.0)
    w = model.embedding.weight.detach()
    ego = torch.cat([w[users], w[pos + NUM_USERS], w[neg + NUM_USERS]])
    assert math.isclose(parts["reg"], (ego.square().sum() / 2 / len(users)).item(), rel_tol=1e-5)
    model_all = make(name, seed=0, reg_scope="all").eval()
    _, parts_all = model_all.training_loss(adj, users, pos, neg, lambda_reg=1.0)
    expected = sum(p.detach().square().sum() for p in model_all.parameters()).item()
    assert math.isclose(parts_all["reg"], expected, rel_tol=1e-5)
    _, parts0 = model.training_loss(adj, users, pos, neg, lambda_reg=0.0)
    assert parts0["reg"] == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_reset_parameters_changes_params(name):
    model = make(name, seed=3)
    initial = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.5)
    model.reset_parameters()
    for before, p in zip(initial, model.parameters()):
        assert not torch.all(p == 0.5)
        torch.testing.assert_close(p, before)  # seeded reset reproduces the initial weights
    unseeded = make(name)
    first = unseeded.embedding.weight.detach().clone()
    unseeded.reset_parameters()
    assert not torch.equal(first, unseeded.embedding.weight)


@pytest.mark.parametrize("name", NAMES)
def test_seed_determinism(name, graph, batch):
    edge_index, adj, _, _ = graph

    def run(seed):
        torch.manual_seed(1234 + seed)  # global state must not matter when seeded
        model = make(name, seed=seed).train()
        losses = []
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            model.on_epoch_start(edge_index)
            loss, _ = model.training_loss(adj, *batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, model.embedding.weight.detach().clone()

    l1, w1 = run(0)
    l2, w2 = run(0)
    assert l1 == l2 and torch.equal(w1, w2)
    _, w3 = run(1)
    assert not torch.equal(w1, w3)


@pytest.mark.parametrize("name", NAMES)
def test_user_item_embeddings_deterministic_in_train_mode(name, graph):
    _, adj, _, _ = graph
    model = make(name, seed=0).train()
    a = model.user_item_embeddings(adj)
    b = model.user_item_embeddings(adj)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    model.eval()
    c = model.user_item_embeddings(adj)
    assert all(torch.equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("name", NAMES)
def test_recommendation_loss_pyg_semantics(name, graph):
    edge_index, adj, _, _ = graph
    model = make(name, seed=0)
    pos = torch.randn(5)
    neg = torch.randn(5)
    node_id = torch.tensor([0, 1, NUM_USERS + 2])
    emb = model.embedding.weight
    expected = -torch.nn.functional.logsigmoid(pos - neg).mean() + 1e-2 * emb[node_id].norm().pow(2) / 5
    torch.testing.assert_close(model.recommendation_loss(pos, neg, node_id=node_id, lambda_reg=1e-2), expected)
    from torch_geometric.nn.models.lightgcn import BPRLoss

    torch.testing.assert_close(
        model.recommendation_loss(pos, neg, lambda_reg=1e-2), BPRLoss(1e-2)(pos, neg, emb)
    )


@pytest.mark.parametrize("name", NAMES)
def test_repr(name):
    text = repr(make(name))
    assert text.startswith(f"{BACKBONES[name].__name__}({NUM_USERS} users, {NUM_ITEMS} items, dim={DIM}")


@pytest.mark.parametrize("name", NAMES)
def test_float64_model(name, graph, batch):
    edge_index, _, _, _ = graph
    model = make(name, seed=0).double()
    loss, _ = model.training_loss(edge_index, *batch)
    assert loss.dtype == torch.float64
    loss.backward()


def test_adjacency_shape_is_checked(graph):
    _, adj, _, _ = graph
    model = build_backbone("lightgcn", NUM_USERS + 1, NUM_ITEMS)
    with pytest.raises(ValueError, match="num_users"):
        model.get_embedding(adj)
    with pytest.raises(ValueError):
        build_backbone("lightgcn", NUM_USERS, NUM_ITEMS).get_embedding(adj, torch.ones(3))


def test_edge_index_adjacency_cached_until_changed(graph):
    edge_index, _, _, _ = graph
    model = build_backbone("lightgcn", NUM_USERS, NUM_ITEMS)
    first = model.adjacency(edge_index)
    assert model.adjacency(edge_index) is first
    assert model.adjacency(edge_index.clone()) is not first


def test_batch_reg_paths_agree():
    # The count-weighted path (batch covers much of the table) and the gather
    # path (large table) must give the same value and gradient.
    gen = torch.Generator().manual_seed(0)
    users = torch.randint(0, 40, (5,), generator=gen)
    pos, neg = torch.randint(0, 60, (5,), generator=gen), torch.randint(0, 60, (5,), generator=gen)
    nodes = torch.cat([users, pos + 40, neg + 40])
    model = build_backbone("mf", 40, 60, embedding_dim=4, seed=0).double()
    gather = model.l2_regularization(nodes, 5, 0.5)  # 15 * 4 < 100 nodes: gather path
    (g_gather,) = torch.autograd.grad(gather, model.embedding.weight)
    small = build_backbone("mf", 2, 3, embedding_dim=4, seed=0).double()
    with torch.no_grad():
        small.embedding.weight.copy_(torch.randn(5, 4, dtype=torch.float64, generator=gen))
    ref_nodes = torch.tensor([0, 0, 1, 2, 4, 4])
    counted = small.l2_regularization(ref_nodes, 2, 0.5)
    w = small.embedding.weight
    torch.testing.assert_close(counted, 0.5 * w[ref_nodes].square().sum() / 2 / 2)
    w_big = model.embedding.weight
    torch.testing.assert_close(gather, 0.5 * w_big[nodes].square().sum() / 2 / 5)
    expected = torch.zeros_like(w_big).index_add_(0, nodes, 0.5 * w_big[nodes].detach() / 5)
    torch.testing.assert_close(g_gather, expected)


@pytest.mark.parametrize("name", NAMES)
def test_deepcopy_and_pickle_drop_runtime_caches(name, graph, batch):
    import copy
    import pickle

    edge_index, adj, _, _ = graph
    model = make(name, seed=0).train()
    model.on_epoch_start(edge_index, torch.Generator().manual_seed(0))
    model.training_loss(edge_index, *batch)  # fills the edge_index -> adjacency cache
    model.training_loss(adj, *batch)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone._generator is None and clone._adj_cache is None
        torch.testing.assert_close(clone.user_item_embeddings(adj)[1], model.user_item_embeddings(adj)[1])
        clone.on_epoch_start(edge_index)
        loss, _ = clone.training_loss(adj, *batch)
        assert torch.isfinite(loss)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "mf"])  # MF ignores the graph
def test_edge_index_out_of_range_or_float_is_named(name):
    model = make(name, seed=0)
    n = NUM_USERS + NUM_ITEMS
    # was torch's "index out of range in self" from deep inside the normalisation
    with pytest.raises(ValueError, match=rf"edge_index has node ids in \[0, {n}\], expected \[0, {n}\)"):
        model.get_embedding(torch.tensor([[0, n], [n, 0]]))
    with pytest.raises(ValueError, match=r"node ids in \[-1, 0\]"):
        model.get_embedding(torch.tensor([[0, -1], [-1, 0]]))
    # float ids were truncated by the normalisation, then failed as indices in forward
    with pytest.raises(TypeError, match="edge_index must hold integer node ids, got dtype torch.float32"):
        model(torch.tensor([[0.0, 7.0], [7.0, 0.0]]))
