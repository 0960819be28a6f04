"""AutoGraph wrapper: every aggregation on every backbone, path ablations, the
custom-module plug-in and a short Trainer run (tiny synthetic graphs)."""

import copy
import pickle

import numpy as np
import pytest
import torch

from autograph_rec.graph import AugmentedGraphBuilder
from autograph_rec.nn import build_backbone
from autograph_rec.nn.autograph import AGGREGATIONS, AutoGraph

U, I, KU, KI, DIM = 10, 14, 4, 5, 8
BACKBONE_NAMES = ("mf", "lightgcn", "ngcf", "sgl", "simgcl")


def make_graph(seed: int = 0, num_levels: int = 2):
    gen = torch.Generator().manual_seed(seed)
    # every user and item has at least one interaction, plus random extras
    users = torch.cat([torch.arange(U), torch.randint(0, U, (40,), generator=gen), torch.randint(0, U, (I,), generator=gen)])
    items = torch.cat([torch.randint(0, I, (U,), generator=gen), torch.randint(0, I, (40,), generator=gen), torch.arange(I)])
    pairs = torch.unique(users * I + items)
    users, items = pairs // I, pairs % I
    user_codes = torch.randint(0, KU, (U, 3), generator=gen)
    item_codes = torch.randint(0, KI, (I, 3), generator=gen)
    graph = AugmentedGraphBuilder(num_levels).build(users.numpy(), items.numpy(), U, I, user_codes, item_codes, KU, KI)
    return graph, users, items


@pytest.fixture(scope="module")
def aug():
    return make_graph()


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(1)
    return (torch.randint(0, U, (12,), generator=gen), torch.randint(0, I, (12,), generator=gen),
            torch.randint(0, I, (12,), generator=gen))


def wrap(name, graph, aggregation, **kwargs):
    backbone = build_backbone(name, U, I, embedding_dim=DIM, seed=0, **({"num_layers": 2} if name != "mf" else {}))
    return AutoGraph(backbone, graph, aggregation=aggregation, seed=0, **kwargs)


def own_params(model):
    return {n: p for n, p in model.named_parameters() if not n.startswith("backbone.")}


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_modes_x_backbones_shapes_loss_gradients(aug, batch, name, aggregation):
    graph = aug[0]
    model = wrap(name, graph, aggregation)
    model.train()
    model.on_epoch_start(None, torch.Generator().manual_seed(0))
    loss, parts = model.training_loss(None, *batch, lambda_reg=1e-4)
    assert torch.isfinite(loss) and np.isfinite(parts["loss"]) and parts["bpr"] > 0
    if name in ("sgl", "simgcl"):
        assert parts["ssl"] > 0  # the backbone's contrastive term survives the wrapper
    loss.backward()

    out_dim = model.backbone.out_dim if name == "ngcf" else DIM
    model.eval()
    with torch.no_grad():
        users, items = model.user_item_embeddings(None)
    assert users.shape == (U, out_dim) and items.shape == (I, out_dim)
    assert torch.isfinite(users).all() and torch.isfinite(items).all()

    table = model.backbone.embedding.weight
    assert table.grad is not None and table.grad[: U + I].abs().sum() > 0
    if aggregation == "plain":
        # the factor nodes live in the (extended) backbone table and get gradients
        assert table.shape[0] == graph.num_nodes and model.backbone.num_nodes == graph.num_nodes
        assert table.grad[U + I :].abs().sum() > 0
        assert not own_params(model)
    else:
        params = own_params(model)
        assert "factor_embedding.weight" in params and table.shape[0] == U + I
        assert params["factor_embedding.weight"].grad.abs().sum() > 0
        for pname, p in params.items():
            if aggregation == "gat" and pname.endswith(".bias"):
                continue  # biases of the inner GAT layers are only reached through ELU'd values
            assert p.grad is not None and p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_trainer_contract_and_pyg_api(aug, aggregation):
    graph, users, items = aug
    model = wrap("lightgcn", graph, aggregation)
    assert (model.num_users, model.num_items, model.num_nodes) == (U, I, U + I)
    model.eval()
    emb = model.get_embedding()
    assert emb.shape == (U + I, DIM)
    label = torch.stack([users[:5], items[:5] + U])
    scores = model(None, label)
    assert scores.shape == (5,)
    assert torch.allclose(scores, (emb[label[0]] * emb[label[1]]).sum(-1))
    top = model.recommend(src_index=torch.arange(3), dst_index=torch.arange(U, U + I), k=4)
    assert top.shape == (3, 4) and (top >= U).all()
    loss = model.recommendation_loss(scores, scores.flip(0), node_id=label.reshape(-1))
    assert torch.isfinite(loss)
    # state_dict holds dense tensors only (checkpoints load with weights_only=True)
    assert all(t.layout == torch.strided for t in model.state_dict().values())
    assert not any("edge_index" in k for k in model.state_dict())
    # deep copies and pickles work after the sparse caches were filled
    u1, _ = model.user_item_embeddings(None)
    clone = copy.deepcopy(model)
    assert torch.allclose(clone.user_item_embeddings(None)[0], u1)
    assert torch.allclose(pickle.loads(pickle.dumps(model)).user_item_embeddings(None)[0], u1)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_seeded_and_reset_deterministic(aug, aggregation):
    graph = aug[0]
    a, b = wrap("lightgcn", graph, aggregation), wrap("lightgcn", graph, aggregation)
    ua, _ = a.user_item_embeddings(None)
    assert torch.equal(ua, b.user_item_embeddings(None)[0])
    with torch.no_grad():
        for p in a.parameters():
            p.add_(1.0)
    a.reset_parameters()
    b.reset_parameters()
    assert torch.equal(a.user_item_embeddings(None)[0], b.user_item_embeddings(None)[0])


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("drop", ("uqu", "iqi", "ui"))
def test_dropping_a_path_changes_outputs(aug, aggregation, drop):
    graph = aug[0]
    full = wrap("lightgcn", graph, aggregation)
    kept = tuple(p for p in ("uqu", "iqi", "ui") if p != drop)
    ablated = wrap("lightgcn", graph, aggregation, paths=kept)
    assert ablated.paths == kept
    uf, if_ = full.user_item_embeddings(None)
    ua, ia = ablated.user_item_embeddings(None)
    # the path's own node type changes (the interaction path touches both)
    if drop == "uqu":
        assert not torch.allclose(uf, ua)
    elif drop == "iqi":
        assert not torch.allclose(if_, ia)
    else:
        assert not torch.allclose(uf, ua) and not torch.allclose(if_, ia)
    loss, _ = ablated.training_loss(None, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    assert torch.isfinite(loss)


def test_plain_paths_select_relations(aug):
    graph = aug[0]
    model = wrap("lightgcn", graph, "plain", paths=("ui",))
    # no factor edges in the propagation graph: the result equals LightGCN on the user-item graph
    ref = build_backbone("lightgcn", U, I, embedding_dim=DIM, seed=0, num_layers=2)
    with torch.no_grad():
        ref.embedding.weight.copy_(model.backbone.embedding.weight[: U + I])
    users, items = model.user_item_embeddings(None)
    ru, ri = ref.user_item_embeddings(model._ui_edge_index)
    assert torch.allclose(users, ru, atol=1e-6) and torch.allclose(items, ri, atol=1e-6)


def test_mf_plain_adds_factor_mean(aug):
    graph = aug[0]
    model = wrap("mf", graph, "plain")
    assert model.factor_mean
    table = model.backbone.embedding.weight.detach()
    users, _ = model.user_item_embeddings(None)
    fu = graph.offsets["user_factor"]
    ei = graph.edge_index[:, graph.edge_type == 3]  # user_factor -> user
    mine = ei[0, ei[1] == 0]
    assert torch.allclose(users[0], table[0] + table[mine].mean(0), atol=1e-6)
    assert (mine >= fu).all()


def test_mf_factor_mean_scales_with_factor_weight():
    users, items = make_graph()[1:]
    gen = torch.Generator().manual_seed(0)
    codes = torch.randint(0, KU, (U, 3), generator=gen), torch.randint(0, KI, (I, 3), generator=gen)
    out = {}
    for weight in (1.0, 0.25):
        graph = AugmentedGraphBuilder(2, factor_weight=weight).build(users.numpy(), items.numpy(), U, I, *codes, KU, KI)
        model = wrap("mf", graph, "plain")
        table = model.backbone.embedding.weight.detach()
        out[weight] = model.user_item_embeddings(None)[0] - table[:U]  # the added factor term
    assert out[1.0].abs().sum() > 0
    assert torch.allclose(out[0.25], 0.25 * out[1.0], atol=1e-6)


@pytest.mark.parametrize("fusion", ("sum", "concat"))
def test_fusion_modes(aug, batch, fusion):
    graph = aug[0]
    for name in ("lightgcn", "ngcf"):
        model = wrap(name, graph, "metapath_attention", fusion=fusion)
        loss, _ = model.training_loss(None, *batch)
        loss.backward()
        weights = model.metapath.last_weights
        assert set(weights) == {"user", "item"} and torch.allclose(weights["user"].sum(), torch.tensor(1.0))
        if fusion == "concat" or name == "ngcf":
            assert model.project is not None and model.project.weight.grad.abs().sum() > 0


def test_argument_errors(aug):
    graph = aug[0]
    bb = build_backbone("lightgcn", U, I, embedding_dim=DIM)
    with pytest.raises(ValueError, match="aggregation"):
        AutoGraph(bb, graph, aggregation="bogus")
    with pytest.raises(ValueError, match="metapath"):
        AutoGraph(bb, graph, paths=("uqu", "xyz"))
    with pytest.raises(ValueError, match="users"):
        AutoGraph(build_backbone("lightgcn", U + 1, I, embedding_dim=DIM), graph)
    with pytest.raises(TypeError, match="from_module"):
        AutoGraph(torch.nn.Linear(2, 2), graph)


def gcn_stack(dim):
    from torch_geometric.nn import GCNConv, Sequential

    return Sequential("x, edge_index", [
        (GCNConv(dim, 16), "x, edge_index -> x"), torch.nn.ReLU(), (GCNConv(16, 12), "x, edge_index -> x"),
    ])


@pytest.mark.parametrize("aggregation", ("plain", "metapath_mean", "gat"))
def test_custom_module_plugin_trains(aug, batch, aggregation):
    graph = aug[0]
    torch.manual_seed(0)
    model = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, aggregation=aggregation, seed=0)
    assert model.out_dim == 12
    users, items = model.user_item_embeddings(None)
    assert users.shape == (U, 12) and items.shape == (I, 12)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    model.on_epoch_start(None)
    loss, parts = model.training_loss(None, *batch)
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    table = model.backbone.embedding.weight
    if aggregation == "plain":
        assert table.shape[0] == graph.num_nodes and table.grad[U + I :].abs().sum() > 0
    convs = [p for n, p in model.backbone.module.named_parameters() if "weight" in n]
    assert convs and all(p.grad is not None and p.grad.abs().sum() > 0 for p in convs)
    opt.step()
    loss2, _ = model.training_loss(None, *batch)
    assert torch.isfinite(loss2) and float(loss2.detach()) != float(loss.detach())


def test_from_module_seeded(aug):
    graph = aug[0]
    a = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=3)
    b = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=3)
    assert torch.equal(a.user_item_embeddings(None)[0], b.user_item_embeddings(None)[0])


@pytest.mark.parametrize("name,aggregation", [("lightgcn", "plain"), ("sgl", "metapath_attention"), ("mf", "gat")])
def test_short_trainer_run(aug, name, aggregation):
    from autograph_rec.config import EvalConfig, TrainConfig
    from autograph_rec.data import DataSplit, Interactions
    from autograph_rec.train import Trainer

    _, users, items = aug
    gen = np.random.default_rng(0)
    users, items = users.numpy(), items.numpy()
    part = gen.random(len(users))
    # every user keeps a training item (the trainer checks validation users have one)
    first = np.zeros(len(users), dtype=bool)
    first[np.unique(users, return_index=True)[1]] = True
    train = first | (part < 0.7)
    valid = ~train & (part < 0.85)
    test = ~train & ~valid
    split = DataSplit(Interactions(users[train], items[train]), Interactions(users[valid], items[valid]),
                      Interactions(users[test], items[test]), U, I)
    gen_t = torch.Generator().manual_seed(0)
    codes_u, codes_i = torch.randint(0, KU, (U, 2), generator=gen_t), torch.randint(0, KI, (I, 2), generator=gen_t)
    graph = AugmentedGraphBuilder(2).build(users[train], items[train], U, I, codes_u, codes_i, KU, KI)
    model = wrap(name, graph, aggregation)
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.01, eval_every=2, warmup_epochs=0, device="cpu",
                      save_checkpoint=False, seed=0, metric="recall@5")
    result = Trainer(model, split, cfg, EvalConfig(ks=[5], metrics=["recall", "ndcg"]), progress=False).fit()
    assert result.epochs_run == 4 and 0.0 <= result.test["recall@5"] <= 1.0
    assert all(np.isfinite(r["loss"]) for r in result.history)


def test_module_input_formats_agree(aug):
    graph = aug[0]
    a = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=5)
    b = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=5, input_format="adj_t")
    assert torch.equal(a.backbone.embedding.weight, b.backbone.embedding.weight)
    ua, ia = a.user_item_embeddings(None)
    ub, ib = b.user_item_embeddings(None)
    assert torch.allclose(ua, ub, atol=1e-5) and torch.allclose(ia, ib, atol=1e-5)
    loss, _ = b.training_loss(None, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    loss.backward()
    assert b.backbone.embedding.weight.grad[U + I :].abs().sum() > 0
    with pytest.raises(ValueError, match="input_format"):
        AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, input_format="dense")


def test_module_cached_gcn_sees_the_real_graph(aug):
    # the out_dim dry run must not leave a cached two-node graph behind
    from torch_geometric.nn import GCNConv, Sequential

    graph = aug[0]
    module = Sequential("x, edge_index", [(GCNConv(DIM, 6, cached=True), "x, edge_index -> x")])
    model = AutoGraph.from_module(module, graph, embedding_dim=DIM, seed=0, input_format="adj_t")
    users, items = model.user_item_embeddings(None)
    assert users.shape == (U, 6) and items.shape == (I, 6)


@pytest.mark.parametrize("aggregation", ["plain", "metapath_mean"])
def test_factor_l2_counts_the_batch_entities_factors(aug, aggregation):
    # The batch-scope L2 of factor rows equals a hand-computed sum over the batch's users'
    # and items' factor rows (each entity as often as it occurs); factor_l2=False drops it.
    users, pos, neg = torch.tensor([0, 0, 3]), torch.tensor([1, 2, 2]), torch.tensor([4, 5, 1])
    lam, graph = 0.5, aug[0]
    on, off = wrap("lightgcn", graph, aggregation), wrap("lightgcn", graph, aggregation, factor_l2=False)
    reg_on = on.training_loss(None, users, pos, neg, lam)[1]["reg"]
    reg_off = off.training_loss(None, users, pos, neg, lam)[1]["reg"]
    table = on._factor_table().detach()
    ei = graph.edge_index
    expected = 0.0
    for node in torch.cat([users, pos + U, neg + U]).tolist():
        factors = ei[1, (ei[0] == node) & (ei[1] >= U + I)] - (U + I)
        assert len(factors) == 2  # two levels
        expected += table[factors].square().sum().item()
    assert reg_on - reg_off == pytest.approx(lam * expected / 2 / 3, rel=1e-4)
    # The factor rows receive gradient from the L2 term.
    on.zero_grad()
    on._factor_l2(torch.cat([users, pos + U, neg + U]), 3, lam).backward()
    grad = on.backbone.embedding.weight.grad[U + I:] if aggregation == "plain" else on.factor_embedding.weight.grad
    assert grad.abs().sum() > 0


def test_graph_argument_must_be_an_augmented_graph(aug):
    _, users, items = aug
    bb = build_backbone("lightgcn", U, I, embedding_dim=DIM)
    edge_index = torch.stack([users, items + U])
    with pytest.raises(TypeError, match="graph must be an AugmentedGraph"):  # was AttributeError: no num_users
        AutoGraph(bb, edge_index)


class _RowDropper(torch.nn.Module):
    """Drops the last node's row: wrong output for any graph."""

    def forward(self, x, edge_index):
        return x[:-1]


def test_module_output_rows_checked_with_out_dim(aug):
    # with out_dim given there is no trial call: a wrong output failed later in indexing, or
    # (plain mode, a dropped factor row) was used silently
    n = aug[0].num_nodes
    model = AutoGraph.from_module(_RowDropper(), aug[0], embedding_dim=DIM, out_dim=DIM, seed=0)
    with pytest.raises(ValueError, match=rf"must return node features \[{n}, out_dim\], got \({n - 1}, {DIM}\)"):
        model.user_item_embeddings(None)
