"""Content-addressed, crash-safe response cache for LLM calls (SQLite, WAL)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from typing import Dict, Iterable, List, Optional, Sequence

from dataclasses import replace

from .base import Generation, GenerationSettings, LLMClient, Messages, ResultCallback

log = logging.getLogger(__name__)

#: Bump when the key layout changes: old entries then simply stop matching.
KEY_SCHEMA = 1


def connect_sqlite(path: str, timeout: float = 120.0) -> sqlite3.Connection:
    """Open an SQLite database in WAL mode for many concurrent processes.

    WAL lets readers proceed while one writer commits; the busy timeout makes
    concurrent writers queue instead of failing with ``database is locked``.
    ``synchronous=NORMAL`` is durable against a killed process (only a power
    loss can drop the last commits), which is the failure we guard against.
    """
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    # Switching the journal mode needs a brief exclusive lock: retry on contention.
    for attempt in range(50):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            time.sleep(0.05 * (attempt + 1))
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def cache_key(
    backend: str,
    model: str,
    messages: Messages,
    settings: GenerationSettings,
    template_id: Optional[str] = None,
    template_version: Optional[str] = None,
) -> str:
    r"""The sha256 hex digest identifying one LLM request.

    Everything that can change the response is in the key: backend, model,
    prompt template id and version, decoding settings and the exact messages.
    Keys are computed from canonical JSON (sorted keys, no whitespace), so they
    are stable across processes, machines and Python versions.
    """
    payload = {
        "schema": KEY_SCHEMA,
        "backend": backend,
        "model": model,
        "template_id": template_id,
        "template_version": None if template_version is None else str(template_version),
        "settings": settings.to_dict(),
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    r"""A persistent map from :func:`cache_key` to :class:`Generation`.

    Backed by one SQLite file in WAL mode: any number of processes and threads
    may read and write it at once, and every :meth:`put` is committed on its
    own, so a killed process loses nothing it had stored.

    Args:
        path (str): The SQLite file (created with its folder if missing).
        timeout (float, optional): Seconds a writer waits for the lock.
            (default: :obj:`120.0`)
    """

    def __init__(self, path: str, timeout: float = 120.0):
        self.path = str(path)
        self._conn = connect_sqlite(self.path, timeout=timeout)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, backend TEXT, model TEXT, template TEXT,"
                " text TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,"
                " finish_reason TEXT, request TEXT, created REAL)"
            )

    def get_many(self, keys: Sequence[str]) -> Dict[str, Generation]:
        """Return the cached generations among :obj:`keys` (misses are absent)."""
        out: Dict[str, Generation] = {}
        uniq = list(dict.fromkeys(keys))
        # SQLite limits bound variables per statement (999 in old builds).
        for start in range(0, len(uniq), 500):
            chunk = uniq[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    "SELECT key, text, prompt_tokens, completion_tokens, finish_reason"
                    f" FROM responses WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
            for key, text, pt, ct, fr in rows:
                out[key] = Generation(text, pt or 0, ct or 0, fr or "stop", cached=True)
        return out

    def get(self, key: str) -> Optional[Generation]:
        return self.get_many([key]).get(key)

    def put(
        self,
        key: str,
        generation: Generation,
        *,
        backend: str = "",
        model: str = "",
        template: str = "",
        request: Optional[dict] = None,
    ) -> None:
        """Store one response and commit at once (last writer wins on a tie,
        which is harmless: equal keys mean equal requests)."""
        req = None if request is None else json.dumps(request, ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key, backend, model, template, generation.text, generation.prompt_tokens,
                 generation.completion_tokens, generation.finish_reason, req, time.time()),
            )

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def keys(self) -> List[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT key FROM responses")]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"ResponseCache({self.path!r})"


class CachedLLM(LLMClient):
    r"""Wraps an :class:`LLMClient` with a :class:`ResponseCache`.

    Only cache misses reach the wrapped client, and each finished response is
    written the moment the backend reports it (through ``on_result``), so a
    run killed mid-way and restarted repeats no finished call. Duplicate
    requests inside one batch are generated once.

    Args:
        llm (LLMClient): The backend to call on a miss.
        cache (ResponseCache or str): A cache or the path of its SQLite file.
        template_id (str, optional): Default prompt-template id for the key.
        template_version (str, optional): Default template version for the key.
    """

    def __init__(
        self,
        llm: LLMClient,
        cache,
        template_id: Optional[str] = None,
        template_version: Optional[str] = None,
    ):
        self.llm = llm
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.template_id = template_id
        self.template_version = template_version
        self.backend = llm.backend
        self.model_id = llm.model_id
        self.hits = 0
        self.misses = 0

    def keys_for(
        self,
        messages_batch: Iterable[Messages],
        settings: GenerationSettings,
        template_id: Optional[str] = None,
        template_version: Optional[str] = None,
    ) -> List[str]:
        tid = self.template_id if template_id is None else template_id
        tver = self.template_version if template_version is None else template_version
        return [
            cache_key(self.backend, self.model_id, m, settings, tid, tver) for m in messages_batch
        ]

    def generate(
        self,
        messages_batch: Sequence[Messages],
        settings: Optional[GenerationSettings] = None,
        *,
        on_result: Optional[ResultCallback] = None,
        template_id: Optional[str] = None,
        template_version: Optional[str] = None,
    ) -> List[Generation]:
        settings = settings or GenerationSettings()
        keys = self.keys_for(messages_batch, settings, template_id, template_version)
        tid = self.template_id if template_id is None else template_id
        tver = self.template_version if template_version is None else template_version
        template = "" if tid is None else f"{tid}@{tver}"

        found = self.cache.get_many(keys)
        results: List[Optional[Generation]] = [None] * len(keys)
        todo: Dict[str, List[int]] = {}
        for i, k in enumerate(keys):
            if k in found:
                results[i] = found[k]
                if on_result is not None:
                    on_result(i, found[k])
            else:
                todo.setdefault(k, []).append(i)
        self.hits += len(keys) - sum(len(v) for v in todo.values())
        self.misses += len(todo)
        if not todo:
            return results  # type: ignore[return-value]

        miss_keys = list(todo)
        miss_msgs = [messages_batch[todo[k][0]] for k in miss_keys]

        def store(j: int, gen: Generation) -> None:
            k = miss_keys[j]
            self.cache.put(
                k, gen, backend=self.backend, model=self.model_id, template=template,
                request={"messages": miss_msgs[j], "settings": settings.to_dict()},
            )
            for n, i in enumerate(todo[k]):
                # a prompt repeated within the batch was generated once: its other rows are
                # served from that generation (cached), so callers count one call and its tokens
                results[i] = gen if n == 0 else replace(gen, cached=True)
                if on_result is not None:
                    on_result(i, results[i])

        log.debug("cache: %d hits, %d misses", len(keys) - len(miss_keys), len(miss_keys))
        outs = self.llm.generate(miss_msgs, settings, on_result=store)
        # A third-party backend may ignore on_result: store what it returned.
        for j, k in enumerate(miss_keys):
            if results[todo[k][0]] is None:
                store(j, outs[j])
        return results  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"CachedLLM({self.llm!r}, cache={self.cache.path!r})"
