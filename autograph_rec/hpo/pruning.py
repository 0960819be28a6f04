"""Optuna pruning for the :class:`~autograph_rec.train.Trainer`, and pruner selection."""

from __future__ import annotations

from ._optuna import require_optuna

PRUNERS = ("median", "hyperband", "none")


class OptunaPruningHook:
    r"""Reports each validation of a :class:`~autograph_rec.train.Trainer` to an Optuna trial
    and stops the training when the study's pruner says so.

    Use it as the trainer's ``eval_hook`` (or pass it to
    :meth:`~autograph_rec.pipeline.AutoGraphPipeline.train` /
    :func:`~autograph_rec.pipeline.run_training`). The step reported is the epoch.

    Args:
        trial (optuna.trial.Trial): the running trial.
        metric (str): validation metric to report, e.g. ``ndcg@20``.
        last_epoch (int, optional): the run's final epoch (``train.epochs``): its validation is
            reported but never pruned, since the trial is complete by then and pruning would only
            throw its result away (Optuna's pruners also judge the last report). (default: :obj:`None`)

    Raises:
        optuna.TrialPruned: from the call after a validation the pruner judged unpromising.
    """

    def __init__(self, trial, metric: str, last_epoch: int | None = None):
        self.trial = trial
        self.metric = metric
        self.last_epoch = last_epoch

    def __call__(self, epoch: int, valid_metrics: dict[str, float]) -> None:
        if self.metric not in valid_metrics:
            raise KeyError(f"pruning metric {self.metric!r} is not among the validation metrics {sorted(valid_metrics)}")
        value = float(valid_metrics[self.metric])
        self.trial.report(value, step=epoch)
        if self.last_epoch is not None and epoch >= self.last_epoch:
            return
        if self.trial.should_prune():
            raise require_optuna().TrialPruned(f"pruned at epoch {epoch} ({self.metric} {value:.4f})")


def build_pruner(name: str = "median", warmup_epochs: int = 0, min_epochs: int = 1, max_epochs: int | None = None,
                 startup_trials: int = 5):
    r"""An Optuna pruner by name.

    Args:
        name (str): ``median`` (prune below the median of earlier trials at the same epoch),
            ``hyperband`` (successive halving over epoch budgets) or ``none``.
        warmup_epochs (int): ``median`` never prunes before this epoch (use the trainer's
            ``warmup_epochs``: validation can sit on an early plateau). (default: ``0``)
        min_epochs (int): ``hyperband``'s smallest budget (e.g. ``eval_every``). (default: ``1``)
        max_epochs (int, optional): ``hyperband``'s largest budget (``train.epochs``).
        startup_trials (int): ``median`` prunes nothing until this many trials finished.
            (default: ``5``)
    """
    optuna = require_optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, min_epochs),
                                              max_resource=max_epochs if max_epochs else "auto", reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")
