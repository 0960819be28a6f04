"""One trial = one pipeline run whose expensive stages (profiles, vectors, codes) are shared."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import replace
from pathlib import Path

from ..config import RunConfig
from ..pipeline import AutoGraphPipeline
from ..train import TrainResult
from ._optuna import require_optuna
from .pruning import OptunaPruningHook
from .space import SearchSpace
from .suggest import suggest_config

logger = logging.getLogger(__name__)


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
    stages: dict[str, str] = {}
    if config.autograph.enabled:
        with stage_lock(stage_root):
            pipeline.quantize()  # profiles -> vectors -> codes, each built once per key
        stages = dict(pipeline.stage_log)
    result = pipeline.train(eval_hook=eval_hook)
    return result, {**pipeline.stage_log, **stages}  # training re-reads the codes: keep "ran"


class PipelineObjective:
    r"""The Optuna objective of ``autograph-rec tune``: the trial's best **validation** metric.

    Each trial samples a config with :func:`suggest_config`, trains it in
    ``<output>/trials/<number>/`` (no checkpoint) with :class:`OptunaPruningHook`, and returns
    ``valid[metric]`` at the best epoch. A training that diverges (non-finite loss) is pruned.

    Args:
        space (SearchSpace): the search space.
        base_config (RunConfig): everything not tuned.
        output (str or Path): the tune directory (``trials/`` and the shared ``stages/``).
    """

    def __init__(self, space: SearchSpace, base_config: RunConfig, output: str | Path):
        self.space = space
        self.base_config = base_config
        self.output = Path(output)

    def config_for(self, trial) -> RunConfig:
        config = suggest_config(trial, self.space, self.base_config)
        run_dir = self.output / "trials" / f"{trial.number:04d}"
        return replace(config, output=str(run_dir),
                       train=replace(config.train, save_checkpoint=False, evaluate_test=False))

    def __call__(self, trial) -> float:
        optuna = require_optuna()
        config = self.config_for(trial)
        metric = config.train.metric
        trial.set_user_attr("run_dir", config.output)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            result, stages = run_config(config, self.output / "stages", OptunaPruningHook(trial, metric))
        except FloatingPointError as exc:
            trial.set_user_attr("diverged", str(exc))
            raise optuna.TrialPruned(f"diverged: {exc}") from None
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("seconds", round(result.seconds, 2))
        trial.set_user_attr("stages", stages)
        return float(result.valid[metric])
