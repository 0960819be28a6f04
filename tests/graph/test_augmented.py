import numpy as np
import pytest
import torch

from autograph_rec.graph import EDGE_TYPES, AugmentedGraphBuilder, factor_edges


@pytest.fixture
def graph():
    train_u = np.array([0, 0, 1, 2])
    train_i = np.array([0, 1, 1, 2])
    user_codes = np.array([[0, 1, 2], [0, 0, 1], [1, 1, 0]])
    item_codes = np.array([[2, 0, 0], [2, 1, 0], [0, 1, 1]])
    return AugmentedGraphBuilder(num_levels=2).build(train_u, train_i, 3, 3, user_codes, item_codes, 3, 3)


def test_counts_and_layout(graph):
    assert (graph.num_users, graph.num_items, graph.num_user_factors, graph.num_item_factors) == (3, 3, 6, 6)
    assert graph.num_nodes == 18
    # 4 interactions + 3 users x 2 levels + 3 items x 2 levels, each in both directions
    assert graph.edge_index.size(1) == 2 * (4 + 6 + 6)


def test_one_factor_edge_per_used_level(graph):
    ei, _ = graph.subgraph(("user:has_factor",))
    per_user = torch.bincount(ei[0], minlength=3)
    assert per_user.tolist() == [2, 2, 2]
    # user 0 has codes (0, 1) at levels 0, 1 -> factors 0 and 3 + 1 = 4 (offset by U + I = 6)
    assert sorted(ei[1][ei[0] == 0].tolist()) == [6 + 0, 6 + 4]


def test_reverse_edges_mirror(graph):
    for t in range(0, len(EDGE_TYPES), 2):
        fwd = graph.edge_index[:, graph.edge_type == t]
        rev = graph.edge_index[:, graph.edge_type == t + 1]
        assert sorted(map(tuple, fwd.t().tolist())) == sorted(map(tuple, rev.flip(0).t().tolist()))


def test_only_training_interactions():
    split_valid = {(0, 2)}
    g = AugmentedGraphBuilder(num_levels=1).build(np.array([0, 1]), np.array([0, 1]), 2, 3)
    ui = g.edge_index[:, g.edge_type == 0]
    pairs = {(int(a), int(b) - 2) for a, b in ui.t()}
    assert pairs == {(0, 0), (1, 1)} and not (pairs & split_valid)


def test_hetero_data(graph):
    data = graph.to_hetero_data()
    assert data["user_factor"].num_nodes == 6
    ei = data["user", "has_factor", "user_factor"].edge_index
    assert ei[0].max() < 3 and ei[1].max() < 6
    assert data["item", "rev_interacts", "user"].edge_index.size(1) == 4


def test_factor_edges_validation():
    with pytest.raises(ValueError, match="num_levels"):
        factor_edges(np.zeros((2, 2), dtype=int), 3, 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        factor_edges(np.array([[5, 0]]), 1, 4)


@pytest.mark.parametrize("users,items,match", [
    # negative ids were accepted: item -1 became an edge to the last user node
    ([0, -1], [0, 1], r"train_users must lie in \[0, 3\), got \[-1, 0\]"),
    ([0, 1], [0, -2], r"train_items must lie in \[0, 3\), got \[-2, 0\]"),
    ([0, 5], [0, 1], r"train_users must lie in \[0, 3\), got \[0, 5\]"),
    # unequal lengths were accepted: the edges of the two directions no longer matched
    ([0, 1, 2], [0, 1], "train_users and train_items must be 1-D of equal length"),
])
def test_bad_training_ids_are_rejected(users, items, match):
    with pytest.raises(ValueError, match=match):
        AugmentedGraphBuilder(num_levels=1).build(np.array(users), np.array(items), 3, 3)


@pytest.mark.parametrize("weight", [-1.0, float("nan")])
def test_bad_factor_weight_is_rejected(weight):
    # a negative weight gave negative degrees and a NaN loss ("lower train.lr")
    with pytest.raises(ValueError, match="factor_weight must be a finite number >= 0"):
        AugmentedGraphBuilder(num_levels=1, factor_weight=weight)


def test_codes_without_codebook_size_say_so():
    codes = np.array([[0], [1], [1]])
    with pytest.raises(ValueError, match="user_codebook_size .* is needed with user_codes"):  # was "codes must lie in [0, 0)"
        AugmentedGraphBuilder(num_levels=1).build(np.array([0, 1]), np.array([0, 1]), 3, 3, user_codes=codes)


def test_direct_graph_helpers_reject_ids_they_would_misplace():
    from autograph_rec.graph.bipartite import bipartite_edge_index

    # item -1 became an edge to the last user node
    with pytest.raises(ValueError, match="items must be non-negative ids, got -1"):
        bipartite_edge_index(np.array([0, 1]), np.array([0, -1]), num_users=2)
    # 1.7 was truncated to code 1
    with pytest.raises(ValueError, match="codes must be integers"):
        factor_edges(np.array([[0.0], [1.7]]), 1, 4)
    entity, factor = factor_edges(np.array([[0.0], [1.0]]), 1, 4)  # integral floats are fine
    assert factor.tolist() == [0, 1]
