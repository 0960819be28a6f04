"""Where dataset files are looked for, and how they are fetched and verified.

Search order for a dataset file ``<folder>/<name>``:

1. the ``data_dir`` argument (CLI ``--data-dir``),
2. every folder in the ``AUTOGRAPH_REC_DATA`` environment variable (``os.pathsep``-separated),
3. the download cache (``AUTOGRAPH_REC_CACHE``, default ``~/.cache/autograph_rec``).

A file that is found nowhere is downloaded from its official source into the cache (when
``download=True`` and a network is reachable) and checked against its published checksum.
Offline, :class:`MissingDataError` names the file and every folder that was searched.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, MissingDataError

logger = logging.getLogger(__name__)

GROUPLENS = "https://files.grouplens.org/datasets/movielens"
RLMREC_SPLITS = "https://raw.githubusercontent.com/wangyu0627/IRLLRec/main/data"
RLMREC_MAPPERS = "https://raw.githubusercontent.com/HKUDS/RLMRec/main/data/mapper"


@dataclass(frozen=True)
class RemoteFile:
    """One dataset file and where its official copy lives.

    Args:
        folder (str): dataset folder name under a data root, e.g. ``"ml-100k"``.
        name (str): file name inside the folder.
        url (str): official download address (a ``.zip`` archive or the file itself).
        member (str, optional): path of the file inside the archive, if ``url`` is a zip.
        sha256 (str, optional): expected SHA-256 of the file.
        git_blob (str, optional): expected git blob id (``git hash-object``), when only that is published.
    """

    folder: str
    name: str
    url: str
    member: str | None = None
    sha256: str | None = None
    git_blob: str | None = None

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}"


def _ml100k(name: str, sha: str) -> RemoteFile:
    return RemoteFile("ml-100k", name, f"{GROUPLENS}/ml-100k.zip", f"ml-100k/{name}", sha)


def _rlmrec(folder: str, name: str, sha: str, url: str) -> RemoteFile:
    return RemoteFile(folder, name, url, None, sha)


# Checksums of the official files (MovieLens: as distributed by GroupLens; RLMRec: the
# published splits and mappers). See datasets/*.md for provenance and licences.
KNOWN_FILES: dict[str, RemoteFile] = {
    f.relpath: f
    for f in [
        _ml100k("u.data", "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"),
        _ml100k("u.item", "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"),
        _ml100k("u.user", "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c"),
        RemoteFile("ml-1m", "movies.dat", f"{GROUPLENS}/ml-1m.zip", "ml-1m/movies.dat",
                   "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9"),
        RemoteFile("ml-1m", "users.dat", f"{GROUPLENS}/ml-1m.zip", "ml-1m/users.dat",
                   "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3"),
        RemoteFile("ml-1m", "ratings.dat", f"{GROUPLENS}/ml-1m.zip", "ml-1m/ratings.dat",
                   git_blob="77a7c4b150f588c23bb9e1f068aa996c0b413695"),
        RemoteFile("ml-1m-users1-2999", "ratings.dat.gz",
                   "https://raw.githubusercontent.com/dev-sumanta/dsmlai/dcd27efad1f77d8e6a6072a549563af61c21bea0/ratings.dat.gz",
                   None, "2fedcf5405373a49df4041e3d3fe1e8db9eacf2c77c209ae1f686ea06b7a16d9"),
        _rlmrec("rlmrec_amazon", "trn_mat.pkl", "535cc15f915858a64249e3a893cceac9efe8e6f1ce17c08879a3c099c510b309", f"{RLMREC_SPLITS}/amazon/trn_mat.pkl"),
        _rlmrec("rlmrec_amazon", "val_mat.pkl", "90cd52a011f9b31081461a010e9bccb98d12a1dd7a7760085facbc7d1a2c46c3", f"{RLMREC_SPLITS}/amazon/val_mat.pkl"),
        _rlmrec("rlmrec_amazon", "tst_mat.pkl", "c279ce551d32536ed90d916212bc0b891ce4c189ea7cfa5e4051e0dbfc728d17", f"{RLMREC_SPLITS}/amazon/tst_mat.pkl"),
        _rlmrec("rlmrec_amazon", "amazon_user.json", "56495e3dd4bb0e94a64771876064216e829a779721e37e69e96cbfac5fe3fbd4", f"{RLMREC_MAPPERS}/amazon_user.json"),
        _rlmrec("rlmrec_amazon", "amazon_item.json", "b473f639c1e8995f5eb8590835b3c2ef89a744290b2ab92ff63b1cafe83d4e25", f"{RLMREC_MAPPERS}/amazon_item.json"),
        _rlmrec("rlmrec_yelp", "trn_mat.pkl", "2306f5b9de8f3dd3342744d937a45b04abd22ede422304a549fb324e12e5f6bd", f"{RLMREC_SPLITS}/yelp/trn_mat.pkl"),
        _rlmrec("rlmrec_yelp", "val_mat.pkl", "33aaf3bd27bd25d7d3e8223700fbd2d5400feec217c9ce09c87785460bcb355b", f"{RLMREC_SPLITS}/yelp/val_mat.pkl"),
        _rlmrec("rlmrec_yelp", "tst_mat.pkl", "3007de4f5955223bf7752f59cadb3b069d92acb879987e7eee286f252772a564", f"{RLMREC_SPLITS}/yelp/tst_mat.pkl"),
        _rlmrec("rlmrec_yelp", "yelp_user.json", "15eef148de31b1ca1afb17bfe2cc450ba4fa3bca043a72c4006630bd4a359228", f"{RLMREC_MAPPERS}/yelp_user.json"),
        _rlmrec("rlmrec_yelp", "yelp_item.json", "42f674d89d20499b7fc1ece5bb06b7c9a2730e45bee9de47496c37409be818f5", f"{RLMREC_MAPPERS}/yelp_item.json"),
    ]
}


def cache_dir() -> Path:
    """The download cache: ``$AUTOGRAPH_REC_CACHE`` or ``~/.cache/autograph_rec``."""
    return Path(os.environ.get("AUTOGRAPH_REC_CACHE", Path.home() / ".cache" / "autograph_rec")) / "data"


def data_roots(data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for dataset files, in order (see the module docstring)."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    for part in os.environ.get("AUTOGRAPH_REC_DATA", "").split(os.pathsep):
        if part.strip():
            roots.append(Path(part))
    roots.append(cache_dir())
    return roots


def file_digest(path: Path, kind: str = "sha256") -> str:
    """``sha256`` hex digest, or the git blob id (``kind="git_blob"``) of a file."""
    if kind == "git_blob":
        h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    else:
        h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, remote: RemoteFile) -> None:
    """Raise :class:`DataError` if ``path`` does not match ``remote``'s published checksum."""
    for kind in ("sha256", "git_blob"):
        expected = getattr(remote, kind)
        if expected and file_digest(path, kind) != expected:
            raise DataError(f"checksum mismatch ({kind}): expected {expected}, got {file_digest(path, kind)}", path=path)


def locate(folder: str, name: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """Find ``<folder>/<name>`` under the data roots, downloading it if it is known and missing.

    Raises:
        MissingDataError: the file is in no root and could not be downloaded; the message lists
            every folder searched and why the download failed.
    """
    roots = data_roots(data_dir)
    for root in roots:
        candidate = root / folder / name
        if candidate.is_file():
            return candidate
    remote = KNOWN_FILES.get(f"{folder}/{name}")
    reason = "no official download is known for it"
    if remote is not None and download:
        try:
            return fetch(remote)
        except (OSError, DataError) as exc:  # URLError is an OSError
            reason = f"download from {remote.url} failed: {exc}"
    elif remote is not None:
        reason = "downloading is disabled"
    searched = "\n  ".join(str(r / folder / name) for r in roots)
    raise MissingDataError(
        f"dataset file {folder}/{name} not found. Looked in:\n  {searched}\n({reason}). "
        f"Point --data-dir or AUTOGRAPH_REC_DATA at a folder that contains {folder}/."
    )


def fetch(remote: RemoteFile, root: Path | None = None) -> Path:
    """Download ``remote`` (extracting it from its archive) into the cache and verify it."""
    root = root or cache_dir()
    dest = root / remote.folder / remote.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s from %s", remote.relpath, remote.url)
    with urllib.request.urlopen(remote.url, timeout=60) as resp:
        payload = resp.read()
    if remote.member is not None:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            payload = archive.read(remote.member)
    # Write to a temporary file first so an interrupted download never leaves a partial file
    # where the next run would find (and trust) it.
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        tmp.write(payload)
    tmp_path = Path(tmp.name)
    try:
        verify(tmp_path, remote)
    except DataError:
        tmp_path.unlink()
        raise
    shutil.move(tmp_path, dest)
    return dest


def open_text(path: Path, encoding: str = "utf-8"):
    """Open a text file, transparently decompressing ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")
