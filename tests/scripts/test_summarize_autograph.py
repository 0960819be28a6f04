"""scripts/summarize_autograph.py: the change of mean test NDCG@20 over vanilla, from both kinds of result file."""

import json

import pytest


def _run(model, variant, seed, ndcg):
    return {"model": model, "variant": variant, "seed": seed, "test": {"ndcg@20": ndcg}}


def test_both_result_formats_give_the_change_of_the_seed_means(tmp_path, load_script):
    summ = load_script("summarize_autograph")
    runs = tmp_path / "runs.json"  # bench_autograph.py: one row per run
    runs.write_text(json.dumps({"rows": [_run("sgl", "vanilla", 0, 0.20), _run("sgl", "vanilla", 1, 0.30),
                                         _run("sgl", "none", 0, 0.26), _run("sgl", "none", 1, 0.29)]}))
    values = summ.ndcg_by_run(runs)
    assert summ.cell(values, "sgl", "none") == "+10.0 %"  # 0.275 over 0.25
    assert summ.cell(values, "mf", "none") == "—"  # not in the file

    tuned = tmp_path / "tuned.json"  # bench_tuned_autograph.py: one record per study, retrained per seed
    tuned.write_text(json.dumps({"records": [
        {"model": "mf", "variant": v, "retrained": [{"seed": s, "test": {"ndcg@20": x}} for s, x in enumerate(xs)]}
        for v, xs in (("vanilla", [0.40, 0.40]), ("none", [0.38, 0.39]))]}))
    assert summ.cell(summ.ndcg_by_run(tuned), "mf", "none") == "-3.8 %"

    uneven = tmp_path / "uneven.json"  # a seed missing on one side is an error, not a silent mean
    uneven.write_text(json.dumps({"rows": [_run("mf", "vanilla", 0, 0.2), _run("mf", "vanilla", 1, 0.2),
                                           _run("mf", "none", 0, 0.2)]}))
    with pytest.raises(SystemExit, match="2 vanilla seeds but 1 none seeds"):
        summ.cell(summ.ndcg_by_run(uneven), "mf", "none")


def test_every_committed_comparison_is_readable(load_script):
    summ = load_script("summarize_autograph")
    for comp in summ.COMPARISONS:
        values = {}
        for name in comp.files:
            values.update(summ.ndcg_by_run(summ.RESULTS / f"{name}.json"))
        assert all(summ.cell(values, m, comp.variant) != "—" for m in summ.BACKBONES), comp


def test_a_retrained_tuned_file_counts_its_new_numbers(tmp_path, load_script):
    summ = load_script("summarize_autograph")
    retrained = tmp_path / "retrain.json"  # retrain_tuned.py: recorded (old code) and now (current code)
    retrained.write_text(json.dumps({"rows": [
        {"model": "sgl", "variant": "vanilla", "recorded": [0.28, 0.28], "now": [0.28, 0.28]},
        {"model": "sgl", "variant": "none", "recorded": [0.30, 0.30], "now": [0.29, 0.29]}]}))
    assert summ.cell(summ.ndcg_by_run(retrained), "sgl", "none") == "+3.6 %"
