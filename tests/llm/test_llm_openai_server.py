"""OpenAILLM against a real OpenAI-compatible server: llama-cpp-python serving SmolLM2.

Skipped (with the install command) when llama_cpp is not importable.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx")

from autograph_rec.llm import CachedLLM, GenerationSettings  # noqa: E402
from autograph_rec.llm.openai_backend import LLMRequestError, OpenAILLM  # noqa: E402

pytestmark = pytest.mark.slow

CONVS = [[{"role": "user", "content": f"Name a {thing}. One word."}]
         for thing in ("fruit", "colour", "planet", "tree")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm2_gguf, tmp_path_factory):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip('llama_cpp not installed: CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON '
                    '-DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" '
                    "pip install 'llama-cpp-python[server]'")
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_gguf,
           "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                pytest.fail(f"llama_cpp.server not ready in 300 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)  # a busy server may ignore SIGTERM for a while
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_completion(server):
    llm = OpenAILLM(server, "smollm2", timeout=120)
    g = llm.generate(CONVS[:1], GenerationSettings(max_new_tokens=8))[0]
    assert g.text and 0 < g.completion_tokens <= 8 and g.prompt_tokens > 5
    assert g.finish_reason in ("stop", "length")


def test_concurrency_keeps_order_and_caches(server, tmp_path):
    s = GenerationSettings(max_new_tokens=6)
    one = OpenAILLM(server, "smollm2", max_concurrency=1)
    sequential = [one.generate([c], s)[0].text for c in CONVS]
    many = OpenAILLM(server, "smollm2", max_concurrency=4)
    seen = []
    parallel = many.generate(CONVS, s, on_result=lambda i, g: seen.append(i))
    assert [g.text for g in parallel] == sequential  # greedy: same answers, same order
    assert sorted(seen) == [0, 1, 2, 3]
    cached = CachedLLM(many, str(tmp_path / "c.sqlite"))
    cached.generate(CONVS, s)
    again = cached.generate(CONVS, s)
    assert all(g.cached for g in again) and [g.text for g in again] == sequential


def test_error_statuses(server):
    t0 = time.time()
    with pytest.raises(LLMRequestError) as e:
        OpenAILLM(server + "/no/such/prefix", "smollm2", max_retries=3).generate(CONVS[:1])
    assert e.value.status == 404 and time.time() - t0 < 10  # 4xx: no retries
    # A prompt longer than the server's context (n_ctx=2048) is a client error.
    too_long = [[{"role": "user", "content": "word " * 3000}]]
    with pytest.raises(LLMRequestError) as e:
        OpenAILLM(server, "smollm2", max_retries=3).generate(too_long)
    assert e.value.status == 400 and "context" in e.value.message.lower()
    assert str(e.value).startswith("HTTP 400")


def test_timeout(server):
    llm = OpenAILLM(server, "smollm2", timeout=0.05, max_retries=1, backoff=0.01)
    with pytest.raises(LLMRequestError) as e:
        llm.generate([[{"role": "user", "content": "Write a long story about a dragon."}]],
                     GenerationSettings(max_new_tokens=400))
    assert e.value.status is None and "Timeout" in e.value.message
