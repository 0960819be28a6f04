"""tune() with the embedded default storage: files, resume, the CLI, and real pruning."""

import json
from pathlib import Path

import optuna
import pytest
import yaml
from _hpo_data import base_overrides

from autograph_rec.cli import main
from autograph_rec.config import RunConfig
from autograph_rec.hpo import OptunaPruningHook, build_pruner, parse_space, tune

SPACE = {"metric": "ndcg@20", "params": {
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "model.num_layers": {"type": "int", "low": 1, "high": 2},
}}


def _load(out, name="autograph-rec"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


def test_embedded_storage_best_config_and_resume(base_config, tmp_path):
    out = tmp_path / "tune"
    first = tune(parse_space(SPACE), base_config, out, n_trials=2, pruner="none", seed=3)
    assert (out / "study.db").is_file()
    assert first.counts["complete"] == 2 and first.storage == f"sqlite:///{(out / 'study.db').resolve()}"
    # resume: the same command with a larger budget adds trials, it does not start over
    second = tune(parse_space(SPACE), base_config, out, n_trials=4, pruner="none", seed=3)
    study = _load(out)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert second.counts == {"complete": 4, "pruned": 0, "fail": 0, "running": 0, "waiting": 0}
    # trials/<study name>/<number>: several studies can share one output folder
    assert {t.user_attrs["run_dir"] for t in study.trials} == {str(out / "trials" / "autograph-rec" / f"{i:04d}") for i in range(4)}
    # trials never compute test metrics: selection cannot see them even by accident
    for t in study.trials:
        assert json.loads((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())["test"] == {}
    # reaching the budget again runs nothing
    third = tune(parse_space(SPACE), base_config, out, n_trials=4, pruner="none", seed=3, retrain=False)
    assert len(_load(out).trials) == 4 and third.retrained is None
    # search time is the study's, not this call's: a reload reports what the trials took
    assert third.trial_seconds == pytest.approx(second.trial_seconds) and third.trial_seconds > first.trial_seconds > 0
    # (second-resolution timestamps: a fast trial may start and end within one second)
    assert third.trial_span == second.trial_span and second.trial_span[0] == first.trial_span[0]
    assert first.trial_span[0] <= first.trial_span[1] <= second.trial_span[1]

    best_dir = out / "best" / "autograph-rec"  # best files per study too
    best = RunConfig.from_yaml(best_dir / "best.yaml")  # the full config of the best trial
    assert best.train.lr == pytest.approx(second.best_params["train.lr"])
    assert best.model.num_layers == second.best_params["model.num_layers"]
    assert best.train.metric == "ndcg@20" and best.data.path == base_config.data.path
    metrics = json.loads((best_dir / "best_metrics.json").read_text())
    assert metrics["trial"] == second.best_trial and set(metrics) >= {"valid", "test", "params"}
    # the retrained best config reproduces the trial's validation score; test is reported apart
    assert metrics["valid"]["ndcg@20"] == pytest.approx(second.best_value, abs=1e-6)
    assert "ndcg@20" in metrics["test"] and (best_dir / "metrics.json").is_file()


def test_same_seed_same_trials(base_config, tmp_path):
    space = parse_space(SPACE)
    a = tune(space, base_config, tmp_path / "a", n_trials=3, pruner="none", seed=5, retrain=False)
    b = tune(space, base_config, tmp_path / "b", n_trials=3, pruner="none", seed=5, retrain=False)
    params = lambda out: [t.params for t in _load(out).trials]  # noqa: E731
    assert params(tmp_path / "a") == params(tmp_path / "b") and a.best_value == b.best_value


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruning_really_prunes(base_config, tmp_path, pruner):
    # a wide learning-rate range: the slow trials fall behind the median at the same epoch
    config = base_config.with_overrides(["train.epochs=8"])
    space = parse_space({"params": {"train.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}}})
    result = tune(space, config, tmp_path / pruner, n_trials=14, pruner=pruner, seed=0, retrain=False)
    study = _load(tmp_path / pruner)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, f"no trial pruned by {pruner}: {result.counts}"
    assert result.counts["complete"] + result.counts["pruned"] == 14
    # pruning saves epochs: every pruned trial stopped before the last one (a trial that reached
    # it is complete, and pruning it would only discard its result)
    assert all(max(t.intermediate_values) < 8 for t in pruned)


def test_pruning_hook_reports_and_raises():
    study = optuna.create_study(direction="maximize", pruner=build_pruner("median", startup_trials=1))
    for value in (0.5, 0.6):
        trial = study.ask()
        OptunaPruningHook(trial, "ndcg@20")(1, {"ndcg@20": value})
        study.tell(trial, value)
    trial = study.ask()
    hook = OptunaPruningHook(trial, "ndcg@20")
    with pytest.raises(optuna.TrialPruned, match="epoch 1"):
        hook(1, {"ndcg@20": 0.1})
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {1: 0.1}
    with pytest.raises(KeyError, match="recall@20"):
        OptunaPruningHook(trial, "recall@20")(2, {"ndcg@20": 0.1})
    # the final epoch is reported, never pruned: the trial is complete
    last = study.ask()
    OptunaPruningHook(last, "ndcg@20", last_epoch=1)(1, {"ndcg@20": 0.1})
    assert last.storage.get_trial(last._trial_id).intermediate_values == {1: 0.1}


def test_cli_tune_prints_best_and_rejects_bad_space(clustered_data, tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    args = ["tune", "--space", str(space), "--dataset", "csv", "--n-trials", "2", "--pruner", "none",
            "--no-progress", "--output", str(tmp_path / "cli")]
    for item in base_overrides(clustered_data)[1:]:
        args += ["--set", item]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "best trial" in out and "train.lr:" in out and "test" in out
    assert f"full config -> {tmp_path / 'cli' / 'best' / 'autograph-rec'}/best.yaml" in out
    assert (tmp_path / "cli" / "best" / "autograph-rec" / "best.yaml").is_file()

    space.write_text("params:\n  train.lr: {type: float, low: 1, high: 0.1}\n")
    assert main(args) == 2
    assert "parameter 'train.lr': low (1) > high (0.1)" in capsys.readouterr().err


@pytest.mark.slow
def test_two_local_workers_share_the_embedded_study(clustered_data, tmp_path):
    import subprocess
    import sys
    from collections import Counter

    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    cmd = [sys.executable, "-m", "autograph_rec.cli", "tune", "--space", str(space), "--dataset", "csv", "--n-trials", "6",
           "--pruner", "none", "--no-progress", "--output", str(tmp_path / "out")]
    for item in base_overrides(clustered_data, epochs=10)[1:]:
        cmd += ["--set", item]
    # both start at once on a database that does not exist yet (they race to create its tables)
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    study = _load(tmp_path / "out")
    states = Counter(t.state.name for t in study.trials)
    assert states["COMPLETE"] == 6 and set(states) <= {"COMPLETE", "FAIL"}, states
    # a FAIL is only allowed as a surplus trial: a worker that lost the race for the last slot
    # (by design, see hpo/study.py) and never trained
    for t in study.trials:
        if t.state.name == "FAIL":
            assert t.user_attrs.get("surplus") and not t.params, t
    assert all("best trial" in out for out in outputs)
    best_metrics = tmp_path / "out" / "best" / "autograph-rec" / "best_metrics.json"
    assert json.loads(best_metrics.read_text())["trial"] == study.best_trial.number
