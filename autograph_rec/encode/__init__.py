"""Text encoders turning profiles into float32 semantic vectors, cached on disk.

Model libraries (sentence-transformers, transformers) are imported only when used.
"""

from .base import TextEncoder
from .store import EmbeddingStore, text_hash

__all__ = ["TextEncoder", "EmbeddingStore", "text_hash", "SentenceEncoder",
           "LLMHiddenStateEncoder", "ENCODER_NAMES", "build_encoder", "encoder_kind"]


def __getattr__(name):
    if name == "SentenceEncoder":
        from .sentence import SentenceEncoder

        return SentenceEncoder
    if name == "LLMHiddenStateEncoder":
        from .llm_hidden import LLMHiddenStateEncoder

        return LLMHiddenStateEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Accepted encoder names and the encoder each one means.
ENCODER_NAMES = {**dict.fromkeys(("minilm", "sentence", "sentence-transformers", "st"), "minilm"),
                 **dict.fromkeys(("llm", "smollm2", "hidden", "llm-hidden"), "llm")}


def encoder_kind(name: str) -> str:
    """``"minilm"`` or ``"llm"`` for an accepted encoder name (checked before any stage runs)."""
    try:
        return ENCODER_NAMES[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; choose 'minilm' or 'llm'") from None


def build_encoder(name: str = "minilm", **kwargs) -> TextEncoder:
    r"""Create an encoder by name: :obj:`"minilm"`/:obj:`"sentence"`
    (:class:`SentenceEncoder`) or :obj:`"llm"`/:obj:`"smollm2"`
    (:class:`LLMHiddenStateEncoder`)."""
    if encoder_kind(name) == "minilm":
        from .sentence import SentenceEncoder

        return SentenceEncoder(**kwargs)
    from .llm_hidden import LLMHiddenStateEncoder

    return LLMHiddenStateEncoder(**kwargs)
