"""Loading a benchmark script (``scripts/<name>.py``) as a module, the way it runs: ``scripts/`` on
``sys.path`` for its ``_bench`` import, and registered in ``sys.modules`` (dataclasses need that)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str):
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


@pytest.fixture
def load_script():
    """``load_script("bench_autograph")`` -> the module of ``scripts/bench_autograph.py``."""
    return _load
