import importlib.util

import pytest

from autograph_rec.llm import CachedLLM, GenerationSettings, build_llm

pytestmark = pytest.mark.slow

CONVS = [[{"role": "user", "content": "Name one fruit."}],
         [{"role": "user", "content": "What is the capital of France?"}]]


@pytest.fixture(scope="module")
def llm(smollm2_gguf):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp not installed (see tests/llm/test_llm_openai_server.py)")
    return build_llm("llamacpp", n_ctx=1024, n_threads=2)


def test_llamacpp_generation(llm, tmp_path):
    seen = []
    out = llm.generate(CONVS, GenerationSettings(max_new_tokens=6),
                       on_result=lambda i, g: seen.append(i))
    assert seen == [0, 1]
    for g in out:
        assert g.text and 0 < g.completion_tokens <= 6 and g.prompt_tokens > 5
    again = llm.generate(CONVS, GenerationSettings(max_new_tokens=6))
    assert [g.text for g in again] == [g.text for g in out]  # greedy is deterministic
    s = GenerationSettings(temperature=0.9, max_new_tokens=6, seed=5)
    assert llm.generate(CONVS[:1], s)[0].text == llm.generate(CONVS[:1], s)[0].text
    cached = CachedLLM(llm, str(tmp_path / "c.sqlite"))
    cached.generate(CONVS, GenerationSettings(max_new_tokens=6))
    assert all(g.cached for g in cached.generate(CONVS, GenerationSettings(max_new_tokens=6)))
    assert cached.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1-gguf"


def test_cached_models_are_closed_by_the_exit_hook(smollm2_gguf):
    # the CI log once ended with "Exception ignored in: <function Llama.__del__ ...>": a model cached
    # for the process was freed during interpreter teardown, after llama_cpp's internals (not
    # reproducible in a small process, so this checks the hook that frees them first). Kept last in
    # this file: the hook closes every cached model, the module fixture's too.
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp not installed")
    from autograph_rec.llm import llamacpp_backend as backend

    first = backend.load_llama(smollm2_gguf, n_ctx=256, n_threads=1)
    assert backend.load_llama(smollm2_gguf, n_ctx=256, n_threads=1) is first  # cached
    backend._close_loaded()
    assert backend._LOADED == {}
    assert backend.load_llama(smollm2_gguf, n_ctx=256, n_threads=1) is not first
    backend._close_loaded()
