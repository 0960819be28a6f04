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
