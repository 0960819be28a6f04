import pytest

from autograph_rec.llm import FakeLLM, GenerationSettings, build_llm
from autograph_rec.llm.base import truncate_at_stop

CONVS = [[{"role": "user", "content": "describe Alien"}], [{"role": "user", "content": "hi"}]]


def test_settings_validation_and_dict():
    s = GenerationSettings(stop=["\n"])
    assert s.stop == ("\n",) and s.greedy and s.to_dict()["stop"] == ["\n"]
    assert not GenerationSettings(temperature=0.7).greedy
    for bad in (dict(temperature=-1), dict(top_p=0), dict(max_new_tokens=0),
                dict(repetition_penalty=0)):
        with pytest.raises(ValueError):
            GenerationSettings(**bad)


def test_truncate_at_stop():
    assert truncate_at_stop("a. b\nc", ["\n", "."]) == ("a", True)
    assert truncate_at_stop("abc", ["x", ""]) == ("abc", False)


def test_fake_llm_is_deterministic_and_respects_settings():
    a = FakeLLM().generate(CONVS)
    b = FakeLLM().generate(CONVS)
    assert [g.text for g in a] == [g.text for g in b]
    assert a[0].text != a[1].text and a[0].text.startswith("profile:")
    short = FakeLLM().generate(CONVS, GenerationSettings(max_new_tokens=3))
    assert all(g.completion_tokens == 3 and g.finish_reason == "length" for g in short)
    refuse = FakeLLM(responder=lambda m: "")
    assert refuse.generate(CONVS[:1])[0].text == ""


def test_validation_errors():
    with pytest.raises(ValueError):
        FakeLLM().generate([[{"content": "no role"}]])
    with pytest.raises(ValueError):
        FakeLLM().generate([[]])


def test_registry(tmp_path):
    assert isinstance(build_llm("fake"), FakeLLM)
    cached = build_llm("fake", cache=str(tmp_path / "c.sqlite"))
    assert cached.generate(CONVS[:1])[0].text == FakeLLM().generate(CONVS[:1])[0].text
    with pytest.raises(ValueError, match="unknown LLM"):
        build_llm("nope")


def test_lazy_imports():
    import subprocess
    import sys

    code = ("import sys, autograph_rec.llm; "
            "assert 'transformers' not in sys.modules and 'httpx' not in sys.modules "
            "and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_local_models_of_one_file_name_do_not_share_an_identity(tmp_path):
    import shutil

    from autograph_rec.llm.identity import local_model_id

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "model.gguf").write_bytes(b"GGUF" + bytes(3000))
    (tmp_path / "b" / "model.gguf").write_bytes(b"GGUF" + bytes(2999) + b"x")  # another fine-tune, same name
    a, b = local_model_id(str(tmp_path / "a" / "model.gguf")), local_model_id(str(tmp_path / "b" / "model.gguf"))
    assert a != b and a.startswith("model.gguf#")  # both were "model.gguf": one shared cache
    # a copy elsewhere is the same model; a folder and a folder + file name work alike
    shutil.copytree(tmp_path / "a", tmp_path / "c")
    assert local_model_id(str(tmp_path / "c" / "model.gguf")) == a
    assert local_model_id(str(tmp_path / "a"), "model.gguf") == a
    # folders: their files' names and sizes and config.json
    (tmp_path / "a" / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "b" / "config.json").write_text('{"hidden_size": 16}')
    assert local_model_id(str(tmp_path / "a")) != local_model_id(str(tmp_path / "b"))
    assert local_model_id(str(tmp_path / "a")).startswith("a#")
    # not on disk (a hub id): its name, as before
    assert local_model_id("HuggingFaceTB/SmolLM2-135M-Instruct") == "SmolLM2-135M-Instruct"
