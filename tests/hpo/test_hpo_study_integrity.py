"""A study stays what it was: resumed with another space, base config or metric, shared with
another study in one output folder, or reloaded from an older version; its retraining, errors,
storage URL and sampler seeds."""

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from autograph_rec.config import RunConfig
from autograph_rec.hpo import build_sampler, parse_space, tune
from autograph_rec.hpo.study import TuneResult, _redact, retrain_best

LR = {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}
SPACE = {"metric": "ndcg@20", "params": {"train.lr": LR, "model.num_layers": {"type": "int", "low": 1, "high": 2}}}
LR_ONLY = {"metric": "ndcg@20", "params": {"train.lr": LR}}


def _load(out, name="autograph-rec"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


@pytest.fixture
def fast_config(base_config):
    return base_config.with_overrides(["train.epochs=2"])


def _old_version_study(out: Path, value: float = 1.0):
    """A study as an older version left it: the metric recorded, one complete trial with its
    parameters but no ``config`` user attribute, its run folder at ``trials/0000``."""
    out.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(study_name="autograph-rec", storage=f"sqlite:///{out / 'study.db'}", direction="maximize")
    study.set_user_attr("metric", "valid ndcg@20")
    study.add_trial(optuna.trial.create_trial(
        params={"train.lr": 0.01, "model.num_layers": 2},
        distributions={"train.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                       "model.num_layers": optuna.distributions.IntDistribution(1, 2)},
        value=value, user_attrs={"run_dir": str(out / "trials" / "0000")},
    ))
    return study


def test_best_config_is_the_trained_one_after_the_space_and_base_change(fast_config, tmp_path):
    out = tmp_path / "tune"
    tune(parse_space(SPACE), fast_config, out, n_trials=1, pruner="none", retrain=False)
    trial = _load(out).best_trial
    # resumed with a space that no longer tunes model.num_layers (base: 3) and another base config
    changed_base = fast_config.with_overrides(["model.embedding_dim=8", "train.epochs=3"])
    result = tune(parse_space(LR_ONLY), changed_base, out, n_trials=1, pruner="none", retrain=False)
    assert result.best_trial == trial.number and result.best_params == trial.params
    best = result.best_config
    assert best.model.num_layers == trial.params["model.num_layers"] != changed_base.model.num_layers
    assert best.model.embedding_dim == fast_config.model.embedding_dim and best.train.epochs == 2
    assert RunConfig.from_yaml(out / "best" / "autograph-rec" / "best.yaml") == best
    # what the trial trained, up to where it ran and the trial-only settings (no checkpoint, no test)
    trained = RunConfig.from_yaml(Path(trial.user_attrs["run_dir"]) / "config.yaml")
    assert replace(trained, output=best.output, train=replace(trained.train, save_checkpoint=best.train.save_checkpoint,
                                                              evaluate_test=best.train.evaluate_test)) == best


def test_best_config_takes_this_workers_host_settings(fast_config, tmp_path):
    out = tmp_path / "tune"
    first_host = fast_config.with_overrides(["train.num_threads=1", "encode.batch_size=8", "llm.cache=/a/cache.sqlite"])
    tune(parse_space(LR_ONLY), first_host, out, n_trials=1, pruner="none", retrain=False)
    stored = _load(out).best_trial.user_attrs["config"]
    assert stored["train"]["num_threads"] == 1 and stored["llm"]["cache"] == "/a/cache.sqlite"
    # another machine resumes the finished study: it retrains with its own threads and cache ...
    other_host = fast_config.with_overrides(["train.num_threads=2", "encode.batch_size=32", "llm.cache=/b/cache.sqlite",
                                             "train.epochs=9"])
    best = tune(parse_space(LR_ONLY), other_host, out, n_trials=1, pruner="none", retrain=False).best_config
    assert (best.train.num_threads, best.encode.batch_size, best.llm.cache) == (2, 32, "/b/cache.sqlite")
    # ... but what the trial computed (epochs, the tuned lr) stays the trial's
    assert best.train.epochs == 2 and best.train.lr == stored["train"]["lr"]
    from autograph_rec.hpo.objective import config_digest

    assert config_digest(best) == config_digest(RunConfig.from_dict(stored))  # the same config, wherever it runs


def test_a_tuned_host_key_keeps_the_trials_value(fast_config, tmp_path):
    out = tmp_path / "tune"
    space = {"metric": "ndcg@20", "params": {"train.lr": LR, "eval.batch_size": {"type": "categorical", "choices": [64, 128]}}}
    tune(parse_space(space), fast_config, out, n_trials=1, pruner="none", retrain=False)
    tuned = _load(out).best_trial.params["eval.batch_size"]
    best = tune(parse_space(space), fast_config.with_overrides(["eval.batch_size=999"]), out, n_trials=1,
                pruner="none", retrain=False).best_config
    assert best.eval.batch_size == tuned


def test_old_trial_without_config_and_a_dropped_parameter_is_an_error(fast_config, tmp_path):
    out = tmp_path / "tune"
    _old_version_study(out)
    # the best trial tuned model.num_layers, which this space lacks: retraining the base value
    # while reporting the trial's parameters would be wrong
    with pytest.raises(ValueError, match=r"best trial 0 tuned \['model.num_layers'\], which the current space does not define"):
        tune(parse_space(LR_ONLY), fast_config, out, n_trials=1, pruner="none", retrain=False)
    # with the space it ran with, the old trial is rebuilt from its parameters, as before
    result = tune(parse_space(SPACE), fast_config, out, n_trials=1, pruner="none", retrain=False)
    assert result.best_config.model.num_layers == 2 and result.best_config.train.lr == 0.01


def test_resume_a_study_of_the_old_layout(fast_config, tmp_path):
    out = tmp_path / "tune"
    _old_version_study(out)
    old_files = {out / "trials" / "0000" / "config.yaml": "old trial", out / "best.yaml": "old best",
                 out / "best" / "metrics.json": "old retraining"}
    for path, text in old_files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = tune(parse_space(SPACE), fast_config, out, n_trials=2, pruner="none", retrain=False)
    trials = _load(out).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert trials[1].user_attrs["run_dir"] == str(out / "trials" / "autograph-rec" / "0001")
    assert (out / "trials" / "autograph-rec" / "0001" / "metrics.json").is_file()
    assert all(path.read_text() == text for path, text in old_files.items())  # the old files are left alone
    assert result.best_trial == 0  # (value 1.0) rebuilt from its parameters, written in the study's folder
    assert RunConfig.from_yaml(out / "best" / "autograph-rec" / "best.yaml").model.num_layers == 2


def test_a_study_keeps_its_metric(fast_config, tmp_path):
    out = tmp_path / "tune"
    _old_version_study(out)  # maximises valid ndcg@20
    recall = parse_space({**SPACE, "metric": "recall@20"})
    with pytest.raises(ValueError, match="'valid ndcg@20'.*'valid recall@20'"):
        tune(recall, fast_config, out, n_trials=2, pruner="none", retrain=False)
    assert len(_load(out).trials) == 1  # refused before any trial


def test_two_studies_share_an_output_folder(fast_config, tmp_path):
    for name in ("lightgcn", "mf"):
        tune(parse_space(LR_ONLY), fast_config.with_overrides([f"model.name={name}"]), tmp_path, n_trials=1,
             pruner="none", study_name=name, retrain=False)
    for name in ("lightgcn", "mf"):
        run_dir = Path(_load(tmp_path, name).trials[0].user_attrs["run_dir"])
        assert run_dir == tmp_path / "trials" / name / "0000"
        assert RunConfig.from_yaml(run_dir / "config.yaml").model.name == name
        assert RunConfig.from_yaml(tmp_path / "best" / name / "best.yaml").model.name == name


def test_study_folder_names():
    from autograph_rec.hpo.objective import study_folder

    assert study_folder("autograph-rec") == "autograph-rec"  # the common case stays readable
    odd = [study_folder(name) for name in ("a/b", "a_b", "a b", "..", "")]
    assert len(set(odd)) == len(odd) and all("/" not in f and f not in ("", ".", "..") for f in odd)


def _fake_training(calls):
    def run_config(config, stage_root, eval_hook=None, progress=False):
        calls.append(config)
        return SimpleNamespace(valid={"ndcg@20": 0.5}, test={"ndcg@20": 0.4}, best_epoch=1, epochs_run=2,
                               seconds=0.1), {}
    return run_config


def test_retraining_is_reused_only_for_the_same_trial_and_config(base_config, monkeypatch, tmp_path):
    from autograph_rec.hpo import study as study_module

    calls = []
    monkeypatch.setattr(study_module, "run_config", _fake_training(calls))
    config = replace(base_config, output=str(tmp_path))
    result = TuneResult("s", "sqlite:///a.db", "ndcg@20", 3, 0.5, {"train.lr": 0.01}, config, counts={},
                        seconds=0.0, trial_seconds=0.0)
    first = retrain_best(result, tmp_path)
    assert retrain_best(result, tmp_path) == first and len(calls) == 1  # the same: reused
    # same study name and trial number, but another database, other parameters, another config
    others = [replace(result, storage="sqlite:///b.db"), replace(result, best_params={"train.lr": 0.02}),
              replace(result, best_config=replace(config, train=replace(config.train, lr=0.02)))]
    for other in others:
        retrain_best(other, tmp_path)
    assert len(calls) == 4
    from autograph_rec.hpo.objective import config_digest

    saved = json.loads((tmp_path / "best_metrics.json").read_text())  # written with what it retrained
    assert saved["storage"] == "sqlite:///a.db" and saved["config_sha256"] == config_digest(others[-1].best_config)


@pytest.mark.parametrize("error, state", [(RuntimeError("boom: out of memory"), "FAIL"),
                                          (FloatingPointError("loss is nan"), "PRUNED"),
                                          (optuna.TrialPruned("cut"), "PRUNED")])
def test_a_failed_trial_keeps_its_error(fast_config, monkeypatch, tmp_path, error, state):
    from autograph_rec.hpo import objective

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(objective, "run_config", broken)
    expected = RuntimeError if state == "PRUNED" else type(error)  # pruned only: "no complete trial"
    with pytest.raises(expected):
        tune(parse_space(LR_ONLY), fast_config, tmp_path, n_trials=2 if state == "FAIL" else 1, pruner="none",
             retrain=False)
    trials = _load(tmp_path).trials
    assert [t.state.name for t in trials] == [state]  # an error stops the worker, as before
    if state == "FAIL":
        assert trials[0].user_attrs["error"] == "RuntimeError('boom: out of memory')"
    else:
        assert "error" not in trials[0].user_attrs


@pytest.mark.parametrize("url, shown", [
    ("postgresql://alice:s3cret@db.example:5432/optuna", "postgresql://alice:***@db.example:5432/optuna"),
    ("postgresql://alice@db.example/optuna?password=s3cret", "postgresql://alice@db.example/optuna?password=***"),
    ("postgresql://alice:s3cret@db.example/optuna?application_name=me@laptop",
     "postgresql://alice:***@db.example/optuna?application_name=me%40laptop"),
    ("mysql+pymysql://alice:s3cret@db/optuna", "mysql+pymysql://alice:***@db/optuna"),
    ("postgresql://alice@db/optuna", "postgresql://alice@db/optuna"),
    ("sqlite:////tmp/tune/study.db", "sqlite:////tmp/tune/study.db"),
    ("/tmp/tune/study.db", "/tmp/tune/study.db"),  # not a URL: unchanged
])
def test_redact_hides_every_password(url, shown):
    assert _redact(url) == shown and "s3cret" not in _redact(url)


def test_sampler_seeds_are_not_shifted_copies_of_each_other():
    def points(seed):
        study = optuna.create_study(sampler=build_sampler(seed), direction="maximize")
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=4)
        return [t.params["x"] for t in study.trials]

    assert points(3) == points(3)  # reproducible
    # with seed + trial number, seed 4 drew seed 3's points shifted by one trial
    assert points(4)[:3] != points(3)[1:]
