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
