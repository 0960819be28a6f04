"""``autograph-rec tune``: a study of N finished trials shared by any number of workers."""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ._optuna import require_optuna
from .objective import PipelineObjective, best_dir, config_digest, run_config, stage_lock
from .pruning import build_pruner
from .sampler import build_sampler
from .space import SearchSpace, load_space
from .storage import build_storage, default_storage_url
from .suggest import suggest_config

logger = logging.getLogger(__name__)


class _SurplusTrial(Exception):
    """Raised by a trial that another worker's trial made unnecessary (ends FAIL, no params)."""


@dataclass
class TuneResult:
    """What :func:`tune` returns; ``retrained`` holds the best config's retraining (with TEST)."""

    study_name: str
    storage: str
    metric: str
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    best_config: RunConfig
    counts: dict[str, int]
    seconds: float  # wall time of this call (near 0 when it only reloads a finished study)
    trial_seconds: float  # summed durations of the study's complete and pruned trials, all calls and workers
    trial_span: tuple[str, str] | None = None  # first start and last end of those trials (storage clock, ISO)
    retrained: dict[str, Any] | None = field(default=None)
    valid_seeds: list[int] | None = None  # the validation seeds the objective averaged over; None: one set


def tune(
    space: SearchSpace | str | Path,
    base_config: RunConfig | None = None,
    output: str | Path = "runs/tune",
    n_trials: int = 20,
    storage: str | None = None,
    study_name: str = "autograph-rec",
    pruner: str = "median",
    seed: int = 0,
    retrain: bool = True,
    heartbeat_interval: int = 30,
    grace_period: int | None = None,
    progress: bool = False,
    valid_seeds=None,
) -> TuneResult:
    r"""Run (or join, or resume) a study until it has ``n_trials`` complete or pruned trials.

    The objective is the best-epoch **validation** ``metric`` (the space's ``metric``, else
    ``train.metric``); the study never reads a test metric, and a study keeps the metric it was
    created with. Test metrics are reported only for the best config, retrained once at the end
    into ``<output>/best/<study name>/``, which also holds ``best.yaml`` (its full config) and
    ``best_metrics.json`` (validation and test metrics). The best config is the one its trial
    trained (kept in the study), not one rebuilt from the current ``space`` and ``base_config``.

    With ``valid_seeds`` every trial trains once per validation seed (``data.valid_seed``: the
    test set of ``data.seed``, the rest re-divided into training and validation) and the
    objective is the mean of their validation metrics: one validation set is small, and a config
    tuned on it alone tends to win there by chance more than on test. The best config is
    retrained on the base config's split and tested on its test set, which no validation set of
    the search overlaps. A study keeps the validation seeds it was created with.

    Several workers may run this on one study at once (same ``storage`` and ``study_name``): the
    count is shared, a worker never starts a trial the count no longer needs, and a worker
    killed mid-trial leaves a trial that the others mark ``FAIL`` after ``grace_period`` and run
    again with the same parameters. An interrupted study resumes where it stopped.

    Args:
        space (SearchSpace or str): the space, or a YAML file of it.
        base_config (RunConfig, optional): everything not tuned. (default: ``RunConfig()``)
        output (str or Path): tune directory: ``study.db`` (the default storage), shared
            ``stages/``, and per study ``trials/<study name>/<number>/`` and
            ``best/<study name>/`` (so several studies can share one directory; a study name
            that is not a plain file name gets a sanitised folder name with a hash).
        n_trials (int): complete + pruned trials the study should reach (all workers together).
        storage (str, optional): database URL, e.g. ``postgresql://user@host/db``; default
            ``sqlite:///<output>/study.db``.
        study_name (str): study to create or join. (default: ``"autograph-rec"``)
        pruner (str): ``median``, ``hyperband`` or ``none``. (default: ``"median"``)
        seed (int): sampler seed. (default: ``0``)
        retrain (bool): retrain the best config and evaluate it on test. (default: ``True``)
        heartbeat_interval (int): seconds between a running trial's heartbeats. (default: ``30``)
        grace_period (int, optional): silence after which a trial's worker counts as dead.
            (default: ``2 * heartbeat_interval``)
        progress (bool): progress bar while retraining the best config.
        valid_seeds (list of int, optional): average the objective over these validation seeds
            (random splits only; a seed equal to ``data.seed`` is that split's own validation
            set); :obj:`None`: the base config's validation set alone. (default: :obj:`None`)

    Raises:
        ValueError: the study exists with another objective metric or other validation seeds; or its
            best trial (from an older version, which did not store its config) tuned a key the
            space no longer has; or ``valid_seeds`` is invalid (see
            :func:`~autograph_rec.hpo.objective.check_valid_seeds`).
    """
    optuna = require_optuna()
    space = load_space(space) if isinstance(space, (str, Path)) else space
    base = base_config or RunConfig()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    metric = space.metric or base.train.metric
    _check_metric(metric, base)
    objective = PipelineObjective(space, base, output, valid_seeds)
    url = storage or default_storage_url(output)
    study = optuna.create_study(
        study_name=study_name,
        storage=build_storage(url, heartbeat_interval, grace_period),
        sampler=build_sampler(seed),
        pruner=build_pruner(pruner, warmup_epochs=base.train.warmup_epochs, min_epochs=base.train.eval_every,
                            max_epochs=base.train.epochs),
        direction="maximize",
        load_if_exists=True,
    )
    _check_study_metric(study, f"valid {metric}")
    _check_study_valid_seeds(study, objective.valid_seeds)
    start = time.perf_counter()
    _run_until(study, objective, n_trials, poll=min(2.0, heartbeat_interval / 2))
    counts = _counts(study)
    try:
        best = study.best_trial
    except ValueError:
        raise RuntimeError(f"study {study_name!r} has no complete trial (counts {counts})") from None
    best_config = replace(_trial_config(best, space, base, study_name), output=str(best_dir(output, study_name)))
    Path(best_config.output).mkdir(parents=True, exist_ok=True)
    best_config.to_yaml(Path(best_config.output) / "best.yaml")
    result = TuneResult(study_name, _redact(url), metric, best.number, float(best.value), dict(best.params),
                        best_config, counts, time.perf_counter() - start, *_trial_timing(study),
                        valid_seeds=None if objective.valid_seeds is None else list(objective.valid_seeds))
    if retrain:
        result.retrained = retrain_best(result, output, progress)
    return result


def retrain_best(result: TuneResult, output: str | Path, progress: bool = False) -> dict[str, Any]:
    """Train the best config once into its ``output`` (``<output>/best/<study name>/``) and write
    ``best_metrics.json`` there with its validation and TEST metrics.

    A worker finding that file reuses it only if it is the retraining of the same thing: same
    study, storage, trial, parameters and config (by :func:`~autograph_rec.hpo.objective.config_digest`);
    a recreated study, another database or a changed config is retrained.
    """
    output = Path(output)
    path = Path(result.best_config.output) / "best_metrics.json"
    identity = {
        "study": result.study_name,
        "storage": result.storage,
        "trial": result.best_trial,
        # through JSON, as read back from the file (tuples become lists)
        "params": json.loads(json.dumps(result.best_params)),
        "config_sha256": config_digest(result.best_config),
    }
    with stage_lock(output):
        if path.is_file():
            done = json.loads(path.read_text())
            if all(done.get(key) == value for key, value in identity.items()):
                return done
        train, stages = run_config(result.best_config, output / "stages", progress=progress)
        payload = {
            **identity,
            "metric": result.metric,
            "study_best_valid": result.best_value,
            "valid": train.valid,
            "test": train.test,
            "best_epoch": train.best_epoch,
            "epochs_run": train.epochs_run,
            "seconds": train.seconds,
            "run_dir": result.best_config.output,
            "stages": stages,
        }
        path.write_text(json.dumps(payload, indent=2))
        return payload


def _run_until(study, objective: PipelineObjective, n_trials: int, poll: float) -> None:
    optuna = require_optuna()

    def slotted(trial) -> float:
        # the pre-check below races with other workers; the trial numbers settle it
        taken = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number and t.state in _active_states()]
        if len(taken) >= n_trials:
            trial.set_user_attr("surplus", True)
            raise _SurplusTrial(f"the study already has {n_trials} trials finished or under way")
        return objective(trial)

    waiting_logged = False
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        c = _counts(study)
        if c["complete"] + c["pruned"] >= n_trials:
            return
        if c["waiting"] == 0 and c["complete"] + c["pruned"] + c["running"] >= n_trials:
            if not waiting_logged:
                logger.info("waiting for %d running trial(s) of other workers", c["running"])
                waiting_logged = True
            time.sleep(poll)
            continue
        waiting_logged = False
        study.optimize(slotted, n_trials=1, catch=(_SurplusTrial,))


def _active_states():
    state = require_optuna().trial.TrialState
    return (state.COMPLETE, state.PRUNED, state.RUNNING, state.WAITING)


def _counts(study) -> dict[str, int]:
    counts = {"complete": 0, "pruned": 0, "fail": 0, "running": 0, "waiting": 0}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    return counts


def _trial_timing(study) -> tuple[float, tuple[str, str] | None]:
    """Summed seconds and (first start, last end) of the complete and pruned trials: what the search
    took over every call and worker, so a call that only reloads a finished study still reports it."""
    optuna = require_optuna()
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    trials = [t for t in study.get_trials(deepcopy=False, states=finished) if t.datetime_start and t.datetime_complete]
    if not trials:
        return 0.0, None
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials)
    span = (min(t.datetime_start for t in trials).isoformat(timespec="seconds"),
            max(t.datetime_complete for t in trials).isoformat(timespec="seconds"))
    return seconds, span


def _check_study_metric(study, objective: str) -> None:
    """Record the study's objective (``valid ndcg@20``) when it is new; refuse to extend a study
    whose trials were scored on another metric (their values would be compared with ours)."""
    recorded = study.user_attrs.get("metric")
    if recorded is None:
        study.set_user_attr("metric", objective)
    elif recorded != objective:
        raise ValueError(f"study {study.study_name!r} maximises {recorded!r}, but this run's objective is "
                         f"{objective!r}: use the space metric (or train.metric) {recorded.split()[-1]!r}, "
                         f"or another study name")


def _check_study_valid_seeds(study, valid_seeds: tuple[int, ...] | None) -> None:
    """Record the validation seeds a new study averages over; refuse to extend a study whose
    trials were scored on other validation sets (a study from before this option recorded none:
    its one validation set)."""
    wanted = None if valid_seeds is None else list(valid_seeds)
    if "valid_seeds" not in study.user_attrs:
        if study.get_trials(deepcopy=False) and wanted is not None:
            raise ValueError(f"study {study.study_name!r} has trials scored on one validation set; it cannot "
                             f"go on averaging over validation seeds {wanted}: use another study name")
        study.set_user_attr("valid_seeds", wanted)
    elif study.user_attrs["valid_seeds"] != wanted:
        def name(seeds):
            return "the config's one validation set" if seeds is None else f"validation seeds {seeds}"
        raise ValueError(f"study {study.study_name!r} scores trials on {name(study.user_attrs['valid_seeds'])}, "
                         f"this run on {name(wanted)}: pass the same validation seeds, or use another study name")


def _trial_config(best, space: SearchSpace, base: RunConfig, study_name: str) -> RunConfig:
    """The config ``best`` trained, from its ``config`` user attribute, with this worker's
    :data:`~autograph_rec.config.HOST_KEYS` (from ``base``).

    A trial from a version that did not store it is rebuilt from its parameters with the current
    ``space`` and ``base`` (the old behaviour), which is right only if neither changed since: a
    parameter the space no longer defines is an error rather than silently dropped.
    """
    record = best.user_attrs.get("config")
    if record is not None:
        try:
            stored = RunConfig.from_dict(record)
        except ValueError as exc:  # ConfigError: the config format changed since the trial ran
            raise ValueError(f"study {study_name!r}: the stored config of best trial {best.number} "
                             f"no longer loads: {exc}") from None
        # the trial may have run on another worker: its device, threads and caches are that
        # machine's; this worker retrains with its own (unless the space tuned one of them)
        return stored.with_host_settings(base, keep=space.names)
    dropped = sorted(set(best.params) - set(space.names))
    if dropped:
        raise ValueError(f"study {study_name!r}: best trial {best.number} tuned {dropped}, which the current "
                         f"space does not define, and (run by an older version) has no stored config; "
                         f"resume with a space that defines them, or start a new study")
    logger.warning("study %r: best trial %d has no stored config (older version); rebuilding it from its "
                   "parameters, the current space and the base config", study_name, best.number)
    return suggest_config(require_optuna().trial.FixedTrial(best.params), space, base)


def _check_metric(metric: str, base: RunConfig) -> None:
    name, _, k = metric.partition("@")
    if name not in base.eval.metrics or not k.isdigit() or int(k) not in base.eval.ks:
        raise ValueError(f"objective metric {metric!r} is not evaluated: eval.metrics={base.eval.metrics}, eval.ks={base.eval.ks}")


_PASSWORD_QUERY_KEYS = {"password", "passwd"}


def _redact(url: str) -> str:
    """The database URL without its password, in the user part or in a ``password`` query
    parameter (for logs and result files); a string that is no URL comes back unchanged."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    hidden = {key: "***" for key in parsed.query if key.lower() in _PASSWORD_QUERY_KEYS}
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    # the query is rendered percent-encoded: show the mask as typed
    return parsed.render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")


def tune_summary(result: TuneResult) -> dict[str, Any]:
    """A JSON-able summary of a :class:`TuneResult` (config as a mapping)."""
    out = asdict(result)
    out["best_config"] = result.best_config.to_dict()
    return out
