"""Client for OpenAI-compatible ``/v1/chat/completions`` servers (vLLM, Ollama, llama.cpp)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Dict, List, Optional, Sequence

from .base import (
    generation_from_chat_completion,
    Generation,
    GenerationSettings,
    LLMClient,
    Messages,
    ResultCallback,
    validate_messages,
)

log = logging.getLogger(__name__)

#: Statuses worth retrying: rate limiting, timeouts and server-side failures.
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class LLMRequestError(RuntimeError):
    r"""A request the server refused or that kept failing after all retries.

    Attributes:
        status (int or None): HTTP status, :obj:`None` for transport errors.
        message (str): The server's error message (or the transport error).
    """

    def __init__(self, status: Optional[int], message: str, url: str = ""):
        self.status = status
        self.message = message
        self.url = url
        where = f" from {url}" if url else ""
        head = f"HTTP {status}" if status is not None else "connection error"
        super().__init__(f"{head}{where}: {message}")


def _import_httpx():
    try:
        import httpx
    except ImportError as e:
        raise ImportError(
            "The OpenAI-compatible backend needs httpx: pip install 'autograph-rec[openai]'"
        ) from e
    return httpx


def _server_message(response) -> str:
    """Pull the human-readable error out of an OpenAI-style error body."""
    try:
        body = response.json()
    except Exception:
        return response.text[:500]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:500]
        if "detail" in body:
            return str(body["detail"])[:500]
        return str(err)[:500]
    return str(body)[:500]


class OpenAILLM(LLMClient):
    r"""Chat completions over HTTP against any OpenAI-compatible server.

    Requests of a batch run on a bounded thread pool; each is retried with
    exponential backoff and jitter on 429/5xx and transport errors (honouring
    ``Retry-After``), while other 4xx fail at once with
    :class:`LLMRequestError` naming the status and the server's message.

    Args:
        base_url (str): Server root, e.g. :obj:`"http://127.0.0.1:8000/v1"`
            (a missing ``/v1`` suffix is added).
        model (str): Model name sent in each request and used in cache keys.
        api_key_env (str, optional): Name of the environment variable holding
            the API key; no ``Authorization`` header is sent if it is unset.
            (default: :obj:`"OPENAI_API_KEY"`)
        max_concurrency (int, optional): Requests in flight at once.
            (default: :obj:`8`)
        timeout (float, optional): Seconds per request (connect, read, write).
            (default: :obj:`120.0`)
        max_retries (int, optional): Retries after the first attempt.
            (default: :obj:`5`)
        backoff (float, optional): First backoff in seconds, doubled per retry.
            (default: :obj:`0.5`)
        max_backoff (float, optional): Cap on one backoff. (default: :obj:`30.0`)
        extra_body (dict, optional): Extra JSON fields for every request
            (server-specific options).
        transport (httpx.BaseTransport, optional): Custom transport (tests use
            :class:`httpx.MockTransport`).
    """

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        extra_body: Optional[Dict[str, Any]] = None,
        transport=None,
    ):
        httpx = _import_httpx()
        base_url = base_url.rstrip("/")
        if not base_url.endswith("/v1"):
            base_url += "/v1"
        self.base_url = base_url
        self.model = model
        self.extra_body = dict(extra_body or {})
        # the cache identity: extra_body can change the answer (sampling fields, even the model),
        # so two clients that differ in it must not share cached responses
        self.model_id = model if not self.extra_body else (
            f"{model}+extra:{hashlib.sha256(json.dumps(self.extra_body, sort_keys=True, default=str).encode()).hexdigest()[:12]}")
        self.api_key_env = api_key_env
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=self.max_concurrency,
                                max_keepalive_connections=self.max_concurrency),
            transport=transport,
        )
        self._httpx = httpx

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def payload(self, messages: Messages, settings: GenerationSettings) -> Dict[str, Any]:
        body: Dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_new_tokens,
        }
        if settings.seed is not None:
            body["seed"] = settings.seed
        if settings.stop:
            body["stop"] = list(settings.stop)
        if settings.repetition_penalty != 1.0:
            # Not an OpenAI field: vLLM and others accept it as an extra parameter.
            body["repetition_penalty"] = settings.repetition_penalty
        body.update(self.extra_body)
        return body

    def _sleep_for(self, attempt: int, response=None) -> float:
        if response is not None:
            ra = response.headers.get("retry-after")
            try:
                if ra is not None and math.isfinite(float(ra)):
                    return min(max(float(ra), 0.0), self.max_backoff)  # a negative value slept -> ValueError
            except ValueError:
                pass  # HTTP-date form: fall back to our own schedule
        base = min(self.backoff * (2 ** attempt), self.max_backoff)
        # Full jitter spreads retries of many threads hitting one server.
        return random.uniform(0.5 * base, base)

    def complete(self, messages: Messages, settings: GenerationSettings) -> Generation:
        """Send one request (with retries) and parse the first choice."""
        httpx = self._httpx
        body = self.payload(messages, settings)
        last: Optional[LLMRequestError] = None
        for attempt in range(self.max_retries + 1):
            response = None
            try:
                response = self._client.post(self.url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                last = LLMRequestError(None, f"{type(e).__name__}: {e}", self.url)
            else:
                if response.status_code == 200:
                    return self._parse(response)
                last = LLMRequestError(response.status_code, _server_message(response), self.url)
                if response.status_code not in RETRY_STATUS:
                    raise last
            if attempt < self.max_retries:
                delay = self._sleep_for(attempt, response)
                log.warning("%s; retry %d/%d in %.1fs", last, attempt + 1, self.max_retries,
                            delay)
                time.sleep(delay)
        assert last is not None
        raise last

    def _parse(self, response) -> Generation:
        try:
            return generation_from_chat_completion(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise LLMRequestError(response.status_code,
                                  f"malformed response: {response.text[:300]}", self.url) from e

    def generate(
        self,
        messages_batch: Sequence[Messages],
        settings: Optional[GenerationSettings] = None,
        *,
        on_result: Optional[ResultCallback] = None,
    ) -> List[Generation]:
        settings = settings or GenerationSettings()
        validate_messages(messages_batch)
        results: List[Optional[Generation]] = [None] * len(messages_batch)
        error: Optional[BaseException] = None
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="llm-http")
        pending = {pool.submit(self.complete, m, settings): i for i, m in enumerate(messages_batch)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        gen = fut.result()
                    except BaseException as e:  # keep going: finished rows still get stored
                        if error is None:
                            error = e
                            for f in pending:
                                f.cancel()  # requests not yet started are dropped
                        continue
                    results[i] = gen
                    # Called from this (the caller's) thread, so callbacks need no locking.
                    if on_result is not None:
                        on_result(i, gen)
        except BaseException:
            # Ctrl-C, or on_result failed: send nothing more, but keep the answers of requests
            # already sent (paid for) by handing them to on_result (the cache) before raising
            self._drain(pending, on_result)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if error is not None:
            raise error
        return results  # type: ignore[return-value]

    @staticmethod
    def _drain(pending: Dict[Any, int], on_result: Optional[ResultCallback]) -> None:
        """Cancel the requests not started; pass those in flight to ``on_result`` as they finish
        (a second Ctrl-C stops waiting for them)."""
        for fut in pending:
            fut.cancel()
        for fut, i in pending.items():
            if fut.cancelled():
                continue
            try:
                gen = fut.result()
                if on_result is not None:
                    on_result(i, gen)
            except KeyboardInterrupt:
                return
            except Exception as exc:  # the first error is the one raised; note the others
                log.warning("an answer finished during the interruption was not kept: %r", exc)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"OpenAILLM(base_url={self.base_url!r}, model_id={self.model_id!r})"
