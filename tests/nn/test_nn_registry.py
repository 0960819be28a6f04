import pytest

from autograph_rec.nn import BACKBONES, MF, NGCF, SGL, LightGCN, SimGCL, build_backbone


def test_registry_contents():
    assert BACKBONES == {"mf": MF, "lightgcn": LightGCN, "ngcf": NGCF, "sgl": SGL, "simgcl": SimGCL}


def test_build_backbone_passes_kwargs():
    model = build_backbone("LightGCN", 3, 4, embedding_dim=16, num_layers=2, layer_combination="sum")
    assert isinstance(model, LightGCN)
    assert (model.embedding_dim, model.num_layers, model.layer_combination) == (16, 2, "sum")


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="lightgcn") as info:
        build_backbone("gcn", 3, 4)
    assert "unknown backbone" in str(info.value) and "simgcl" in str(info.value)


def test_unknown_kwarg_lists_accepted_arguments():
    with pytest.raises(ValueError, match="num_layers") as info:
        build_backbone("mf", 3, 4, num_layers=2)
    assert "embedding_dim" in str(info.value)
    with pytest.raises(ValueError, match="edge_dropout"):
        build_backbone("lightgcn", 3, 4, edge_dropot=0.2)


@pytest.mark.parametrize("bad", [dict(embedding_dim=0), dict(reg_scope="layer"), dict(seed=None, embedding_dim=-1)])
def test_invalid_hyperparameters(bad):
    with pytest.raises(ValueError):
        build_backbone("lightgcn", 3, 4, **bad)
