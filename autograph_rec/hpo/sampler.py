"""A TPE sampler seeded per trial number: reproducible alone, distinct across workers."""

from __future__ import annotations

import numpy as np

from ._optuna import require_optuna


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` in a study seeded ``seed``.

    Mixed by :class:`numpy.random.SeedSequence`, not ``seed + number``: with a sum, the study
    seeded ``s + 1`` drew exactly the start-up points of the study seeded ``s``, shifted by one
    trial, so "another seed" was not another sample.
    """
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def build_sampler(seed: int = 0, startup_trials: int = 10):
    r"""A seeded TPE sampler whose randomness depends on ``(seed, trial.number)``.

    One seeded ``TPESampler`` per worker would make every worker of a shared study draw the
    same random start-up points. Here each trial gets a fresh TPE sampler seeded with
    :func:`trial_seed` ``(seed, number)`` (TPE keeps its history in the study, not in the
    sampler), so a single worker is reproducible, parallel workers still explore different
    points, and different seeds give unrelated draws.

    This derivation replaced ``seed + number``: a study started now draws other start-up points
    than one started before the change with the same seed, and an older study resumed now seeds
    its remaining trials the new way.

    Args:
        seed (int): base seed. (default: ``0``)
        startup_trials (int): random trials before TPE starts modelling. (default: ``10``)
    """
    optuna = require_optuna()
    if seed < 0:  # SeedSequence (and TPE) take non-negative seeds only
        raise ValueError(f"sampler seed must be >= 0, got {seed}")

    class TrialSeededTPESampler(optuna.samplers.BaseSampler):
        def __init__(self):
            self.seed, self.startup_trials = seed, startup_trials
            self._inner = self._make(seed)

        def _make(self, s: int):
            return optuna.samplers.TPESampler(seed=s, n_startup_trials=self.startup_trials)

        def before_trial(self, study, trial):
            self._inner = self._make(trial_seed(self.seed, trial.number))
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
