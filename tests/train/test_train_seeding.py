"""Seeding: runs are reproducible without resetting the caller's Python ``random`` state."""

import random

import torch
from torch_geometric.nn import GCNConv, Sequential

from autograph_rec.config import RunConfig
from autograph_rec.pipeline import build_model
from autograph_rec.train import seed_everything


def test_seed_everything_can_leave_python_random_alone():
    random.seed(123)
    state = random.getstate()
    seed_everything(0, python=False)
    assert random.getstate() == state
    a = torch.rand(3)
    seed_everything(0, python=False)
    assert torch.equal(a, torch.rand(3))  # torch is still seeded
    seed_everything(0)
    assert random.getstate() != state  # the default still seeds Python's random too


def test_pyg_sequentials_built_after_two_trainings_keep_their_own_forward():
    # Two PyG Sequential stacks of different depth, each built right after a seeded run, must
    # each run their own forward (PyG names the generated code from Python's global random).
    class _Split:
        num_users, num_items = 3, 4

    cfg = RunConfig().with_overrides(["model.name=mf", "model.embedding_dim=4"])
    build_model(cfg, _Split())
    deep = Sequential("x, edge_index", [(GCNConv(4, 4), "x, edge_index -> x"), (GCNConv(4, 4), "x, edge_index -> x")])
    build_model(cfg, _Split())
    shallow = Sequential("x, edge_index", [(GCNConv(4, 6), "x, edge_index -> x")])
    edge_index = torch.tensor([[0], [1]])
    assert deep(torch.randn(2, 4), edge_index).shape == (2, 4)
    assert shallow(torch.randn(2, 4), edge_index).shape == (2, 6)
