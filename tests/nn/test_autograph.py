"""AutoGraph wrapper: every aggregation on every backbone, path ablations, the
custom-module plug-in and a short Trainer run (tiny synthetic graphs)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

from autograph_rec.graph import AugmentedGraphBuilder
from autograph_rec.nn import build_backbone
from autograph_rec.nn.autograph import AGGREGATIONS, AutoGraph

U, I, KU, KI, DIM = 10, 14, 4, 5, 8
BACKBONE_NAMES = ("mf", "lightgcn", "ngcf", "sgl", "simgcl")


def make_graph(seed: int = 0, num_levels: int = 2, factor_weight: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    # every user and item has at least one interaction, plus random extras
    users = torch.cat([torch.arange(U), torch.randint(0, U, (40,), generator=gen), torch.randint(0, U, (I,), generator=gen)])
    items = torch.cat([torch.randint(0, I, (U,), generator=gen), torch.randint(0, I, (40,), generator=gen), torch.arange(I)])
    pairs = torch.unique(users * I + items)
    users, items = pairs // I, pairs % I
    user_codes = torch.randint(0, KU, (U, 3), generator=gen)
    item_codes = torch.randint(0, KI, (I, 3), generator=gen)
    graph = AugmentedGraphBuilder(num_levels, factor_weight).build(
        users.numpy(), items.numpy(), U, I, user_codes, item_codes, KU, KI)
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


@pytest.mark.parametrize("factor_weight", (0.25, 0.0))
def test_plain_sgl_views_keep_the_factor_weight(factor_weight):
    # SGL's views gave every edge weight 1: with factor_weight=0 they still passed messages
    # through factor nodes. With nothing dropped a view must equal the main adjacency.
    graph = make_graph(factor_weight=factor_weight)[0]
    backbone = build_backbone("sgl", U, I, embedding_dim=DIM, num_layers=2, ssl_ratio=0.0, seed=0)
    model = AutoGraph(backbone, graph, aggregation="plain", seed=0)
    model.train()
    model.on_epoch_start(None, torch.Generator().manual_seed(0))
    main = model._backbone_adj().to_dense()
    for view in model.backbone._views:
        torch.testing.assert_close(view.to_dense(), main)


def test_gat_scoring_is_deterministic_in_training_mode(aug):
    # the GAT's attention dropout followed the module's mode, so scoring in training mode was random
    model = wrap("lightgcn", aug[0], "gat", gat_dropout=0.5)
    model.train()
    with torch.no_grad():
        (u1, i1), (u2, i2) = model.user_item_embeddings(None), model.user_item_embeddings(None)
    assert torch.equal(u1, u2) and torch.equal(i1, i2)
    src = torch.arange(U)
    assert torch.equal(model.recommend(src_index=src, k=5), model.recommend(src_index=src, k=5))
    # training batches keep their dropout, and the modes are restored
    with torch.no_grad():
        assert not torch.equal(model.get_embedding(), model.get_embedding())
    assert model.metapath.training


@pytest.mark.parametrize("name", ("lightgcn", "ngcf", "mf"))
def test_plain_reset_reproduces_the_constructed_state(aug, name):
    # reset drew items and factors as one Xavier table of I + F rows from the backbone's stream;
    # construction draws items alone and the factor rows from the wrapper's stream
    model = wrap(name, aug[0], "plain")
    before = {key: value.clone() for key, value in model.state_dict().items()}
    model.reset_parameters()
    after = model.state_dict()
    for key, value in before.items():
        assert torch.equal(after[key], value), key


def test_unseeded_gat_sample_survives_a_state_dict_round_trip(aug):
    # without a seed the neighbour subsample (not in the state_dict) came from the global RNG,
    # so the same state_dict gave another model on a rebuild
    graph = aug[0]

    def build():
        backbone = build_backbone("lightgcn", U, I, embedding_dim=DIM, num_layers=2)  # seed=None
        return AutoGraph(backbone, graph, aggregation="gat", max_neighbors=2).eval()

    torch.manual_seed(0)
    saved = build()
    torch.manual_seed(1)
    rebuilt = build()
    rebuilt.load_state_dict(saved.state_dict())
    with torch.no_grad():
        for a, b in zip(saved.user_item_embeddings(None), rebuilt.user_item_embeddings(None)):
            torch.testing.assert_close(a, b)


def test_recommend_defaults_to_item_candidates(aug):
    model = wrap("lightgcn", aug[0], "plain").eval()
    src = torch.arange(U)
    top = model.recommend(src_index=src, k=I)  # every candidate: users were among them
    assert ((top >= U) & (top < U + I)).all()
    assert torch.equal(top, model.recommend(src_index=src, dst_index=torch.arange(U, U + I), k=I))


def test_wrapped_backbone_scores_users_and_items_only(aug):
    # after plain-mode wrapping the backbone's table holds factor rows too: its own
    # user_item_embeddings / recommend returned them as items
    model = wrap("lightgcn", aug[0], "plain").eval()
    backbone = model.backbone
    edge_index, edge_weight = model._backbone_graph()
    with torch.no_grad():
        users, items = backbone.user_item_embeddings(backbone.adjacency(edge_index, edge_weight))
        ref_users, ref_items = model.user_item_embeddings(None)
    assert items.shape == (I, DIM)
    torch.testing.assert_close(users, ref_users)
    torch.testing.assert_close(items, ref_items)
    top = backbone.recommend(edge_index, edge_weight, k=5)
    assert top.shape == (U + I, 5) and (top < U + I).all()


@pytest.mark.parametrize("aggregation", ("metapath_mean", "metapath_attention", "gat"))
def test_factor_weight_ignored_outside_plain_warns(aggregation):
    graph = make_graph(factor_weight=0.25)[0]
    with pytest.warns(UserWarning, match="factor_weight"):
        wrap("lightgcn", graph, aggregation)


def test_factor_weight_warns_only_where_ignored(aug):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrap("lightgcn", make_graph(factor_weight=0.25)[0], "plain")  # plain propagation uses it
        wrap("lightgcn", make_graph(factor_weight=0.0)[0], "metapath_mean")  # 0 removes the semantic paths
        wrap("lightgcn", aug[0], "gat")  # weight 1
    assert not [w for w in caught if "factor_weight" in str(w.message)]


def _corr(a, b):
    a, b = a.detach().reshape(-1), b.detach().reshape(-1)
    n = min(a.numel(), b.numel(), 200)
    return float(torch.corrcoef(torch.stack([a[:n], b[:n]]))[0, 1])


def test_components_draw_from_distinct_random_streams(aug):
    # components seeded with the same seed drew the same numbers: the semantic attention's
    # initial weights were a scaled copy of the user embeddings (correlation 1.0)
    graph = aug[0]
    model = wrap("lightgcn", graph, "metapath_attention")
    users = model.backbone.embedding.weight[:U]
    assert abs(_corr(model.metapath.user_attention.project.weight, users)) < 0.5
    model = wrap("lightgcn", graph, "gat")
    first_conv = next(iter(model.metapath.convs.values()))
    first = next(p for p in first_conv.parameters() if p.dim() >= 2)  # the GAT's first draw
    batch_noise = torch.rand(200, generator=model.backbone._rng(torch.device("cpu")))
    assert abs(_corr(first, batch_noise)) < 0.5  # GAT's init was the backbone's per-batch stream
    assert abs(_corr(first, users)) < 0.5


class _CachedConvs(torch.nn.Module):
    """Two cached GCNConv layers and no top-level reset_parameters."""

    def __init__(self, dim):
        from torch_geometric.nn import GCNConv

        super().__init__()
        self.c1, self.c2 = GCNConv(dim, dim, cached=True), GCNConv(dim, 6, cached=True)

    def forward(self, x, edge_index):
        return self.c2(self.c1(x, edge_index).relu(), edge_index)


@pytest.mark.parametrize("input_format", ("edge_index", "adj_t"))
def test_out_dim_probe_leaves_the_module_caches_alone(aug, input_format):
    # the two-node trial call filled GCNConv's cache: edge_index trained on that graph, adj_t crashed
    model = AutoGraph.from_module(_CachedConvs(DIM), aug[0], embedding_dim=DIM, seed=0, input_format=input_format)
    assert model.out_dim == 6
    with torch.no_grad():
        users, _ = model.user_item_embeddings(None)
        for conv in (model.backbone.module.c1, model.backbone.module.c2):
            conv._cached_edge_index = conv._cached_adj_t = None
        reference, _ = model.user_item_embeddings(None)
    torch.testing.assert_close(users, reference)


def test_seed_resets_submodules_without_a_top_level_reset(aug):
    a = AutoGraph.from_module(_CachedConvs(DIM), aug[0], embedding_dim=DIM, seed=3)
    b = AutoGraph.from_module(_CachedConvs(DIM), aug[0], embedding_dim=DIM, seed=3)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(pa, pb), name


def weighted_gcn_stack(dim):
    from torch_geometric.nn import GCNConv, Sequential

    return Sequential("x, edge_index, edge_weight", [
        (GCNConv(dim, 16), "x, edge_index, edge_weight -> x"), torch.nn.ReLU(),
        (GCNConv(16, 12), "x, edge_index, edge_weight -> x"),
    ])


def test_edge_weights_reach_a_module_that_takes_them():
    # input_format="edge_index" passed no edge weight: factor_weight was silently dropped
    graph = make_graph(factor_weight=0.25)[0]
    a = AutoGraph.from_module(weighted_gcn_stack(DIM), graph, embedding_dim=DIM, seed=5)
    b = AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=5, input_format="adj_t")
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        for x, y in zip(a.user_item_embeddings(None), b.user_item_embeddings(None)):
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


class _RequiredWeight(torch.nn.Module):
    def __init__(self, dim):
        from torch_geometric.nn import GCNConv

        super().__init__()
        self.conv = GCNConv(dim, 4)

    def forward(self, x, edge_index, edge_weight):
        return self.conv(x, edge_index, edge_weight)


def test_module_with_a_required_edge_weight_runs(aug, batch):
    model = AutoGraph.from_module(_RequiredWeight(DIM), aug[0], embedding_dim=DIM, seed=0)
    assert model.out_dim == 4
    loss, _ = model.training_loss(None, *batch)
    assert torch.isfinite(loss)


def test_module_ignoring_unequal_edge_weights_is_rejected():
    graph = make_graph(factor_weight=0.25)[0]
    with pytest.raises(ValueError, match=r"edge weights.*input_format=\"adj_t\""):
        AutoGraph.from_module(gcn_stack(DIM), graph, embedding_dim=DIM, seed=0)


class _FeaturesOnly(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(DIM, 4)

    def forward(self, x):
        return self.lin(x)


@pytest.mark.parametrize("out_dim", (None, 4))
def test_module_signature_checked_at_construction(aug, out_dim):
    # the trial call's error advised "pass out_dim=", and with out_dim the bare TypeError
    # appeared only at the first batch
    with pytest.raises(TypeError, match=r"module\(x, edge_index\[, edge_weight\]\)"):
        AutoGraph.from_module(_FeaturesOnly(), aug[0], embedding_dim=DIM, out_dim=out_dim)
    with pytest.raises(TypeError, match=r"module\(x, adj_t\)"):
        AutoGraph.from_module(_FeaturesOnly(), aug[0], embedding_dim=DIM, out_dim=out_dim, input_format="adj_t")


def test_module_init_is_not_a_copy_of_the_embedding_stream(aug):
    model = AutoGraph.from_module(gcn_stack(DIM), aug[0], embedding_dim=DIM, seed=0)
    first = next(p for p in model.backbone.module.parameters() if p.dim() >= 2)  # the module's first draw
    assert abs(_corr(first, model.backbone.embedding.weight[:U])) < 0.5


def test_a_backbone_with_the_earlier_two_argument_epoch_hook_still_wraps(aug):
    from autograph_rec.nn import LightGCN

    class OwnHook(LightGCN):  # a user's backbone written before the hook took edge_weight
        def on_epoch_start(self, edge_index, generator=None):
            self.seen = edge_index.size(1)
            super().on_epoch_start(edge_index, generator)

    graph, _, _ = aug
    model = AutoGraph(OwnHook(U, I, embedding_dim=DIM, num_layers=2, seed=0), graph, aggregation="plain", seed=0)
    model.on_epoch_start(None, torch.Generator().manual_seed(0))
    assert model.backbone.seen == graph.edge_index.size(1)


def test_view_factor_weight_sets_the_factor_edges_of_sgl_views_only():
    # the views of a 0.085-weight graph with view_factor_weight=1 are the main adjacency of the
    # same graph at weight 1, while the model itself still propagates at 0.085
    def sgl_model(factor_weight, **kwargs):
        backbone = build_backbone("sgl", U, I, embedding_dim=DIM, num_layers=2, ssl_ratio=0.0, seed=0)
        model = AutoGraph(backbone, make_graph(factor_weight=factor_weight)[0], aggregation="plain", seed=0, **kwargs)
        model.on_epoch_start(None, torch.Generator().manual_seed(0))
        return model

    light = sgl_model(0.085, view_factor_weight=1.0)
    heavy = sgl_model(1.0)
    for view in light.backbone._views:
        torch.testing.assert_close(view.to_dense(), heavy._backbone_adj().to_dense())
    assert not torch.allclose(light._backbone_adj().to_dense(), heavy._backbone_adj().to_dense())
    assert light.settings()["view_factor_weight"] == 1.0
    with pytest.raises(ValueError, match="view_factor_weight needs aggregation='plain'"):
        wrap("sgl", make_graph()[0], "metapath_mean", view_factor_weight=1.0)
    with pytest.raises(ValueError, match="finite number >= 0"):
        wrap("sgl", make_graph()[0], "plain", view_factor_weight=-1.0)


def test_view_factor_weight_sets_the_graph_of_simgcls_noisy_views(batch):
    # SimGCL's contrastive views propagate over the graph its auxiliary loss receives: with
    # view_factor_weight that is the augmented graph with factor edges at that weight, while BPR
    # and scoring keep the propagation graph's weight
    def simgcl_model(factor_weight, **kwargs):
        backbone = build_backbone("simgcl", U, I, embedding_dim=DIM, num_layers=2, seed=0)
        return AutoGraph(backbone, make_graph(factor_weight=factor_weight)[0], aggregation="plain", seed=0, **kwargs)

    def captured_graph(model):
        seen = []
        real = model.backbone.auxiliary_loss
        model.backbone.auxiliary_loss = lambda adj, users, items: seen.append(adj) or real(adj, users, items)
        model.train()
        loss, parts = model.training_loss(None, *batch)
        del model.backbone.auxiliary_loss
        return seen[0], parts

    light = simgcl_model(0.25, view_factor_weight=1.0)
    heavy = simgcl_model(1.0)
    view, parts = captured_graph(light)
    torch.testing.assert_close(view.to_dense(), heavy._backbone_adj().to_dense())
    assert not torch.allclose(light._backbone_adj().to_dense(), view.to_dense())
    assert parts["ssl"] > 0
    # the backbone's one-slot cache still holds the main graph: no rebuild of it every batch
    assert light.backbone._adj_cache[3] is light._backbone_adj()
    assert captured_graph(light)[0] is view  # built once
    # without the option the views use the propagation graph itself
    same = simgcl_model(0.25)
    assert captured_graph(same)[0] is same._backbone_adj()
    # and a backbone without an auxiliary loss never gets a second graph built
    lightgcn = wrap("lightgcn", make_graph(factor_weight=0.25)[0], "plain", view_factor_weight=1.0)
    lightgcn.training_loss(None, *batch)
    assert lightgcn._view_adj_cache is None
