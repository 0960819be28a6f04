"""scripts/merge_autograph_results.py: rows of several result files, optionally some variants only."""

import json

import pytest


def _row(variant, seed, ndcg):
    return {"model": "mf", "variant": variant, "seed": seed, "best_epoch": 5,
            "test": {"recall@20": 0.3, "ndcg@20": ndcg}, "valid": {"recall@20": 0.3, "ndcg@20": ndcg}}


def test_a_file_can_give_only_some_variants(tmp_path, load_script):
    merge = load_script("merge_autograph_results").merge
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"rows": [_row("vanilla", 0, 0.30), _row("none", 0, 0.31)]}))
    new.write_text(json.dumps({"rows": [_row("none", 0, 0.29)]}))
    # both none rows of seed 0 differ: all of old beside new is refused, old's vanilla rows are not
    with pytest.raises(SystemExit, match="differs from the same row"):
        merge([str(old), str(new)])
    rows = merge([f"{old}::vanilla", str(new)])
    assert [(r["variant"], r["test"]["ndcg@20"]) for r in rows] == [("vanilla", 0.30), ("none", 0.29)]
    with pytest.raises(SystemExit, match=r"no row of variant\(s\) \['smollm2'\]"):
        merge([f"{old}::smollm2"])


def _args(**kw):
    return {"dataset": "ml-100k", "epochs": 300, "lr": 0.005, "dim": 64, "autograph_set": [], "split_seed": None,
            "tag": "", "threads": 1, **kw}


def test_files_of_different_settings_are_not_merged(tmp_path, load_script):
    mod = load_script("merge_autograph_results")
    a, b, c, old = (tmp_path / f"{n}.json" for n in ("a", "b", "c", "old"))
    a.write_text(json.dumps({"args": _args(autograph_set=["autograph.factor_weight=1.0"]), "rows": [_row("none", 0, 0.3)]}))
    # the weight-0.25 seeds beside the weight-1.0 seed were averaged into one row before
    b.write_text(json.dumps({"args": _args(autograph_set=["autograph.factor_weight=0.25"]), "rows": [_row("none", 1, 0.2)]}))
    with pytest.raises(SystemExit, match="other settings than .*autograph_set"):
        mod.merge([str(a), str(b)])
    # the same protocol merges whatever the tag or threads; a file without arguments is listed unchecked
    c.write_text(json.dumps({"args": _args(autograph_set=["autograph.factor_weight=1.0"], tag="_x", threads=2),
                             "rows": [_row("none", 1, 0.31)]}))
    old.write_text(json.dumps({"rows": [_row("none", 2, 0.29)]}))
    assert len(mod.merge([str(a), str(c), str(old)])) == 3
    assert mod.unchecked([str(a), str(c), str(old)]) == [str(old)]
