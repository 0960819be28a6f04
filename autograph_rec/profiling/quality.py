"""Detect unusable LLM outputs: empty, truncated or refused."""

from __future__ import annotations

import re

from ..llm.base import Generation

OK, EMPTY, TRUNCATED, REFUSED = "ok", "empty", "truncated", "refused"

# Openings of refusals and "I don't know this item" answers, checked near the start only
# (a profile may legitimately say "cannot" later on).
_REFUSAL = re.compile(
    r"\b(I'?m sorry|I am sorry|I apologi[sz]e|I cannot|I can'?t|I can not|I'?m unable|I am unable"
    r"|I'?m not able|I am not able|As an AI|as a language model|I do(?: not|n'?t) have"
    r" (?:access|information|enough information|any information)"
    r"|I'?m not familiar|I am not familiar)\b",
    re.IGNORECASE,
)


def check_output(gen: Generation, min_chars: int = 20, refusal_window: int = 160) -> str:
    r"""Classify a generation as :obj:`"ok"`, :obj:`"empty"` (nothing or
    fewer than :obj:`min_chars` characters), :obj:`"refused"` (a refusal near
    the start) or :obj:`"truncated"` (stopped by the token budget)."""
    text = (gen.text or "").strip()
    if len(text) < min_chars:
        return EMPTY
    if _REFUSAL.search(text[:refusal_window]):
        return REFUSED
    if gen.finish_reason == "length":
        return TRUNCATED
    return OK
