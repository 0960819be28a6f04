"""Subprocess worker for the cache tests (not a test module).

usage:
  python _cache_worker.py resume DB LOG N DELAY   generate N prompts through CachedLLM(FakeLLM)
  python _cache_worker.py write DB WORKER N       put N overlapping entries into the cache
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from autograph_rec.llm import CachedLLM, FakeLLM, Generation, GenerationSettings, ResponseCache  # noqa: E402


def conversations(n):
    return [[{"role": "user", "content": f"profile user {i}"}] for i in range(n)]


def resume(db, log_path, n, delay):
    log = open(log_path, "a", buffering=1)

    def after(i, messages):
        # Logged only after on_result returned, i.e. after the cache committed the row.
        log.write("done " + messages[-1]["content"] + "\n")
        log.flush()
        os.fsync(log.fileno())

    fake = FakeLLM(delay=delay, after_result=after)
    llm = CachedLLM(fake, ResponseCache(db), template_id="user", template_version="1")
    llm.generate(conversations(n), GenerationSettings(max_new_tokens=8))
    log.write("finished\n")


def write(db, worker, n):
    cache = ResponseCache(db)
    for i in range(n):
        # Keys overlap across workers on purpose: equal keys must carry equal values.
        key = f"k{(i + worker * n // 2) % (2 * n)}"
        cache.put(key, Generation(text=f"value of {key}", prompt_tokens=1, completion_tokens=2))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "resume":
        resume(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
