import re

import numpy as np
import pandas as pd
import pytest

from autograph_rec.data import DataSplit, InteractionDataset, Interactions
from autograph_rec.llm import CachedLLM, FakeLLM, GenerationSettings
from autograph_rec.profiling import Profiler, check_output, get_template, train_histories
from autograph_rec.profiling import templates as tmod
from autograph_rec.llm.base import Generation


def toy(num_users=3, per_user=40, with_users=True):
    """Every user rates `per_user` items at increasing times; each part has its own titles."""
    rng = np.random.default_rng(0)
    rows = {"train": [], "valid": [], "test": []}
    item = 0
    titles = []
    for u in range(num_users):
        for t in range(per_user + 4):
            part = "train" if t < per_user else ("valid" if t < per_user + 2 else "test")
            rows[part].append((u, item, 1000 * u + t, float(rng.integers(1, 6))))
            titles.append(f"{part.capitalize()}Film{item} ({1990 + item % 20})")
            item += 1

    def inter(r):
        a = np.asarray(r, dtype=float)
        return Interactions(a[:, 0], a[:, 1], a[:, 3], a[:, 2])

    parts = {k: inter(v) for k, v in rows.items()}
    items = pd.DataFrame({"title": titles, "year": [float(1990 + i % 20) for i in range(item)],
                          "genres": ["Drama|Comedy"] * item})
    users = (pd.DataFrame({"age": [24, 53, 30][:num_users], "gender": ["M", "F", "M"][:num_users],
                           "occupation": ["writer", "doctor", "artist"][:num_users],
                           "zip": ["1", "2", "3"][:num_users]})
             if with_users else pd.DataFrame())
    # Shuffle the stored rows: order must come from timestamps, not file order.
    full = Interactions.concat(list(parts.values()))
    perm = rng.permutation(len(full))
    ds = InteractionDataset("toy", full.subset(perm), np.arange(num_users), np.arange(item),
                            users, items, "movies")
    train = parts["train"].subset(rng.permutation(len(parts["train"])))
    return ds, DataSplit(train, parts["valid"], parts["test"], num_users, item)


def test_train_histories_last_30_oldest_first():
    ds, split = toy()
    items, ratings = train_histories(split.train, ds.num_users, 30)
    assert [len(x) for x in items] == [30, 30, 30]
    assert items[1].tolist() == list(range(44 + 10, 44 + 40))  # the 30 most recent, in time order
    assert ratings[0] is not None and len(ratings[0]) == 30
    assert len(train_histories(split.train, ds.num_users, None)[0][2]) == 40


def test_user_prompts_use_only_training_items():
    ds, split = toy()
    msgs = Profiler(FakeLLM()).user_messages(ds, split)
    assert len(msgs) == 3
    for u, m in enumerate(msgs):
        text = " ".join(x["content"] for x in m)
        assert "ValidFilm" not in text and "TestFilm" not in text
        shown = [int(x) for x in re.findall(r"TrainFilm(\d+)", text)]
        assert shown == list(range(44 * u + 10, 44 * u + 40))
        assert re.search(r"^30\. ", m[1]["content"], re.M) and not re.search(r"^31\. ", m[1]["content"], re.M)
    assert "rated" not in msgs[0][1]["content"]
    rated = Profiler(FakeLLM(), with_ratings=True).user_messages(ds, split, ids=[0])
    assert "/5)" in rated[0][1]["content"]


def test_demographics_and_factors():
    ds, split = toy()
    m = Profiler(FakeLLM()).user_messages(ds, split, ids=[1])[0]
    assert "53-year-old female" in m[1]["content"] and "doctor" in m[1]["content"]
    assert "zip" not in m[1]["content"]
    for factor in ("soundtrack", "director/actors", "period/country"):
        assert factor in m[1]["content"]
    ds2, split2 = toy(with_users=False)
    m2 = Profiler(FakeLLM()).user_messages(ds2, split2, ids=[0])[0]
    assert "The user is" not in m2[1]["content"]


def test_item_prompts_use_own_fields():
    ds, _ = toy(num_users=1)
    m = Profiler(FakeLLM()).item_messages(ds, ids=[5])[0]
    assert "TrainFilm5 (1995)" in m[1]["content"] and "Drama, Comedy" in m[1]["content"]
    assert m[1]["content"].count("1995") == 1  # year not repeated after the title
    books = get_template("item", "books").item_messages({"title": "Dune", "author": "Herbert"})
    assert "writing style" in books[1]["content"] and "author: Herbert" in books[1]["content"]
    with pytest.raises(ValueError):
        get_template("user", "music")


def test_profiles_cached_and_template_version_in_key(tmp_path, monkeypatch):
    ds, split = toy(num_users=2)
    fake = FakeLLM()
    llm = CachedLLM(fake, str(tmp_path / "c.sqlite"))
    prof = Profiler(llm, GenerationSettings(max_new_tokens=64))
    first = prof.profile_users(ds, split)
    assert first.stats["calls"] == 2 and first.stats["cached"] == 0 and first.stats["generated_rows"] == 2
    assert (first.frame["status"] == "ok").all() and first.frame["id"].tolist() == [0, 1]
    again = prof.profile_users(ds, split)
    assert again.stats["calls"] == 0 and again.stats["cached"] == 2
    # rows served from the cache are not throughput
    assert again.stats["generated_rows"] == 0 and again.stats["profiles_per_s"] == 0
    assert again.texts == first.texts and len(fake.calls) == 2
    bumped = dict(tmod.TEMPLATES)
    old = bumped[("user", "movies")]
    new_version = str(int(old.version) + 1)
    bumped[("user", "movies")] = tmod.PromptTemplate(old.id, new_version, old.kind, old.domain,
                                                     old.system, old.instruction)
    monkeypatch.setattr(tmod, "TEMPLATES", bumped)
    third = prof.profile_users(ds, split)
    assert third.stats["calls"] == 2 and len(fake.calls) == 4
    assert third.stats["template"] == f"user_preference/movies@{new_version}"


def refuses_once():
    """A responder that refuses each prompt the first time and answers it on every later call."""
    seen = {}

    def respond(messages):
        key = messages[-1]["content"]
        seen[key] = seen.get(key, 0) + 1
        return "I'm sorry, I cannot describe this." if seen[key] == 1 else "genre: drama " * 5

    return respond


def test_bad_outputs_are_retried_and_recorded(tmp_path):
    ds, _ = toy(num_users=1)
    prof = Profiler(FakeLLM(responder=refuses_once()), max_retries=2)
    out = prof.profile_items(ds, ids=[0, 1])
    assert out.frame["status"].tolist() == ["ok", "ok"]
    assert out.frame["attempts"].tolist() == [2, 2]
    assert out.frame["failures"].tolist() == ["refused", "refused"]
    assert out.stats["first_verdicts"] == {"refused": 2}
    assert out.stats["final_verdicts"] == {"ok": 2}

    dead = Profiler(FakeLLM(responder=lambda m: ""), max_retries=2).profile_items(ds, ids=[3])
    row = dead.frame.iloc[0]
    assert row["status"] == "empty" and row["attempts"] == 3 and row["failures"] == "empty;empty"
    assert row["text"] == "" and dead.stats["failed"] == 1
    assert dead.stats["first_verdicts"] == dead.stats["final_verdicts"] == {"empty": 1}


def test_each_retry_pass_has_its_own_progress_bar(capsys):
    # retries can take a third of a profiling run; the first-pass bar must not sit at 100 % through them
    ds, _ = toy(num_users=1)
    Profiler(FakeLLM(responder=refuses_once()), max_retries=2, show_progress=True).profile_items(ds, ids=[0, 1, 2])
    err = capsys.readouterr().err
    assert re.search(r"profile items: 100%\S* 3/3", err)
    assert re.search(r"retry 1/2 items: 100%\S* 3/3", err)
    assert "retry 2/2" not in err  # every row was mended by the first retry


def test_truncated_retry_gets_bigger_budget():
    ds, _ = toy(num_users=1)
    budgets = []

    class Spy(FakeLLM):
        def generate(self, batch, settings=None, *, on_result=None):
            budgets.append((settings.max_new_tokens, settings.temperature, settings.seed))
            return super().generate(batch, settings, on_result=on_result)

    out = Profiler(Spy(num_words=50), GenerationSettings(max_new_tokens=20),
                   max_retries=2).profile_items(ds, ids=[0])
    assert budgets == [(20, 0.0, 0), (30, 0.7, 1000), (45, 0.7, 2000)]
    # FakeLLM answers with 33 words: the third budget (45) fits.
    row = out.frame.iloc[0]
    assert row["status"] == "ok" and row["failures"] == "truncated;truncated"


def test_truncated_rows_can_be_kept_without_retries():
    ds, _ = toy(num_users=1)
    calls = []

    class Spy(FakeLLM):
        def generate(self, batch, settings=None, *, on_result=None):
            calls.append((len(batch), settings.max_new_tokens))
            return super().generate(batch, settings, on_result=on_result)

    # item 0 is truncated (13 words > 8 tokens), item 1 refuses once: only the refusal is retried
    answers = {0: "I'm sorry, I cannot describe this."}

    def respond(messages):
        return answers.pop(0, "drama " + " ".join(f"theme{i}" for i in range(12)))

    out = Profiler(Spy(responder=respond), GenerationSettings(max_new_tokens=8), retry_truncated=False,
                   chunk_size=1).profile_items(ds, ids=[0, 1])
    assert out.frame["attempts"].tolist() == [2, 1] and out.frame["status"].tolist() == ["truncated", "truncated"]
    assert calls == [(1, 8), (1, 8), (1, 8)]  # the refusal's retry keeps the budget; no 12-token call


def test_a_truncated_answer_survives_later_unusable_retries():
    # the last attempt used to be kept: a usable truncated profile was replaced by a later refusal
    # (and then by template text) for 11 of ML-100K's 943 SmolLM2 user profiles
    ds, _ = toy(num_users=1)
    answers = iter(["drama thriller noir suspense crime heist " * 10, "I'm sorry, I cannot describe this.", ""])
    out = Profiler(FakeLLM(responder=lambda m: next(answers)), GenerationSettings(max_new_tokens=20),
                   max_retries=2).profile_items(ds, ids=[0])
    row = out.frame.iloc[0]
    assert row["status"] == "truncated" and row["kept_attempt"] == 0 and row["attempts"] == 3
    assert row["text"].startswith("drama thriller") and row["finish_reason"] == "length"
    assert row["failures"] == "refused;empty"
    assert out.stats["first_verdicts"] == out.stats["final_verdicts"] == {"truncated": 1}
    assert out.stats["unusable"] == 0
    from autograph_rec.profiling import first_verdict
    assert first_verdict(row["failures"], row["status"], row["kept_attempt"]) == "truncated"

    # among equals the latest wins (a retry of a truncated row had the larger budget)
    long_answer = " ".join(f"theme{i}" for i in range(60))  # distinct words: not a loop
    answers = iter([long_answer] * 3)
    out = Profiler(FakeLLM(responder=lambda m: next(answers)), GenerationSettings(max_new_tokens=20),
                   max_retries=2).profile_items(ds, ids=[0])
    row = out.frame.iloc[0]
    assert row["status"] == "truncated" and row["kept_attempt"] == 2 and len(row["text"].split()) == 45
    assert row["failures"] == "truncated;truncated"


def test_stats_tell_truncated_from_unusable():
    ds, _ = toy(num_users=1)
    # every budget too small: the row stays truncated, which is not ok but still usable
    short = Profiler(FakeLLM(num_words=500), GenerationSettings(max_new_tokens=5), max_retries=1)
    out = short.profile_items(ds, ids=[0, 1])
    assert out.frame["status"].tolist() == ["truncated", "truncated"]
    assert out.stats["failed"] == 2 and out.stats["unusable"] == 0
    dead = Profiler(FakeLLM(responder=lambda m: ""), max_retries=0).profile_items(ds, ids=[0])
    assert dead.stats["failed"] == dead.stats["unusable"] == 1


def test_check_output():
    assert check_output(Generation("")) == "empty"
    assert check_output(Generation("As an AI language model, I cannot say much here.")) == "refused"
    assert check_output(Generation("genre: drama, thriller and more", finish_reason="length")) == "truncated"
    assert check_output(Generation("genre: drama. The user cannot stand horror films.")) == "ok"


def test_a_refusal_phrase_quoted_from_the_prompt_is_not_a_refusal():
    prompt = "Title: I Can't Sleep (J'ai pas sommeil) (1994)\nGenres: Drama|Thriller"
    quoted = Generation("I Can't Sleep, a 1994 French drama and thriller about a young woman adrift in Paris.")
    assert check_output(quoted, prompt=prompt) == "ok"
    # the same opening is a refusal when the prompt does not hold it, or continues differently
    assert check_output(quoted) == "refused"
    other = "Title: Heat (1995)\nGenres: Action|Crime"
    assert check_output(quoted, prompt=other) == "refused"
    assert check_output(Generation("I can't help with that request about this film."), prompt=prompt) == "refused"


def test_assistant_chatter_is_a_non_answer():
    # verbatim SmolLM2-135M replies to complete MovieLens-100K profiling requests
    for chatter in ["I'm ready to help. What's the next question?",
                    "I'm ready to assist you. What can I help you with today?",
                    "I'm ready for your feedback! I'll be happy to analyze any movie you name.",
                    "I'm ready to assist you. Please go ahead and provide me with your list of movies.",
                    "Aiqing wanzi (2015) [genres: Drama]\n\nI am ready to help with any movie-related questions! "
                    "What's on your mind?"]:
        assert check_output(Generation(chatter)) == "non_answer", chatter
    # a profile may mention helping, readiness or sharing further on
    answer = ("genre: survival drama. plot/theme: a crew gets ready for re-entry and must share "
              "scarce power; teamwork is what can help them. mood/tone: tense.")
    assert check_output(Generation(answer)) == "ok"


def test_unusable_profiles_fall_back_to_the_template_text(tmp_path, monkeypatch):
    import json

    from autograph_rec.config import LLMConfig
    from autograph_rec.llm import registry
    from autograph_rec.profiling.stage import data_part, run_profiling

    ds, split = toy(num_users=2)
    item_answer = "genre: drama with comic relief. mood/tone: warm and wry, with an acclaimed cast."

    def responder(messages):  # every user request gets chatter, every item request an answer
        return "I'm ready to help. What's the next question?" if "interacted" in messages[-1]["content"] else item_answer

    monkeypatch.setattr(registry, "build_llm", lambda name, cache=None, **kw: FakeLLM(responder=responder))
    texts, stats = run_profiling(ds, split, LLMConfig(backend="fake"), tmp_path, progress=False)
    users = [json.loads(x) for x in (tmp_path / "users.jsonl").read_text().splitlines()]
    prompts = Profiler(FakeLLM()).user_messages(ds, split)
    # retried (the same chatter every time), then the row's own data is encoded, and the row says why
    assert [u["status"] for u in users] == ["non_answer->template_only"] * 2
    assert [u["attempts"] for u in users] == [3, 3]
    assert texts["users"] == [data_part(m) for m in prompts] == [u["text"] for u in users]
    # ... and the rejected output is kept beside it, for audits
    assert [u["llm_text"] for u in users] == ["I'm ready to help. What's the next question?"] * 2
    assert stats["users"]["failed"] == 2
    assert set(texts["items"]) == {item_answer}
    # every generated row keeps the request its verdict was judged against
    assert [u["prompt"] for u in users] == ["\n".join(m["content"] for m in msgs) for msgs in prompts]


def load_audit_script():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("audit_profiles", Path(__file__).parents[2] / "scripts" / "audit_profiles.py")
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    return audit


def test_audit_rejudges_stored_rows_with_their_prompts(tmp_path):
    import json

    audit = load_audit_script()
    prompt = "Title: I Can't Sleep (J'ai pas sommeil) (1994)\nGenres: drama, thriller, French cinema\nDescribe it."
    quote = "I Can't Sleep, a 1994 French drama and thriller about a young woman adrift in Paris."
    echo = "Title: I Can't Sleep (J'ai pas sommeil) (1994)\nGenres: drama, thriller, French cinema"
    rows = [{"id": 0, "text": quote, "status": "ok", "prompt": prompt},
            {"id": 1, "text": echo, "status": "ok", "prompt": prompt},
            {"id": 2, "text": quote, "status": "ok"}]  # a row from before prompts were stored
    for kind in ("users", "items"):
        (tmp_path / f"{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit.audit(tmp_path, examples=1)
    assert "| users | 3 |" in report and "ok 1, echo 1, refused 1" in report


def test_audit_judges_the_rejected_output_of_rows_that_fell_back_to_template_text(tmp_path):
    import json

    audit = load_audit_script()
    chatter = "I'm ready to help. What's the next question?"
    template = "The user interacted with these movies, oldest first:\n1. Toy Story (1995)"
    rows = [{"id": 0, "text": template, "llm_text": chatter, "status": "non_answer->template_only", "prompt": template},
            {"id": 1, "text": template, "status": "refused->template_only", "prompt": template},  # before llm_text
            {"id": 2, "text": template, "status": "template_only"},  # past llm.limit: the LLM never saw it
            {"id": 3, "text": "genre: animated family comedies with warm humour", "status": "ok", "prompt": template}]
    for kind in ("users", "items"):
        (tmp_path / f"{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit.audit(tmp_path, examples=1)
    # judged on what the LLM said, not on the template text that replaced it
    assert "| users | 3 (+1 template-only, not judged) |" in report
    assert "| non_answer 1, refused 1, ok 1 | 2 (66.7%) |" in report
    assert f"users, non_answer, ×1: `{chatter}`" in report and "(output not stored)" in report


def test_save_jsonl(tmp_path):
    ds, split = toy(num_users=1)
    out = Profiler(FakeLLM()).profile_users(ds, split)
    path = tmp_path / "p" / "users.jsonl"
    out.save_jsonl(str(path))
    import json

    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert rows[0]["id"] == 0 and rows[0]["messages"][0]["role"] == "system"


def test_repetitive_outputs_are_flagged():
    loop = "The user's preferences are: " + "1. " * 60
    assert check_output(Generation(loop, finish_reason="length")) == "repetitive"
    prose = ("genre: drama and thrillers with moral stakes. character: flawed heroes who grow. "
             "plot/theme: justice, survival and family. mood/tone: tense but hopeful. "
             "soundtrack: orchestral scores. director/actors: Spielberg, Hanks, Freeman.")
    assert check_output(Generation(prose)) == "ok"


def test_prompt_echoes_are_flagged_and_retried():
    prompt = ("You are an expert in movies.\nThe user is 24-year-old male, occupation: technician.\n"
              "The user interacted with these movies, oldest first:\n1. Homeward Bound: The Incredible Journey (1993)\n"
              "2. Carlito's Way (1993)\n3. Legends of the Fall (1994)\n4. Searching for Bobby Fischer (1993)")
    # restarts the prompt (near-verbatim) and invents a list: SmolLM2-135M does this
    restart = ("This user is 24-year-old male, occupation: technician.\n"
               "The user interacted with these movies, oldest first:\n1. The Mona Lisa (1973)")
    assert check_output(Generation(restart), prompt=prompt) == "echo"
    # copies the history back as its "preferences"
    copy = ("The user's preferences are:\n1. Homeward Bound: The Incredible Journey (1993)\n"
            "2. Carlito's Way (1993)\n3. Legends of the Fall (1994)\n4. Searching for Bobby Fischer (1993)")
    assert check_output(Generation(copy), prompt=prompt) == "echo"
    # one restated line above a real answer is fine, and without a prompt nothing is an echo
    answer = ("The user is 24-year-old male, occupation: technician.\n"
              "genre: family adventure and legal dramas.\nmood/tone: earnest, hopeful stories.")
    assert check_output(Generation(answer), prompt=prompt) == "ok"
    assert check_output(Generation(restart)) == "ok"

    ds, _ = toy(num_users=1)
    calls = []

    def parrot(messages):  # echoes the request once, then answers
        calls.append(1)
        return messages[-1]["content"] if len(calls) == 1 else "genre: drama. mood/tone: tense and hopeful."

    out = Profiler(FakeLLM(responder=parrot), max_retries=1).profile_items(ds, ids=[0])
    row = out.frame.iloc[0]
    assert row["status"] == "ok" and row["failures"] == "echo" and row["attempts"] == 2


def test_a_verbatim_copy_of_an_untitled_item_prompt_is_an_echo():
    # items without side text: before, the copy's only line long enough to count was the
    # instruction, and one copied counted line was no echo
    ds, _ = toy(num_users=1)
    ds.item_features.loc[[0, 1], ["title", "year", "genres"]] = np.nan  # no side text at all (RLMRec's items)
    parrot = FakeLLM(responder=lambda messages: messages[-1]["content"])
    out = Profiler(parrot, max_retries=1).profile_items(ds, ids=[0, 1])
    assert list(out.frame["status"]) == ["echo", "echo"] and list(out.frame["attempts"]) == [2, 2]
    # a one-line real answer is not a copy
    from autograph_rec.profiling.quality import prompt_text

    prompt = prompt_text(Profiler(parrot).item_messages(ds, ids=[0])[0])
    answer = "A tense drama about a family that loses its farm, told with restraint and warmth."
    assert check_output(Generation(answer), prompt=prompt) == "ok"


def test_items_without_a_title_are_named_by_id_in_prompts_and_histories():
    ds, split = toy(num_users=1)
    ds.item_features.loc[[38, 39], "title"] = np.nan  # items without side text read NaN there
    prof = Profiler(FakeLLM())
    texts = [m[-1]["content"] for m in prof.item_messages(ds, ids=[38, 39, 37])]
    assert "item #38" in texts[0] and "item #39" in texts[1] and "TrainFilm37" in texts[2]
    assert not any("(untitled)" in t for t in texts)
    history = prof.user_messages(ds, split, ids=[0])[0][-1]["content"]  # the last 30 training items
    assert "item #38" in history and "item #39" in history and "(untitled)" not in history


def test_a_prompt_repeated_in_a_batch_counts_as_one_call(tmp_path):
    from autograph_rec.llm import ResponseCache

    ds, _ = toy(num_users=1)
    ds.item_features.loc[[1], ["title", "year"]] = ds.item_features.loc[[0], ["title", "year"]].to_numpy()
    llm = CachedLLM(FakeLLM(responder=lambda m: "genre: drama. mood/tone: tense and hopeful, slow."),
                    ResponseCache(str(tmp_path / "c.sqlite")))
    out = Profiler(llm).profile_items(ds, ids=[0, 1])
    assert out.stats["calls"] == 1 and out.stats["cached"] == 1


def test_first_verdict_reads_stored_rows():
    from autograph_rec.profiling import first_verdict

    assert first_verdict("truncated;echo", "ok") == "truncated"
    assert first_verdict("truncated;echo", "ok", kept_attempt=2) == "truncated"
    assert first_verdict("refused;empty", "truncated", kept_attempt=0) == "truncated"
    assert first_verdict("", "ok") == "ok"
    # the profiles stage stores a template-text fallback as "<verdict>->template_only"
    assert first_verdict("", "non_answer->template_only") == "non_answer"


def test_the_llamacpp_backend_gets_the_configured_model(tmp_path, monkeypatch):
    from autograph_rec.config import LLMConfig
    from autograph_rec.llm import registry
    from autograph_rec.profiling.stage import run_profiling

    ds, split = toy(num_users=1)
    seen = []

    def build(name, cache=None, **kw):
        seen.append((name, kw))
        return FakeLLM(responder=lambda m: "genre: drama. mood/tone: tense and hopeful, slow and warm.")

    monkeypatch.setattr(registry, "build_llm", build)
    run_profiling(ds, split, LLMConfig(backend="llamacpp", model="/models/other.gguf"), tmp_path, progress=False)
    assert seen == [("llamacpp", {"model": "/models/other.gguf"})]  # it was always the bundled SmolLM2


@pytest.mark.parametrize("kwargs, message", [({"max_retries": -1}, "max_retries must be >= 0"),
                                             ({"chunk_size": 0}, "chunk_size must be >= 1")])
def test_profiler_settings_out_of_range_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Profiler(FakeLLM(), **kwargs)


def test_users_without_training_history_are_named(caplog):
    ds, split = toy(num_users=2)
    keep = split.train.user != 1  # user 1 loses every training row
    no_history = DataSplit(split.train.subset(keep), split.valid, split.test, split.num_users, split.num_items)
    with caplog.at_level("WARNING"):
        Profiler(FakeLLM()).user_messages(ds, no_history)
    assert "1 user(s) have no training interaction" in caplog.text and "[1]" in caplog.text
