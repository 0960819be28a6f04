"""A TPE sampler seeded per trial number: reproducible alone, distinct across workers."""

from __future__ import annotations

from ._optuna import require_optuna


def build_sampler(seed: int = 0, startup_trials: int = 10):
    r"""A seeded TPE sampler whose randomness depends on ``(seed, trial.number)``.

    One seeded ``TPESampler`` per worker would make every worker of a shared study draw the
    same random start-up points. Here each trial gets a fresh ``TPESampler(seed=seed + number)``
    (TPE keeps its history in the study, not in the sampler), so a single worker is
    reproducible and parallel workers still explore different points.

    Args:
        seed (int): base seed. (default: ``0``)
        startup_trials (int): random trials before TPE starts modelling. (default: ``10``)
    """
    optuna = require_optuna()

    class TrialSeededTPESampler(optuna.samplers.BaseSampler):
        def __init__(self):
            self.seed, self.startup_trials = seed, startup_trials
            self._inner = self._make(seed)

        def _make(self, s: int):
            return optuna.samplers.TPESampler(seed=s, n_startup_trials=self.startup_trials)

        def before_trial(self, study, trial):
            self._inner = self._make(self.seed + trial.number)
            self._inner.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._inner.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self._inner.after_trial(study, trial, state, values)

        def reseed_rng(self):
            self._inner.reseed_rng()

        def __repr__(self):
            return f"TrialSeededTPESampler(seed={self.seed}, startup_trials={self.startup_trials})"

    return TrialSeededTPESampler()
