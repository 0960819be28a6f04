"""LLM clients behind one protocol, and a crash-safe response cache.

Heavy backends (transformers, httpx) are imported only when used.
"""

from .base import Generation, GenerationSettings, LLMClient, Message, Messages
from .cache import CachedLLM, ResponseCache, cache_key
from .fake import FakeLLM
from .registry import LLM_NAMES, build_llm

__all__ = [
    "Generation",
    "GenerationSettings",
    "LLMClient",
    "Message",
    "Messages",
    "CachedLLM",
    "ResponseCache",
    "cache_key",
    "FakeLLM",
    "LLM_NAMES",
    "build_llm",
    "TransformersLLM",
    "LlamaCppLLM",
    "OpenAILLM",
    "LLMRequestError",
]


def __getattr__(name):
    # Lazy so that `import autograph_rec.llm` never pulls in transformers or httpx.
    if name == "TransformersLLM":
        from .transformers_backend import TransformersLLM

        return TransformersLLM
    if name == "LlamaCppLLM":
        from .llamacpp_backend import LlamaCppLLM

        return LlamaCppLLM
    if name in ("OpenAILLM", "LLMRequestError"):
        from . import openai_backend

        return getattr(openai_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
