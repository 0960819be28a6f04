"""Checkpoints of AutoGraph models: every wrapper setting survives save and load."""

import json

import pytest
import torch

from autograph_rec.graph import AugmentedGraphBuilder
from autograph_rec.nn import build_backbone
from autograph_rec.nn.autograph import AutoGraph
from autograph_rec.train import load_checkpoint, save_checkpoint

U, I, K = 8, 10, 3
BACKBONE_KWARGS = {"embedding_dim": 8, "num_layers": 2, "seed": 0}


def save_autograph(tmp_path, aggregation, **options):
    gen = torch.Generator().manual_seed(0)
    users = torch.cat([torch.arange(U), torch.randint(0, U, (30,), generator=gen)])
    items = torch.cat([torch.arange(U) % I, torch.randint(0, I, (30,), generator=gen)])
    pairs = torch.unique(users * I + items)
    graph = AugmentedGraphBuilder(2).build((pairs // I).numpy(), (pairs % I).numpy(), U, I,
                                           torch.randint(0, K, (U, 2), generator=gen),
                                           torch.randint(0, K, (I, 2), generator=gen), K, K)
    graph.save(tmp_path / "graph.pt")
    model = AutoGraph(build_backbone("lightgcn", U, I, **BACKBONE_KWARGS), graph, aggregation=aggregation,
                      seed=0, **options)
    with torch.no_grad():  # "trained": weights away from their seeded initial values
        for param in model.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=gen))
    # the meta the pipeline writes: its AutoGraphConfig, which has none of the options above
    meta = {"model": "lightgcn", "kwargs": BACKBONE_KWARGS, "num_users": U, "num_items": I,
            "autograph": {"enabled": True, "levels": 2, "aggregation": aggregation, "paths": ["uqu", "iqi", "ui"],
                          "factor_weight": 1.0, "factor_l2": True, "graph_file": "graph.pt"}}
    save_checkpoint(model, tmp_path / "model", meta)
    return model.eval()


def assert_same_embeddings(a, b):
    with torch.no_grad():
        for x, y in zip(a.user_item_embeddings(None), b.user_item_embeddings(None)):
            torch.testing.assert_close(x, y)


@pytest.mark.parametrize("aggregation,options", [
    ("metapath_mean", {"fusion": "concat"}),  # failed to load: missing project.*
    ("metapath_mean", {"num_metapath_layers": 1}),  # loaded, but propagated 2 hops
    ("metapath_attention", {"attention_dim": 4}),  # failed to load: shape mismatch
    ("gat", {"gat_hidden": 8, "gat_heads": 1, "max_neighbors": 2}),  # failed to load: shape mismatch
    ("plain", {"factor_mean": True}),  # loaded, but without the factor mean
])
def test_autograph_checkpoint_restores_every_wrapper_setting(tmp_path, aggregation, options):
    model = save_autograph(tmp_path, aggregation, **options)
    loaded, _ = load_checkpoint(tmp_path / "model.pt")
    assert_same_embeddings(model, loaded.eval())


def test_autograph_checkpoint_without_wrapper_settings_still_loads(tmp_path):
    # checkpoints written before the wrapper's settings were stored
    model = save_autograph(tmp_path, "metapath_attention")
    sidecar = tmp_path / "model.json"
    meta = json.loads(sidecar.read_text())
    meta["autograph"].pop("wrapper", None)
    sidecar.write_text(json.dumps(meta))
    loaded, _ = load_checkpoint(tmp_path / "model.pt")
    assert_same_embeddings(model, loaded.eval())


def test_a_dotted_checkpoint_name_keeps_its_dots(tmp_path):
    # "mf_lr0.01" was cut to "mf_lr0" (everything after the last dot taken for a suffix), so a
    # second checkpoint "mf_lr0.05" overwrote it and loading the first returned the second
    meta = {"model": "mf", "kwargs": {"embedding_dim": 4, "seed": 0}, "num_users": U, "num_items": I}
    a = build_backbone("mf", U, I, embedding_dim=4, seed=0)
    b = build_backbone("mf", U, I, embedding_dim=4, seed=1)
    assert save_checkpoint(a, tmp_path / "mf_lr0.01", meta) == tmp_path / "mf_lr0.01.pt"
    save_checkpoint(b, tmp_path / "mf_lr0.05.pt", meta)
    assert {p.name for p in tmp_path.iterdir()} == {"mf_lr0.01.pt", "mf_lr0.01.json", "mf_lr0.05.pt", "mf_lr0.05.json"}
    for name, model in (("mf_lr0.01", a), ("mf_lr0.01.pt", a), ("mf_lr0.05.json", b)):
        loaded, _ = load_checkpoint(tmp_path / name)
        torch.testing.assert_close(loaded.embedding.weight, model.embedding.weight)


def test_a_trainer_without_model_meta_writes_a_checkpoint_that_says_so(tmp_path):
    from autograph_rec.config import TrainConfig
    from autograph_rec.data import DataSplit, Interactions
    from autograph_rec.train import Trainer

    gen = torch.Generator().manual_seed(0)
    inter = lambda n: Interactions(torch.randint(0, U, (n,), generator=gen).numpy(),  # noqa: E731
                                   torch.randint(0, I, (n,), generator=gen).numpy())
    split = DataSplit(inter(40), inter(8), inter(8), U, I)
    model = build_backbone("lightgcn", U, I, embedding_dim=4, num_layers=1, seed=0)
    Trainer(model, split, TrainConfig(epochs=1, eval_every=1, device="cpu"), run_dir=tmp_path, progress=False).fit()
    # it used to record kwargs {} and fail on load with a shape mismatch (embedding_dim 64 vs 4)
    with pytest.raises(ValueError, match="does not record the model's constructor arguments"):
        load_checkpoint(tmp_path / "model")
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))  # the weights are all there
