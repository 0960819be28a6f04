"""Text encoders turning profiles into float32 semantic vectors, cached on disk.

Model libraries (sentence-transformers, transformers) are imported only when used.
"""

from .base import TextEncoder
from .store import EmbeddingStore, text_hash

__all__ = ["TextEncoder", "EmbeddingStore", "text_hash", "SentenceEncoder",
           "LLMHiddenStateEncoder", "build_encoder"]


def __getattr__(name):
    if name == "SentenceEncoder":
        from .sentence import SentenceEncoder

        return SentenceEncoder
    if name == "LLMHiddenStateEncoder":
        from .llm_hidden import LLMHiddenStateEncoder

        return LLMHiddenStateEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_encoder(name: str = "minilm", **kwargs) -> TextEncoder:
    r"""Create an encoder by name: :obj:`"minilm"`/:obj:`"sentence"`
    (:class:`SentenceEncoder`) or :obj:`"llm"`/:obj:`"smollm2"`
    (:class:`LLMHiddenStateEncoder`)."""
    key = name.lower()
    if key in ("minilm", "sentence", "sentence-transformers", "st"):
        from .sentence import SentenceEncoder

        return SentenceEncoder(**kwargs)
    if key in ("llm", "smollm2", "hidden", "llm-hidden"):
        from .llm_hidden import LLMHiddenStateEncoder

        return LLMHiddenStateEncoder(**kwargs)
    raise ValueError(f"unknown encoder {name!r}; choose 'minilm' or 'llm'")
