"""Shared fixtures for the Optuna tests: a small synthetic clustered dataset and a fast base config."""

from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="needs Optuna: pip install 'autograph-rec[hpo]'")

from _hpo_data import base_overrides, write_clustered_csv  # noqa: E402

from autograph_rec.config import RunConfig  # noqa: E402


@pytest.fixture(scope="session")
def clustered_data(tmp_path_factory) -> Path:
    return write_clustered_csv(tmp_path_factory.mktemp("clustered"))


@pytest.fixture
def base_config(clustered_data) -> RunConfig:
    return RunConfig().with_overrides(base_overrides(clustered_data))
