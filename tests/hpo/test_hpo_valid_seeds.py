"""tune(valid_seeds=...): each trial scored by its mean metric over several validation sets."""

import json
from pathlib import Path

import optuna
import pytest
import yaml
from _hpo_data import base_overrides

from autograph_rec.cli import main
from autograph_rec.config import RunConfig
from autograph_rec.hpo import parse_space, tune
from autograph_rec.hpo.objective import check_valid_seeds
from autograph_rec.pipeline import prepare_data

SPACE = {"metric": "ndcg@20", "params": {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}}


def _study(out, name="autograph-rec"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


def _pairs(part):
    return set(zip(part.user.tolist(), part.item.tolist()))


def test_objective_is_the_mean_over_validation_sets_and_the_test_set_is_untouched(base_config, tmp_path):
    out = tmp_path / "tune"
    result = tune(parse_space(SPACE), base_config, out, n_trials=2, pruner="none", seed=1, valid_seeds=[0, 4])
    assert result.valid_seeds == [0, 4]
    study = _study(out)
    assert study.user_attrs["valid_seeds"] == [0, 4]
    test_set = _pairs(prepare_data(base_config.data)[1].test)
    for trial in study.trials:
        values = trial.user_attrs["valid_values"]
        assert set(values) == {"0", "4"} and set(trial.user_attrs["valid_best_epochs"]) == {"0", "4"}
        assert trial.value == pytest.approx((values["0"] + values["4"]) / 2)
        valid_sets = []
        for seed, value in values.items():
            run = Path(trial.user_attrs["run_dir"]) / f"valid{seed}"
            config = RunConfig.from_yaml(run / "config.yaml")
            assert config.data.valid_seed == int(seed) and config.data.seed == 0
            metrics = json.loads((run / "metrics.json").read_text())
            assert metrics["valid"]["ndcg@20"] == pytest.approx(value) and metrics["test"] == {}
            split = prepare_data(config.data)[1]
            assert _pairs(split.test) == test_set and not (_pairs(split.valid) & test_set)
            valid_sets.append(_pairs(split.valid))
        # two validation sets, two scores
        assert valid_sets[0] != valid_sets[1] and values["0"] != values["4"]
    # the best config is retrained on the base split (its own validation set) and tested there
    best = RunConfig.from_yaml(out / "best" / "autograph-rec" / "best.yaml")
    assert best.data.seed == 0 and best.data.valid_seed is None
    metrics = json.loads((out / "best" / "autograph-rec" / "best_metrics.json").read_text())
    assert metrics["study_best_valid"] == pytest.approx(result.best_value) and "ndcg@20" in metrics["test"]
    # valid seed 0 is data.seed 0's own validation set: the retraining reproduces that run's score
    best_trial = study.trials[result.best_trial]
    assert metrics["valid"]["ndcg@20"] == pytest.approx(best_trial.user_attrs["valid_values"]["0"], abs=1e-6)


def test_a_study_keeps_its_validation_seeds(base_config, tmp_path):
    space = parse_space(SPACE)
    out = tmp_path / "tune"
    tune(space, base_config, out, n_trials=1, pruner="none", retrain=False, valid_seeds=[0, 1])
    with pytest.raises(ValueError, match=r"validation seeds \[0, 1\], this run on validation seeds \[0, 2\]"):
        tune(space, base_config, out, n_trials=2, pruner="none", retrain=False, valid_seeds=[0, 2])
    with pytest.raises(ValueError, match="this run on the config's one validation set"):
        tune(space, base_config, out, n_trials=2, pruner="none", retrain=False)
    # a study scored on one validation set cannot start averaging
    tune(space, base_config, out, n_trials=1, pruner="none", retrain=False, study_name="single")
    with pytest.raises(ValueError, match=r"on the config's one validation set, this run on validation seeds \[0, 1\]"):
        tune(space, base_config, out, n_trials=2, pruner="none", retrain=False, study_name="single", valid_seeds=[0, 1])
    assert len(_study(out).trials) == 1 and len(_study(out, "single").trials) == 1
    # a study of an older version recorded nothing: its trials were scored on one validation set
    old = optuna.create_study(study_name="old", storage=f"sqlite:///{out / 'study.db'}", direction="maximize")
    old.set_user_attr("metric", "valid ndcg@20")
    dist = optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)
    old.add_trial(optuna.trial.create_trial(params={"train.lr": 0.01}, distributions={"train.lr": dist}, value=0.2))
    with pytest.raises(ValueError, match=r"one validation set; it cannot go on averaging over validation seeds \[0, 1\]"):
        tune(space, base_config, out, n_trials=2, pruner="none", retrain=False, study_name="old", valid_seeds=[0, 1])
    assert len(_study(out, "old").trials) == 1


@pytest.mark.parametrize("overrides, seeds, message", [
    ([], [], "non-empty list of integers"),
    ([], [0, "1"], "non-empty list of integers"),
    ([], [0, -1], "non-empty list of integers"),
    ([], [2, 2], "repeats a seed"),
    (["data.split=temporal"], [0, 1], "'temporal', whose validation set no seed changes"),
    (["data.split=leave_one_out"], [0, 1], "'leave_one_out'"),
    (["data.name=rlmrec-amazon"], [0, 1], "'rlmrec-amazon' is 'predefined'"),
])
def test_validation_seeds_that_cannot_change_the_validation_set_are_refused(base_config, overrides, seeds, message):
    with pytest.raises(ValueError, match=message):
        check_valid_seeds(seeds, base_config.with_overrides(overrides))


def test_seeded_splits_pass(base_config):
    assert check_valid_seeds(None, base_config) is None
    assert check_valid_seeds([0, 1], base_config) == (0, 1)
    assert check_valid_seeds([5], base_config.with_overrides(["data.split=random_global"])) == (5,)


def test_cli_valid_seeds(clustered_data, tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    args = ["tune", "--space", str(space), "--dataset", "csv", "--n-trials", "1", "--pruner", "none",
            "--no-progress", "--no-retrain", "--output", str(tmp_path / "cli")]
    for item in base_overrides(clustered_data)[1:]:
        args += ["--set", item]
    assert main(args + ["--valid-seeds", "0", "1"]) == 0
    assert "(mean over validation seeds 0, 1)" in capsys.readouterr().out
    assert _study(tmp_path / "cli").user_attrs["valid_seeds"] == [0, 1]
    assert main(args + ["--valid-seeds", "0", "0"]) == 2
    assert "repeats a seed" in capsys.readouterr().err
