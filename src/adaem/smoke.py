"""`adaem smoke`: a quick check that every model of a config answers, before a long run pays for anything.

Each explorer answers a few controversial yes/no questions in free text, and the judge classifies each
answer's stance as structured JSON: text and constrained output, caching, limits, retries, accounting and
resume, through the same unit loop (`units.run_phase`) as every job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import OutputParseError
from .jobs import run_job
from .models import GenerateConfig, ModelPool
from .prompts import render
from .store import RunStore
from .units import Unit, run_phase

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
    units = [Unit("answers", f"{m}|{q}", partial(_answer_one, pool, config, m, q, questions[q]))
             for m in config.roles.explorers for q in range(len(questions))]
    done = await run_phase(store, pool, units, label="smoke: answer + judge",
                           models=[*config.roles.explorers, config.roles.judge], max_cost=None, embeddings=False)
    return SmokeResult(store.path, list(store.records("answers")), done.failures)


def run_smoke(config: RunConfig | None, out: Path, *, resume: bool = False, question_count: int = 4) -> SmokeResult:
    """Run (or resume) a smoke run in `out`; returns every answer record of the run.

    config None: the defaults for a new run, the run's own snapshot for a resumed one."""
    store = RunStore.open(out, config, "smoke", resume)
    return run_job(store, lambda pool: run_smoke_async(store, pool, question_count), lambda r: bool(r.failures))
