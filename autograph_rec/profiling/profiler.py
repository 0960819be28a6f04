"""Profiler: one LLM call per user (preferences) and per item (knowledge)."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..llm.base import Generation, GenerationSettings, LLMClient, Messages
from ..llm.cache import CachedLLM
from .history import train_histories
from .quality import OK, TRUNCATED, USABLE, check_output, prompt_text
from .templates import PromptTemplate, get_template, has_value

log = logging.getLogger(__name__)

#: Bumped whenever the data filled into prompts changes for the same dataset and template
#: (the profiles stage key holds it, so a stage built before is rebuilt; LLM responses to
#: unchanged prompts come from the response cache). 2: an item without a title is "item #N",
#: not "(untitled)".
PROMPT_DATA_VERSION = 2


def _titled(fields: Dict[str, Any], item: int) -> Dict[str, Any]:
    """A copy of an item's text fields with ``item #<id>`` as its title when it has none: missing
    from the frame, or a missing value in it (items without side text read NaN there), so
    untitled items stay distinguishable in prompts and histories."""
    fields = dict(fields)
    if not has_value(fields.get("title")):
        fields["title"] = f"item #{item}"
    return fields


def first_verdict(failures: str, status: str, kept_attempt: Optional[int] = None) -> str:
    r"""The verdict of a row's first attempt, from its stored ``failures`` (the rejected attempts'
    verdicts, ``;``-joined), final ``status`` (a row the profiles stage encoded as template text
    is stored as ``"<verdict>->template_only"``) and ``kept_attempt`` (0-based index of the attempt
    whose text was kept; rows written before it existed kept their last attempt)."""
    if kept_attempt == 0 or not failures:
        return str(status).split("->")[0]
    return failures.split(";")[0]


def _rank(verdict: str) -> int:
    """How good a verdict is for keeping its text: a complete profile, then a truncated (partial)
    one, then the rest, which say nothing about the row."""
    return 2 if verdict == OK else 1 if verdict in USABLE else 0


def _counts(verdicts) -> Dict[str, int]:
    """Rows per verdict, most frequent first."""
    return dict(Counter(verdicts).most_common())


def _records(frame: pd.DataFrame) -> Dict[int, Dict[str, Any]]:
    """Rows of a feature frame by internal id (one pass, not one .loc per lookup)."""
    if len(frame.columns) == 0:
        return {}
    return {int(k): v for k, v in zip(frame.index, frame.to_dict("records"))}


@dataclass
class Profiles:
    r"""Generated profiles of one kind (users or items), aligned to internal ids.

    Attributes:
        kind (str): :obj:`"user"` or :obj:`"item"`.
        template (PromptTemplate): The template used.
        frame (pd.DataFrame): One row per profiled id with ``id``, ``text``,
            ``status`` (verdict of the kept attempt), ``attempts``, ``kept_attempt``
            (0-based index of the attempt whose text is kept: the best verdict, the latest
            among equals, so a truncated answer is not replaced by a later refusal),
            ``failures`` (verdicts of the other attempts in order, ``;``-joined),
            ``finish_reason``, ``prompt_tokens``, ``completion_tokens``, ``cached``.
        messages (list): The final prompt of each row (for the LLM encoder).
        stats (dict): ``calls`` (generated, not cached), ``cached``,
            ``prompt_tokens``/``completion_tokens`` (of generated calls),
            ``rows``, ``generated_rows`` (rows not served from the cache),
            ``seconds``, ``profiles_per_s`` (generated rows per second),
            ``tokens_per_s``, ``retried`` (rows needing more than one attempt),
            ``failed`` (rows whose final verdict is not ``ok``, *including* ``truncated``) and
            ``unusable`` (rows whose final verdict is not in
            :data:`~autograph_rec.profiling.quality.USABLE`: the pipeline encodes their
            template-only text instead);
            ``first_verdicts`` and ``final_verdicts``: rows per verdict of the
            first and of the kept attempt, so a run shows which check cost its
            retries and which it could not mend.
    """

    kind: str
    template: PromptTemplate
    frame: pd.DataFrame
    messages: List[Messages]
    stats: Dict[str, Any] = field(default_factory=dict)

    @property
    def texts(self) -> List[str]:
        return self.frame["text"].tolist()

    def save_jsonl(self, path: str) -> None:
        """One JSON object per row (frame columns + messages)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for row, msgs in zip(self.frame.to_dict("records"), self.messages):
                row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                f.write(json.dumps({**row, "messages": msgs}, ensure_ascii=False) + "\n")


class Profiler:
    r"""Builds AutoGraph prompts and collects LLM profiles with retries.

    User prompts list the user's last :obj:`max_history` **training** items
    (plus demographics when known); item prompts use the item's own text
    fields. Outputs that are empty, refused or truncated are retried with
    sampling (a new seed per attempt; truncated ones with a larger token
    budget) and every row records its final verdict and rejected attempts,
    so nothing is silently replaced; a row keeps its best attempt (complete,
    then truncated, then the rest; the latest among equals). A progress bar per pass (first attempts,
    then each retry) shows ETA; :attr:`stats` report calls, tokens, seconds
    and throughput.

    Args:
        llm (LLMClient): Any client; wrap it in
            :class:`~autograph_rec.llm.CachedLLM` to make runs resumable
            (template id and version then enter the cache key).
        settings (GenerationSettings, optional): First-attempt decoding.
            (default: greedy, 256 new tokens)
        max_history (int, optional): Items per user prompt. (default: :obj:`30`)
        max_retries (int, optional): Extra attempts per bad row. (default: :obj:`2`)
        retry_temperature (float, optional): Temperature of retries when the
            first attempt was greedy. (default: :obj:`0.7`)
        truncation_growth (float, optional): Token budget factor per retry of
            a truncated row. (default: :obj:`1.5`)
        retry_truncated (bool, optional): Retry truncated rows at all. A
            truncated profile is usable as it stands; when the encoder reads
            fewer tokens than the budget (all-MiniLM-L6-v2: 256 word pieces)
            its longer retries add text that is never encoded. (default: :obj:`True`)
        with_ratings (bool, optional): Show ratings in user prompts.
            (default: :obj:`False`, as in the paper)
        chunk_size (int, optional): Rows handed to the client per call.
            (default: :obj:`256`)
        show_progress (bool, optional): Force the progress bar on or off.
    """

    def __init__(
        self,
        llm: LLMClient,
        settings: Optional[GenerationSettings] = None,
        max_history: int = 30,
        max_retries: int = 2,
        retry_temperature: float = 0.7,
        truncation_growth: float = 1.5,
        retry_truncated: bool = True,
        with_ratings: bool = False,
        chunk_size: int = 256,
        show_progress: Optional[bool] = None,
    ):
        if int(max_retries) < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
        self.llm = llm
        self.settings = settings or GenerationSettings(max_new_tokens=256)
        self.max_history = max_history
        self.max_retries = int(max_retries)
        self.retry_temperature = float(retry_temperature)
        self.truncation_growth = float(truncation_growth)
        self.retry_truncated = bool(retry_truncated)
        self.with_ratings = with_ratings
        self.chunk_size = int(chunk_size)
        self.show_progress = show_progress

    # -- prompts -----------------------------------------------------------------------------
    def user_messages(self, dataset, split, ids: Optional[Sequence[int]] = None) -> List[Messages]:
        r"""User prompts built from :obj:`split.train` only (validation and
        test interactions are never read)."""
        tpl = get_template("user", dataset.domain)
        histories, ratings = train_histories(split.train, dataset.num_users, self.max_history)
        item_rec = _records(dataset.item_features)
        user_rec = _records(dataset.user_features)
        ids = range(dataset.num_users) if ids is None else ids
        out = []
        for u in ids:
            hist = []
            for k, i in enumerate(histories[u]):
                fields = _titled(item_rec.get(int(i), {}), int(i))
                fields.pop("rating", None)
                if self.with_ratings and ratings[u] is not None:
                    fields["rating"] = float(ratings[u][k])
                hist.append(fields)
            out.append(tpl.user_messages(hist, user_rec.get(int(u), {})))
        empty = [int(u) for u in ids if len(histories[u]) == 0]
        if empty:  # (a per-user split keeps a training row for everyone; a global one may not)
            log.warning("%d user(s) have no training interaction, so their prompts list no history "
                        "(first internal ids: %s)", len(empty), empty[:5])
        return out

    def item_messages(self, dataset, ids: Optional[Sequence[int]] = None) -> List[Messages]:
        """Item prompts from each item's own text fields."""
        tpl = get_template("item", dataset.domain)
        item_rec = _records(dataset.item_features)
        ids = range(dataset.num_items) if ids is None else ids
        out = []
        for i in ids:
            out.append(tpl.item_messages(_titled(item_rec.get(int(i), {}), int(i))))
        return out

    # -- generation --------------------------------------------------------------------------
    def profile_users(self, dataset, split, ids: Optional[Sequence[int]] = None) -> Profiles:
        """Profile users (all, or :obj:`ids`)."""
        ids = list(range(dataset.num_users) if ids is None else ids)
        msgs = self.user_messages(dataset, split, ids)
        return self.run("user", get_template("user", dataset.domain), ids, msgs)

    def profile_items(self, dataset, ids: Optional[Sequence[int]] = None) -> Profiles:
        """Profile items (all, or :obj:`ids`)."""
        ids = list(range(dataset.num_items) if ids is None else ids)
        msgs = self.item_messages(dataset, ids)
        return self.run("item", get_template("item", dataset.domain), ids, msgs)

    def _retry_settings(self, attempt: int, status: str) -> GenerationSettings:
        s = self.settings
        temp = s.temperature if s.temperature > 0 else self.retry_temperature
        tokens = s.max_new_tokens
        if status == TRUNCATED:
            tokens = int(round(tokens * self.truncation_growth ** attempt))
        return replace(s, temperature=temp, seed=(s.seed or 0) + 1000 * attempt,
                       max_new_tokens=tokens)

    def _call(self, messages, settings, tpl, on_result) -> List[Generation]:
        if isinstance(self.llm, CachedLLM):
            return self.llm.generate(messages, settings, on_result=on_result,
                                     template_id=tpl.id, template_version=tpl.version)
        return self.llm.generate(messages, settings, on_result=on_result)

    def run(self, kind: str, tpl: PromptTemplate, ids: Sequence[int],
            messages: List[Messages]) -> Profiles:
        r"""Generate, check and retry; returns :class:`Profiles` in :obj:`ids` order."""
        n = len(messages)
        # every attempt's generation and verdict; the last verdict picks the retry's settings,
        # the best one (see _rank) the kept text
        tried: List[List[Generation]] = [[] for _ in range(n)]
        verdicts: List[List[str]] = [[] for _ in range(n)]
        stats = dict(calls=0, cached=0, prompt_tokens=0, completion_tokens=0)
        show = self.show_progress
        t0 = time.perf_counter()

        def account(g: Generation) -> None:
            if g.cached:
                stats["cached"] += 1
            else:
                stats["calls"] += 1
                stats["prompt_tokens"] += g.prompt_tokens
                stats["completion_tokens"] += g.completion_tokens

        # the request's text, to catch outputs that copy the prompt instead of answering it
        prompts = [prompt_text(msgs) for msgs in messages]
        todo = list(range(n))
        for attempt in range(self.max_retries + 1):
            if not todo:
                break
            by_settings: Dict[GenerationSettings, List[int]] = {}
            for r in todo:
                s = self.settings if attempt == 0 else self._retry_settings(attempt, verdicts[r][-1])
                by_settings.setdefault(s, []).append(r)
            retry = []
            # one bar per pass: retries (sampled, with a larger token budget for truncated rows) ran
            # 40+ min after SmolLM2's first pass over ML-100K's users, with a first-pass bar at 99 %
            desc = f"profile {kind}s" if attempt == 0 else f"retry {attempt}/{self.max_retries} {kind}s"
            bar = tqdm(total=len(todo), desc=desc, unit=kind,
                       disable=(show is False) or (show is None and n < 64))
            for settings, rows in by_settings.items():
                for c in range(0, len(rows), self.chunk_size):
                    chunk = rows[c:c + self.chunk_size]

                    def on_result(j, g, bar=bar):
                        account(g)
                        bar.update(1)
                        bar.set_postfix(calls=stats["calls"], cached=stats["cached"], refresh=False)

                    outs = self._call([messages[r] for r in chunk], settings, tpl, on_result)
                    for r, g in zip(chunk, outs):
                        verdict = check_output(g, prompt=prompts[r])
                        tried[r].append(g)
                        verdicts[r].append(verdict)
                        if verdict != OK and (verdict != TRUNCATED or self.retry_truncated):
                            retry.append(r)
            bar.close()
            todo = retry if attempt < self.max_retries else []
            if retry and attempt < self.max_retries:
                log.info("%d %s profiles failed checks; retry %d/%d", len(retry), kind,
                         attempt + 1, self.max_retries)

        secs = time.perf_counter() - t0
        # the best attempt, the latest among equals (a retry of a truncated row had a larger budget);
        # keeping the last one lost a usable truncated answer to a later refusal or chatter for
        # 11 of ML-100K's 943 SmolLM2 user profiles, which then fell back to template text
        kept = [max(range(len(v)), key=lambda a, v=v: (_rank(v[a]), a)) for v in verdicts]
        gens = [tried[r][a] for r, a in enumerate(kept)]
        status = [verdicts[r][a] for r, a in enumerate(kept)]
        failures = [[v for a, v in enumerate(verdicts[r]) if a != kept[r]] for r in range(n)]
        frame = pd.DataFrame({
            "id": np.asarray(ids, dtype=np.int64),
            "text": [g.text for g in gens],
            "status": status,
            "attempts": [len(v) for v in verdicts],
            "kept_attempt": kept,
            "failures": [";".join(f) for f in failures],
            "finish_reason": [g.finish_reason for g in gens],
            "prompt_tokens": [g.prompt_tokens for g in gens],
            "completion_tokens": [g.completion_tokens for g in gens],
            "cached": [g.cached for g in gens],
        })
        # Throughput counts only rows this run generated: rows served from the cache on a
        # resumed run cost (almost) nothing and would inflate profiles/s.
        fresh = int((~frame["cached"].astype(bool)).sum())
        stats.update(
            rows=n, generated_rows=fresh, seconds=round(secs, 3),
            failed=int((frame["status"] != OK).sum()),
            unusable=int((~frame["status"].isin(USABLE)).sum()),
            retried=int((frame["attempts"] > 1).sum()),
            # which checks cost retries (first attempts) and which rows they could not mend (final)
            first_verdicts=_counts(v[0] for v in verdicts),
            final_verdicts=_counts(frame["status"]),
            profiles_per_s=round(fresh / secs, 3) if secs > 0 else None,
            tokens_per_s=round(stats["completion_tokens"] / secs, 2) if secs > 0 else None,
            template=f"{tpl.id}@{tpl.version}", model=self.llm.model_id,
            backend=self.llm.backend,
        )
        log.info("profiled %d %ss: %s", n, kind, stats)
        return Profiles(kind, tpl, frame, messages, stats)
