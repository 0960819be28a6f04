import os
from pathlib import Path

import pytest


def _shared_data() -> Path | None:
    for cand in [os.environ.get("AUTOGRAPH_REC_DATA"), Path(__file__).resolve().parents[3] / "shared" / "data"]:
        if cand and (Path(cand) / "ml-100k" / "u.data").is_file():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared real datasets; tests needing them skip (with the reason) when absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("real datasets not found: set AUTOGRAPH_REC_DATA to the folder holding ml-100k/")
    return path


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch, tmp_path):
    # tests must never reach the network: an empty cache and downloads failing fast
    monkeypatch.setenv("AUTOGRAPH_REC_CACHE", str(tmp_path / "cache"))
