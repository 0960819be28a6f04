"""Your own Optuna objective over autograph_rec (the example in docs/hpo.md, run by tests/hpo)."""

import optuna

from autograph_rec.config import RunConfig
from autograph_rec.hpo import OptunaPruningHook, load_space, suggest_config
from autograph_rec.pipeline import run_training


def tune_lightgcn(base: RunConfig, n_trials: int = 20, output: str = "runs/my_study",
                  space_file: str = "configs/spaces/lightgcn.yaml") -> optuna.Study:
    space = load_space(space_file)

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space, base)          # a RunConfig with this trial's values
        config.output = f"{output}/trial_{trial.number}"
        metric = config.train.metric                         # the space's metric, e.g. ndcg@20
        result = run_training(config, progress=False, eval_hook=OptunaPruningHook(trial, metric))
        return result.valid[metric]                          # validation only: test stays untouched

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=10))
    study.optimize(objective, n_trials=n_trials)
    return study


if __name__ == "__main__":
    base = RunConfig().with_overrides(["data.name=ml-100k", "train.epochs=40", "train.num_threads=1"])
    study = tune_lightgcn(base)
    print(study.best_value, study.best_params)
