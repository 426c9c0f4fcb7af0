"""`adaem smoke`: a small, resumable run of the model layer with every role of the config.

Each explorer answers a few controversial yes/no questions in free text, and the judge classifies each
answer's stance as structured JSON. It exercises what every later job stands on (text and constrained
output, caching, limits, retries, accounting, resume) until `adaem generate` replaces it as the main job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ModelCallError, OutputParseError
from .models import GenerateConfig, ModelPool
from .progress import progress_bar
from .prompts import render
from .store import RunStore, run_job

STANCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"stance": {"type": "string", "enum": ["yes", "no", "neutral"]}},
    "required": ["stance"],
}


def smoke_questions(count: int) -> list[str]:
    text = resources.files("adaem").joinpath("data/smoke_questions.txt").read_text(encoding="utf-8")
    questions = [line.strip() for line in text.splitlines() if line.strip()]
    return questions[:count]


@dataclass
class SmokeResult:
    run_dir: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


async def _answer_one(pool: ModelPool, config: RunConfig, model: str, qid: int, question: str) -> dict[str, Any]:
    sampling = GenerateConfig(
        temperature=config.sampling.temperature, top_p=config.sampling.top_p, max_tokens=96, seed=config.sampling.seed
    )
    answer = await pool.get(model).generate(render("smoke_answer", question=question), sampling, role="explorer")
    judged = await pool.get(config.roles.judge).generate(
        render("smoke_judge", question=question, answer=answer.text.strip()),
        GenerateConfig(temperature=0.0, max_tokens=24, seed=config.sampling.seed, json_schema=STANCE_SCHEMA),
        role="judge",
    )
    record: dict[str, Any] = {"key": f"{model}|{qid}", "model": model, "question_id": qid, "question": question,
                              "answer": answer.text.strip(), "judge": config.roles.judge}
    try:
        parsed = judged.choices[0].parse_json()
        if not isinstance(parsed, dict) or parsed.get("stance") not in ("yes", "no", "neutral"):
            raise OutputParseError(f"judge answer outside the schema: {judged.text[:120]!r}")
        record["stance"] = parsed["stance"]
    except OutputParseError as exc:
        record["stance"] = None
        record["parse_failure"] = str(exc)
    return record


async def run_smoke_async(store: RunStore, pool: ModelPool, question_count: int = 4) -> SmokeResult:
    config = store.config
    questions = smoke_questions(question_count)
    done = store.done_keys("answers")
    todo = [(m, q) for m in config.roles.explorers for q in range(len(questions)) if f"{m}|{q}" not in done]
    result = SmokeResult(store.path)
    await pool.preflight([*config.roles.explorers, config.roles.judge])
    with progress_bar(pool.ledger) as progress:
        task = progress.add_task("smoke: answer + judge", total=len(config.roles.explorers) * len(questions),
                                 completed=len(config.roles.explorers) * len(questions) - len(todo))

        async def unit(model: str, qid: int) -> None:
            try:
                record = await _answer_one(pool, config, model, qid, questions[qid])
            except ModelCallError as exc:  # recorded, not cached: a resume retries it
                failure = {"key": f"{model}|{qid}", "error": str(exc)}
                result.failures.append(failure)
                store.append("failures", failure)
            else:
                store.append("answers", record)
            progress.advance(task)
            store.save_usage(pool.ledger)

        await asyncio.gather(*(unit(m, q) for m, q in todo))
    store.save_usage(pool.ledger)
    result.records = list(store.records("answers"))
    return result


def run_smoke(config: RunConfig | None, out: Path, *, resume: bool = False, question_count: int = 4) -> SmokeResult:
    """Run (or resume) a smoke run in `out`; returns every answer record of the run.

    config None: the defaults for a new run, the run's own snapshot for a resumed one."""
    store = RunStore.open(out, config, "smoke", resume)
    return run_job(store, lambda pool: run_smoke_async(store, pool, question_count), lambda r: bool(r.failures))
