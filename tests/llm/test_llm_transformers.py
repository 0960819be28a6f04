import pytest

from autograph_rec.llm import GenerationSettings, build_llm

pytestmark = pytest.mark.slow

CONVS = [[{"role": "user", "content": "Name one fruit."}],
         [{"role": "system", "content": "Answer briefly."},
          {"role": "user", "content": "What is the capital of France? Explain why in detail."}]]


@pytest.fixture(scope="module")
def llm(smollm2_gguf):
    return build_llm("smollm2", batch_size=2)


def test_smollm2_greedy_generation(llm):
    out = llm.generate(CONVS, GenerationSettings(max_new_tokens=6))
    assert len(out) == 2
    for g in out:
        assert g.text and 0 < g.completion_tokens <= 6 and g.prompt_tokens > 5
        assert g.finish_reason in ("stop", "length")
    # The dtype is part of the id (it changes the text) unless it is float32.
    assert llm.model_id in ("HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1-gguf",
                            f"HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1-gguf@{llm.dtype}")
    # Left padding is invisible: a row decodes the same alone as in a batch.
    alone = llm.generate(CONVS[1:], GenerationSettings(max_new_tokens=6))
    assert alone[0].text == out[1].text
    # Loaded once per process.
    assert build_llm("smollm2").load()[1] is llm.load()[1]


def test_smollm2_sampling_seed_and_stop(llm):
    s = GenerationSettings(temperature=0.9, top_p=0.95, max_new_tokens=5, seed=7)
    a = llm.generate(CONVS[:1], s)
    b = llm.generate(CONVS[:1], s)
    assert a[0].text == b[0].text
    stopped = llm.generate(CONVS[1:], GenerationSettings(max_new_tokens=12, stop=("Paris",)))
    assert "Paris" not in stopped[0].text and stopped[0].finish_reason == "stop"


def test_smollm2_backend_given_another_model_keeps_that_models_cache_identity(smollm2_gguf):
    # with SmolLM2's id, every response of the other model was served from SmolLM2's cache
    other = build_llm("smollm2", model="/elsewhere/Other-7B.Q4.gguf")
    assert other.model_id.startswith("Other-7B.Q4.gguf") and "SmolLM2" not in other.model_id
    assert "SmolLM2" in build_llm("smollm2").model_id
