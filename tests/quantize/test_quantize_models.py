"""Behaviour of each quantizer: k-means, residual error, RQ-VAE training, HC tree, LSH bits."""

import logging

import numpy as np
import pytest
import torch

from autograph_rec.quantize import (
    RQVAE, HierarchicalKMeans, LSHQuantizer, ResidualKMeans, active_code_ratio, kmeans,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def mixture(n=600, d=48, k=12, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * spread
    labels = rng.integers(0, k, n)
    return (centers[labels] + rng.normal(size=(n, d))).astype(np.float32), labels


X, LABELS = mixture()


# ---------------------------------------------------------------- k-means
def test_kmeans_recovers_separated_clusters():
    x, labels = mixture(spread=10.0)
    res = kmeans(torch.from_numpy(x), 12, seed=0)
    assert res.centroids.shape == (12, 48) and res.labels.shape == (600,)
    # each true cluster maps to exactly one found cluster
    pairs = set(zip(labels.tolist(), res.labels.tolist()))
    assert len(pairs) == 12
    # labels are consistent with the returned centroids
    d = torch.cdist(torch.from_numpy(x), res.centroids)
    assert torch.equal(d.argmin(1), res.labels)


def test_kmeans_seeded_and_no_empty_clusters():
    x = torch.from_numpy(X)
    a, b = kmeans(x, 32, seed=3), kmeans(x, 32, seed=3)
    assert torch.equal(a.centroids, b.centroids)
    assert not torch.equal(kmeans(x, 32, seed=4).centroids, a.centroids)
    assert torch.bincount(a.labels, minlength=32).min() > 0


def test_kmeans_duplicates_and_edge_cases():
    # many identical points: k-means++ must still return k distinct rows' worth of centres
    x = torch.cat([torch.zeros(50, 4), torch.eye(4)])
    res = kmeans(x, 5, seed=0)
    assert res.centroids.shape == (5, 4) and torch.isfinite(res.centroids).all()
    assert torch.equal(kmeans(x[:5], 5).labels, torch.arange(5))
    with pytest.raises(ValueError, match="at least 8 points"):
        kmeans(x[:5], 8)


# ---------------------------------------------------------------- residual k-means
def test_residual_kmeans_error_decreases_with_levels():
    q = ResidualKMeans(num_levels=4, codebook_size=16, seed=0).fit(X)
    err = q.quantization_error(X)
    total = float((X - X.mean(0)) .__pow__(2).sum(1).mean())
    assert len(err) == 4
    assert err[0] < total
    assert all(b < a for a, b in zip(err, err[1:]))
    assert err == pytest.approx(q.inertia_, rel=1e-4)
    assert q.codebooks_.shape == (4, 16, 48)


# ---------------------------------------------------------------- RQ-VAE
def test_rqvae_training_reduces_reconstruction(caplog):
    q = RQVAE(num_levels=3, codebook_size=16, hidden_dims=(64, 32), latent_dim=8,
              epochs=12, batch_size=100, lr=3e-3, seed=0)
    with caplog.at_level(logging.INFO, logger="autograph_rec.quantize.rqvae"):
        q.fit(X)
    h = q.history_
    assert len(h) == 12 and [r["epoch"] for r in h] == list(range(1, 13))
    recon = [r["recon_loss"] for r in h]
    assert recon[-1] < 0.8 * recon[0]
    for r in h:
        assert set(r) >= {"loss", "recon_loss", "codebook_loss", "commitment_loss",
                          "active_ratio", "dead_code_resets"}
        assert len(r["active_ratio"]) == 3 and all(0 < a <= 1 for a in r["active_ratio"])
    # the epoch log carries loss and active ratio; no print
    msgs = [m for m in caplog.messages if m.startswith("RQ-VAE epoch")]
    assert len(msgs) == 12 and "active" in msgs[0]
    assert len(q.active_ratio_) == 3 and min(q.active_ratio_) > 0.5
    assert q.codebooks_.shape == (3, 16, 8)
    # decode(transform(x)) reconstructs better than the untrained model
    untrained = RQVAE(num_levels=3, codebook_size=16, hidden_dims=(64, 32), latent_dim=8,
                      epochs=1, batch_size=100, lr=1e-9, seed=0).fit(X)
    assert q.reconstruction_error(X) < untrained.reconstruction_error(X)
    assert q.decode(q.transform(X)).shape == (600, 48)


def test_rqvae_dead_codes_are_reset():
    # 64 codes for 12 tight clusters: many codes die and must be recycled
    q = RQVAE(num_levels=2, codebook_size=64, hidden_dims=(32,), latent_dim=4, epochs=3,
              batch_size=200, dead_code_steps=2, seed=0).fit(X)
    assert sum(r["dead_code_resets"] for r in q.history_) > 0
    off = RQVAE(num_levels=2, codebook_size=64, hidden_dims=(32,), latent_dim=4, epochs=3,
                batch_size=200, dead_code_steps=0, seed=0).fit(X)
    assert sum(r["dead_code_resets"] for r in off.history_) == 0


def test_rqvae_kmeans_init_uses_codes():
    # right after k-means init (no training step) every level's codes are in use
    q = RQVAE(num_levels=2, codebook_size=16, hidden_dims=(32,), latent_dim=8, epochs=1,
              batch_size=600, lr=1e-12, dead_code_steps=0, seed=0).fit(X)
    assert min(active_code_ratio(q.transform(X), 16)) >= 0.9


# ---------------------------------------------------------------- hierarchical k-means
def test_hc_tree_and_code_space():
    q = HierarchicalKMeans(num_levels=3, codebook_size=8, seed=0).fit(X)
    codes, nodes = q.transform(X), q.node_ids(X)
    assert codes.max() < 8 and nodes.shape == (600, 3)
    assert q.num_nodes_[0] == 8 and q.num_nodes_[1] <= 8 * 8
    for l in range(1, 3):
        # every vector's level-l node is a child of its level-(l-1) node
        assert torch.equal(q.parents_[l][nodes[:, l]], nodes[:, l - 1])
        # the stored code is the node's rank within its parent
        assert torch.equal(q.local_codes_[l][nodes[:, l]], torch.from_numpy(codes[:, l]))
    # level 0 is plain k-means: codes equal nodes; codes ranked by size (code 0 largest)
    assert np.array_equal(codes[:, 0], nodes[:, 0].numpy())
    sizes = np.bincount(codes[:, 0], minlength=8)
    assert (np.diff(sizes) <= 0).all()


# ---------------------------------------------------------------- LSH
def test_lsh_bits_and_balance():
    q = LSHQuantizer(num_levels=2, codebook_size=16, seed=0).fit(X)
    assert q.num_bits == 4 and q.planes_.shape == (2, 48, 4)
    codes = q.transform(X)
    # balanced offsets: each bit is set for about half of the training vectors
    for l in range(2):
        bits = (codes[:, l, None] >> np.arange(4)) & 1
        assert np.all(np.abs(bits.mean(0) - 0.5) < 0.05)
    plain = LSHQuantizer(num_levels=2, codebook_size=16, balanced=False, seed=0).fit(X)
    assert torch.count_nonzero(plain.offsets_) == 0


def test_device_argument_cpu():
    q = ResidualKMeans(num_levels=2, codebook_size=8, device="cpu").fit(torch.from_numpy(X))
    assert q.codebooks_.device.type == "cpu"
    assert q.transform(torch.from_numpy(X)).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_contract():
    q = RQVAE(num_levels=2, codebook_size=8, hidden_dims=(32,), latent_dim=4, epochs=2,
              device="cuda").fit(X)
    c = q.transform(torch.from_numpy(X).cuda())
    assert c.is_cuda and torch.equal(c.cpu(), torch.from_numpy(q.assign(X)))


def test_hc_branching_bounds_children():
    q = HierarchicalKMeans(num_levels=2, codebook_size=8, branching=3, seed=0).fit(X)
    assert q.transform(X)[:, 1].max() < 3
    assert torch.bincount(q.parents_[1]).max() <= 3
    with pytest.raises(ValueError, match="branching"):
        HierarchicalKMeans(codebook_size=8, branching=9).fit(X)


# ---------------------------------------------------------------- regressions
def test_nearest_is_exact_far_from_the_origin():
    # ||c||² - 2 x·c in float32 cancels catastrophically at offset 10 with spread 0.01
    # (about half the rows got a wrong centroid); distances do not depend on the origin.
    from autograph_rec.quantize.base import nearest

    g = torch.Generator().manual_seed(0)
    x = 10 + 0.01 * torch.randn(2000, 32, generator=g)
    c = 10 + 0.01 * torch.randn(64, 32, generator=g)
    idx, dist = nearest(x, c, chunk_elems=64 * 300)  # several chunks
    exact = torch.cdist(x.double(), c.double()) ** 2  # [2000, 64]
    best = exact.min(1).values
    chosen = exact.gather(1, idx[:, None]).squeeze(1)
    # the chosen centroid is a nearest one (up to float64 rounding of exact ties)
    assert (chosen - best).max() <= 1e-9
    torch.testing.assert_close(dist.double(), best, rtol=1e-4, atol=1e-9)


def test_kmeans_stopping_is_shift_invariant():
    # The tolerance was relative to the mean squared norm, so a common offset of 30
    # stopped Lloyd after ~2 iterations; it is relative to the data's variance now.
    g = torch.Generator().manual_seed(0)
    base = torch.randn(2000, 16, generator=g)
    ref = kmeans(base, 32, n_iter=25, seed=0)
    shifted = kmeans(base + 30.0, 32, n_iter=25, seed=0)
    assert ref.n_iter > 5  # the unshifted fit does iterate (else the test could not fail)
    assert abs(shifted.n_iter - ref.n_iter) <= 2
    assert shifted.inertia == pytest.approx(ref.inertia, rel=1e-3)


def test_rqvae_commitment_loss_trains_the_encoder_only():
    # residual_l = z - sum_{j<l} e_j with e_j not detached sent beta * commitment
    # gradient into the codebooks of the earlier levels.
    import torch.nn.functional as F
    from autograph_rec.quantize.rqvae import _RQVAEModule

    torch.manual_seed(0)
    m = _RQVAEModule(16, [32], 8, 3, 4)
    m.codebooks.data.normal_()
    z = m.encoder(torch.randn(64, 16))
    _, zq, residuals, words = m.quantize(z)
    r, e = torch.stack(residuals), torch.stack(words)
    commit = F.mse_loss(r, e.detach())
    g_books, g_enc = torch.autograd.grad(commit, [m.codebooks, m.encoder[0].weight],
                                         allow_unused=True)
    assert g_books is None or torch.count_nonzero(g_books) == 0
    assert g_enc is not None and torch.count_nonzero(g_enc) > 0
    # the codebook loss and z_q still reach every level's codebook
    g_cb, = torch.autograd.grad(F.mse_loss(e, r.detach()) + zq.sum(), m.codebooks)
    assert all(torch.count_nonzero(g_cb[l]) > 0 for l in range(3))


def _with_duplicates(seed=0):
    rng = np.random.default_rng(seed)
    # 50 identical vectors, e.g. items with an empty description
    dup = np.repeat(rng.standard_normal((1, 16)), 50, 0)
    return np.concatenate([rng.standard_normal((300, 16)), dup]).astype(np.float32), rng


def test_hc_assign_new_vectors_with_duplicate_training_data():
    # A cluster of identical vectors got k > 1 identical children, the spare ones empty
    # and childless; new vectors routed to them hit an empty centroid slice (IndexError).
    X, rng = _with_duplicates()
    q = HierarchicalKMeans(num_levels=3, codebook_size=16, seed=0).fit(X)
    for l in range(1, 3):  # every node that routing can reach has a child
        assert torch.bincount(q.parents_[l], minlength=q.num_nodes_[l - 1]).min() > 0
    new = np.concatenate([rng.standard_normal((1000, 16)),
                          X[-1:] + 1e-4 * rng.standard_normal((200, 16))]).astype(np.float32)
    codes, nodes = q.assign(new), q.node_ids(new)
    assert codes.shape == (1200, 3) and codes.min() >= 0 and codes.max() < 16
    for l in range(1, 3):
        assert torch.equal(q.parents_[l][nodes[:, l]], nodes[:, l - 1])
    np.testing.assert_array_equal(q.transform(X), q.assign(X))
    # the identical vectors form one leaf, not several copies of the same point
    assert len({tuple(r) for r in q.node_ids(X[-50:]).tolist()}) == 1


def test_hc_loads_a_tree_with_a_childless_node(tmp_path):
    # Quantizers saved before the fix may hold childless nodes: load completes the tree.
    q = HierarchicalKMeans(num_levels=2, codebook_size=8, seed=0).fit(X)
    path = q.save(tmp_path / "hc.pt")
    state = torch.load(path, weights_only=True)
    keep = state["parents.1"] != 3  # drop the children of level-0 node 3
    for key in ("centroids.1", "parents.1", "local_codes.1"):
        state[key] = state[key][keep]
    torch.save(state, path)
    q2 = HierarchicalKMeans.load(path)
    near3 = q.centroids_[0][3:4].numpy() + 0.01 * np.random.default_rng(0).standard_normal((5, 48))
    codes = q2.assign(near3.astype(np.float32))
    np.testing.assert_array_equal(codes, [[3, 0]] * 5)
