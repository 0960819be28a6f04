"""Download-and-verify, exercised offline against a local file URL."""

import hashlib
import io
import zipfile

import pytest

from autograph_rec.data.errors import DataError
from autograph_rec.data.sources import RemoteFile, fetch, file_digest  # the real fetch, not the test stub


def _zip_with(member: str, payload: bytes, path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(member, payload)
    path.write_bytes(buf.getvalue())


def test_fetch_extracts_and_verifies(tmp_path):
    payload = b"1\t2\t5\t100\n"
    _zip_with("ml-100k/u.data", payload, tmp_path / "a.zip")
    remote = RemoteFile("ml-100k", "u.data", (tmp_path / "a.zip").as_uri(), "ml-100k/u.data", hashlib.sha256(payload).hexdigest())
    dest = fetch(remote, root=tmp_path / "cache")
    assert dest.read_bytes() == payload and dest == tmp_path / "cache" / "ml-100k" / "u.data"


def test_fetch_rejects_bad_checksum_and_leaves_nothing(tmp_path):
    _zip_with("ml-100k/u.data", b"tampered", tmp_path / "a.zip")
    remote = RemoteFile("ml-100k", "u.data", (tmp_path / "a.zip").as_uri(), "ml-100k/u.data", "0" * 64)
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch(remote, root=tmp_path / "cache")
    assert not any((tmp_path / "cache" / "ml-100k").iterdir())


def test_git_blob_digest_matches_git(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    assert file_digest(path, "git_blob") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object
