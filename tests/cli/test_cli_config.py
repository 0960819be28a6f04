import pytest

from autograph_rec.cli import main
from autograph_rec.config import ConfigError, RunConfig


def test_yaml_roundtrip_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    RunConfig().with_overrides(["train.lr=0.02", "model.params.tau=0.3"]).to_yaml(path)
    loaded = RunConfig.from_yaml(path)
    assert loaded.train.lr == 0.02 and loaded.model.params == {"tau": 0.3}
    again = loaded.with_overrides(["train.lr=0.5"])
    assert again.train.lr == 0.5


@pytest.mark.parametrize("override,match", [
    ("train.lrr=1", "unknown config key 'train.lrr'"),
    ("train.epochs=abc", "train.epochs must be an integer"),
    ("nope.x=1", "unknown config section 'nope'"),
    ("train.lr", "must look like section.key=value"),
])
def test_bad_overrides_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides([override])


def test_bad_yaml_names_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  epochs: [1\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        RunConfig.from_yaml(path)
    path.write_text("train:\n  warmup: 3\n")
    with pytest.raises(ConfigError, match="bad.yaml.*train.warmup"):
        RunConfig.from_yaml(path)


def test_cli_config_error_exit_code(tmp_path, capsys):
    assert main(["train", "--output", str(tmp_path), "--set", "train.bogus=1"]) == 2
    assert "train.bogus" in capsys.readouterr().err


def test_cli_missing_data_is_clear(tmp_path, capsys):
    code = main(["train", "--dataset", "ml-100k", "--data-dir", str(tmp_path / "empty"),
                 "--set", "data.download=false", "--output", str(tmp_path / "run")])
    assert code == 2
    assert "ml-100k/u.data not found" in capsys.readouterr().err


def test_cli_trains_and_prints_table(real_data_dir, tmp_path, capsys):
    code = main(["train", "--dataset", "ml-100k", "--model", "mf", "--data-dir", str(real_data_dir),
                 "--epochs", "2", "--set", "train.eval_every=1", "--no-progress", "--output", str(tmp_path / "run")])
    assert code == 0
    out = capsys.readouterr().out
    assert "recall@20" in out and "best epoch" in out
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_exponent_without_dot_is_a_float():
    assert RunConfig().with_overrides(["train.reg_weight=1e-7"]).train.reg_weight == 1e-7


@pytest.mark.parametrize("override,match", [
    # each was accepted and then silently misbehaved or failed deep inside training
    ("train.epochs=0", "train.epochs must be >= 1"),  # reported the untrained model's metrics
    ("train.batch_size=0", "train.batch_size must be >= 1"),  # "range() arg 3 must not be zero"
    ("train.eval_every=0", "train.eval_every must be >= 1"),  # ZeroDivisionError after epoch 1
    ("train.patience=-1", "train.patience must be >= 0"),
    ("train.lr=-0.1", "train.lr must be a finite number > 0"),
    ("train.lr=0", "train.lr must be a finite number > 0"),  # trained nothing
    ("train.reg_weight=-1", "train.reg_weight must be a finite number >= 0"),  # a reward for large weights
    ("train.seed=-1", "train.seed must be >= 0"),  # numpy: "Seed must be between 0 and 2**32 - 1"
    ("data.seed=-1", "data.seed must be >= 0"),  # numpy: "expected non-negative integer"
    ("data.kcore=-2", "data.kcore must be >= 0"),  # silently no filter
    ("quantize.user_codebook_size=-5", "quantize.user_codebook_size must be 0"),  # silently picked from N
    ("quantize.item_codebook_size=1", "quantize.item_codebook_size must be 0"),
    ("autograph.factor_weight=-1", "autograph.factor_weight must be a finite number >= 0"),  # NaN loss
    ("autograph.levels=-1", "autograph.levels must be >= 0"),
    ("llm.limit=-1", "llm.limit must be >= 0"),  # profiled nobody
    ("encode.batch_size=0", "encode.batch_size must be >= 1"),  # failed after the profiles stage
    ("llm.batch_size=0", "llm.batch_size must be >= 1"),
    ("eval.batch_size=0", "eval.batch_size must be >= 1"),
])
def test_out_of_range_values_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides([override])


def test_out_of_range_value_in_yaml_names_file_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 0\n")
    with pytest.raises(ConfigError, match="c.yaml: train.epochs must be >= 1, got 0"):
        RunConfig.from_yaml(path)


def test_missing_config_file_is_a_config_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="config file .*none.yaml not found"):
        RunConfig.from_yaml(tmp_path / "none.yaml")
    # the CLI printed a FileNotFoundError traceback
    assert main(["train", "--config", str(tmp_path / "none.yaml"), "--output", str(tmp_path / "run")]) == 2
    assert "none.yaml not found" in capsys.readouterr().err


def test_cli_missing_csv_is_clear(tmp_path, capsys):
    # load_csv raised a bare FileNotFoundError, which the CLI printed as a traceback
    code = main(["train", "--dataset", "csv", "--data-path", str(tmp_path / "none.csv"), "--output", str(tmp_path / "run")])
    assert code == 2
    assert "interactions file not found" in capsys.readouterr().err


@pytest.mark.parametrize("output", ["runs/a #2", "010", "1:30", "null", "runs/exp: lr"])
def test_cli_flags_are_taken_as_typed(tmp_path, output):
    from autograph_rec.cli import _parser, build_config

    # they were re-read as YAML: '#' started a comment (the run wrote into ./runs), 010 became 8,
    # null None, and "exp: lr" a mapping (ConfigError)
    args = _parser().parse_args(["run", "--output", output, "--data-path", "data/inter #1.csv",
                                 "--llm-model", "1.10", "--epochs", "3", "--set", "train.lr=0.01"])
    config = build_config(args)
    assert (config.output, config.data.path, config.llm.model) == (output, "data/inter #1.csv", "1.10")
    assert config.train.epochs == 3 and config.train.lr == 0.01  # --set still parses YAML


def test_cli_prints_the_table_without_test_metrics(monkeypatch, tmp_path, capsys):
    from autograph_rec import pipeline
    from autograph_rec.train import TrainResult

    result = TrainResult(valid={"recall@20": 0.3, "ndcg@20": 0.2}, test={}, best_epoch=5, epochs_run=10,
                         seconds=1.0, seconds_per_epoch=0.1, seconds_per_eval=0.01)
    monkeypatch.setattr(pipeline, "run_training", lambda config, progress=True: result)
    # train.evaluate_test=false: "max() arg is an empty sequence" after training had finished
    assert main(["train", "--output", str(tmp_path / "r"), "--set", "train.evaluate_test=false"]) == 0
    out = capsys.readouterr().out
    assert "recall@20" in out and "0.3000" in out and "-" in out.splitlines()[-3]


def test_cli_a_diverging_run_is_one_line(monkeypatch, tmp_path, capsys):
    from autograph_rec import pipeline

    def diverge(config, progress=True):
        raise FloatingPointError("training loss became nan at epoch 3; lower train.lr")

    monkeypatch.setattr(pipeline, "run_training", diverge)
    assert main(["train", "--output", str(tmp_path / "r")]) == 2  # was a traceback, exit 1
    assert "lower train.lr" in capsys.readouterr().err
