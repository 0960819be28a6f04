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
