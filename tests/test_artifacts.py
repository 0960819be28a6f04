"""Stage folders: a stage is reused only when its key matches and its files are as written."""

import json

from autograph_rec.artifacts import StageDir


def _build(run_dir, key, content=b"0123456789"):
    stage = StageDir(run_dir, "codes", key).begin()
    stage.file("users.npy").write_bytes(content)
    stage.finish(["users.npy"], inputs={})
    return stage


def test_a_finished_stage_is_fresh_for_its_key_only(tmp_path):
    _build(tmp_path, "a")
    assert StageDir(tmp_path, "codes", "a").is_fresh()
    assert not StageDir(tmp_path, "codes", "b").is_fresh()


def test_a_rebuild_that_dies_never_passes_for_the_previous_build(tmp_path):
    _build(tmp_path, "a")
    # key b starts rebuilding in the same folder, overwrites a file, and dies before finish()
    StageDir(tmp_path, "codes", "b").begin().file("users.npy").write_bytes(b"other data")
    assert not StageDir(tmp_path, "codes", "a").is_fresh()  # the folder holds b's file now
    assert not StageDir(tmp_path, "codes", "b").is_fresh()


def test_a_truncated_or_edited_file_reruns_the_stage(tmp_path):
    stage = _build(tmp_path, "a")
    stage.file("users.npy").write_bytes(b"01234")
    assert not StageDir(tmp_path, "codes", "a").is_fresh()
    stage = _build(tmp_path, "a")
    stage.file("users.npy").write_bytes(b"0123456780")  # same size, other bytes
    assert not StageDir(tmp_path, "codes", "a").is_fresh()


def test_manifest_records_size_and_sha256(tmp_path):
    manifest = json.loads(_build(tmp_path, "a").file("manifest.json").read_text())
    assert manifest["checksums"]["users.npy"]["bytes"] == 10
    assert len(manifest["checksums"]["users.npy"]["sha256"]) == 64


def test_a_manifest_from_before_checksums_is_still_honoured(tmp_path):
    stage = _build(tmp_path, "a")
    manifest = json.loads(stage.file("manifest.json").read_text())
    del manifest["checksums"]
    stage.file("manifest.json").write_text(json.dumps(manifest))
    assert StageDir(tmp_path, "codes", "a").is_fresh()
    stage.file("users.npy").unlink()
    assert not StageDir(tmp_path, "codes", "a").is_fresh()
