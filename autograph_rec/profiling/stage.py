"""The profiling stage of the pipeline: texts for every user and item, written as JSON Lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..llm.base import GenerationSettings
from .profiler import Profiler
from .quality import USABLE, prompt_text

logger = logging.getLogger(__name__)


def data_part(messages: list[dict[str, str]]) -> str:
    """The data a prompt carries (demographics, training history / item fields) without the
    instruction: what the template-only variant (``llm.backend=none``) encodes directly."""
    content = messages[-1]["content"]
    return content.rsplit("\n\n", 1)[0].strip()


def make_profiler(llm_cfg, llm, progress: bool | None = True) -> Profiler:
    """The :class:`Profiler` the profiles stage runs for ``llm_cfg`` (an
    :class:`~autograph_rec.config.LLMConfig`) around the client ``llm``: its decoding settings,
    its chunk size (4 generate calls' worth of prompts per cache round trip)."""
    settings = GenerationSettings(temperature=llm_cfg.temperature, max_new_tokens=llm_cfg.max_new_tokens,
                                  repetition_penalty=llm_cfg.repetition_penalty)
    return Profiler(llm, settings=settings, retry_truncated=llm_cfg.retry_truncated,
                    chunk_size=max(llm_cfg.batch_size, 1) * 4, show_progress=progress)


def run_profiling(dataset, split, llm_cfg, out_dir: Path, progress: bool = True) -> tuple[dict[str, list[str]], dict[str, Any]]:
    r"""Profile all users (from **training** interactions only) and all items.

    With ``llm_cfg.backend == "none"`` no model is called: each text is the data part of the
    prompt (:func:`data_part`). With ``llm_cfg.limit`` only the first N users and N items are
    generated and the rest fall back to the template-only text (a quick look, announced in
    the log and the stats). A generated row whose verdict is not usable after its retries
    (refused, chatter, a loop, a copied prompt; see :data:`~autograph_rec.profiling.quality.USABLE`)
    also falls back to the template-only text, with status ``"<verdict>->template_only"``.

    Returns:
        ``({"users": [...], "items": [...]}, stats)``; also writes ``users.jsonl`` and
        ``items.jsonl`` (one object per id with ``id``, ``text``, ``status``, ...; generated rows
        also keep their ``prompt``, the request's text the quality checks compared with) to ``out_dir``.
    """
    from ..llm.registry import build_llm

    out_dir.mkdir(parents=True, exist_ok=True)
    llm = None
    if llm_cfg.backend != "none":
        from ..data.sources import cache_dir

        cache = llm_cfg.cache or str(cache_dir().parent / "llm_responses.sqlite")
        kwargs: dict[str, Any] = {}
        if llm_cfg.backend in ("smollm2", "transformers"):
            kwargs["batch_size"] = llm_cfg.batch_size
            if llm_cfg.model:
                kwargs["model"] = llm_cfg.model
        elif llm_cfg.backend == "llamacpp":
            if llm_cfg.model:  # a GGUF path; without it the bundled SmolLM2
                kwargs["model"] = llm_cfg.model
        elif llm_cfg.backend == "openai":
            if not llm_cfg.base_url or not llm_cfg.model:
                raise ValueError("llm.backend=openai needs llm.base_url and llm.model (e.g. --base-url http://host:8000/v1 --llm-model NAME)")
            kwargs.update(base_url=llm_cfg.base_url, model=llm_cfg.model, api_key_env=llm_cfg.api_key_env,
                          max_concurrency=llm_cfg.batch_size)
        llm = build_llm(llm_cfg.backend, cache=cache, **kwargs)
    profiler = make_profiler(llm_cfg, llm, progress) if llm else None
    builder = profiler or Profiler(None)  # prompt building needs no model
    texts: dict[str, list[str]] = {}
    stats: dict[str, Any] = {"backend": llm_cfg.backend}
    for kind, n in (("users", dataset.num_users), ("items", dataset.num_items)):
        messages = builder.user_messages(dataset, split) if kind == "users" else builder.item_messages(dataset)
        rows = [{"id": i, "text": data_part(m), "status": "template_only"} for i, m in enumerate(messages)]
        if profiler is not None:
            ids = list(range(n if llm_cfg.limit is None else min(n, llm_cfg.limit)))
            if len(ids) < n:
                logger.warning("llm.limit=%d: profiling %d of %d %s; the rest use template-only text", llm_cfg.limit, len(ids), n, kind)
            profiles = profiler.profile_users(dataset, split, ids) if kind == "users" else profiler.profile_items(dataset, ids)
            for rec in profiles.frame.to_dict("records"):
                i = int(rec["id"])
                rec = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
                # the request as the checks saw it, so scripts/audit_profiles.py can re-run every check
                rec["prompt"] = prompt_text(messages[i])
                if rec.get("text") and rec.get("status") in USABLE:
                    rows[i] = {**rec, "id": i}
                else:  # recorded, never silently replaced: the row says what failed
                    # (a refusal, chatter, a loop or a copied prompt says nothing about the row,
                    # so the row's own data is encoded instead); the rejected output stays in
                    # llm_text, so an audit can still judge what the LLM said
                    rows[i] = {**rec, "id": i, "text": rows[i]["text"], "llm_text": rec.get("text"),
                               "status": f"{rec['status']}->template_only"}
            stats[kind] = profiles.stats
        with open(out_dir / f"{kind}.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        texts[kind] = [r["text"] for r in rows]
    return texts, stats
