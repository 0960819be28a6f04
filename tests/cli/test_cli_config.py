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
