"""Lazy import of Optuna, failing with the extra to install."""

from __future__ import annotations


def require_optuna():
    """Return the ``optuna`` module, or raise :class:`ImportError` naming the ``hpo`` extra."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "hyperparameter search needs Optuna: pip install 'autograph-rec[hpo]' "
            "(add psycopg2-binary, or the 'postgres' extra, for a PostgreSQL study)"
        ) from exc
    return optuna
