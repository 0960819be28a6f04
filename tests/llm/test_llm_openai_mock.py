"""OpenAILLM retry/error logic against an in-process mock transport (fast, no server)."""

import json

import pytest

httpx = pytest.importorskip("httpx")

from autograph_rec.llm import CachedLLM, GenerationSettings  # noqa: E402
from autograph_rec.llm.openai_backend import LLMRequestError, OpenAILLM  # noqa: E402

CONV = [{"role": "user", "content": "hello"}]


def ok_body(text="hi there", pt=3, ct=2):
    return {"choices": [{"message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct}}


def client(handler, **kw):
    kw.setdefault("backoff", 0.001)
    return OpenAILLM("http://test.invalid", "m", transport=httpx.MockTransport(handler), **kw)


def test_payload_and_parse(monkeypatch):
    monkeypatch.setenv("MY_KEY", "secret")
    seen = []

    def handler(request):
        seen.append((request.url.path, request.headers.get("authorization"),
                     json.loads(request.content)))
        return httpx.Response(200, json=ok_body())

    llm = client(handler, api_key_env="MY_KEY")
    s = GenerationSettings(temperature=0.5, top_p=0.9, max_new_tokens=7, seed=3, stop=("\n",))
    g = llm.generate([CONV], s)[0]
    assert (g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) == ("hi there", 3, 2, "stop")
    path, auth, body = seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer secret"
    assert body == {"model": "m", "messages": CONV, "temperature": 0.5, "top_p": 0.9,
                    "max_tokens": 7, "seed": 3, "stop": ["\n"]}


def test_no_auth_header_without_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    seen = []
    llm = client(lambda r: seen.append(r.headers.get("authorization")) or
                 httpx.Response(200, json=ok_body()))
    llm.generate([CONV])
    assert seen == [None]


def test_retries_on_429_and_5xx():
    statuses = iter([429, 503, 500, 200])
    calls = []

    def handler(request):
        calls.append(1)
        st = next(statuses)
        if st == 200:
            return httpx.Response(200, json=ok_body())
        return httpx.Response(st, headers={"retry-after": "0"}, json={"error": {"message": "busy"}})

    assert client(handler, max_retries=5).generate([CONV])[0].text == "hi there"
    assert len(calls) == 4


def test_gives_up_after_max_retries():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(502, text="bad gateway")

    with pytest.raises(LLMRequestError) as e:
        client(handler, max_retries=2).generate([CONV])
    assert e.value.status == 502 and len(calls) == 3


def test_other_4xx_fail_at_once_with_server_message():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(400, json={"error": {"message": "max_tokens is too large"}})

    with pytest.raises(LLMRequestError, match=r"HTTP 400.*max_tokens is too large") as e:
        client(handler).generate([CONV])
    assert e.value.status == 400 and len(calls) == 1


def test_connection_errors_are_retried():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=ok_body())

    assert client(handler, max_retries=3).generate([CONV])[0].text == "hi there"


def test_partial_failure_keeps_finished_rows_in_cache(tmp_path):
    def handler(request):
        content = json.loads(request.content)["messages"][0]["content"]
        if content == "bad":
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=ok_body(text="answer " + content))

    cached = CachedLLM(client(handler, max_concurrency=1), str(tmp_path / "c.sqlite"))
    convs = [[{"role": "user", "content": c}] for c in ("a", "b", "bad")]
    with pytest.raises(LLMRequestError):
        cached.generate(convs)
    assert len(cached.cache) == 2  # a and b were stored before the failure surfaced
    out = cached.generate(convs[:2])
    assert [g.text for g in out] == ["answer a", "answer b"] and all(g.cached for g in out)


def test_an_interruption_sends_nothing_more_and_keeps_the_answers_in_flight():
    import threading
    import time

    sent = []
    lock = threading.Lock()

    def handler(request):
        with lock:
            sent.append(json.loads(request.content)["messages"][0]["content"])
        time.sleep(0.3)
        return httpx.Response(200, json=ok_body(text="answer"))

    kept = []

    def on_result(i, gen):  # the first answer "is" a Ctrl-C (raised in the caller's thread)
        kept.append(i)
        if len(kept) == 1:
            raise KeyboardInterrupt

    llm = client(handler, max_concurrency=2)
    convs = [[{"role": "user", "content": str(i)}] for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        llm.generate(convs, on_result=on_result)
    time.sleep(0.5)  # nothing queued starts later either
    # before, the pool's exit ran all ten requests and dropped their answers
    assert len(sent) <= 4
    # the other request in flight when the first answer came back was kept, not thrown away
    assert len(kept) >= 2 and len(set(kept)) == len(kept)


def test_extra_body_is_part_of_the_cache_identity(tmp_path):
    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json=ok_body(text=f"top_k={body.get('top_k')}"))

    a = client(handler, extra_body={"top_k": 1})
    b = client(handler, extra_body={"top_k": 50, "temperature": 1.0})
    assert a.model_id != b.model_id != client(handler).model_id == "m"
    assert seen == [] and a.payload(CONV, GenerationSettings())["model"] == "m"  # the server still sees "m"
    path = str(tmp_path / "c.sqlite")
    assert CachedLLM(a, path).generate([CONV])[0].text == "top_k=1"
    # another extra_body is another request: not served A's cached answer
    out = CachedLLM(b, path).generate([CONV])[0]
    assert out.text == "top_k=50" and not out.cached


def test_equal_settings_give_equal_cache_keys():
    from autograph_rec.llm import cache_key

    a = GenerationSettings(temperature=0, top_p=1, repetition_penalty=1, max_new_tokens=8.0)
    b = GenerationSettings(temperature=0.0, top_p=1.0, repetition_penalty=1.0, max_new_tokens=8)
    assert a == b and cache_key("x", "m", CONV, a) == cache_key("x", "m", CONV, b)


@pytest.mark.parametrize("retry_after", ["-5", "nan"])
def test_a_retry_after_that_is_no_delay_is_not_slept(retry_after):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after": retry_after}, json={"detail": "busy"})
        return httpx.Response(200, json=ok_body())

    # time.sleep(-5) raised ValueError; nan was slept as the cap
    assert client(handler, max_backoff=0.01).generate([CONV])[0].text == "hi there" and len(calls) == 2
