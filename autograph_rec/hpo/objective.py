"""One trial = one pipeline run whose expensive stages (profiles, vectors, codes) are shared."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
from dataclasses import replace
from pathlib import Path

from ..config import HOST_KEYS, RunConfig
from ..data import SEEDED_SPLITS, ships_split
from ..pipeline import AutoGraphPipeline
from ..train import TrainResult
from ._optuna import require_optuna
from .pruning import OptunaPruningHook
from .space import SearchSpace
from .suggest import suggest_config

logger = logging.getLogger(__name__)

#: Longest ``error`` user attribute kept on a failed trial (the exception's repr, cut).
MAX_ERROR_CHARS = 2000


def study_folder(study_name: str) -> str:
    """The folder name of a study inside a tune directory: the name itself when it is a plain
    file name (``autograph-rec``), else a sanitised name with a hash so two names never share it."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", study_name):
        return study_name
    digest = hashlib.sha1(study_name.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', study_name).strip('._') or 'study'}-{digest}"


def trial_dir(output: str | Path, study_name: str, number: int) -> Path:
    """``<output>/trials/<study>/<number>/``: where a trial of ``study_name`` trains."""
    return Path(output) / "trials" / study_folder(study_name) / f"{number:04d}"


def best_dir(output: str | Path, study_name: str) -> Path:
    """``<output>/best/<study>/``: ``best.yaml``, ``best_metrics.json`` and the retraining of
    the best config of ``study_name``."""
    return Path(output) / "best" / study_folder(study_name)


def config_record(config: RunConfig) -> dict:
    """``config`` as a JSON-able mapping without ``output`` (where it ran is not part of what it is):
    the ``config`` user attribute of a trial, and what :func:`config_digest` hashes."""
    data = config.to_dict()
    data.pop("output", None)
    return data


def config_digest(config: RunConfig) -> str:
    """A hash of ``config`` without its ``output`` and its :data:`~autograph_rec.config.HOST_KEYS`
    (device, threads, caches, ...): equal for equal configs wherever, and on whatever machine, they run."""
    data = config_record(config)
    for key in HOST_KEYS:
        section, name = key.split(".")
        data[section].pop(name, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def stage_lock(root: Path):
    """An exclusive lock on ``<root>/.lock`` so parallel workers on one machine never build the
    same stage twice at once (a no-op where ``fcntl`` is missing)."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_config(config: RunConfig, stage_root: str | Path, eval_hook=None, progress: bool = False) -> tuple[TrainResult, dict]:
    r"""Train and evaluate ``config`` in ``config.output`` with its stages kept in ``stage_root``.

    With ``autograph.enabled`` the profiles, vectors and codes come from
    ``<stage_root>/<stage>/<key>/``: a config that changes only backbone or training settings
    reuses all of them (no LLM call, no encoding, no quantizer fit), and a new quantizer setting
    re-quantizes the cached vectors.

    Returns:
        ``(TrainResult, stage_log)`` where ``stage_log`` maps each stage to ``ran`` or ``cached``.
    """
    stage_root = Path(stage_root)
    run_dir = Path(config.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.to_yaml(run_dir / "config.yaml")
    pipeline = AutoGraphPipeline(config, progress=progress, stage_root=stage_root)
    if config.autograph.enabled:
        with stage_lock(stage_root):
            pipeline.quantize()  # profiles -> vectors -> codes, each built once per key
    result = pipeline.train(eval_hook=eval_hook)  # reuses the pipeline's codes
    return result, dict(pipeline.stage_log)


def check_valid_seeds(valid_seeds, base: RunConfig) -> tuple[int, ...] | None:
    """``valid_seeds`` as a tuple of distinct ints, or ``None`` for the base config's one
    validation set.

    Raises:
        ValueError: for an empty, repeated or non-integer seed list, or a split without a seed
            (``temporal``, ``leave_one_out``, a predefined split): its validation set is fixed.
    """
    if valid_seeds is None:
        return None
    seeds = tuple(valid_seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"valid_seeds must be a non-empty list of integers >= 0, got {valid_seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"valid_seeds repeats a seed: {list(seeds)}")
    method = base.data.split
    if method == "auto":
        method = "predefined" if ships_split(base.data.name) else "random"
    if method not in SEEDED_SPLITS:
        raise ValueError(f"valid_seeds needs a seeded split (data.split one of {', '.join(SEEDED_SPLITS)}); "
                         f"data.split={base.data.split!r} on {base.data.name!r} is {method!r}, whose validation "
                         f"set no seed changes")
    return seeds


class PipelineObjective:
    r"""The Optuna objective of ``autograph-rec tune``: the trial's best **validation** metric,
    on one validation set or averaged over several.

    Each trial samples a config with :func:`suggest_config`, trains it in
    ``<output>/trials/<study name>/<number>/`` (no checkpoint; see :func:`trial_dir`) with
    :class:`OptunaPruningHook`, and returns ``valid[metric]`` at the best epoch. The sampled
    config, without ``output``, is kept as the trial's ``config`` user attribute: the best one is
    retrained from it exactly, whatever the space or base config of a later call. A training that
    diverges (non-finite loss) is pruned; any other error is stored as the trial's ``error`` user
    attribute (its repr) and raised again, which marks the trial ``FAIL`` and stops the worker.

    With ``valid_seeds`` a trial trains its config once per validation seed
    (``data.valid_seed``: the same test set, the rest re-divided into training and validation), in
    ``<trial>/valid<seed>/``, and returns the mean of their validation metrics (each value is kept
    in the ``valid_values`` user attribute): a config is then chosen for doing well on several
    validation sets rather than on one, and none of them overlaps the test set the best config is
    reported on. Only the first seed's run reports to the pruner, so every trial's intermediate
    values come from the same validation set.

    Args:
        space (SearchSpace): the search space.
        base_config (RunConfig): everything not tuned.
        output (str or Path): the tune directory (``trials/`` and the shared ``stages/``).
        valid_seeds (list of int, optional): validation seeds to average over (a seed equal to
            ``data.seed`` is that split's own validation set); :obj:`None` scores on
            ``base_config``'s validation set only. (default: :obj:`None`)
    """

    def __init__(self, space: SearchSpace, base_config: RunConfig, output: str | Path,
                 valid_seeds=None):
        self.space = space
        self.base_config = base_config
        self.output = Path(output)
        self.valid_seeds = check_valid_seeds(valid_seeds, base_config)

    def config_for(self, trial) -> RunConfig:
        """The config ``trial`` trains: sampled, in its own run folder, no checkpoint, no test."""
        return self._trial_run(trial, suggest_config(trial, self.space, self.base_config))

    def _trial_run(self, trial, config: RunConfig) -> RunConfig:
        run_dir = trial_dir(self.output, trial.study.study_name, trial.number)
        return replace(config, output=str(run_dir),
                       train=replace(config.train, save_checkpoint=False, evaluate_test=False))

    def __call__(self, trial) -> float:
        optuna = require_optuna()
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            sampled = suggest_config(trial, self.space, self.base_config)
            trial.set_user_attr("config", config_record(sampled))
            config = self._trial_run(trial, sampled)
            metric = config.train.metric
            trial.set_user_attr("run_dir", config.output)
            hook = OptunaPruningHook(trial, metric, last_epoch=config.train.epochs)
            if self.valid_seeds is None:
                result, stages = run_config(config, self.output / "stages", hook)
                value = float(result.valid[metric])
            else:
                value, result, stages = self._over_valid_sets(trial, config, hook)
        except FloatingPointError as exc:
            trial.set_user_attr("diverged", str(exc))
            raise optuna.TrialPruned(f"diverged: {exc}") from None
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            # Optuna marks the trial FAIL without saying why; keep the reason in the study, where
            # the other workers and optuna-dashboard see it
            try:
                trial.set_user_attr("error", repr(exc)[:MAX_ERROR_CHARS])
            except Exception as store_exc:  # e.g. the database is what failed: raise the first error
                logger.warning("could not store the error of trial %d: %r", trial.number, store_exc)
            raise
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("seconds", round(result.seconds, 2))
        trial.set_user_attr("stages", stages)
        return value

    def _over_valid_sets(self, trial, config: RunConfig, hook) -> tuple[float, TrainResult, dict]:
        """Train ``config`` on every validation seed; the mean validation metric, the first run's
        result (its best epoch goes into the trial's attributes; seconds summed) and the stage log."""
        metric = config.train.metric
        values: dict[str, float] = {}
        results: list[TrainResult] = []
        stages: dict[str, str] = {}
        for k, seed in enumerate(self.valid_seeds):
            run = replace(config, output=str(Path(config.output) / f"valid{seed}"),
                          data=replace(config.data, valid_seed=seed))
            result, log = run_config(run, self.output / "stages", hook if k == 0 else None)
            values[str(seed)] = float(result.valid[metric])
            results.append(result)
            stages.update({f"{name}[valid {seed}]": state for name, state in log.items()})
        trial.set_user_attr("valid_values", values)
        trial.set_user_attr("valid_best_epochs", {str(s): r.best_epoch for s, r in zip(self.valid_seeds, results)})
        first = replace(results[0], seconds=sum(r.seconds for r in results))
        return sum(values.values()) / len(values), first, stages
