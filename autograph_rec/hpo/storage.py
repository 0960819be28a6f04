"""Where a study lives: an embedded SQLite file in the output directory, or any database URL."""

from __future__ import annotations

import inspect
import random
import time
import warnings
from pathlib import Path

from ._optuna import require_optuna

#: File name of the embedded study database inside the tune output directory.
STUDY_DB = "study.db"


def default_storage_url(output: str | Path) -> str:
    """``sqlite:///<output>/study.db`` (absolute), the embedded default."""
    return f"sqlite:///{(Path(output) / STUDY_DB).resolve()}"


def build_storage(url: str, heartbeat_interval: int = 30, grace_period: int | None = None, max_retry: int = 3):
    r"""An Optuna ``RDBStorage`` with heartbeats, so a killed worker's trial is retried.

    A running trial records a heartbeat every ``heartbeat_interval`` seconds. When a worker dies
    (SIGKILL, lost machine) its trial stops beating; after ``grace_period`` the next worker to
    start a trial marks it ``FAIL`` and re-queues its parameters as a ``WAITING`` trial (up to
    ``max_retry`` times), which the next free worker runs. Nothing is lost and, since the
    failed trial counts neither as complete nor pruned, nothing is counted twice.

    Args:
        url (str): ``sqlite:///path/study.db``, ``postgresql://user@host:5432/db``, ... (any
            SQLAlchemy URL; PostgreSQL needs ``psycopg2-binary``).
        heartbeat_interval (int): seconds between heartbeats. (default: ``30``)
        grace_period (int, optional): seconds without heartbeat before a trial counts as dead.
            (default: ``2 * heartbeat_interval``)
        max_retry (int): how often one trial's parameters are re-queued. (default: ``3``)
    """
    optuna = require_optuna()
    url = with_postgres_driver(url)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    retry_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    # Optuna >= 4.9 names the callback argument heartbeat_stale_trial_callback
    params = inspect.signature(optuna.storages.RDBStorage).parameters
    callback_arg = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else "failed_trial_callback"
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(6):
        try:
            with warnings.catch_warnings():  # the retry callback is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period or 2 * heartbeat_interval,
                    **{callback_arg: retry_cls(max_retry=max_retry)},
                )
        except SQLAlchemyError:
            # workers starting together on a new database race to create its tables; the
            # loser finds them created on the next attempt
            if attempt == 5:
                raise
            time.sleep(0.5 + random.random())


def with_postgres_driver(url: str) -> str:
    """Pin a bare ``postgresql://`` URL to the installed driver (``psycopg2``, else ``psycopg``):
    SQLAlchemy's default driver differs between versions (2.0: psycopg2, 2.1: psycopg 3)."""
    import importlib.util

    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
                if importlib.util.find_spec(module) is not None:
                    return f"postgresql+{driver}://" + url[len(prefix):]
            raise ImportError("a PostgreSQL study needs a driver: pip install 'autograph-rec[postgres]' (psycopg2-binary)")
    return url
