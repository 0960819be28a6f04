r"""Optuna hyperparameter search over the whole pipeline (``pip install 'autograph-rec[hpo]'``).

* :func:`load_space` / :func:`parse_space` — a YAML search space into typed dataclasses;
* :func:`suggest_config` — a :class:`~autograph_rec.config.RunConfig` from an Optuna trial;
* :class:`OptunaPruningHook` — the trainer's ``eval_hook`` that reports and prunes;
* :func:`tune` — the study behind ``autograph-rec tune`` (embedded SQLite or any database URL,
  resumable, many workers, pruning, best config retrained and tested once).

Optuna is imported only when a function needs it.
"""

from .space import CategoricalParam, FloatParam, IntParam, SearchSpace, SpaceError, load_space, parse_space
from .suggest import suggest_config

__all__ = [
    "SearchSpace", "FloatParam", "IntParam", "CategoricalParam", "SpaceError", "load_space", "parse_space",
    "suggest_config", "OptunaPruningHook", "build_pruner", "build_sampler", "build_storage", "default_storage_url",
    "run_config", "tune", "TuneResult", "PRUNERS",
]

_LAZY = {
    "OptunaPruningHook": "pruning", "build_pruner": "pruning", "PRUNERS": "pruning",
    "build_sampler": "sampler", "build_storage": "storage", "default_storage_url": "storage",
    "run_config": "objective", "tune": "study", "TuneResult": "study",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
