"""The AutoGraph pipeline end to end on real MovieLens-100K, and its stage caching."""

import json

import numpy as np
import pytest

from autograph_rec.cli import main
from autograph_rec.config import ConfigError, RunConfig
from autograph_rec.pipeline import AutoGraphPipeline


@pytest.fixture(scope="module")
def small_ml100k(real_data_dir, tmp_path_factory):
    """A small real subset: the ratings of MovieLens-100K users 1-80 on movies 1-400, as CSV."""
    from autograph_rec.data import load_dataset

    ds = load_dataset("ml-100k", real_data_dir)
    folder = tmp_path_factory.mktemp("small")
    inter = ds.interactions
    keep = (ds.user_ids[inter.user] <= 80) & (ds.item_ids[inter.item] <= 400)
    rows = ["user_id,item_id,rating,timestamp"] + [
        f"{ds.user_ids[u]},{ds.item_ids[i]},{int(r)},{t}"
        for u, i, r, t in zip(inter.user[keep], inter.item[keep], inter.rating[keep], inter.timestamp[keep])
    ]
    (folder / "inter.csv").write_text("\n".join(rows) + "\n")
    items = ds.item_features.assign(item_id=ds.item_ids)[["item_id", "title", "genres", "year"]]
    items[items.item_id <= 400].to_csv(folder / "items.csv", index=False)
    return folder


def _config(folder, out, *extra):
    return RunConfig().with_overrides([
        "data.name=csv", f"data.path={folder / 'inter.csv'}", f"data.item_features_path={folder / 'items.csv'}",
        "data.domain=movies", "llm.backend=none", "quantize.user_codebook_size=8", "quantize.item_codebook_size=16",
        "quantize.method=rkmeans", "quantize.num_levels=2", "autograph.enabled=true",
        "train.epochs=2", "train.eval_every=1", "train.warmup_epochs=0", "train.device=cpu",
        f"output={out}", *extra,
    ])


@pytest.mark.slow
def test_run_end_to_end_then_cached(small_ml100k, tmp_path):
    out = tmp_path / "run"
    first = AutoGraphPipeline(_config(small_ml100k, out), progress=False)
    result = first.run()
    assert first.stage_log == {"codes": "ran", "vectors": "ran", "profiles": "ran"}
    assert result.test["recall@20"] > 0
    for path in ["config.yaml", "metrics.json", "model.pt", "graph.pt", "report/summary.md", "report/summary.html",
                 "report/training_curves.png", "report/code_usage.png", "profiles/users.jsonl", "vectors/items.npy"]:
        assert (out / path).is_file(), path
    codes = np.load(out / "codes" / "users.npy")
    _, split = first.data
    assert codes.shape == (split.num_users, 2)
    # the template-only text is the prompt's data part
    first_user = json.loads((out / "profiles" / "users.jsonl").read_text().splitlines()[0])
    assert first_user["status"] == "template_only" and "interacted with these movies" in first_user["text"]

    assert "selected on validation recall@20" in (out / "report" / "summary.md").read_text()

    # same settings, different training knobs: nothing upstream of training runs again
    second = AutoGraphPipeline(_config(small_ml100k, out, "train.lr=0.002", "train.metric=ndcg@10"), progress=False)
    second.run()
    assert second.stage_log == {"codes": "cached"}
    # the report names (and plots) the metric the epoch was selected on
    assert "selected on validation ndcg@10" in (out / "report" / "summary.md").read_text()

    # another quantizer: codes re-run, vectors and profiles are reused
    third = AutoGraphPipeline(_config(small_ml100k, out, "quantize.method=lsh"), progress=False)
    third.quantize()
    assert third.stage_log == {"codes": "ran", "vectors": "cached"}


@pytest.mark.slow
def test_cli_profile_and_encode_with_fake_llm(small_ml100k, tmp_path, capsys):
    out = tmp_path / "prof"
    args = ["--dataset", "csv", "--data-path", str(small_ml100k / "inter.csv"), "--set",
            f"data.item_features_path={small_ml100k / 'items.csv'}", "--set", "data.domain=movies",
            "--llm", "fake", "--limit", "5", "--no-progress", "--output", str(out)]
    assert main(["profile", *args]) == 0
    rows = [json.loads(line) for line in (out / "profiles" / "users.jsonl").read_text().splitlines()]
    assert len(rows) == 80
    assert sum(r["status"] == "template_only" for r in rows) == 80 - 5
    assert main(["encode", *args]) == 0
    assert "vectors: users (80, 384)" in capsys.readouterr().out


def test_retry_truncated_enters_the_profiles_key_only_when_off(small_ml100k, tmp_path):
    from autograph_rec.artifacts import stable_hash

    default = AutoGraphPipeline(_config(small_ml100k, tmp_path, "llm.backend=fake"), progress=False).profile_settings()
    off = AutoGraphPipeline(_config(small_ml100k, tmp_path, "llm.backend=fake", "llm.retry_truncated=false"),
                            progress=False).profile_settings()
    # the key came after profiles stages had been paid for: at its default it must not change their key
    assert "retry_truncated" not in default["llm"] and off["llm"]["retry_truncated"] is False
    assert stable_hash(default) != stable_hash(off)


@pytest.mark.parametrize("override,match", [
    ("autograph.aggregation=mean", "autograph.aggregation must be one of"),
    ("autograph.paths=[uqu, uiu]", r"autograph.paths: unknown metapath\(s\) \['uiu'\]"),
    ("autograph.levels=3", "autograph.levels=3 exceeds quantize.num_levels=2"),
    ("quantize.method=vqvae", "quantize: unknown quantizer 'vqvae'"),
    ("quantize.num_levels=0", "quantize: num_levels must be a positive integer"),
    ("train.metric=recall@50", r"train.metric 'recall@50' is not evaluated"),
    ("eval.metrics=[recal]", r"eval: unknown metrics \['recal'\]"),
    ("train.device=gpu", "train.device 'gpu'"),
    ("encode.encoder=bert", "encode.encoder: unknown encoder 'bert'"),
])
def test_settings_of_late_stages_are_checked_before_any_stage(tmp_path, override, match):
    # each was raised by the quantizer, the AutoGraph wrapper or the trainer: after the data,
    # LLM-profile, vector and code stages (hours with a real LLM) had run
    config = RunConfig().with_overrides([
        "data.name=csv", f"data.path={tmp_path / 'none.csv'}", "autograph.enabled=true", "quantize.num_levels=2",
        f"output={tmp_path / 'run'}", override,
    ])
    with pytest.raises(ConfigError, match=match):
        AutoGraphPipeline(config, progress=False)
    assert not (tmp_path / "run").exists()


def test_run_training_checks_training_settings_before_the_data(tmp_path):
    from autograph_rec.pipeline import run_training

    config = RunConfig().with_overrides(["data.name=csv", f"data.path={tmp_path / 'none.csv'}",
                                         "train.metric=ndcg@50", f"output={tmp_path / 'run'}"])
    with pytest.raises(ConfigError, match=r"train.metric 'ndcg@50' is not evaluated"):
        run_training(config, progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_codebook_larger_than_the_rows_names_the_side_and_key(small_ml100k, tmp_path):
    # the quantizer's message alone ("got 80 vectors but codebook_size=128") did not say users or items
    pipeline = AutoGraphPipeline(_config(small_ml100k, tmp_path / "run", "quantize.user_codebook_size=128"),
                                 progress=False)
    with pytest.raises(ConfigError, match=r"80 user vectors with quantize.user_codebook_size=128: .*at least as many vectors as codes"):
        pipeline.quantize()
    # the stages before it are kept: a corrected size reuses the vectors
    fixed = AutoGraphPipeline(_config(small_ml100k, tmp_path / "run"), progress=False)
    fixed.quantize()
    assert fixed.stage_log == {"codes": "ran", "vectors": "cached"}
