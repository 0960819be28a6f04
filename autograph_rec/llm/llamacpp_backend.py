"""In-process GGUF generation with llama-cpp-python (quantised kernels, no server)."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .base import (
    generation_from_chat_completion,
    Generation,
    GenerationSettings,
    LLMClient,
    Messages,
    ResultCallback,
    validate_messages,
)
from .identity import local_model_id

log = logging.getLogger(__name__)

_LOADED: Dict[Tuple[str, int, Optional[int], int], Any] = {}
_LOAD_LOCK = threading.Lock()


@atexit.register
def _close_loaded() -> None:
    # Free the models while llama_cpp is still importable: left to interpreter teardown,
    # Llama.__del__ can run after llama_cpp's internals are gone and prints
    # "Exception ignored in: <function Llama.__del__ ...> TypeError: 'NoneType' object is not callable".
    with _LOAD_LOCK:
        for model in _LOADED.values():
            model.close()
        _LOADED.clear()


def load_llama(path: str, n_ctx: int = 4096, n_threads: Optional[int] = None,
               n_batch: int = 512):
    """Load a GGUF model once per process per (path, n_ctx, n_threads, n_batch)."""
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise ImportError(
            "The llama.cpp backend needs llama-cpp-python, built from source: "
            'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON '
            '-DGGML_F16C=ON -DGGML_BMI2=ON" pip install llama-cpp-python'
        ) from e
    key = (os.path.abspath(path), int(n_ctx), n_threads, int(n_batch))
    with _LOAD_LOCK:
        if key not in _LOADED:
            t0 = time.perf_counter()
            _LOADED[key] = Llama(model_path=key[0], n_ctx=n_ctx, n_threads=n_threads,
                                 n_batch=n_batch, verbose=False)
            log.info("loaded %s with llama.cpp in %.1fs", path, time.perf_counter() - t0)
        return _LOADED[key]


class LlamaCppLLM(LLMClient):
    r"""Chat generation with llama.cpp on a GGUF file, in this process.

    On CPU its quantised kernels make a Q4 model several times cheaper per
    token than the dequantised float32 copy the transformers backend runs,
    and loading takes about a second. Conversations run one after another
    (llama.cpp's Python binding has no batched chat API), each reported
    through ``on_result`` as soon as it finishes.

    Sampling uses only ``temperature`` and ``top_p``: llama.cpp's extra
    samplers (``top_k``, ``min_p``) are switched off so settings mean the same
    as on the other backends.

    Args:
        model (str, optional): A ``.gguf`` file; :obj:`None` uses the bundled
            SmolLM2-135M-Instruct.
        n_ctx (int, optional): Context window (prompt + response) in tokens.
            (default: :obj:`4096`)
        n_threads (int, optional): CPU threads; :obj:`None` lets llama.cpp choose.
        n_batch (int, optional): Prompt tokens per evaluation step.
            (default: :obj:`512`)
        model_id (str, optional): Name used in cache keys (default: the file name with a
            fingerprint of its content, or the SmolLM2 id for the bundled model).
    """

    backend = "llamacpp"

    def __init__(
        self,
        model: Optional[str] = None,
        n_ctx: int = 4096,
        n_threads: Optional[int] = None,
        n_batch: int = 512,
        model_id: Optional[str] = None,
    ):
        from .bundled import SMOLLM2_MODEL_ID, smollm2_gguf_path

        if model is None:
            model = smollm2_gguf_path()
            model_id = model_id or SMOLLM2_MODEL_ID
        self.model_path = str(model)
        self.n_ctx = int(n_ctx)
        self.n_threads = n_threads
        self.n_batch = int(n_batch)
        self.model_id = model_id or local_model_id(self.model_path)
        self._lock = threading.Lock()

    def load(self):
        return load_llama(self.model_path, self.n_ctx, self.n_threads, self.n_batch)

    def _one(self, llama, messages: Messages, s: GenerationSettings) -> Generation:
        kw: Dict[str, Any] = dict(
            max_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
            top_k=0, min_p=0.0, repeat_penalty=s.repetition_penalty, stop=list(s.stop) or None,
        )
        if s.seed is not None:
            kw["seed"] = s.seed
        # llama-cpp-python reuses the previous call's KV cache; when the new prompt repeats the
        # last one (a retry) its replay path gave another greedy text than a fresh context does,
        # so the same request could be answered two ways. A fresh context every call.
        llama.reset()
        out = llama.create_chat_completion(
            [{"role": m["role"], "content": m["content"]} for m in messages], **kw)
        return generation_from_chat_completion(out)

    def generate(
        self,
        messages_batch: Sequence[Messages],
        settings: Optional[GenerationSettings] = None,
        *,
        on_result: Optional[ResultCallback] = None,
    ) -> List[Generation]:
        settings = settings or GenerationSettings()
        validate_messages(messages_batch)
        llama = self.load()
        out = []
        for i, messages in enumerate(messages_batch):
            with self._lock:  # one llama.cpp context is not safe across threads
                gen = self._one(llama, messages, settings)
            out.append(gen)
            if on_result is not None:
                on_result(i, gen)
        return out

    def __repr__(self) -> str:
        return f"LlamaCppLLM(model_id={self.model_id!r}, n_ctx={self.n_ctx})"
