"""Detect unusable LLM outputs: empty, truncated or refused."""

from __future__ import annotations

import re

from ..llm.base import Generation

OK, EMPTY, TRUNCATED, REFUSED, REPETITIVE = "ok", "empty", "truncated", "refused", "repetitive"

# Openings of refusals and "I don't know this item" answers, checked near the start only
# (a profile may legitimately say "cannot" later on).
_REFUSAL = re.compile(
    r"\b(I'?m sorry|I am sorry|I apologi[sz]e|I cannot|I can'?t|I can not|I'?m unable|I am unable"
    r"|I'?m not able|I am not able|As an AI|as a language model|I do(?: not|n'?t) have"
    r" (?:access|information|enough information|any information)"
    r"|I'?m not familiar|I am not familiar)\b",
    re.IGNORECASE,
)


def distinct_trigram_ratio(text: str) -> float:
    """Share of distinct word 3-grams: ~1 for prose, near 0 for a looping model."""
    words = text.split()
    grams = list(zip(words, words[1:], words[2:]))
    return len(set(grams)) / len(grams) if grams else 1.0


def check_output(gen: Generation, min_chars: int = 20, refusal_window: int = 160,
                 min_distinct: float = 0.5) -> str:
    r"""Classify a generation as :obj:`"ok"`, :obj:`"empty"` (nothing or
    fewer than :obj:`min_chars` characters), :obj:`"refused"` (a refusal near
    the start), :obj:`"repetitive"` (fewer than :obj:`min_distinct` of its
    word 3-grams distinct, over 30+ words) or :obj:`"truncated"` (stopped by
    the token budget)."""
    text = (gen.text or "").strip()
    if len(text) < min_chars:
        return EMPTY
    if _REFUSAL.search(text[:refusal_window]):
        return REFUSED
    if len(text.split()) >= 30 and distinct_trigram_ratio(text) < min_distinct:
        return REPETITIVE
    if gen.finish_reason == "length":
        return TRUNCATED
    return OK
