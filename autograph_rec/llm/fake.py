"""A deterministic stand-in LLM for plumbing tests and dry runs."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Callable, List, Optional, Sequence

from .base import (
    Generation,
    GenerationSettings,
    LLMClient,
    Messages,
    ResultCallback,
    truncate_at_stop,
    validate_messages,
)

_WORDS = (
    "drama comedy thriller romance action sci-fi classic quiet dark witty epic "
    "tense gentle stylish acclaimed score director period family mystery"
).split()


class FakeLLM(LLMClient):
    r"""A deterministic LLM: the response is a pure function of the last
    message and the settings, so tests can assert exact outputs.

    Each response reads ``"<prefix> <words...>"`` where the words are picked
    by hashing the request; its length respects :obj:`max_new_tokens` (one
    word = one token) and stop strings.

    Args:
        prefix (str, optional): First word of every response.
            (default: :obj:`"profile:"`)
        delay (float, optional): Seconds to sleep per row, to simulate a slow
            model. (default: :obj:`0.0`)
        num_words (int, optional): Words per response before truncation.
            (default: :obj:`12`)
        responder (callable, optional): If given, ``responder(messages)``
            returns the text instead (e.g. to simulate refusals).
        after_result (callable, optional): ``after_result(i, messages)`` runs
            after :obj:`on_result` returned for row :obj:`i`, e.g. to log that
            a row was durably handed over.
        model_id (str, optional): Model name used in cache keys.
            (default: :obj:`"fake"`)
    """

    backend = "fake"

    def __init__(
        self,
        prefix: str = "profile:",
        delay: float = 0.0,
        num_words: int = 12,
        responder: Optional[Callable[[Messages], str]] = None,
        after_result: Optional[Callable[[int, Messages], None]] = None,
        model_id: str = "fake",
    ):
        self.prefix = prefix
        self.delay = delay
        self.num_words = num_words
        self.responder = responder
        self.after_result = after_result
        self.model_id = model_id
        #: Every conversation this client was asked to generate, in order.
        self.calls: List[Messages] = []

    def _respond(self, messages: Messages, settings: GenerationSettings) -> Generation:
        if self.responder is not None:
            text = self.responder(messages)
        else:
            blob = json.dumps([messages, settings.to_dict()], sort_keys=True)
            digest = hashlib.sha256(blob.encode()).digest()
            words = [_WORDS[b % len(_WORDS)] for b in digest[: self.num_words]]
            text = " ".join([self.prefix] + words)
        tokens = text.split(" ")
        finish = "stop"
        if len(tokens) > settings.max_new_tokens:
            tokens, finish = tokens[: settings.max_new_tokens], "length"
        text, hit = truncate_at_stop(" ".join(tokens), settings.stop)
        if hit:
            finish = "stop"
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Generation(text, prompt_tokens, len(text.split()), finish)

    def generate(
        self,
        messages_batch: Sequence[Messages],
        settings: Optional[GenerationSettings] = None,
        *,
        on_result: Optional[ResultCallback] = None,
    ) -> List[Generation]:
        settings = settings or GenerationSettings()
        validate_messages(messages_batch)
        out = []
        for i, messages in enumerate(messages_batch):
            self.calls.append(messages)
            if self.delay:
                time.sleep(self.delay)
            gen = self._respond(messages, settings)
            out.append(gen)
            if on_result is not None:
                on_result(i, gen)
            if self.after_result is not None:
                self.after_result(i, messages)
        return out
