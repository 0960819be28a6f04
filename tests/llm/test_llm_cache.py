import os
import signal
import subprocess
import sys
import time

import pytest

from autograph_rec.llm import (
    CachedLLM,
    FakeLLM,
    Generation,
    GenerationSettings,
    ResponseCache,
    cache_key,
)

WORKER = os.path.join(os.path.dirname(__file__), "_cache_worker.py")
MSG = [{"role": "system", "content": "You are a critic."}, {"role": "user", "content": "Alien"}]


def test_key_is_stable_and_sensitive():
    s = GenerationSettings(max_new_tokens=32)
    base = cache_key("transformers", "m", MSG, s, "user_pref", "1")
    assert base == cache_key("transformers", "m", [dict(m) for m in MSG], s, "user_pref", "1")
    assert len(base) == 64
    variants = [
        cache_key("openai", "m", MSG, s, "user_pref", "1"),
        cache_key("transformers", "m2", MSG, s, "user_pref", "1"),
        cache_key("transformers", "m", MSG, s, "item_know", "1"),
        cache_key("transformers", "m", MSG, s, "user_pref", "2"),
        cache_key("transformers", "m", MSG, GenerationSettings(max_new_tokens=33), "user_pref", "1"),
        cache_key("transformers", "m", MSG, GenerationSettings(max_new_tokens=32, seed=1),
                  "user_pref", "1"),
        cache_key("transformers", "m", MSG, GenerationSettings(max_new_tokens=32, stop=("\n",)),
                  "user_pref", "1"),
        cache_key("transformers", "m", MSG[1:], s, "user_pref", "1"),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_hit_miss_and_dedup(tmp_path):
    fake = FakeLLM()
    llm = CachedLLM(fake, str(tmp_path / "c.sqlite"), template_id="t", template_version="1")
    convs = [[{"role": "user", "content": f"q{i}"}] for i in range(5)]
    first = llm.generate(convs + [convs[0]])  # duplicate row generated once
    assert len(fake.calls) == 5 and llm.misses == 5
    assert first[0].text == first[5].text and not first[0].cached

    again = llm.generate(convs)
    assert len(fake.calls) == 5 and llm.hits == 5
    assert [g.text for g in again] == [g.text for g in first[:5]]
    assert all(g.cached for g in again)
    assert again[0].prompt_tokens == first[0].prompt_tokens

    # A new template version is a different request: everything is generated again.
    llm.generate(convs, template_version="2")
    assert len(fake.calls) == 10
    # New settings likewise.
    llm.generate(convs[:2], GenerationSettings(max_new_tokens=3))
    assert len(fake.calls) == 12


def test_persists_across_instances_and_on_result(tmp_path):
    path = str(tmp_path / "c.sqlite")
    convs = [[{"role": "user", "content": f"q{i}"}] for i in range(4)]
    CachedLLM(FakeLLM(), path).generate(convs[:2])
    fake = FakeLLM()
    seen = {}
    out = CachedLLM(fake, path).generate(convs, on_result=lambda i, g: seen.setdefault(i, g))
    assert len(fake.calls) == 2 and sorted(seen) == [0, 1, 2, 3]
    assert [seen[i].text for i in range(4)] == [g.text for g in out]
    assert len(ResponseCache(path)) == 4


def test_backend_ignoring_on_result_is_still_cached(tmp_path):
    class Plain(FakeLLM):
        def generate(self, messages_batch, settings=None, *, on_result=None):
            return super().generate(messages_batch, settings)

    cache = ResponseCache(str(tmp_path / "c.sqlite"))
    CachedLLM(Plain(), cache).generate([MSG])
    assert len(cache) == 1


def test_concurrent_writer_processes(tmp_path):
    db = str(tmp_path / "shared.sqlite")
    n, workers = 150, 4
    procs = [subprocess.Popen([sys.executable, WORKER, "write", db, str(w), str(n)])
             for w in range(workers)]
    assert [p.wait(timeout=120) for p in procs] == [0] * workers
    cache = ResponseCache(db)
    expected = {f"k{(i + w * n // 2) % (2 * n)}" for w in range(workers) for i in range(n)}
    assert set(cache.keys()) == expected
    got = cache.get_many(sorted(expected))
    assert all(got[k].text == f"value of {k}" for k in expected)


@pytest.mark.slow
def test_resume_after_kill(tmp_path):
    db, log_path, n = str(tmp_path / "run.sqlite"), str(tmp_path / "log.txt"), 40
    proc = subprocess.Popen([sys.executable, WORKER, "resume", db, log_path, str(n), "0.05"])
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(log_path) and open(log_path).read().count("done") >= 8:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no cleanup handlers: a hard crash
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = open(log_path).read().splitlines()
    assert "finished" not in lines, "worker finished before the kill; slow it down"
    done_first = {ln[len("done "):] for ln in lines if ln.startswith("done ")}
    assert len(done_first) >= 8

    cache = ResponseCache(db)
    stored = len(cache)
    assert stored < n

    fake = FakeLLM()
    llm = CachedLLM(fake, cache, template_id="user", template_version="1")
    convs = [[{"role": "user", "content": f"profile user {i}"}] for i in range(n)]
    out = llm.generate(convs, GenerationSettings(max_new_tokens=8))
    asked_again = {c[-1]["content"] for c in fake.calls}
    # Zero lost responses: everything finished before the kill came from the cache.
    assert not (asked_again & done_first)
    # Zero repeated calls: only what was not stored is generated now.
    assert len(fake.calls) == n - stored
    assert len(cache) == n
    # And the outputs equal a clean uninterrupted run.
    clean = FakeLLM().generate(convs, GenerationSettings(max_new_tokens=8))
    assert [g.text for g in out] == [g.text for g in clean]
