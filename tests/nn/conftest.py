import pytest
import torch

from autograph_rec.graph.bipartite import bipartite_edge_index
from autograph_rec.nn import normalized_adjacency

NUM_USERS, NUM_ITEMS = 6, 9


@pytest.fixture
def graph():
    """A tiny random bipartite graph: (edge_index [2, 2E], CSR adjacency, users, items)."""
    gen = torch.Generator().manual_seed(0)
    users = torch.randint(0, NUM_USERS, (30,), generator=gen)
    items = torch.randint(0, NUM_ITEMS, (30,), generator=gen)
    edge_index = bipartite_edge_index(users, items, NUM_USERS)
    return edge_index, normalized_adjacency(edge_index, NUM_USERS + NUM_ITEMS), users, items


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(1)
    users = torch.randint(0, NUM_USERS, (8,), generator=gen)
    pos = torch.randint(0, NUM_ITEMS, (8,), generator=gen)
    neg = torch.randint(0, NUM_ITEMS, (8,), generator=gen)
    return users, pos, neg


@pytest.fixture(autouse=True)
def _single_thread():
    # Tiny graphs gain nothing from intra-op threads, and on a CPU shared with
    # other jobs the OpenMP barriers made these tests several times slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
