"""Questions (and, when asked, value definitions) in the languages of `evaluation.languages`.

The translator (`roles.translator`, by default the judge) translates each question once per language; every
translation is stored beside the original in outputs/translations.jsonl and is a cached call like any other.
A translation is checked by translating it back into English: when the back-translation's similarity to the
original (all-MiniLM-L6-v2 cosine, English to English, which that model reads) is under
`evaluation.min_back_translation`, a question came back as a statement, or the "translation" is the English left
as it was (a copy; letters not in the language's script; language identification), it is flagged and, unless
`use_flagged_translations`, not asked. A user's own
translation (a `question_<lang>` field of the benchmark) wins and is not checked.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from .benchmark import Question
from .config import RunConfig
from .languages import prompt_name, untranslated
from .models import GenerateConfig, ModelPool
from .prompts import render
from .store import RunStore
from .theories import Theory
from .units import Unit, UnitsResult, run_phase

_QUOTES = "\"'“”‘’「」『』«»„"
TRANSLATE = GenerateConfig(temperature=0.0, max_tokens=320, seed=0)


def translator_name(config: RunConfig) -> str:
    return config.roles.translator or config.roles.judge


def clean_translation(text: str) -> str:
    """The translation alone: the first non-empty line, without the quotes or label some models add."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    for label in ("Translation:", "翻译：", "翻译:", "Traduction :", "Traduction:"):
        line = line.removeprefix(label).strip()
    return line.strip(_QUOTES).strip()


async def translate(pool: ModelPool, config: RunConfig, text: str, language: str) -> str:
    """The translator casts as a translator in the system prompt: asked in the user turn alone, the embedded
    1.5B answered 4 of 6 questions instead of translating them; cast, it translated all six."""
    messages = [{"role": "system", "content": render("translate_system")},
                {"role": "user", "content": render("translate", language=prompt_name(language), text=text)}]
    out = await pool.get(translator_name(config)).generate(messages, TRANSLATE, role="translator")
    return clean_translation(out.text)


_QUESTION_MARKS = ("?", "？", "؟", ";", "՞", "፧")  # Latin and most scripts, CJK full-width, Arabic, Greek, ...


def translation_problem(original: str, translated: str, similarity: float, threshold: float,
                        language: str | None = None) -> str | None:
    """Why a machine translation is not used, or None: empty, left in English (a copy of the question, or text
    not in the language: `languages.untranslated`, when the language is given; back-translating a copy gives the
    original back, so similarity alone passes it), an answer where a question was (a model that answers
    restates the question, so similarity alone misses it), or a back-translation too far from the original."""
    if not translated:
        return "empty translation"
    copy = untranslated(translated, language, original) if language else None
    if copy:
        return f"untranslated: {copy}"
    if original.rstrip().endswith("?") and not translated.rstrip().endswith(_QUESTION_MARKS):
        return "not a question (answered instead of translated?)"
    if similarity < threshold:
        return f"back-translation similarity {similarity:.2f} < {threshold}"
    return None


async def checked_translation(pool: ModelPool, config: RunConfig, text: str, language: str) -> dict[str, Any]:
    """`text` in `language`, with its back-translation, their similarity and whether it is flagged."""
    from .embeddings import default_encoder
    from .measure import embed

    translated = await translate(pool, config, text, language)
    back = await translate(pool, config, translated, "en") if translated else ""
    vectors = await embed(default_encoder(), [text, back or "-"])
    similarity = float(np.dot(vectors[0], vectors[1]))
    problem = translation_problem(text, translated, similarity, config.evaluation.min_back_translation, language)
    return {"text": translated, "back_translation": back, "similarity": round(similarity, 4),
            "flagged": problem is not None, **({"problem": problem} if problem else {}),
            "source": f"translator {translator_name(config)}"}


async def _question_unit(pool: ModelPool, config: RunConfig, q: Question, language: str) -> dict[str, Any]:
    record: dict[str, Any] = {"key": f"{q.id}|{language}", "question_id": q.id, "language": language,
                              "original": q.text}
    if language in q.translations:
        return {**record, "text": q.translations[language], "source": "user", "flagged": False}
    return {**record, **await checked_translation(pool, config, q.text, language)}


async def _definition_unit(pool: ModelPool, config: RunConfig, theory: Theory, dim: str,
                           language: str) -> dict[str, Any]:
    definition = theory.dimension(dim).definition
    return {"key": f"{language}|{dim}", "language": language, "dimension": dim,
            "text": await translate(pool, config, definition, language)}


async def translate_questions(store: RunStore, pool: ModelPool, questions: list[Question],
                              theory: Theory) -> UnitsResult:
    """Every question (and, with judge_definitions: language, every definition) in every language but English."""
    config = store.config
    ev = config.evaluation
    languages = [lang for lang in ev.languages if lang != "en"]
    units = [Unit("translations", f"{q.id}|{lang}", partial(_question_unit, pool, config, q, lang))
             for lang in languages for q in questions]
    if ev.judge_definitions == "language":
        units += [Unit("definitions", f"{lang}|{dim}", partial(_definition_unit, pool, config, theory, dim, lang))
                  for lang in languages for dim in theory.ids]
    machine = any(lang not in q.translations for lang in languages for q in questions)
    return await run_phase(store, pool, units, label="translate", max_cost=ev.max_cost, embeddings=machine,
                           models=[translator_name(config)] if machine or ev.judge_definitions == "language" else [])


def usable_translations(store: RunStore, use_flagged: bool = False) -> dict[tuple[str, str], str]:
    """(question id, language) -> the question in that language, flagged ones left out unless `use_flagged`."""
    return {(r["question_id"], r["language"]): r["text"] for r in store.records("translations")
            if r.get("text") and (use_flagged or not r.get("flagged"))}


def translated_theories(store: RunStore, theory: Theory) -> dict[str, Theory]:
    """Per language, the theory with its definitions in that language (judge_definitions: language)."""
    by_language: dict[str, dict[str, str]] = {}
    for r in store.records("definitions"):
        by_language.setdefault(r["language"], {})[r["dimension"]] = r["text"]
    out = {}
    for language, texts in by_language.items():
        dims = [d.model_copy(update={"definition": texts.get(d.id) or d.definition}) for d in theory.dimensions]
        out[language] = theory.model_copy(update={"dimensions": dims})
    return out
