"""The benchmark's run bookkeeping: folders per setting, resume keys independent of folders."""

import json
from pathlib import Path
from types import SimpleNamespace


def _args(autograph_set, llm_cache=None, split_seed=None):
    return SimpleNamespace(runs="runs/bench", dataset="ml-100k", autograph_set=autograph_set, llm_cache=llm_cache,
                           split_seed=split_seed, dim=64, epochs=300, threads=1, data_dir=None, lr=5e-3)


def test_autograph_overrides_get_their_own_folder_but_vanilla_is_shared(load_script):
    bench = load_script("bench_autograph")
    plain = bench.run_folder(_args([]), "lightgcn", "none", 0)
    quarter = bench.run_folder(_args(["autograph.factor_weight=0.25"]), "lightgcn", "none", 0)
    whole = bench.run_folder(_args(["autograph.factor_weight=1.0"]), "lightgcn", "none", 0)
    assert plain.name == "lightgcn-none-seed0"
    assert len({plain, quarter, whole}) == 3
    # the hash is of the sorted overrides, so their order on the command line does not matter
    two = ["autograph.levels=3", "autograph.factor_weight=0.25"]
    assert bench.run_folder(_args(two), "mf", "none", 1) == bench.run_folder(_args(two[::-1]), "mf", "none", 1)
    # vanilla never reads the AutoGraph overrides, so every setting shares its run
    assert bench.run_folder(_args(["autograph.factor_weight=0.25"]), "mf", "vanilla", 0).name == "mf-vanilla-seed0"


def test_smollm2_runs_reading_different_response_caches_get_their_own_folder(load_script):
    bench = load_script("bench_autograph")
    a = bench.run_folder(_args([], llm_cache="runs/a.sqlite"), "sgl", "smollm2", 0)
    b = bench.run_folder(_args([], llm_cache="runs/b.sqlite"), "sgl", "smollm2", 0)
    assert a != b and a.name.startswith("sgl-smollm2-seed0-")
    assert bench.run_folder(_args([]), "sgl", "smollm2", 0).name == "sgl-smollm2-seed0"
    # the cache is SmolLM2's input only: template-only and vanilla runs keep one folder whatever it is
    assert bench.run_folder(_args([], llm_cache="runs/a.sqlite"), "sgl", "none", 0).name == "sgl-none-seed0"
    assert bench.setting_overrides(_args(["autograph.levels=3"], "runs/a.sqlite"), "smollm2") == [
        "autograph.levels=3", "llm.cache=runs/a.sqlite"]


def test_resume_key_is_the_resolved_config_without_the_output_folder(load_script):
    bench = load_script("bench_autograph")
    sets = ["data.seed=0", "model.name=mf", "output=runs/a"]
    # a row stored under another folder still matches the same settings, in any order
    assert bench.settings_key(sets) == bench.settings_key(["output=runs/b", "model.name=mf", "data.seed=0"])
    assert bench.settings_key(sets) != bench.settings_key(["data.seed=1", "model.name=mf", "output=runs/a"])
    # resolved, not as typed: a default spelled out is the same run, and a run's key holds every
    # default, so rows trained before a default changed (view_factor_weight None -> 1.0) differ
    assert bench.settings_key(sets) == bench.settings_key(sets + ["autograph.view_factor_weight=1.0"])
    assert bench.settings_key(sets) != bench.settings_key(sets + ["autograph.view_factor_weight=null"])
    assert "output" not in json.loads(bench.settings_key(sets))


def test_smollm2_rows_made_under_older_profile_checks_are_not_reused(load_script):
    bench = load_script("bench_autograph")
    sets = ["data.seed=0", "llm.backend=smollm2", "output=runs/a"]
    assert bench.resume_key(sets, "none") == bench.settings_key(sets)
    assert bench.resume_key(sets, "vanilla") == bench.settings_key(sets)
    key = json.loads(bench.resume_key(sets, "smollm2"))
    assert key["#profiling.checks"] == bench.CHECKS_VERSION >= 2
    assert bench.resume_key(sets, "smollm2") != bench.settings_key(sets)


def test_a_reused_row_answers_to_the_label_asked_for(load_script, tmp_path):
    bench = load_script("bench_autograph")
    args = _args([])
    args.runs = str(tmp_path)
    # "all paths" has no overrides of its own: the same config as the plain "none" run
    out = bench.run_folder(args, "lightgcn", "none", 0)
    sets = bench.base_overrides(args, "lightgcn", 0, out) + ["autograph.enabled=true", "llm.backend=none"]
    stored = {"model": "lightgcn", "variant": "none", "seed": 0, "test": {"ndcg@20": 0.3}}
    (tmp_path / "ml-100k").mkdir()
    (tmp_path / "ml-100k" / "rows.jsonl").write_text(json.dumps({"key": bench.resume_key(sets, "none"), "row": stored}) + "\n")
    row = bench.run_one(args, "lightgcn", "all paths", 0, [])  # reused, not trained
    assert row["variant"] == "all paths" and row["test"] == {"ndcg@20": 0.3}


def test_a_fixed_split_changes_the_split_only_and_shares_the_run_whose_seed_is_that_split(load_script):
    bench = load_script("bench_autograph")
    fixed = _args([], split_seed=0)
    sets = bench.base_overrides(fixed, "mf", 2, bench.run_folder(fixed, "mf", "none", 2))
    assert "data.seed=0" in sets and "train.seed=2" in sets and "quantize.seed=2" in sets
    assert sum(s.startswith("data.seed=") for s in sets) == 1
    # seed 2 on split 0 is another run than seed 2 on its own split: another folder and key
    assert bench.run_folder(fixed, "mf", "none", 2).name == "mf-none-seed2-split0"
    own = bench.base_overrides(_args([]), "mf", 2, bench.run_folder(_args([]), "mf", "none", 2))
    assert bench.settings_key(sets) != bench.settings_key(own)
    # seed 0 on split 0 is exactly the ordinary seed-0 run: same folder, same resume key
    assert bench.run_folder(fixed, "mf", "none", 0) == bench.run_folder(_args([]), "mf", "none", 0)
    assert bench.settings_key(bench.base_overrides(fixed, "mf", 0, Path("a"))) == \
        bench.settings_key(bench.base_overrides(_args([]), "mf", 0, Path("a")))
