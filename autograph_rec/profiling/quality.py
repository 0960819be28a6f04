"""Detect unusable LLM outputs: empty, truncated, refused, chatter instead of an answer, looping or echoing
the prompt."""

from __future__ import annotations

import re

from ..llm.base import Generation

OK, EMPTY, TRUNCATED, REFUSED, REPETITIVE, ECHO = "ok", "empty", "truncated", "refused", "repetitive", "echo"
NON_ANSWER = "non_answer"

#: Bumped whenever a verdict changes, so a cached profiles stage made under older rules is rebuilt
#: (its LLM responses are reused from the response cache; only rows judged differently are retried).
CHECKS_VERSION = 5  # 3: a refusal phrase quoted from the prompt (a title) is not a refusal;
# 4: a row keeps its best attempt (Profiler), not its last: a truncated answer survives a later refusal;
# 5: an output whose every counted line is copied is an echo (a verbatim copy of a prompt with one
# long line passed)

#: Verdicts whose text still describes the item or user (a truncated profile is a partial one);
#: the other verdicts carry nothing about it, so their text is not worth encoding.
USABLE = frozenset({OK, TRUNCATED})

# Openings of refusals and "I don't know this item" answers, checked near the start only
# (a profile may legitimately say "cannot" later on).
_REFUSAL = re.compile(
    r"\b(I'?m sorry|I am sorry|I apologi[sz]e|I cannot|I can'?t|I can not|I'?m unable|I am unable"
    r"|I'?m not able|I am not able|As an AI|as a language model|I do(?: not|n'?t) have"
    r" (?:access|information|enough information|any information)"
    r"|I'?m not familiar|I am not familiar)\b",
    re.IGNORECASE,
)

# Assistant chatter that answers nothing: small chat models (SmolLM2-135M: 544 of 1,682 MovieLens-100K
# item profiles and 464 of 943 user profiles on split seed 0) often reply to a complete request with
# "I'm ready to help. What's the next question?" or "What can I assist you with today?". Checked near
# the start only, like refusals.
_NON_ANSWER = re.compile(
    r"^\W*I(?:'?m| am) ready\b"
    r"|\bI(?:'?m| am) (?:here|ready|happy) to (?:help|assist)"
    r"|\b(?:how|what) can I (?:help|assist|do for you)"
    r"|\bwhat'?s (?:on your mind|the next|your next)"
    r"|\bplease (?:go ahead and )?(?:provide|share)\b",
    re.IGNORECASE,
)


def prompt_text(messages) -> str:
    """A request's text as the checks compare outputs with it: its messages' contents, one per line."""
    return "\n".join(m["content"] for m in messages)


def refuses(text: str, prompt: str = "", window: int = 160) -> bool:
    r"""Whether :obj:`text` opens with a refusal (checked in its first :obj:`window` characters).

    A match that continues with the next word as a phrase of :obj:`prompt` is a quote, not a
    refusal: a profile that starts by naming the film "I Can't Sleep (1994)" says "I Can't Sleep",
    which the prompt holds, whereas "I can't help with that" is not in any prompt (SmolLM2's 2 such
    false positives among about 16,000 replies, checks version 2).
    """
    head = text[:window]
    lowered = prompt.lower()
    for match in _REFUSAL.finditer(head):
        next_word = re.match(r"\s*[\w'-]+", text[match.end():])
        phrase = match.group(0) + (next_word.group(0) if next_word else "")
        if not lowered or phrase.lower() not in lowered:
            return True
    return False


def _trigrams(words: list) -> list:
    return list(zip(words, words[1:], words[2:]))


def distinct_trigram_ratio(text: str) -> float:
    """Share of distinct word 3-grams: ~1 for prose, near 0 for a looping model."""
    grams = _trigrams(text.split())
    return len(set(grams)) / len(grams) if grams else 1.0


def echoes_prompt(text: str, prompt: str, min_chars: int = 20, max_share: float = 0.5,
                  line_overlap: float = 0.75) -> bool:
    """Whether the output mostly replays the prompt instead of answering it.

    Small models often restart the prompt's scaffolding ("This user is a 24-year-old male
    ...", "The user interacted with these movies:") and continue with invented entries, or
    copy the history list back. A line of at least :obj:`min_chars` characters counts as
    copied when at least :obj:`line_overlap` of its word 3-grams occur in :obj:`prompt`
    (so "This user is ..." copies "The user is ..."). The output is an echo when every line
    that counts is copied (e.g. a verbatim copy of a prompt whose title line is too short to
    count), when its first two lines are (the prompt restarted), or when at least two and at
    least :obj:`max_share` of its lines are. A restated title line above a real answer is not
    an echo.
    """
    seen = set(_trigrams(prompt.split()))
    hits = []
    for line in text.splitlines():
        words = line.split()
        if len(line.strip()) < min_chars or len(words) < 3:
            continue
        grams = set(_trigrams(words))
        hits.append(sum(g in seen for g in grams) >= line_overlap * len(grams))
    return ((bool(hits) and all(hits)) or hits[:2] == [True, True]
            or (sum(hits) >= 2 and sum(hits) >= max_share * len(hits)))


def check_output(gen: Generation, min_chars: int = 20, refusal_window: int = 160,
                 min_distinct: float = 0.5, prompt: str = "") -> str:
    r"""Classify a generation as :obj:`"ok"`, :obj:`"empty"` (nothing or
    fewer than :obj:`min_chars` characters), :obj:`"refused"` (a refusal near
    the start, unless quoted from :obj:`prompt`; see :func:`refuses`), :obj:`"non_answer"` (assistant chatter such as "I'm ready to
    help. What's the next question?" near the start), :obj:`"echo"` (mostly lines copied from :obj:`prompt`,
    the request's text; see :func:`echoes_prompt`), :obj:`"repetitive"` (fewer than :obj:`min_distinct`
    of its word 3-grams distinct, over 30+ words) or :obj:`"truncated"`
    (stopped by the token budget)."""
    text = (gen.text or "").strip()
    if len(text) < min_chars:
        return EMPTY
    if refuses(text, prompt, refusal_window):
        return REFUSED
    if _NON_ANSWER.search(text[:refusal_window]):
        return NON_ANSWER
    if prompt and echoes_prompt(text, prompt, min_chars):
        return ECHO
    if len(text.split()) >= 30 and distinct_trigram_ratio(text) < min_distinct:
        return REPETITIVE
    if gen.finish_reason == "length":
        return TRUNCATED
    return OK
