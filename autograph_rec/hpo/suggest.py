"""Turn an Optuna trial and a search space into a :class:`~autograph_rec.config.RunConfig`."""

from __future__ import annotations

from typing import Any

from ..config import RunConfig
from .space import CategoricalParam, FloatParam, IntParam, SearchSpace


def suggest_config(trial, space: SearchSpace, base_config: RunConfig | None = None) -> RunConfig:
    r"""Sample every (active) parameter of ``space`` from ``trial`` into a copy of ``base_config``.

    The public entry point for your own Optuna objectives. Parameter names in the study are the
    dotted config keys (``train.lr``). A parameter whose ``when`` condition does not hold (e.g.
    ``when: {model.name: sgl}`` while the trial chose ``lightgcn``) is not sampled and keeps the
    base value. If ``space.metric`` is set it becomes ``train.metric``, so the trainer selects
    its best epoch on the metric the study maximises.

    Args:
        trial (optuna.trial.BaseTrial): a live trial, or ``optuna.trial.FixedTrial(params)`` to
            rebuild the config of finished trial's params.
        space (SearchSpace): from :func:`~autograph_rec.hpo.load_space` or
            :func:`~autograph_rec.hpo.parse_space`.
        base_config (RunConfig, optional): values of everything not tuned (default:
            ``RunConfig()``).

    Returns:
        RunConfig: a new config; ``base_config`` is not modified.
    """
    data = (base_config or RunConfig()).to_dict()
    if space.metric:
        data["train"]["metric"] = space.metric
    for param in space.params:
        if not all(_get(data, key) in accepted for key, accepted in param.when.items()):
            continue
        _set(data, param.name, _suggest(trial, param))
    return RunConfig.from_dict(data)


def _suggest(trial, param) -> Any:
    if isinstance(param, FloatParam):
        return trial.suggest_float(param.name, param.low, param.high, log=param.log, step=param.step)
    if isinstance(param, IntParam):
        return trial.suggest_int(param.name, param.low, param.high, log=param.log, step=param.step)
    if isinstance(param, CategoricalParam):
        return trial.suggest_categorical(param.name, param.choices)
    raise TypeError(f"unknown parameter type {type(param).__name__}")


def _get(data: dict, key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(data: dict, key: str, value: Any) -> None:
    *head, last = key.split(".")
    node = data
    for part in head:
        node = node.setdefault(part, {})
    node[last] = value
