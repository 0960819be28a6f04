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

    # a vanilla run in the same folder: no code plot from the codes an earlier run left there
    # (it plotted them, or crashed when their manifest was missing), and no file of the earlier
    # run left beside the new one's (model.json said lightgcn beside MF's metrics)
    (out / "codes" / "manifest.json").unlink()
    vanilla = _config(small_ml100k, out, "autograph.enabled=false", "model.name=mf", "train.save_checkpoint=false")
    AutoGraphPipeline(vanilla, progress=False).run()
    assert not (out / "report" / "code_usage.png").exists() and "code_usage" not in (out / "report" / "summary.md").read_text()
    assert not (out / "model.json").exists() and not (out / "graph.pt").exists()
    assert RunConfig.from_yaml(out / "config.yaml").model.name == "mf"


def test_a_run_that_fails_before_training_leaves_the_earlier_run_whole(tmp_path):
    from autograph_rec.pipeline import run_training

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("model:\n  name: lightgcn\n")
    (out / "metrics.json").write_text("{}")
    bad = RunConfig().with_overrides(["data.name=csv", f"data.path={tmp_path / 'none.csv'}", f"output={out}"])
    with pytest.raises(Exception, match="not found"):
        run_training(bad, progress=False)
    # config.yaml used to be rewritten first: it described the failed run beside the old metrics
    assert (out / "config.yaml").read_text() == "model:\n  name: lightgcn\n" and (out / "metrics.json").is_file()


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


def _profiles_key(folder, tmp_path, *extra):
    from autograph_rec.artifacts import stable_hash

    return stable_hash(AutoGraphPipeline(_config(folder, tmp_path / "run", *extra), progress=False).profile_settings())


def test_retry_truncated_changes_the_profiles_key(small_ml100k, tmp_path):
    assert _profiles_key(small_ml100k, tmp_path, "llm.backend=fake") != \
        _profiles_key(small_ml100k, tmp_path, "llm.backend=fake", "llm.retry_truncated=false")


def test_profiles_key_follows_the_data_content_not_its_location(small_ml100k, tmp_path):
    import shutil

    base = _profiles_key(small_ml100k, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(small_ml100k, copy)
    # the same data from another folder, or with settings that cannot change it: same stages
    assert _profiles_key(copy, tmp_path) == base
    assert _profiles_key(small_ml100k, tmp_path, "data.download=false") == base
    # an item title edited in place (the settings are unchanged): the profiles must rebuild
    items = (copy / "items.csv").read_text()
    (copy / "items.csv").write_text(items.replace("Toy Story", "Toy Story Redux", 1))
    assert _profiles_key(copy, tmp_path) != base


@pytest.mark.parametrize("backend,unused,used", [
    ("none", ["llm.model=x", "llm.max_new_tokens=64", "llm.temperature=0.5", "llm.base_url=http://h/v1"], []),
    ("fake", ["llm.model=x", "llm.base_url=http://h/v1", "llm.batch_size=3", "llm.api_key_env=K"],
     ["llm.max_new_tokens=64"]),
    ("openai", ["llm.api_key_env=K", "llm.batch_size=3", "llm.cache=/tmp/c.sqlite"],
     ["llm.base_url=http://other/v1", "llm.model=y"]),
])
def test_profiles_key_holds_the_llm_settings_that_can_change_a_text(small_ml100k, tmp_path, backend, unused, used):
    common = [f"llm.backend={backend}", "llm.model=m", "llm.base_url=http://h/v1"]
    base = _profiles_key(small_ml100k, tmp_path, *common)
    for override in unused:
        assert _profiles_key(small_ml100k, tmp_path, *common, override) == base, override
    for override in used:
        assert _profiles_key(small_ml100k, tmp_path, *common, override) != base, override


def test_quantizer_aliases_get_their_epochs_and_share_the_codes_stage(small_ml100k, tmp_path):
    from autograph_rec.artifacts import stable_hash
    from autograph_rec.config import QuantizeConfig
    from autograph_rec.pipeline import quantizer_args

    # "rq-vae" used to train for the default 100 epochs whatever quantize.epochs said
    assert quantizer_args(QuantizeConfig(method="RQ-VAE", epochs=2), 8) == \
        ("rqvae", {"num_levels": 3, "codebook_size": 8, "seed": 0, "epochs": 2})
    assert "epochs" not in quantizer_args(QuantizeConfig(method="rkmeans"), 8)[1]

    def key(*extra):
        return stable_hash(AutoGraphPipeline(_config(small_ml100k, tmp_path / "run", *extra), progress=False)
                           .quantize_settings())

    rqvae = key("quantize.method=rqvae", "quantize.epochs=2")
    assert key("quantize.method=rq-vae", "quantize.epochs=2") == rqvae
    assert key("quantize.method=rqvae", "quantize.epochs=3") != rqvae
    assert key("quantize.epochs=3") == key("quantize.epochs=5")  # rkmeans does not train
    assert key("quantize.user_codebook_size=0") == key("quantize.user_codebook_size=8")  # 80 users pick 8


def test_a_stage_file_with_the_wrong_row_count_is_named(small_ml100k, tmp_path):
    # a manifest from before the checksums cannot notice a truncated file: loading must
    pipeline = AutoGraphPipeline(_config(small_ml100k, tmp_path / "run"), progress=False)
    pipeline.profile()
    folder = tmp_path / "run" / "profiles"
    lines = (folder / "users.jsonl").read_text().splitlines()
    (folder / "users.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["checksums"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RuntimeError, match=r"users.jsonl has 79 rows for 80 users.*Delete .*profiles to rebuild"):
        AutoGraphPipeline(_config(small_ml100k, tmp_path / "run"), progress=False).profile()


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


@pytest.mark.slow
def test_factor_weight_reaches_the_graph_only_where_it_acts(small_ml100k, tmp_path):
    def factor_weights(*extra):
        graph = AutoGraphPipeline(_config(small_ml100k, tmp_path / "run", *extra), progress=False).build_graph()
        return set(graph.edge_weight.unique().tolist()) - {1.0}

    assert factor_weights("autograph.factor_weight=0.25") == {0.25}
    # the metapath aggregators normalise a uniform weight away and the GAT ignores it: their
    # graph keeps unit factor edges (AutoGraph would warn on every run at the default 0.25)
    assert factor_weights("autograph.aggregation=metapath_mean", "autograph.factor_weight=0.25") == set()
    assert factor_weights("autograph.aggregation=gat", "autograph.factor_weight=0") == {0.0}


def test_view_factor_weight_reaches_the_wrapper_in_plain_mode_only():
    from autograph_rec.pipeline import autograph_kwargs

    assert autograph_kwargs(RunConfig())["view_factor_weight"] == 1.0  # the default: full-weight factor edges in views
    assert autograph_kwargs(RunConfig().with_overrides(["autograph.view_factor_weight=null"]))["view_factor_weight"] is None
    # the metapath / GAT modes would refuse it (no factor edges in their backbone graph): not passed
    gat = RunConfig().with_overrides(["autograph.aggregation=gat"])
    assert autograph_kwargs(gat)["view_factor_weight"] is None and autograph_kwargs(gat)["aggregation"] == "gat"


def test_autograph_without_levels_is_named(caplog):
    from autograph_rec.pipeline import check_stage_settings

    with caplog.at_level("WARNING"):
        check_stage_settings(RunConfig().with_overrides(["autograph.enabled=true", "autograph.levels=0"]))
    assert "autograph.levels=0: no factor edges" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        check_stage_settings(RunConfig().with_overrides(["autograph.enabled=true"]))
    assert "levels=0" not in caplog.text
