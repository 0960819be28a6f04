"""A local model's cache identity: its name plus a fingerprint of its content."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

#: Bytes read from each end of a weights file for its fingerprint (with its size): enough to
#: tell two fine-tunes or quantisations apart without reading gigabytes.
_EDGE_BYTES = 1 << 20


def local_model_id(path: str, gguf_file: Optional[str] = None) -> str:
    """``<name>#<fingerprint>`` for a model on disk, its name alone for anything else (a hub id).

    The name alone (the file or folder's base name) was the identity before: two different
    models both saved as ``model.gguf`` in two folders shared each other's cached responses. The
    fingerprint is the size and first and last MiB of a file, or the top-level file names and
    sizes (and ``config.json``) of a folder: a copied or moved model keeps its identity.
    """
    target = Path(path) / gguf_file if gguf_file else Path(path)
    name = gguf_file or os.path.basename(os.path.normpath(path))
    if not target.exists():
        return name
    digest = hashlib.sha256()
    if target.is_file():
        size = target.stat().st_size
        digest.update(str(size).encode())
        with open(target, "rb") as fh:
            digest.update(fh.read(_EDGE_BYTES))
            if size > 2 * _EDGE_BYTES:
                fh.seek(size - _EDGE_BYTES)
                digest.update(fh.read(_EDGE_BYTES))
    else:
        for child in sorted(target.iterdir()):
            if child.is_file():
                digest.update(f"{child.name}:{child.stat().st_size};".encode())
        config = target / "config.json"
        if config.is_file():
            digest.update(config.read_bytes())
    return f"{name}#{digest.hexdigest()[:10]}"
