"""scripts/replay_profiles.py re-runs the profiler over a response cache and must reach the verdicts
the profiles stage stored, without generating anything."""

import ast
import json
import runpy
import sys
from collections import Counter
from pathlib import Path

import pytest

from autograph_rec.config import RunConfig
from autograph_rec.pipeline import AutoGraphPipeline

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "replay_profiles.py"


def _replay(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *argv])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    return capsys.readouterr().out


def test_replay_reaches_the_stored_verdicts_from_the_cache_alone(tmp_path, real_data_dir, monkeypatch, capsys):
    cache = tmp_path / "responses.sqlite"
    # a 6-token budget truncates the stand-in LLM's answers, so rows take retries with larger budgets
    sets = ["llm.max_new_tokens=6"]
    config = RunConfig().with_overrides(["data.name=ml-100k", f"data.data_dir={real_data_dir}", "llm.backend=fake",
                                         f"llm.cache={cache}", f"output={tmp_path / 'run'}", *sets])
    pipeline = AutoGraphPipeline(config, progress=False)
    pipeline.profile()
    stage = next((tmp_path / "run").rglob("users.jsonl"))
    stored = Counter(json.loads(line)["status"].split("->")[0] for line in stage.read_text().splitlines())
    assert sum(stored.values()) == 943

    out = _replay(monkeypatch, capsys, "--dataset", "ml-100k", "--kind", "users", "--llm-cache", str(cache),
                  "--data-dir", str(real_data_dir), *[a for s in sets for a in ("--set", s)])
    printed = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in out.splitlines() if ": " in line}
    assert ast.literal_eval(printed["first-attempt verdicts"]) == {"truncated": 943}  # every row was retried
    assert ast.literal_eval(printed["kept verdicts"]) == dict(stored)

    # another budget means other requests: the replay stops instead of generating them
    with pytest.raises(SystemExit, match="not in the cache"):
        _replay(monkeypatch, capsys, "--dataset", "ml-100k", "--kind", "users", "--llm-cache", str(cache),
                "--data-dir", str(real_data_dir), "--set", "llm.max_new_tokens=7")
