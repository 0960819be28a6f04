"""The paper's semantic vectors: mean of an LLM's last hidden layer."""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..llm.base import Messages
from .base import TextEncoder


class LLMHiddenStateEncoder(TextEncoder):
    r"""Masked mean of the last hidden layer of a causal LM, as in AutoGraph
    (Shan et al., KDD 2025, "LLM-based semantic vectors"): the vector of a
    profile is the average over all tokens of prompt + response.

    Use :meth:`encode_chat` with the profiling conversations and their
    responses to get exactly that; :meth:`encode` embeds plain texts.

    Args:
        llm (TransformersLLM or str, optional): The transformers backend whose
            model is used (shared with generation, loaded once per process), a
            model path, or :obj:`None` for the bundled SmolLM2.
        batch_size (int, optional): Texts per forward pass. (default: :obj:`8`)
        max_length (int, optional): Texts are cut to their last
            :obj:`max_length` tokens (the response sits at the end).
            (default: :obj:`1024`)
        device (str, optional): Used when :obj:`llm` is a path or :obj:`None`.
        cache (str, optional): SQLite file caching vectors across runs.
        show_progress (bool, optional): Force the progress bar on or off.
    """

    def __init__(
        self,
        llm=None,
        batch_size: int = 8,
        max_length: int = 1024,
        device: Optional[str] = "cpu",
        cache=None,
        show_progress: Optional[bool] = None,
    ):
        super().__init__(batch_size=batch_size, cache=cache, show_progress=show_progress)
        from ..llm.transformers_backend import TransformersLLM

        if llm is None:
            from ..llm.registry import build_llm

            llm = build_llm("smollm2", device=device)
        elif not isinstance(llm, TransformersLLM):
            llm = TransformersLLM(str(llm), device=device)
        self.llm = llm
        self.max_length = int(max_length)
        self.model_id = f"{llm.model_id}:last-hidden-mean:{self.max_length}"

    @property
    def dim(self) -> int:
        return int(self.llm.model.config.hidden_size)

    def chat_texts(self, messages_batch: Sequence[Messages], responses: Sequence[str]) -> List[str]:
        """Prompt (chat template with generation prompt) + response, per row."""
        if len(messages_batch) != len(responses):
            raise ValueError("messages_batch and responses must have equal length")
        return [self.llm.render(m) + str(r) for m, r in zip(messages_batch, responses)]

    def encode_chat(
        self,
        messages_batch: Sequence[Messages],
        responses: Sequence[str],
        show_progress: Optional[bool] = None,
    ) -> np.ndarray:
        r"""Vectors of ``[len(responses), D]`` over prompt + response tokens."""
        return self.encode(self.chat_texts(messages_batch, responses), show_progress)

    def _encode_batch(self, texts: List[str]) -> np.ndarray:
        import torch

        tok, lm = self.llm.load()
        bos = tok.bos_token or ""
        ids = []
        for t in texts:
            # Chat renders already carry their special tokens; never add a second BOS.
            add = not (bos and t.startswith(bos))
            ids.append(tok(t, add_special_tokens=add)["input_ids"][-self.max_length:] or
                       [tok.pad_token_id])
        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, x in enumerate(ids):
            # Right padding: causal attention means real tokens never see the pads.
            input_ids[r, :len(x)] = torch.tensor(x, dtype=torch.long)
            mask[r, :len(x)] = 1
        input_ids, mask = input_ids.to(self.llm.device), mask.to(self.llm.device)
        with torch.inference_mode():
            # The bare decoder skips the LM head: no [batch, seq, vocab] logits.
            hidden = lm.base_model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
        return pooled.float().cpu().numpy()
