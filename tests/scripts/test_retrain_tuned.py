"""scripts/retrain_tuned.py: a study's best config rebuilt from its result record, and the table."""

from types import SimpleNamespace


def test_best_config_is_the_study_base_with_the_best_params(load_script):
    rt = load_script("retrain_tuned")
    study_args = SimpleNamespace(dataset="ml-100k", dim=32, epochs=40, threads=1, data_dir=None, runs="runs/x",
                                 llm_cache=None)
    space = {"metric": "ndcg@20", "params": {
        "train.lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 4},
        "autograph.factor_weight": {"type": "float", "low": 0.05, "high": 2.0, "log": True}}}
    record = {"model": "sgl", "variant": "none", "space": space,
              "best_params": {"train.lr": 0.00118, "model.num_layers": 4, "autograph.factor_weight": 0.085}}
    config = rt.best_config(study_args, record)
    assert (config.model.name, config.model.embedding_dim, config.model.num_layers) == ("sgl", 32, 4)
    assert (config.train.lr, config.train.epochs, config.autograph.factor_weight) == (0.00118, 40, 0.085)
    assert config.autograph.enabled and config.llm.backend == "none"


def test_table_sets_recorded_and_new_changes_side_by_side(load_script):
    rt = load_script("retrain_tuned")
    rows = [{"model": "sgl", "variant": "vanilla", "best_params": {"train.lr": 0.001}, "recorded": [0.2, 0.2],
             "now": [0.2, 0.2]},
            {"model": "sgl", "variant": "none", "best_params": {"model.num_layers": 4}, "recorded": [0.22, 0.22],
             "now": [0.19, 0.21]}]
    line = rt.table(rows).splitlines()[-1]
    assert line == "| sgl | none | num_layers=4 | 0.2200 ± 0.0000 | 0.2000 ± 0.0141 | +10.0 % | +0.0 % |"


def test_a_recorded_best_config_is_used_with_this_runs_host_settings(load_script):
    from autograph_rec.config import RunConfig

    rt = load_script("retrain_tuned")
    recorded = RunConfig().with_overrides(["model.name=ngcf", "train.lr=0.0042", "autograph.view_factor_weight=null",
                                           "train.num_threads=8", "data.data_dir=/their/data", "train.epochs=40"])
    record = {"model": "ngcf", "variant": "none", "space": {"params": {}}, "best_params": {},
              "best_config": {**recorded.to_dict(), "output": None}}
    study_args = SimpleNamespace(dataset="ml-100k", dim=64, epochs=300, threads=1, data_dir="/our/data", runs="runs/x",
                                 llm_cache=None)
    config = rt.best_config(study_args, record)
    # what it computes is the record's (its epochs, lr, view weight), not the study arguments' ...
    assert (config.train.lr, config.train.epochs, config.autograph.view_factor_weight) == (0.0042, 40, None)
    # ... where it runs is this run's
    assert (config.train.num_threads, config.data.data_dir) == (1, "/our/data")
    assert config.with_host_settings(recorded).to_dict() == {**recorded.to_dict(), "output": None}
