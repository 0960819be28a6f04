"""The contract every quantizer honours: shapes, determinism, assign == transform, save/load."""

import json

import numpy as np
import pytest
import torch

from autograph_rec.quantize import (
    QUANTIZERS, HierarchicalKMeans, LSHQuantizer, NotFittedError, Quantizer, RQVAE,
    ResidualKMeans, active_code_ratio, build_quantizer, code_usage, load_quantizer,
)

K, T = 16, 3
# Small, fast settings per quantizer (the RQ-VAE is shrunk: the contract, not the model, is tested).
FAST = {
    "rqvae": dict(hidden_dims=(64, 32), latent_dim=8, epochs=4, batch_size=128),
    "rkmeans": dict(n_iter=10),
    "lsh": {},
    "hc": dict(n_iter=10),
}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def mixture(n=600, d=48, k=12, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 3
    return (centers[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)


X = mixture()


def make(name, seed=0, **kw):
    return build_quantizer(name, num_levels=T, codebook_size=K, seed=seed, **{**FAST[name], **kw})


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    out = {}
    for name in QUANTIZERS:
        q = make(name)
        out[name] = (q, q.fit_transform(X))
    return out


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_codes_shape_dtype_range(fitted, name):
    q, codes = fitted[name]
    assert isinstance(codes, np.ndarray) and codes.dtype == np.int64
    assert codes.shape == (600, T)
    assert codes.min() >= 0 and codes.max() < K
    # tensor in -> LongTensor out
    ct = q.transform(torch.from_numpy(X))
    assert isinstance(ct, torch.Tensor) and ct.dtype == torch.long
    assert torch.equal(ct, torch.from_numpy(codes))


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_assign_equals_transform(fitted, name):
    q, codes = fitted[name]
    np.testing.assert_array_equal(q.assign(X), codes)
    np.testing.assert_array_equal(q.transform(X), codes)
    # one new node = one lookup, a single [D] vector gives [T]
    one = q.assign(X[7])
    assert one.shape == (T,)
    np.testing.assert_array_equal(one, codes[7])
    # a subset looks up the same codes as the full set
    np.testing.assert_array_equal(q.assign(X[100:110]), codes[100:110])


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_seed_determinism(fitted, name):
    _, codes = fitted[name]
    again = make(name, seed=0).fit_transform(X)
    np.testing.assert_array_equal(again, codes)
    other = make(name, seed=1).fit_transform(X)
    assert not np.array_equal(other, codes)


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_active_ratio_and_usage(fitted, name):
    q, codes = fitted[name]
    ratio = active_code_ratio(codes, K)
    assert len(ratio) == T and all(0 < r <= 1 for r in ratio)
    assert q.active_ratio(X) == ratio
    usage = code_usage(codes, K)
    assert len(usage) == T
    for u, r in zip(usage, ratio):
        assert u.shape == (K,) and u.sum() == 600
        assert (u > 0).mean() == pytest.approx(r)


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_save_load_round_trip(fitted, name, tmp_path):
    q, codes = fitted[name]
    path = q.save(tmp_path / f"{name}_items.pt")
    assert path.suffix == ".pt" and path.with_suffix(".json").is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["name"] == name and meta["params"]["codebook_size"] == K
    state = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    for loader in (type(q).load, Quantizer.load, load_quantizer):
        q2 = loader(path)
        assert type(q2) is type(q)
        np.testing.assert_array_equal(q2.transform(X), codes)
        np.testing.assert_array_equal(q2.assign(X[3]), codes[3])


def test_load_into_wrong_class(fitted, tmp_path):
    path = fitted["lsh"][0].save(tmp_path / "lsh.pt")
    with pytest.raises(ValueError, match="LSHQuantizer"):
        ResidualKMeans.load(path)


def test_load_takes_the_name_given_to_save(fitted, tmp_path):
    # save("x") writes x.pt + x.json; load("x") found the sidecar, then failed in torch.load
    q, codes = fitted["lsh"]
    q.save(tmp_path / "users_quantizer")
    np.testing.assert_array_equal(load_quantizer(tmp_path / "users_quantizer").transform(X), codes)


def test_load_with_broken_sidecar_or_state_names_the_file(fitted, tmp_path):
    path = fitted["lsh"][0].save(tmp_path / "lsh.pt")
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"missing state file .*lsh\.pt next to its sidecar"):
        load_quantizer(path)
    path.with_suffix(".json").write_text("{not json")
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"lsh\.json is not a quantizer sidecar \(not valid JSON"):  # was a bare JSONDecodeError
        load_quantizer(path)


def test_constructor_stores_only():
    q = RQVAE(codebook_size=8, epochs=2)
    assert not q.is_fitted and not hasattr(q, "model_")
    assert q.get_params()["codebook_size"] == 8
    with pytest.raises(NotFittedError, match="fit"):
        q.transform(X)


def test_registry():
    assert set(QUANTIZERS) == {"rqvae", "rkmeans", "lsh", "hc"}
    assert isinstance(build_quantizer("RQ-VAE"), RQVAE)
    assert isinstance(build_quantizer("hc"), HierarchicalKMeans)
    assert isinstance(build_quantizer("lsh"), LSHQuantizer)
    with pytest.raises(ValueError, match="unknown quantizer 'pq'.*rkmeans"):
        build_quantizer("pq")
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['epochs'\]"):
        build_quantizer("rkmeans", epochs=3)


@pytest.mark.parametrize("name", ["rkmeans", "hc", "rqvae"])
def test_too_few_vectors(name):
    q = build_quantizer(name, codebook_size=1024, **FAST[name])
    with pytest.raises(ValueError, match=r"600 vectors but codebook_size=1024.*smaller codebook_size"):
        q.fit(X)


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_bad_input(fitted, name):
    q = make(name)
    with pytest.raises(ValueError, match=r"shape \[N, D\]"):
        q.fit(X[0])
    with pytest.raises(ValueError, match=r"shape \[N, D\]"):
        q.fit(X[None])
    bad = X.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ValueError, match="NaN.*row 5"):
        q.fit(bad)
    with pytest.raises(ValueError, match="empty"):
        q.fit(X[:0])
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        q.fit(X.tolist())
    fq = fitted[name][0]
    with pytest.raises(ValueError, match="dimension 47.*dimension 48"):
        fq.transform(X[:, :47])
    bad_t = torch.from_numpy(X[:4].copy())
    bad_t[2, 0] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        fq.assign(bad_t)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="power-of-two.*use 8 or 16"):
        LSHQuantizer(codebook_size=12).fit(X)
    with pytest.raises(ValueError, match="num_levels"):
        ResidualKMeans(num_levels=0, codebook_size=4).fit(X)
    with pytest.raises(ValueError, match="codebook_size"):
        HierarchicalKMeans(codebook_size=1).fit(X)
    for seed in (None, -1, 1.5):  # None failed deep inside fit with an int() TypeError
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            ResidualKMeans(codebook_size=4, seed=seed).fit(X)


def test_caller_rng_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make("rqvae", epochs=1).fit(X)
    make("lsh").fit(X)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- regressions
@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_float_levels_or_codebook_size_rejected_by_name(name):
    # 2.0 passed validation, then fit failed with "'float' object cannot be interpreted as an integer"
    with pytest.raises(ValueError, match=r"num_levels must be a positive integer, got 2\.0"):
        build_quantizer(name, num_levels=2.0, codebook_size=K, **FAST[name]).fit(X)
    with pytest.raises(ValueError, match=r"codebook_size must be an integer >= 2, got 8\.0"):
        build_quantizer(name, num_levels=T, codebook_size=8.0, **FAST[name]).fit(X)


@pytest.mark.parametrize("name, param, value", [
    ("rkmeans", "n_iter", 5.0), ("hc", "n_iter", 5.0), ("hc", "branching", 4.0),
    ("rqvae", "epochs", 2.0), ("rqvae", "kmeans_iters", 5.0), ("rqvae", "dead_code_steps", 2.5),
])
def test_other_float_integer_params_rejected_by_name(name, param, value):
    # each passed validation (or had none) and then failed inside fit with a TypeError
    with pytest.raises(ValueError, match=rf"{param} must be .*integer.*got {value}"):
        make(name, **{param: value}).fit(X)


def test_float_hidden_dims_rejected():
    with pytest.raises(ValueError, match=r"hidden_dims must hold positive integers, got \(64, 32\.5\)"):
        make("rqvae", hidden_dims=(64, 32.5)).fit(X)


def test_numpy_integer_params_fit_save_and_load(tmp_path):
    # seed=np.int64(3) was accepted but save() failed: "Object of type int64 is not JSON serializable"
    q = ResidualKMeans(num_levels=np.int64(2), codebook_size=np.int32(8), n_iter=np.int64(5),
                       seed=np.int64(3)).fit(X)
    path = q.save(tmp_path / "rk")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["params"]["seed"] == 3 and type(meta["params"]["seed"]) is int
    np.testing.assert_array_equal(load_quantizer(path).transform(X), q.transform(X))


@pytest.mark.parametrize("name", ["rkmeans", "rqvae"])
def test_decode_rejects_codes_out_of_range(fitted, name):
    # -1 silently decoded to the last codeword; >= K or too many levels raised a bare IndexError
    q, codes = fitted[name]
    assert q.decode(codes[:5]).shape == (5, 48)
    assert q.decode(codes[:5, :2]).shape == (5, 48)  # leading levels only
    bad = codes[:5].copy()
    bad[2, 1] = -1
    with pytest.raises(ValueError, match=r"code -1 at row 2, level 1.*\[0, 16\)"):
        q.decode(bad)
    bad[2, 1] = K
    with pytest.raises(ValueError, match=r"code 16 at row 2, level 1.*\[0, 16\)"):
        q.decode(torch.from_numpy(bad))
    with pytest.raises(ValueError, match=r"4 levels.*3"):
        q.decode(np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"shape \[N, levels\]"):
        q.decode(codes[0])


def test_float64_beyond_float32_range_is_named_as_such():
    # finite 1e39 overflowed to inf in the float32 cast and was reported as NaN/infinite
    x = X.astype(np.float64)
    x[4, 1] = 1e39
    with pytest.raises(ValueError, match=r"float32 range.*row 4"):
        ResidualKMeans(codebook_size=4).fit(x)
    x[4, 1] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite.*row 4"):
        ResidualKMeans(codebook_size=4).fit(x)


def test_load_rejects_unknown_format_version(fitted, tmp_path):
    path = fitted["lsh"][0].save(tmp_path / "lsh.pt")
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["format_version"] = 99
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"format_version 99.*reads format_version 1"):
        load_quantizer(path)


def test_algorithm_version_is_exported():
    import autograph_rec.quantize as quantize

    assert isinstance(quantize.ALGORITHM_VERSION, int) and quantize.ALGORITHM_VERSION >= 2
    assert "ALGORITHM_VERSION" in quantize.__all__
