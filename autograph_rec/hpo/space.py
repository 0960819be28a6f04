"""Search spaces declared in YAML, parsed into typed dataclasses.

A space file maps dotted :class:`~autograph_rec.config.RunConfig` keys to distributions::

    metric: ndcg@20                 # validation metric to maximise (default: train.metric)
    params:
      train.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      model.num_layers: {type: int, low: 1, high: 4}
      model.embedding_dim: {type: categorical, choices: [32, 64, 128]}
      model.params.ssl_lambda: {type: float, low: 0.001, high: 0.5, log: true, when: {model.name: sgl}}

Parameters are sampled in file order; ``when`` makes a parameter conditional on the value of
another key: a parameter of the space, which must then be declared earlier in the file, or any
other config key, read from the base config.

PyYAML reads ``1e-4`` (no dot) as a string (YAML 1.1). Float bounds, and choices of float config
fields, are read as the numbers they mean; so are the choices and ``when`` values of the free-form
``model.params.*`` keys that look like ``1e-4`` (nothing else tells them apart from text).
"""

from __future__ import annotations

import dataclasses
import decimal
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..config import ConfigError, RunConfig, _coerce, read_yaml

_FREE_MAPPINGS = {("model", "params"), ("data", "columns")}
_SCALARS = (type(None), bool, int, float, str)
# a number in exponent notation, which YAML 1.1 leaves a string unless it has a dot and a signed
# exponent ("1e-4", "1.0e5")
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class SpaceError(ValueError):
    """A search space is invalid; the message names the parameter."""


@dataclass
class FloatParam:
    """A float in ``[low, high]``, optionally log-uniform or on a grid of ``step``."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class IntParam:
    """An integer in ``[low, high]`` (inclusive), optionally log-uniform or every ``step``."""

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    when: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class CategoricalParam:
    """One of ``choices`` (scalars: null, bool, int, float or str)."""

    name: str
    choices: list[Any]
    when: dict[str, list[Any]] = field(default_factory=dict)


Param = Union[FloatParam, IntParam, CategoricalParam]


@dataclass
class SearchSpace:
    r"""The parameters of a study and the validation metric it maximises.

    Args:
        params (list): :class:`FloatParam`, :class:`IntParam` or :class:`CategoricalParam`,
            in sampling order.
        metric (str, optional): validation metric to maximise, e.g. ``ndcg@20``; ``None``
            keeps the base config's ``train.metric``.
    """

    params: list[Param] = field(default_factory=list)
    metric: str | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search space YAML file (see the module docstring for the format)."""
    data = read_yaml(Path(path), "search space file", SpaceError)
    try:
        return parse_space(data)
    except SpaceError as exc:
        raise SpaceError(f"{path}: {exc}") from None


def parse_space(data: Any) -> SearchSpace:
    """Validate a space given as a mapping (the parsed YAML) and return it typed.

    Raises:
        SpaceError: an unknown config key, an unknown or missing field, ``low > high``, a
            bound or choice of the wrong type, empty ``choices``, a ``step`` that does not
            divide ``high - low``, or a ``when`` on an unknown key or on a parameter declared
            later in the space.
    """
    if not isinstance(data, dict):
        raise SpaceError(f"a search space is a mapping with 'params' (and optionally 'metric'), got {type(data).__name__}")
    unknown = set(data) - {"params", "metric"}
    if unknown:
        raise SpaceError(f"unknown top-level field(s) {sorted(unknown)}; expected 'params' and optionally 'metric'")
    raw_params = data.get("params")
    if not isinstance(raw_params, dict) or not raw_params:
        raise SpaceError("'params' must be a non-empty mapping of config keys to distributions")
    metric = data.get("metric")
    if metric is not None and (not isinstance(metric, str) or "@" not in metric):
        raise SpaceError(f"metric must look like 'ndcg@20', got {metric!r}")
    params = []
    for name, spec in raw_params.items():
        params.append(_parse_param(str(name), spec, seen=[p.name for p in params]))
    _check_when_order(params)
    return SearchSpace(params, metric)


def _check_when_order(params: list[Param]) -> None:
    """Refuse a ``when`` on a parameter of the space that is not sampled before it.

    :func:`~autograph_rec.hpo.suggest_config` samples in file order, so such a condition would be
    evaluated against the base config's value and the parameter (silently) never sampled, or
    always.
    """
    order = {p.name: i for i, p in enumerate(params)}
    for i, param in enumerate(params):
        for key in param.when:
            if order.get(key, -1) > i:
                raise SpaceError(f"parameter {param.name!r}: 'when' refers to {key!r}, which is sampled later; "
                                 f"declare {key!r} before {param.name!r}")


def _parse_param(name: str, spec: Any, seen: list[str]) -> Param:
    tp = field_type(name)
    if not isinstance(spec, dict):
        raise SpaceError(f"parameter {name!r}: expected a mapping like {{type: float, low: ..., high: ...}}, got {spec!r}")
    kind = spec.get("type")
    allowed = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"},
               "categorical": {"choices"}}
    if kind not in allowed:
        raise SpaceError(f"parameter {name!r}: type must be float, int or categorical, got {kind!r}")
    extra = set(spec) - allowed[kind] - {"type", "when"}
    if extra:
        raise SpaceError(f"parameter {name!r}: unknown field(s) {sorted(extra)} for type {kind}; allowed: {sorted(allowed[kind])}")
    when = _parse_when(name, spec.get("when"), seen)
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"parameter {name!r}: 'choices' must be a non-empty list, got {choices!r}")
        choices = [_free_number(name, choice) for choice in choices]
        for choice in choices:
            if not isinstance(choice, _SCALARS):
                raise SpaceError(f"parameter {name!r}: choice {choice!r} is not a scalar (null, bool, int, float, str)")
            _check_value(name, tp, choice)
        return CategoricalParam(name, choices, when)
    low, high = _bound(name, spec, "low", kind), _bound(name, spec, "high", kind)
    if low > high:
        raise SpaceError(f"parameter {name!r}: low ({low}) > high ({high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"parameter {name!r}: 'log' must be true or false, got {log!r}")
    if log and low <= 0:
        raise SpaceError(f"parameter {name!r}: a log scale needs low > 0, got {low}")
    step = spec.get("step")
    if step is not None:
        ok = isinstance(step, int) if kind == "int" else isinstance(step, (int, float))
        if isinstance(step, bool) or not ok or step <= 0:
            raise SpaceError(f"parameter {name!r}: 'step' must be a positive {kind}, got {step!r}")
        if log and (kind == "float" or step != 1):
            raise SpaceError(f"parameter {name!r}: 'step' and 'log' cannot be combined")
        _check_step_divides(name, low, high, step)
    for bound in (low, high):  # a float parameter must fit a float field (not an int or a text one)
        coerced = _check_value(name, tp, float(bound) if kind == "float" else bound)
        if isinstance(coerced, str):
            raise SpaceError(f"parameter {name!r}: {name} is a text field; use type: categorical")
    if kind == "int":
        return IntParam(name, low, high, log, step or 1, when)
    return FloatParam(name, float(low), float(high), log, None if step is None else float(step), when)


def _bound(name: str, spec: dict, key: str, kind: str):
    value = spec.get(key)
    if isinstance(value, str) and kind == "float":
        try:  # YAML 1.1 reads "1e-4" (no dot) as a string
            value = float(value)
        except ValueError:
            pass
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise SpaceError(f"parameter {name!r}: {key!r} of an int parameter must be an integer, got {value!r}")
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SpaceError(f"parameter {name!r}: {key!r} must be a number, got {value!r}")
    return value


def _check_step_divides(name: str, low, high, step) -> None:
    """Refuse a ``step`` that does not divide ``high - low``: Optuna would only warn and lower
    ``high`` to the last point of the grid, so the study would search a narrower range than declared."""
    # decimal arithmetic on the written values, as Optuna's own check (0.3 - 0.1 is not 0.2 in floats)
    span = decimal.Decimal(str(high)) - decimal.Decimal(str(low))
    grid = decimal.Decimal(str(step))
    if span % grid != 0:
        last = decimal.Decimal(str(low)) + (span // grid) * grid
        raise SpaceError(f"parameter {name!r}: 'step' {step} does not divide high - low ({high} - {low}); "
                         f"the search would stop at {last}: change 'step', 'low' or 'high'")


def _free_number(key: str, value: Any) -> Any:
    """``value`` as a float if ``key`` is a free-form ``model.params.*`` key and ``value`` a string
    like ``"1e-4"`` that YAML 1.1 did not read as a number (typed keys are coerced by their type;
    ``data.columns.*`` values are column names, always text)."""
    if key.startswith("model.params.") and isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        return float(value)
    return value


def _parse_when(name: str, when: Any, seen: list[str]) -> dict[str, list[Any]]:
    if when is None:
        return {}
    if not isinstance(when, dict) or not when:
        raise SpaceError(f"parameter {name!r}: 'when' must be a mapping like {{model.name: sgl}}, got {when!r}")
    out = {}
    for key, accepted in when.items():
        key = str(key)
        tp = field_type(key, context=f"parameter {name!r}: 'when' key")
        accepted = accepted if isinstance(accepted, list) else [accepted]
        # the same reading as the choices of that key, or a sampled 1e-1 would never match '1e-1'
        accepted = [_free_number(key, value) for value in accepted]
        for value in accepted:
            _check_value(key, tp, value, context=f"parameter {name!r}: 'when'")
        out[key] = accepted
    return out


def field_type(key: str, context: str | None = None):
    """The annotated type of the dotted :class:`RunConfig` key ``key`` (``Any`` inside
    ``model.params`` / ``data.columns``); raises :class:`SpaceError` for unknown keys."""
    context = context or "parameter"
    parts = key.split(".")
    cls: Any = RunConfig
    for i, part in enumerate(parts):
        if tuple(parts[:2]) in _FREE_MAPPINGS and i == 2 and len(parts) == 3:
            return Any
        if not dataclasses.is_dataclass(cls):
            break
        hints = typing.get_type_hints(cls)
        if part not in hints:
            known = sorted(f.name for f in dataclasses.fields(cls))
            raise SpaceError(f"{context} {key!r}: unknown config key {'.'.join(parts[:i + 1])!r}; known here: {known}")
        cls = hints[part]
    else:
        if not dataclasses.is_dataclass(cls):
            return cls
    raise SpaceError(f"{context} {key!r}: not a single config value (use e.g. 'train.lr' or 'model.params.tau')")


def _check_value(key: str, tp, value, context: str | None = None):
    try:
        return _coerce(tp, value, key)
    except ConfigError as exc:
        raise SpaceError(f"{context or 'parameter'} {key!r}: {exc}") from None
