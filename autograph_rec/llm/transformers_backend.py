"""Local generation with Hugging Face transformers (a model folder or a GGUF file)."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .base import (
    Generation,
    GenerationSettings,
    LLMClient,
    Messages,
    ResultCallback,
    truncate_at_stop,
    validate_messages,
)
from .identity import local_model_id

log = logging.getLogger(__name__)

_LOADED: Dict[Tuple[str, Optional[str], str, str], Tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


def _import_transformers():
    try:
        import transformers  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "The local LLM backend needs transformers (and gguf + accelerate for GGUF "
            "files): pip install 'autograph-rec[llm]'"
        ) from e
    return transformers


def resolve_device(device: Optional[str]) -> str:
    """``None``/``"auto"`` picks CUDA when available, else CPU."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def resolve_dtype(dtype: Optional[str], device: str) -> Optional[str]:
    r"""Turn :obj:`"auto"` into the fastest safe dtype for :obj:`device`.

    ``bfloat16`` where the hardware computes it natively (CUDA with bf16
    support; CPUs with AVX-512 BF16 or AMX, where oneDNN's bf16 matmuls made
    SmolLM2 prefill ~1.9x and decoding ~1.4x faster than float32 on this
    project's 2-core machine), else ``float32``. Any other value is returned
    unchanged (:obj:`None` keeps the loader's default).
    """
    if dtype != "auto":
        return dtype
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    try:
        native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native_bf16 = False
    return "bfloat16" if native_bf16 else "float32"


def split_model_path(model: str, gguf_file: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """Turn ``path/to/model.gguf`` into ``("path/to", "model.gguf")``."""
    model = os.fspath(model)
    if gguf_file is None and model.endswith(".gguf"):
        return os.path.dirname(os.path.abspath(model)), os.path.basename(model)
    return model, gguf_file


def load_model(
    model: str,
    gguf_file: Optional[str] = None,
    device: Optional[str] = "cpu",
    dtype: Optional[str] = None,
):
    r"""Load (tokenizer, model) once per process and reuse it afterwards.

    Loading SmolLM2 from GGUF takes tens of seconds (dequantisation), so every
    backend and encoder in the process shares one copy per
    (path, gguf file, device, dtype).

    Args:
        model (str): A model folder, a hub-style name available offline, or a
            ``.gguf`` file.
        gguf_file (str, optional): GGUF file name inside :obj:`model`.
        device (str, optional): :obj:`"cpu"`, :obj:`"cuda"`, :obj:`"cuda:1"` or
            :obj:`"auto"`. (default: :obj:`"cpu"`)
        dtype (str, optional): e.g. :obj:`"float32"`, :obj:`"bfloat16"`;
            :obj:`None` keeps the loader's default.
    """
    transformers = _import_transformers()
    import torch

    model, gguf_file = split_model_path(model, gguf_file)
    device = resolve_device(device)
    key = (os.path.abspath(model) if os.path.exists(model) else model, gguf_file, device,
           str(dtype))
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        t0 = time.perf_counter()
        kw: Dict[str, Any] = {}
        if gguf_file is not None:
            kw["gguf_file"] = gguf_file
        tok = transformers.AutoTokenizer.from_pretrained(model, **kw)
        if dtype is not None:
            kw["dtype"] = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        lm = transformers.AutoModelForCausalLM.from_pretrained(model, **kw)
        lm.to(device).eval()
        if tok.pad_token_id is None:
            # Decoder-only chat models often ship no pad token; EOS is the usual stand-in
            # and is safe here because padded positions are masked out.
            tok.pad_token = tok.eos_token
        log.info("loaded %s%s on %s in %.1fs", model, f" ({gguf_file})" if gguf_file else "",
                 device, time.perf_counter() - t0)
        _LOADED[key] = (tok, lm)
        return tok, lm


class TransformersLLM(LLMClient):
    r"""Batched chat generation with a local Hugging Face causal LM.

    Prompts are rendered with the tokenizer's chat template, sorted by length
    (less padding), left-padded and decoded greedily (``temperature=0``) or by
    sampling with ``temperature``/``top_p`` under a fixed ``seed``. The model
    is loaded lazily on the first call and shared within the process.

    A sampled answer is reproducible for the same call, not per prompt: the seed applies to
    each forward batch, whose rows are the call's prompts in length order, so one prompt sampled
    beside other prompts (e.g. a retry in a run resumed from a cache holding some of them) can
    get another sample. Greedy answers do not depend on their batch mates (up to the dtype's
    rounding). A response cache keeps whichever sample came first.

    Args:
        model (str): Model folder or ``.gguf`` file (see :func:`load_model`).
        gguf_file (str, optional): GGUF file name inside :obj:`model`.
        device (str, optional): Torch device or :obj:`"auto"`.
            (default: :obj:`"cpu"`)
        dtype (str, optional): Weights dtype: :obj:`"auto"` (bfloat16 where
            the device computes it natively, else float32; see
            :func:`resolve_dtype`), :obj:`"float32"`, :obj:`"bfloat16"`, ...
            A dtype other than float32 is part of :attr:`model_id` (and so of
            response-cache keys), since it changes the generated text.
            (default: :obj:`"auto"`)
        batch_size (int, optional): Conversations per forward batch.
            (default: :obj:`16`)
        max_prompt_tokens (int, optional): Prompts are cut to their last
            :obj:`max_prompt_tokens` tokens. (default: :obj:`2048`)
        model_id (str, optional): Name used in cache keys; defaults to the
            folder or file name with a fingerprint of its content
            (:func:`~autograph_rec.llm.identity.local_model_id`), so moving the files keeps the
            cache valid and two models of one file name do not share it.
    """

    backend = "transformers"

    def __init__(
        self,
        model: str,
        gguf_file: Optional[str] = None,
        device: Optional[str] = "cpu",
        dtype: Optional[str] = "auto",
        batch_size: int = 16,
        max_prompt_tokens: int = 2048,
        model_id: Optional[str] = None,
    ):
        self.model_path, self.gguf_file = split_model_path(model, gguf_file)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batch_size = int(batch_size)
        self.max_prompt_tokens = int(max_prompt_tokens)
        self.model_id = model_id or local_model_id(self.model_path, self.gguf_file)
        if self.dtype not in (None, "float32"):
            self.model_id += f"@{self.dtype}"

    def load(self):
        """Return the shared (tokenizer, model) pair, loading it if needed."""
        return load_model(self.model_path, self.gguf_file, self.device, self.dtype)

    @property
    def tokenizer(self):
        return self.load()[0]

    @property
    def model(self):
        return self.load()[1]

    def render(self, messages: Messages, add_generation_prompt: bool = True) -> str:
        """The prompt string the model sees for one conversation."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
            )
        # Base models without a template: plain "role: content" lines.
        text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        return text + ("\nassistant:" if add_generation_prompt else "")

    def _end_ids(self) -> set:
        tok, lm = self.load()
        ids = set()
        eos = lm.generation_config.eos_token_id
        for x in (eos if isinstance(eos, (list, tuple)) else [eos]):
            if x is not None:
                ids.add(int(x))
        for x in (tok.eos_token_id, tok.pad_token_id):
            if x is not None:
                ids.add(int(x))
        return ids

    def generate(
        self,
        messages_batch: Sequence[Messages],
        settings: Optional[GenerationSettings] = None,
        *,
        on_result: Optional[ResultCallback] = None,
    ) -> List[Generation]:
        import torch

        settings = settings or GenerationSettings()
        validate_messages(messages_batch)
        if not messages_batch:
            return []
        tok, lm = self.load()
        prompts = [
            tok(self.render(m), add_special_tokens=False)["input_ids"][-self.max_prompt_tokens:]
            for m in messages_batch
        ]
        # Longest first: similar lengths share a batch and an OOM shows up at once.
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        end_ids = self._end_ids()
        results: List[Optional[Generation]] = [None] * len(prompts)

        gen_kw: Dict[str, Any] = dict(
            max_new_tokens=settings.max_new_tokens,
            pad_token_id=tok.pad_token_id,
            # every end id, the pad id included when it is one (a model without a pad token
            # pads with its eos): dropped from the list, rows that ended decoded on to the budget
            eos_token_id=sorted(end_ids) or tok.eos_token_id,
            # A preallocated cache: the default one grows by concatenation, copying the
            # whole cache every step (measured 1.7x slower decoding at batch 32 on CPU).
            cache_implementation="static",
        )
        if settings.greedy:
            # Explicit None silences the model's sampling defaults in greedy mode.
            gen_kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            gen_kw.update(do_sample=True, temperature=settings.temperature,
                          top_p=settings.top_p, top_k=None)
        if settings.repetition_penalty != 1.0:
            gen_kw["repetition_penalty"] = settings.repetition_penalty
        if settings.stop:
            gen_kw.update(stop_strings=list(settings.stop), tokenizer=tok)

        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(prompts[i]) for i in idx)
            ids = torch.full((len(idx), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                p = prompts[i]
                ids[r, width - len(p):] = torch.tensor(p, dtype=torch.long)
                mask[r, width - len(p):] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            with torch.inference_mode(), torch.random.fork_rng(
                devices=[torch.device(self.device)] if self.device.startswith("cuda") else []
            ):
                if settings.seed is not None:
                    # Seeded per batch, inside fork_rng so the caller's RNG is untouched.
                    torch.manual_seed(settings.seed + start)
                out = lm.generate(input_ids=ids, attention_mask=mask, **gen_kw)
            new = out[:, width:].tolist()
            for r, i in enumerate(idx):
                seq = new[r]
                end = next((t for t, x in enumerate(seq) if x in end_ids), None)
                body = seq if end is None else seq[:end]
                text = tok.decode(body, skip_special_tokens=True)
                text, hit_stop = truncate_at_stop(text, settings.stop)
                finish = "stop" if (end is not None or hit_stop) else "length"
                gen = Generation(
                    text=text.strip(),
                    prompt_tokens=len(prompts[i]),
                    completion_tokens=len(body) + (1 if end is not None else 0),
                    finish_reason=finish,
                )
                results[i] = gen
                if on_result is not None:
                    on_result(i, gen)
        return results  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (f"TransformersLLM(model_id={self.model_id!r}, device={self.device!r}, "
                f"batch_size={self.batch_size})")
