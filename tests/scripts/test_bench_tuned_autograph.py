"""scripts/bench_tuned_autograph.py: seeds of a retraining, and study names per protocol."""

from pathlib import Path
from types import SimpleNamespace

from autograph_rec.config import RunConfig


def _args(**kw):
    return SimpleNamespace(**{"space": "shared", "valid_seeds": None, "split_seed": None, **kw})


def test_with_seed_varies_the_split_unless_one_is_fixed(load_script):
    bench = load_script("bench_tuned_autograph")
    base = RunConfig()
    moved = bench.with_seed(base, 2, Path("out"))
    assert (moved.data.seed, moved.train.seed, moved.quantize.seed, moved.output) == (2, 2, 2, "out")
    fixed = bench.with_seed(base, 2, Path("out"), split=0)
    assert (fixed.data.seed, fixed.train.seed, fixed.quantize.seed) == (0, 2, 2)


def test_each_protocol_has_its_own_study(load_script):
    bench = load_script("bench_tuned_autograph")
    assert bench.study_name(_args(), "sgl", "none") == "sgl-none"
    assert bench.study_name(_args(space="ssl"), "sgl", "none") == "sgl-none-ssl"
    assert bench.study_name(_args(valid_seeds=[0, 1, 2]), "sgl", "vanilla") == "sgl-vanilla-valid0-1-2"
    argv = bench.child_argv(_args(dataset="ml-100k", n_trials=4, pruner="median", sampler_seed=0, seeds=[0, 1],
                                  epochs=5, dim=8, threads=1, runs="r", data_dir=None, llm_cache=None,
                                  valid_seeds=[0, 1], split_seed=0), "mf", "none")
    assert argv[-5:] == ["--valid-seeds", "0", "1", "--split-seed", "0"]
