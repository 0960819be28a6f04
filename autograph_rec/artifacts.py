"""Stage artifacts in a run directory, each with a manifest so unchanged stages are skipped.

A stage writes its files into ``<run>/<stage>/`` plus ``manifest.json``::

    {"stage": ..., "key": <hash of the stage's settings + its inputs' keys>,
     "inputs": {...}, "versions": {...}, "seconds": ..., "stats": {...}, "files": [...],
     "checksums": {<file>: {"bytes": ..., "sha256": ...}}}

The key chains: a stage's key includes the keys of the stages it reads, so changing the LLM
invalidates profiles, vectors, codes and graph, while changing only the backbone re-runs
training alone. Manifests are plain JSON so an artifact can move to another machine.

A stage counts as finished only while its manifest's key matches and every listed file still
has the size and SHA-256 recorded when it was written: a truncated or edited artifact re-runs
its stage instead of being loaded. A (re)build removes the old manifest before it writes
anything, so a build that dies half-way never passes for the previous one.
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


def file_checksum(path: str | Path) -> dict[str, Any]:
    """Size and SHA-256 of one file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": Path(path).stat().st_size, "sha256": digest.hexdigest()}


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
        """True if a finished run of this stage with the same key left all its files, unchanged."""
        m = self.manifest()
        if not m or m.get("key") != self.key:
            return False
        missing = [f for f in m.get("files", []) if not (self.path / f).exists()]
        if missing:
            logger.warning("stage %s: manifest matches but files are missing (%s); re-running", self.name, missing)
            return False
        # Manifests written before checksums existed list none; their files are taken as they are.
        changed = [f for f, want in m.get("checksums", {}).items() if self._changed(f, want)]
        if changed:
            logger.warning("stage %s: %s changed since the stage wrote them (size or SHA-256); re-running",
                           self.name, changed)
            return False
        return True

    def _changed(self, name: str, want: dict[str, Any]) -> bool:
        path = self.path / name
        if path.stat().st_size != want.get("bytes"):  # the cheap check first
            return True
        return file_checksum(path)["sha256"] != want.get("sha256")

    def begin(self) -> "StageDir":
        """Start a (re)build: the previous manifest goes first, so until :meth:`finish` the
        folder never looks finished, whatever mix of old and new files a crash leaves."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "manifest.json").unlink(missing_ok=True)
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
            "checksums": {f: file_checksum(self.path / f) for f in files if (self.path / f).is_file()},
        }
        (self.path / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return manifest
