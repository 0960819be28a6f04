"""Search-space parsing, every invalid-space error, and suggest_config (incl. conditions)."""

import optuna
import pytest

from autograph_rec.config import RunConfig
from autograph_rec.hpo import CategoricalParam, FloatParam, IntParam, SpaceError, load_space, parse_space, suggest_config


def _space(**params):
    return {"params": params}


def test_parse_all_types(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        "metric: ndcg@20\n"
        "params:\n"
        "  train.lr: {type: float, low: 1e-4, high: 1.0e-1, log: true}\n"
        "  train.reg_weight: {type: float, low: 0.0, high: 0.01, step: 0.001}\n"
        "  model.num_layers: {type: int, low: 1, high: 4}\n"
        "  train.batch_size: {type: int, low: 512, high: 4096, log: true}\n"
        "  model.name: {type: categorical, choices: [lightgcn, sgl]}\n"
        "  model.params.ssl_lambda: {type: float, low: 0.001, high: 0.5, log: true, when: {model.name: sgl}}\n"
    )
    space = load_space(path)
    assert space.metric == "ndcg@20"
    assert space.names == ["train.lr", "train.reg_weight", "model.num_layers", "train.batch_size", "model.name",
                           "model.params.ssl_lambda"]
    lr, reg, layers, batch, name, ssl = space.params
    assert lr == FloatParam("train.lr", 1e-4, 0.1, log=True)  # "1e-4" (a YAML 1.1 string) read as a number
    assert reg.step == 0.001 and not reg.log
    assert layers == IntParam("model.num_layers", 1, 4)
    assert batch.log and batch.step == 1
    assert name == CategoricalParam("model.name", ["lightgcn", "sgl"])
    assert ssl.when == {"model.name": ["sgl"]}


def test_shipped_spaces_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs" / "spaces"
    for path in sorted(root.glob("*.yaml")):
        assert load_space(path).params, path


@pytest.mark.parametrize("space, message", [
    (_space(**{"train.lrr": {"type": "float", "low": 0.1, "high": 1}}), "parameter 'train.lrr': unknown config key 'train.lrr'"),
    (_space(**{"optim.lr": {"type": "float", "low": 0.1, "high": 1}}), "unknown config key 'optim'"),
    (_space(**{"train": {"type": "float", "low": 0.1, "high": 1}}), "not a single config value"),
    (_space(**{"train.lr.x": {"type": "float", "low": 0.1, "high": 1}}), "not a single config value"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 0.01}}), "parameter 'train.lr': low (0.1) > high (0.01)"),
    (_space(**{"model.num_layers": {"type": "int", "low": 5, "high": 2}}), "low (5) > high (2)"),
    (_space(**{"train.lr": {"type": "float", "low": "small", "high": 1}}), "parameter 'train.lr': 'low' must be a number"),
    (_space(**{"model.num_layers": {"type": "int", "low": 1.5, "high": 3}}), "'low' of an int parameter must be an integer"),
    (_space(**{"train.epochs": {"type": "float", "low": 1, "high": 3}}), "parameter 'train.epochs': train.epochs must be an integer"),
    (_space(**{"model.embedding_dim": {"type": "categorical", "choices": [32, "big"]}}), "model.embedding_dim must be an integer, got 'big'"),
    (_space(**{"model.embedding_dim": {"type": "categorical", "choices": []}}), "'choices' must be a non-empty list"),
    (_space(**{"model.embedding_dim": {"type": "categorical"}}), "'choices' must be a non-empty list"),
    (_space(**{"autograph.paths": {"type": "categorical", "choices": [["uqu"], ["ui"]]}}), "is not a scalar"),
    (_space(**{"train.lr": {"type": "uniform", "low": 0, "high": 1}}), "type must be float, int or categorical"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 1, "lgo": True}}), "unknown field(s) ['lgo']"),
    (_space(**{"train.lr": {"type": "float", "low": 0.0, "high": 1, "log": True}}), "a log scale needs low > 0"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 1, "log": "yes"}}), "'log' must be true or false"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 1, "log": True, "step": 0.1}}), "cannot be combined"),
    (_space(**{"model.num_layers": {"type": "int", "low": 1, "high": 4, "step": 0}}), "'step' must be a positive int"),
    (_space(**{"model.name": {"type": "int", "low": 1, "high": 3}}), "model.name is a text field"),
    (_space(**{"train.lr": 0.01}), "expected a mapping"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 1, "when": {"model.nme": "sgl"}}}), "'when' key 'model.nme': unknown config key"),
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 1, "when": "sgl"}}), "'when' must be a mapping"),
    # a condition on a parameter sampled later was evaluated against the base config instead
    (_space(**{"model.params.ssl_lambda": {"type": "float", "low": 0.01, "high": 0.5, "when": {"model.name": "sgl"}},
               "model.name": {"type": "categorical", "choices": ["lightgcn", "sgl"]}}),
     "parameter 'model.params.ssl_lambda': 'when' refers to 'model.name', which is sampled later; "
     "declare 'model.name' before 'model.params.ssl_lambda'"),
    # Optuna would only warn and search [0.1, 0.1] / [1, 3]
    (_space(**{"train.lr": {"type": "float", "low": 0.1, "high": 0.2, "step": 0.5}}),
     "parameter 'train.lr': 'step' 0.5 does not divide high - low (0.2 - 0.1)"),
    (_space(**{"model.num_layers": {"type": "int", "low": 1, "high": 4, "step": 2}}),
     "parameter 'model.num_layers': 'step' 2 does not divide high - low (4 - 1); the search would stop at 3"),
    ({"params": {}}, "'params' must be a non-empty mapping"),
    ({"parms": {"train.lr": {"type": "float", "low": 0.1, "high": 1}}}, "unknown top-level field(s) ['parms']"),
    ({"metric": "ndcg", "params": {"train.lr": {"type": "float", "low": 0.1, "high": 1}}}, "metric must look like 'ndcg@20'"),
    ([1, 2], "a search space is a mapping"),
])
def test_invalid_spaces_name_the_problem(space, message):
    with pytest.raises(SpaceError) as err:
        parse_space(space)
    assert message in str(err.value)


def test_step_on_the_grid_is_accepted():
    # decimal arithmetic: in floats 0.3 - 0.1 is not a multiple of 0.1
    space = parse_space(_space(**{"train.reg_weight": {"type": "float", "low": 0.1, "high": 0.3, "step": 0.1},
                                  "model.num_layers": {"type": "int", "low": 1, "high": 5, "step": 2}}))
    assert [p.step for p in space.params] == [0.1, 2]


def test_when_on_an_earlier_parameter_or_a_base_key_is_accepted():
    space = parse_space(_space(**{
        "model.name": {"type": "categorical", "choices": ["lightgcn", "sgl"]},
        "model.params.ssl_lambda": {"type": "float", "low": 0.01, "high": 0.5, "when": {"model.name": "sgl"}},
        "train.lr": {"type": "float", "low": 0.001, "high": 0.1, "when": {"train.epochs": 6}},  # not in the space
    }))
    assert space.params[1].when == {"model.name": ["sgl"]}


def test_model_params_choices_read_yaml_1_1_numbers(tmp_path):
    # PyYAML reads 1e-1 (no dot) as the string '1e-1'; a backbone then got tau='1e-1' and failed
    path = tmp_path / "space.yaml"
    path.write_text(
        "params:\n"
        "  model.params.tau: {type: categorical, choices: [1e-1, 2E-1, 0.5, auto]}\n"
        "  model.params.ssl_lambda: {type: float, low: 0.01, high: 0.1, when: {model.params.tau: 1e-1}}\n"
        "  data.columns.user: {type: categorical, choices: [1e5, uid]}\n"
    )
    tau, ssl, column = load_space(path).params
    assert tau.choices == [0.1, 0.2, 0.5, "auto"] and all(type(c) is float for c in tau.choices[:3])
    assert ssl.when == {"model.params.tau": [0.1]}  # read the same way, so it still matches
    assert column.choices == ["1e5", "uid"]  # column names stay text
    config = suggest_config(optuna.trial.FixedTrial({"model.params.tau": 0.1, "model.params.ssl_lambda": 0.05,
                                                     "data.columns.user": "uid"}), load_space(path))
    assert config.model.params == {"tau": 0.1, "ssl_lambda": 0.05}


def test_load_space_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("params:\n  train.lr: {type: float, low: 1, high: 0.1}\n")
    with pytest.raises(SpaceError, match=r"bad\.yaml: parameter 'train\.lr': low"):
        load_space(path)
    path.write_text("params: [unclosed\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(path)
    # a missing file raised FileNotFoundError, which `autograph-rec tune` printed as a traceback
    with pytest.raises(SpaceError, match=r"search space file .*none\.yaml not found"):
        load_space(tmp_path / "none.yaml")


def test_suggest_config_samples_active_params_only():
    space = parse_space({"metric": "ndcg@10", "params": {
        "model.name": {"type": "categorical", "choices": ["lightgcn", "sgl"]},
        "model.params.ssl_lambda": {"type": "float", "low": 0.001, "high": 0.5, "log": True, "when": {"model.name": "sgl"}},
        "train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 4},
    }})
    base = RunConfig().with_overrides(["train.epochs=7"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        config = suggest_config(trial, space, base)
        assert config.train.epochs == 7 and config.train.metric == "ndcg@10"
        assert 1e-4 <= config.train.lr <= 1e-1 and 1 <= config.model.num_layers <= 4
        assert ("model.params.ssl_lambda" in trial.params) == (config.model.name == "sgl")
        assert ("ssl_lambda" in config.model.params) == (config.model.name == "sgl")
        seen.add(config.model.name)
        study.tell(trial, 0.0)
    assert seen == {"lightgcn", "sgl"}
    assert base.train.metric == "recall@20" and base.model.params == {}  # the base is not modified


def test_suggest_config_rebuilds_from_fixed_params():
    space = parse_space({"params": {"train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                                    "model.embedding_dim": {"type": "categorical", "choices": [16, 32]}}})
    config = suggest_config(optuna.trial.FixedTrial({"train.lr": 0.003, "model.embedding_dim": 32}), space)
    assert config.train.lr == 0.003 and config.model.embedding_dim == 32


def test_optuna_is_optional(monkeypatch, tmp_path, capsys):
    import sys

    from autograph_rec.cli import main
    from autograph_rec.hpo._optuna import require_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'autograph-rec\[hpo\]'"):
        require_optuna()
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  train.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    load_space(space)  # parsing a space needs no Optuna
    assert main(["tune", "--space", str(space), "--n-trials", "1", "--output", str(tmp_path / "o")]) == 2
    assert "autograph-rec[hpo]" in capsys.readouterr().err
