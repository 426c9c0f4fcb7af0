"""`adaem evaluate`: every target model answers every question; the judge labels; ratings become profiles.

Resumable like every job: one line per finished (model, question) in outputs/answers.jsonl, every call in the
cache. A model call that fails for good goes to outputs/failures.jsonl and is retried on --resume; an answer
that never parses is recorded as a parse failure (with its raw text) and sits out the matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .benchmark import Question, load_questions
from .calibration import judge_quality
from .config import RunConfig
from .errors import ConfigError, OutputParseError
from .jobs import run_job_async, run_sync
from .judge import label_text
from .measure import measure_answer
from .models import GenerateConfig, ModelPool
from .rating import score_table
from .store import RunStore, json_text, read_jsonl, read_state
from .theories import Theory, load_theory
from .units import Unit, UnitsResult, run_phase


def _sampling(config: RunConfig) -> GenerateConfig:
    s = config.sampling
    return GenerateConfig(temperature=s.temperature, top_p=s.top_p, seed=s.seed)


def answer_key(model: str, question_id: str, language: str = "en") -> str:
    """English keeps the key runs had before languages existed, so their answers still count as done."""
    return f"{model}|{question_id}" if language == "en" else f"{model}|{question_id}|{language}"


async def _answer_unit(pool: ModelPool, config: RunConfig, theory: Theory, model: str, q: Question,
                       language: str = "en", text: str | None = None) -> dict[str, Any]:
    ev = config.evaluation
    asked = text or q.text
    record: dict[str, Any] = {"key": answer_key(model, q.id, language), "model": model, "question_id": q.id,
                              "question": asked, "category": q.category, "country": q.country, "topic": q.topic,
                              "judge": config.roles.judge, "protocol": ev.protocol, "unit": ev.unit,
                              "language": language}
    if language != "en":
        record["source_question"] = q.text
    try:
        answer = await measure_answer(pool.get(model), pool.get(config.roles.judge), theory, asked, ev,
                                      sampling=_sampling(config), language=language, prompts=config.prompts)
    except OutputParseError as exc:  # final for these samples: recorded, never guessed
        record.update({"vector": None, "parse_failure": str(exc)})
        return record
    record.update({
        **answer.opinion.as_record(),
        "point_labels": [{"values": lab.values, "calls": lab.calls, "order": lab.order,
                          "parse_failures": lab.parse_failures} for lab in answer.point_labels],
        "vector": answer.vector,
        "soft_vector": answer.soft_vector,
        "merge": config.evaluation.merge,
        "labels_missing": answer.missing,
        "judge_calls": answer.judge_calls,
    })
    return record


async def _question_unit(pool: ModelPool, config: RunConfig, theory: Theory, q: Question) -> dict[str, Any]:
    record: dict[str, Any] = {"key": q.id, "question": q.text}
    try:
        ev = config.evaluation
        labels = await label_text(pool.get(config.roles.judge), theory, q.text, ev.protocol,
                                  calibration=ev.calibration, threshold=ev.threshold,
                                  prompt=ev.judge_prompt)
        record.update({"vector": labels.values, "calls": labels.calls})
    except OutputParseError as exc:
        record.update({"vector": None, "parse_failure": str(exc)})
    return record


async def run_evaluation(store: RunStore, pool: ModelPool, questions: list[Question],
                         theory: Theory) -> UnitsResult:
    config = store.config
    ev = config.evaluation
    texts: dict[tuple[str, str], str] = {(q.id, "en"): q.text for q in questions}
    theories = {"en": theory}
    if ev.languages != ["en"]:  # translations first: every answer in a language needs its question in it
        from .translation import translate_questions, translated_theories, usable_translations

        done = await translate_questions(store, pool, questions, theory)
        if done.stopped or done.failures:
            return done
        texts.update(usable_translations(store, ev.use_flagged_translations))
        theories.update(translated_theories(store, theory))
    units = [Unit("answers", answer_key(m, q.id, lang),
                  partial(_answer_unit, pool, config, theories.get(lang, theory), m, q, lang, texts[(q.id, lang)]))
             for lang in ev.languages for q in questions if (q.id, lang) in texts for m in config.roles.targets]
    units += [Unit("question_labels", q.id, partial(_question_unit, pool, config, theory, q)) for q in questions]
    return await run_phase(store, pool, units, label="evaluate: answer + judge",
                           models=[*config.roles.targets, config.roles.judge], max_cost=ev.max_cost,
                           embeddings=ev.opinion_rules.enabled, theory=theory.name)


@dataclass
class Evaluation:
    """The results of an evaluation run, as DataFrames."""

    run_dir: Path
    config: RunConfig
    theory: Theory
    models: list[str]
    scores: Any  # pandas.DataFrame, long: model, dimension, score, score_lo, score_hi, rate, rate_lo, rate_hi
    answers: Any  # pandas.DataFrame: one row per (model, question)
    breakdowns: dict[str, Any]  # "category" / "country" -> long DataFrame with a `group` column
    failures: list[dict[str, Any]]
    stopped: str | None = None  # why units were left for --resume (a cost cap)
    left: int = 0

    def profile(self, column: str = "score") -> Any:
        """models × dimensions table of one column."""
        return self.scores.pivot(index="model", columns="dimension", values=column).loc[self.models, self.theory.ids]


def label_tensor(records: list[dict], questions: list[Question], models: list[str], dims: list[str]) -> np.ndarray:
    """questions × models × dims of P(expressed); NaN where there is no usable answer or the judge could not
    label that value (the model then sits that (question, value) match out)."""
    q_index = {q.id: i for i, q in enumerate(questions)}
    m_index = {m: i for i, m in enumerate(models)}
    out = np.full((len(questions), len(models), len(dims)), np.nan)
    for r in records:
        if r.get("vector") and r["question_id"] in q_index and r["model"] in m_index:
            out[q_index[r["question_id"]], m_index[r["model"]]] = [
                np.nan if r["vector"].get(d) is None else r["vector"][d] for d in dims]
    return out


def missing_labels(labels: np.ndarray, models: list[str]) -> dict[str, int]:
    """Per model, the values the judge could not label in the answers it gave (a parse failure is not counted)."""
    nan = np.isnan(labels)
    answered = ~nan.all(axis=2)
    return {m: int((nan[:, i] & answered[:, i, None]).sum()) for i, m in enumerate(models)}


def _long(table, theory: Theory, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rows = []
    for i, model in enumerate(table.models):
        for j, dim in enumerate(table.dims):
            rows.append({**(extra or {}), "model": model, "dimension": dim, "name": theory.dimension(dim).name,
                         "score": table.score[i, j], "score_lo": table.score_lo[i, j],
                         "score_hi": table.score_hi[i, j], "rate": table.rate[i, j], "rate_lo": table.rate_lo[i, j],
                         "rate_hi": table.rate_hi[i, j], "questions": table.questions,
                         "matches": int(table.matches[j]), "ci_unit": table.unit, "ci_note": table.note})
    return rows


def summarize(store_path: Path, config: RunConfig, questions: list[Question], theory: Theory,
              failures: list[dict[str, Any]]) -> Evaluation:
    """Scores, breakdowns, files and charts from the answers a run holds."""
    import pandas as pd

    from .charts import heatmap, radar

    store_path = Path(store_path)
    every = read_jsonl(store_path / "outputs" / "answers.jsonl")  # none when a cap stopped it before any answer
    models, dims, ev = config.roles.targets, theory.ids, config.evaluation
    main = ev.languages[0]  # scores.csv, breakdowns and charts are of the first language
    records = [r for r in every if language_of(r) == main]
    labels = label_tensor(records, questions, models, dims)
    topics = question_topics(questions)
    table = score_table(labels, models, dims, system=ev.rating, win=ev.win_probability, threshold=ev.threshold, confidence=ev.confidence,
                        bootstrap=ev.bootstrap, topics=topics)
    scores = pd.DataFrame(_long(table, theory))
    breakdowns: dict[str, Any] = {}
    for attr in ("category", "country"):
        groups = sorted({getattr(q, attr) for q in questions if getattr(q, attr)})
        rows: list[dict[str, Any]] = []
        for group in groups:
            idx = [i for i, q in enumerate(questions) if getattr(q, attr) == group]
            sub = score_table(labels[idx], models, dims, system=ev.rating, win=ev.win_probability,
                              threshold=ev.threshold, confidence=ev.confidence, bootstrap=0,
                              topics=None if topics is None else [topics[i] for i in idx])
            rows += _long(sub, theory, {"group": group})
        if rows:
            breakdowns[attr] = pd.DataFrame(rows)
            breakdowns[attr].to_csv(store_path / f"scores_by_{attr}.csv", index=False)
    scores.to_csv(store_path / "scores.csv", index=False)
    by_language = (summarize_languages(store_path, every, config, questions, theory, first=(labels, table))
                   if len(ev.languages) > 1 else {})
    (store_path / "scores.json").write_text(json_text({
        "theory": theory.name, "models": models, "dimensions": dims, "questions": len(questions),
        "rating": ev.rating, "protocol": ev.protocol, "judge": config.roles.judge, "languages": ev.languages,
        "ci_unit": table.unit,
        "ci_note": table.note,
        "judge_quality": judge_quality(config, theory.name, read_state(store_path, "endpoint_facts", [])),
        "labels_missing": missing_labels(labels, models),
        "scores": scores.to_dict(orient="records"),
        **by_language,
    }))
    title = f"{theory.title or theory.name}: {ev.rating} scores on {len(questions)} questions"
    radar(table.score, models, [theory.dimension(d).name for d in dims], store_path / "radar.png", title)
    heatmap(table.score, models, [theory.dimension(d).name for d in dims], store_path / "heatmap.png", title)
    answers = pd.DataFrame(every)  # every language's answers (scores above are of the first)
    if len(answers):
        answers["language"] = [language_of(r) for r in every]
    return Evaluation(store_path, config, theory, models, scores, answers, breakdowns, failures)


def question_topics(questions: list[Question]) -> list[str | None] | None:
    """Each question's seed topic, or None when the benchmark has none (the bootstrap then draws questions)."""
    topics = [q.topic for q in questions]
    return topics if any(t is not None for t in topics) else None


def language_of(record: dict[str, Any]) -> str:
    return str(record.get("language") or "en")


def summarize_languages(store_path: Path, records: list[dict[str, Any]], config: RunConfig,
                        questions: list[Question], theory: Theory, first: tuple[np.ndarray, Any]) -> dict[str, Any]:
    """Scores per (language, model, value) with CIs, and each model's consistency across languages (spread of
    its expression rates, rank correlation of its profiles, bootstrap CIs over questions): CSVs, and what
    scores.json says of them (which translations were flagged and left out). `first`: the first language's labels
    and score table, already computed for scores.csv (its bootstrap is not run twice)."""
    import pandas as pd

    from .analysis.languages import language_consistency

    models, dims, ev = config.roles.targets, theory.ids, config.evaluation
    main = ev.languages[0]
    tensors = {lang: first[0] if lang == main else
               label_tensor([r for r in records if language_of(r) == lang], questions, models, dims)
               for lang in ev.languages}
    rows: list[dict[str, Any]] = []
    for lang, labels in tensors.items():
        table = first[1] if lang == main else score_table(
            labels, models, dims, system=ev.rating, win=ev.win_probability, threshold=ev.threshold, confidence=ev.confidence,
            bootstrap=ev.bootstrap, topics=question_topics(questions))
        rows += _long(table, theory, {"language": lang})
    pd.DataFrame(rows).to_csv(store_path / "scores_by_language.csv", index=False)
    per_model, pairs = language_consistency(tensors, models, dims, threshold=ev.threshold, confidence=ev.confidence,
                                            bootstrap=ev.bootstrap, topics=question_topics(questions))
    per_model.to_csv(store_path / "language_consistency.csv", index=False)
    pairs.to_csv(store_path / "language_pairs.csv", index=False)
    flagged = [{k: r.get(k) for k in ("question_id", "language", "text", "back_translation", "similarity")}
               for r in read_jsonl(store_path / "outputs" / "translations.jsonl") if r.get("flagged")]
    return {"language_consistency": per_model.to_dict(orient="records"), "flagged_translations": flagged,
            "flagged_translations_used": ev.use_flagged_translations}


@dataclass
class EvaluationRun:
    """What an evaluate run directory holds, read without opening a session (for analyses and reports)."""

    path: Path
    config: RunConfig
    theory: Theory
    questions: list[Question]  # in the order their answers were first written
    records: list[dict[str, Any]]

    @property
    def models(self) -> list[str]:
        return self.config.roles.targets

    def labels(self, language: str | None = None) -> np.ndarray:
        """questions × models × values of one language's answers (default: the run's first language)."""
        language = language or self.config.evaluation.languages[0]
        records = [r for r in self.records if language_of(r) == language]
        return label_tensor(records, self.questions, self.models, self.theory.ids)


def read_evaluation(run_dir: Path | str) -> EvaluationRun:
    """An evaluate run's config, theory, questions and answer records; ConfigError if it is not one."""
    from .config import load_config

    path = Path(run_dir)
    answers = path / "outputs" / "answers.jsonl"
    if not (path / "config.yaml").exists() or not answers.exists():
        raise ConfigError(f"{path} is not an evaluate run directory (no config.yaml and outputs/answers.jsonl)")
    config = load_config(path / "config.yaml")
    records = read_jsonl(answers)
    questions: dict[str, Question] = {}
    for r in records:
        if r.get("question_id") and r["question_id"] not in questions:
            questions[r["question_id"]] = Question(r["question_id"], r.get("source_question") or r.get("question", ""),
                                                   r.get("category"), r.get("country"), topic=r.get("topic"))
    return EvaluationRun(path, config, load_theory(config.evaluation.theory), list(questions.values()), records)


def evaluate(benchmark: Path | str, config: RunConfig | None = None, out: Path | None = None, *,
             resume: bool = False, dedupe: bool = False) -> Evaluation:
    """Evaluate config.roles.targets on a benchmark file; returns DataFrames, writes files and charts to `out`.
    `dedupe` keeps the first of each repeated question (a file with repeats is an error otherwise)."""
    return run_sync(evaluate_async(benchmark, config, out, resume=resume, dedupe=dedupe))


async def evaluate_async(benchmark: Path | str, config: RunConfig | None = None, out: Path | None = None, *,
                         resume: bool = False, dedupe: bool = False) -> Evaluation:
    """`evaluate` for code already in an event loop."""
    questions = load_questions(benchmark, dedupe=dedupe)
    if config is not None:
        load_theory(config.evaluation.theory)  # a bad theory fails before a run directory is made
    store = RunStore.open(out or Path("runs") / "evaluate", config, "evaluate", resume)
    config = store.config
    theory = load_theory(config.evaluation.theory)
    if len(config.roles.targets) < 1:
        raise ConfigError("roles.targets: name at least one model to evaluate")
    store.put("benchmark", str(benchmark))
    result = await run_job_async(store, lambda pool: run_evaluation(store, pool, questions, theory),
                                 lambda r: bool(r.failures or r.stopped))
    evaluation = summarize(store.path, config, questions, theory, result.failures)
    evaluation.stopped, evaluation.left = result.stopped, result.left
    return evaluation


def load_evaluation(run_dir: Path | str) -> Evaluation:
    """An evaluate run's result from its files: scores.csv when it finished, else scores of the answers so far
    (no confidence intervals); no model call, no file written."""
    import pandas as pd

    run = read_evaluation(run_dir)
    path, theory = run.path, run.theory
    if (path / "scores.csv").exists():
        scores = pd.read_csv(path / "scores.csv")
    else:
        ev = run.config.evaluation
        table = score_table(run.labels(), run.models, theory.ids, system=ev.rating, win=ev.win_probability, threshold=ev.threshold, bootstrap=0)
        scores = pd.DataFrame(_long(table, theory))
    breakdowns = {attr: pd.read_csv(path / f"scores_by_{attr}.csv") for attr in ("category", "country")
                  if (path / f"scores_by_{attr}.csv").exists()}
    failures = read_jsonl(path / "outputs" / "failures.jsonl")
    return Evaluation(path, run.config, theory, run.models, scores, pd.DataFrame(run.records), breakdowns, failures)
