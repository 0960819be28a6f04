"""Build an LLM client by name, importing heavy dependencies only when asked."""

from __future__ import annotations

from typing import Any, Optional

from .base import LLMClient

#: Names accepted by :func:`build_llm`.
LLM_NAMES = ("smollm2", "transformers", "llamacpp", "openai", "fake")


def build_llm(name: str, cache: Optional[str] = None, **kwargs: Any) -> LLMClient:
    r"""Create an LLM client.

    Args:
        name (str): :obj:`"smollm2"` (the bundled SmolLM2-135M-Instruct GGUF on
            the transformers backend), :obj:`"transformers"` (any local model:
            pass :obj:`model=`), :obj:`"llamacpp"` (a GGUF file in-process
            with llama-cpp-python; default the bundled SmolLM2), :obj:`"openai"` (an OpenAI-compatible server:
            pass :obj:`base_url=` and :obj:`model=`) or :obj:`"fake"`
            (deterministic, for tests).
        cache (str, optional): Path of a SQLite response cache; when given the
            client is wrapped in :class:`~autograph_rec.llm.cache.CachedLLM`.
        **kwargs: Passed to the backend's constructor.
    """
    key = name.lower().replace("-", "_")
    if key == "smollm2":
        from .bundled import SMOLLM2_MODEL_ID, smollm2_gguf_path
        from .transformers_backend import TransformersLLM

        model = kwargs.pop("model", None)
        if not model:
            # The bundled file's cache identity; another model (a path in ``model``) keeps its own,
            # or its responses would be served from SmolLM2's.
            kwargs.setdefault("model_id", SMOLLM2_MODEL_ID)
        llm: LLMClient = TransformersLLM(model or smollm2_gguf_path(), **kwargs)
    elif key in ("transformers", "hf", "local"):
        from .transformers_backend import TransformersLLM

        llm = TransformersLLM(**kwargs)
    elif key in ("llamacpp", "llama_cpp", "smollm2_llamacpp"):
        from .llamacpp_backend import LlamaCppLLM

        llm = LlamaCppLLM(**kwargs)
    elif key in ("openai", "http", "vllm"):
        from .openai_backend import OpenAILLM

        llm = OpenAILLM(**kwargs)
    elif key == "fake":
        from .fake import FakeLLM

        llm = FakeLLM(**kwargs)
    else:
        raise ValueError(f"unknown LLM {name!r}; choose one of {', '.join(LLM_NAMES)}")
    if cache is not None:
        from .cache import CachedLLM

        llm = CachedLLM(llm, cache)
    return llm
