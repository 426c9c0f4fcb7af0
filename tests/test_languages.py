"""Evaluation in several languages on the mock provider: per-language records and cache keys, translations
(the user's win; a back-translation that drifts is flagged and left out), scores and consistency per
language, resume in the middle of a language."""

import hashlib
import json

import pandas as pd
import pytest

from adaem.config import RunConfig
from adaem.evaluation import evaluate
from adaem.models.providers.mock import register_mock, unregister_mock
from adaem.store import read_jsonl, read_usage

QUESTIONS = [
    {"question": "Should payday loans be banned?", "category": "economy", "country": "Kenya"},
    {"question": "Should voting be compulsory?", "category": "politics", "country": "France"},
    {"question": "Should zoos be abolished?", "category": "environment"},
]


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


SWAHILI = ["na", "ya", "wa", "kwa", "katika", "serikali", "watu", "inapaswa", "kupiga", "marufuku", "hii", "kuwa",
           "nchi", "mikopo", "malipo", "jamii", "sheria", "haki"]


def mock_translation(text: str, language: str) -> str:
    """A stand-in translation that reads as the language (issue 24: English left as it was is flagged): each
    word becomes a Swahili word, each letter two CJK characters; tagged with the language's name."""
    if language == "Swahili":
        words = [SWAHILI[int(hashlib.sha256(w.encode()).hexdigest(), 16) % len(SWAHILI)] for w in text.split()]
        return f"[{language}] Je, {' '.join(words)}" + ("?" if text.rstrip().endswith("?") else "")
    return f"[{language}] " + "".join(chr(0x4E00 + (ord(c) * 7) % 2000) * 2 if c.isalpha() else c for c in text)


@pytest.fixture
def translator():
    """'Translates' by rewriting the text in the language's look (`mock_translation`); back into English it
    restores the original, except for the zoo question, whose back-translation drifts to another topic (so it
    must be flagged)."""
    originals: dict[str, str] = {}

    def handle(messages, config):
        prompt = messages[-1].content
        language = prompt.splitlines()[0].removeprefix("Translate into ").rstrip(":")
        text = prompt.split("\n\n")[1].strip()
        if language == "English":
            original = originals.get(text, text)
            return "What is the best pizza topping?" if "zoos" in original else original
        translated = mock_translation(text, language)
        originals[translated] = text
        return translated

    register_mock("tr", handle)
    yield "mock/tr"
    unregister_mock("tr")


def config(**evaluation) -> RunConfig:
    return RunConfig.model_validate({
        "roles": {"explorers": ["mock/a", "mock/b"], "judge": "mock/j", "translator": "mock/tr"},
        "evaluation": {"bootstrap": 20, "languages": ["en", "zh"], **evaluation}})


def test_every_question_in_every_language_with_its_own_records_scores_and_consistency(tmp_path, bench, translator):
    result = evaluate(bench, config(), tmp_path / "run")
    assert not result.failures
    answers = result.answers
    zh = answers[answers.language == "zh"]
    # the zoo question's translation drifted on the way back: flagged, not asked
    assert len(answers) == 2 * 3 + 2 * 2 and len(zh) == 4
    assert zh.question.str.startswith("[Simplified Chinese]").all()
    assert set(zh.source_question) == {QUESTIONS[0]["question"], QUESTIONS[1]["question"]}
    translations = {r["question_id"]: r for r in read_jsonl(tmp_path / "run" / "outputs" / "translations.jsonl")}
    flagged = [r for r in translations.values() if r["flagged"]]
    assert len(flagged) == 1 and "zoos" in flagged[0]["original"] and flagged[0]["similarity"] < 0.8
    summary = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert summary["languages"] == ["en", "zh"] and len(summary["flagged_translations"]) == 1
    by_language = pd.read_csv(tmp_path / "run" / "scores_by_language.csv")
    assert set(by_language.language) == {"en", "zh"} and len(by_language) == 2 * 2 * 10
    consistency = pd.read_csv(tmp_path / "run" / "language_consistency.csv")
    assert set(consistency.model) == {"mock/a", "mock/b"} and consistency.languages.eq("en,zh").all()
    # scores.csv is the first language's
    assert (result.scores.questions == 3).all()
    # each language its own calls: the Chinese prompt is the zh template, a different cache key
    usage = {(u["model"], u["role"]): u for u in read_usage(tmp_path / "run")}
    assert usage[("mock/a", "target")]["calls"] >= 5
    assert usage[("mock/tr", "translator")]["calls"] == 3 * 2  # there and back, once per question


def test_the_users_translations_win_and_are_not_machine_checked(tmp_path, translator):
    path = tmp_path / "bench.jsonl"
    rows = [dict(QUESTIONS[0], question_zh="应该禁止发薪日贷款吗？"), QUESTIONS[1]]
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in rows))
    result = evaluate(path, config(), tmp_path / "run")
    zh = result.answers[result.answers.language == "zh"].set_index("source_question")
    assert zh.loc[QUESTIONS[0]["question"], "question"].iloc[0] == "应该禁止发薪日贷款吗？"
    records = read_jsonl(tmp_path / "run" / "outputs" / "translations.jsonl")
    assert sorted(r["source"] for r in records) == ["translator mock/tr", "user"]
    usage = {(u["model"], u["role"]): u for u in read_usage(tmp_path / "run")}
    assert usage[("mock/tr", "translator")]["calls"] == 2  # only the other question, there and back


def test_a_run_stopped_in_the_middle_of_a_language_resumes_without_paying_twice(tmp_path, bench, translator,
                                                                               monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ADAEM_MOCK_CALL_LOG", str(log))
    prices = {m: {"input": 100.0, "output": 100.0} for m in ("mock/a", "mock/b", "mock/j", "mock/tr")}
    capped = config(max_cost=0.12).model_copy(update={"prices": config().model_validate({"prices": prices}).prices})
    first = evaluate(bench, capped, tmp_path / "run")
    assert first.stopped and "cost cap" in first.stopped
    paid = log.read_text().splitlines()
    uncapped = capped.model_copy(update={"evaluation": capped.evaluation.model_copy(update={"max_cost": None})})
    second = evaluate(bench, uncapped, tmp_path / "run", resume=True)
    assert second.stopped is None and len(second.answers) == 10
    assert not set(paid) & set(log.read_text().splitlines()[len(paid):])


def test_languages_are_iso_codes_named_in_one_line():
    from adaem.config import parse_config
    from adaem.errors import ConfigError

    with pytest.raises(ConfigError, match="evaluation.languages"):
        parse_config({"evaluation": {"languages": ["en", "Chinese"]}})
    with pytest.raises(ConfigError, match="twice"):
        parse_config({"evaluation": {"languages": ["en", "EN"]}})
    assert parse_config({"evaluation": {"languages": ["EN", "zh"]}}).evaluation.languages == ["en", "zh"]


def test_generation_also_puts_a_question_in_the_language_of_its_place_and_scores_it(tmp_path, translator):
    import sys
    from pathlib import Path

    import adaem

    sys.path.insert(0, str(Path(__file__).parent))
    import mock_generate

    register_mock("gen", mock_generate.generator)
    try:
        gen = adaem.generate(["mock/a", "mock/b"], generators="mock/gen", judge="mock/j", budget=2,
                             out=tmp_path / "g", generation__arms=3, generation__depth=0,
                             generation__local_language=True, roles__translator="mock/tr")
    finally:
        unregister_mock("gen")
    records = read_jsonl(gen.run_dir / "benchmark.jsonl")
    kenyan = [r for r in records if r.get("country") == "Kenya" and r["id"].startswith("p")]
    assert kenyan and all(r["local_language"] == "sw" for r in kenyan)
    # a question about zoos drifts on its way back (the translator fixture): flagged, kept out, not scored
    flagged = [r for r in kenyan if "zoos" in r["question"]]
    assert all(json.loads(r["details"])["local_translation"]["flagged"] and r.get("question_sw") is None
               for r in flagged)
    kenyan = [r for r in kenyan if r not in flagged]
    assert kenyan and all(r["question_sw"] == mock_translation(r["question"], "Swahili") for r in kenyan)
    assert all(r["p2_score_local"] is not None for r in kenyan)
    local = json.loads(kenyan[0]["details"])["p2_local"]["components"]
    assert local["opinion_difference"] is None  # the embedding model reads English only: not measured
    # evaluate takes the generated local versions as the user's own translations
    ev = evaluate(gen.run_dir / "benchmark.jsonl", config(languages=["en", "sw"]), tmp_path / "e")
    sw = ev.answers[ev.answers.language == "sw"]
    assert set(sw.question) >= {r["question_sw"] for r in kenyan}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard, not a speed test: minutes of real-model work on a shared machine
def test_the_embedded_qwen_models_answer_in_english_and_chinese(tmp_path):
    """Two questions in English and Chinese: the embedded 1.5B translates them, both Qwen models answer in each
    language (the Chinese answers in Chinese), the 1.5B judge labels; profiles per language."""
    import re

    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS[:2]))
    cfg = RunConfig.model_validate({"evaluation": {"languages": ["en", "zh"], "bootstrap": 10,
                                                   "use_flagged_translations": True},
                                    "sampling": {"temperature": 0}})
    result = evaluate(path, cfg, tmp_path / "run")
    assert not result.failures
    translations = read_jsonl(tmp_path / "run" / "outputs" / "translations.jsonl")
    assert len(translations) == 2 and all(re.search(r"[\u4e00-\u9fff]", t["text"]) for t in translations)
    zh = result.answers[(result.answers.language == "zh") & result.answers.vector.notna()]
    assert len(zh) >= 2
    chinese = [p["point"] + p["justification"] for points in zh.points for p in points]
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in chinese) >= len(chinese) // 2
    by_language = pd.read_csv(tmp_path / "run" / "scores_by_language.csv")
    assert set(by_language.language) == {"en", "zh"}
    assert (tmp_path / "run" / "language_consistency.csv").exists()


def test_the_judge_can_see_the_value_definitions_in_the_answers_language(tmp_path, bench, translator):
    seen: list[str] = []

    def judge(messages, config):
        seen.append(messages[-1].content)
        return "Yes"

    register_mock("jl", judge)
    try:
        cfg = config(judge_definitions="language").model_copy()
        cfg.roles.judge = "mock/jl"
        evaluate(bench, cfg, tmp_path / "run")
    finally:
        unregister_mock("jl")
    definitions = read_jsonl(tmp_path / "run" / "outputs" / "definitions.jsonl")
    assert len(definitions) == 10 and all(d["text"].startswith("[Simplified Chinese]") for d in definitions)
    translated = [p for p in seen if "([Simplified Chinese] " in p]  # "Value: Power ([Simplified Chinese] ...)"
    assert len(translated) == 4 * 10  # the Chinese answers (2 models × 2 questions; one flagged), every value
    assert len(seen) - len(translated) == (6 + 3) * 10  # English answers and the questions: English definitions


def test_a_translation_that_answers_the_question_is_flagged_even_when_it_restates_it():
    from adaem.translation import clean_translation, translation_problem

    q = "Should Japan allow dual citizenship for adults?"
    # what the embedded 1.5B wrote when asked without the translator's system prompt: close on the way back
    assert translation_problem(q, "是的，日本允许成年公民拥有双重国籍。", 0.91, 0.8).startswith("not a question")
    assert translation_problem(q, "日本是否允许成年公民拥有双重国籍？", 0.93, 0.8) is None
    assert translation_problem(q, "日本是否允许成年公民拥有双重国籍？", 0.5, 0.8).startswith("back-translation")
    assert translation_problem(q, "", 0.0, 0.8) == "empty translation"
    assert clean_translation('Translation: "¿Debería Japón permitir la doble nacionalidad?"\nNote: ...') == \
        "¿Debería Japón permitir la doble nacionalidad?"


@pytest.mark.parametrize(("language", "text", "why"), [
    ("zh", "Should Japan allow dual citizenship for adults?", "a copy"),           # the question itself
    ("ja", "Should Japan allow dual nationality for grown-ups?", "not in Japanese script"),
    ("ru", "Should Japan allow dual citizenship, in English?", "not in Russian script"),
    ("de", "Should Japan permit dual citizenship for adult citizens?", "reads as English"),  # language ID
    ("fr", "should japan allow dual citizenship for ADULTS?", "a copy"),            # up to case and spacing
    ("zh", "日本是否应允许成年人拥有双重国籍？", None),
    ("ja", "日本は成人の二重国籍を認めるべきですか？", None),
    ("ru", "Должна ли Япония разрешить двойное гражданство для взрослых?", None),
    ("de", "Sollte Japan Erwachsenen die doppelte Staatsbürgerschaft erlauben?", None),
    ("es", "¿Debería Japón permitir la doble nacionalidad a los adultos?", None),
    ("fr", "Le Japon devrait-il autoriser la double nationalité pour les adultes ?", None),
])
def test_an_untranslated_copy_of_the_english_question_is_flagged(language, text, why):
    """Issue 24: back-translating a copy gives the original back, so similarity alone passed it."""
    from adaem.translation import translation_problem

    q = "Should Japan allow dual citizenship for adults?"
    problem = translation_problem(q, text, 0.99, 0.8, language)
    assert (problem is None) if why is None else (problem or "").startswith("untranslated") and why in problem


def test_each_language_asks_its_own_prompt_under_its_own_cache_key(make_pool):
    from adaem.measure import opinion_messages
    from adaem.models import GenerateConfig
    from adaem.models.types import as_messages

    model = make_pool().get("mock/a")
    prompts = {lang: opinion_messages("Should zoos be abolished?", k=3, words=80, language=lang)
               for lang in ("en", "zh", "sw")}
    assert prompts["en"][1]["content"].startswith("Question:") and prompts["zh"][1]["content"].startswith("问题：")
    assert "160 字" in prompts["zh"][1]["content"]  # characters, two per English word
    assert "Swahili" in prompts["sw"][1]["content"]  # no template: the English one, answered in the language
    keys = {lang: model.key(as_messages(m), GenerateConfig(), 0).digest() for lang, m in prompts.items()}
    assert len(set(keys.values())) == 3
