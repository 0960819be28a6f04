"""Stage artifacts in a run directory, each with a manifest so unchanged stages are skipped.

A stage writes its files into ``<run>/<stage>/`` plus ``manifest.json``::

    {"stage": ..., "key": <hash of the stage's settings + its inputs' keys>,
     "inputs": {...}, "versions": {...}, "seconds": ..., "stats": {...}, "files": [...]}

The key chains: a stage's key includes the keys of the stages it reads, so changing the LLM
invalidates profiles, vectors, codes and graph, while changing only the backbone re-runs
training alone. Manifests are plain JSON so an artifact can move to another machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

from . import __version__

logger = logging.getLogger(__name__)


def stable_hash(obj: Any) -> str:
    """A short, order-independent hash of JSON-able settings."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def versions() -> dict[str, str]:
    import numpy
    import torch

    return {"autograph_rec": __version__, "torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version()}


class StageDir:
    """One stage's folder in a run directory.

    Args:
        run_dir (Path): the run directory.
        name (str): stage name (``profiles``, ``vectors``, ``codes``, ``graph``, ...).
        key (str): hash of everything the stage's output depends on.
    """

    def __init__(self, run_dir: str | Path, name: str, key: str):
        self.path = Path(run_dir) / name
        self.name = name
        self.key = key
        self._start = time.perf_counter()

    def file(self, name: str) -> Path:
        return self.path / name

    def manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def is_fresh(self) -> bool:
        """True if a finished run of this stage with the same key left all its files."""
        m = self.manifest()
        if not m or m.get("key") != self.key:
            return False
        missing = [f for f in m.get("files", []) if not (self.path / f).exists()]
        if missing:
            logger.warning("stage %s: manifest matches but files are missing (%s); re-running", self.name, missing)
            return False
        return True

    def begin(self) -> "StageDir":
        self.path.mkdir(parents=True, exist_ok=True)
        self._start = time.perf_counter()
        return self

    def finish(self, files: list[str], inputs: dict[str, Any], stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the manifest last, so a killed stage never looks finished."""
        manifest = {
            "stage": self.name,
            "key": self.key,
            "inputs": inputs,
            "versions": versions(),
            "seconds": time.perf_counter() - self._start,
            "stats": stats or {},
            "files": files,
        }
        (self.path / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return manifest
