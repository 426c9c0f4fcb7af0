"""Real answers of the embedded respondents for the judge's labelled set (issue 37), through adaem's own path.

Each question of QUESTIONS is put to each embedded respondent at each temperature exactly as `adaem evaluate`
puts it (the opinion prompt, the JSON grammar the embedded models answer under, the opinion rules and their
re-asks), and every answer that is an opinion is written as one JSON line: question, kind, model, temperature,
stance, points, and the whole-answer text the judge sees under `unit: answer`. Calls go through the call cache,
so a killed run continues where it stopped.

    python scripts/judge_data/collect_answers.py QUESTIONS.jsonl OUT.jsonl [--cache CACHE] [--greedy N]

`--greedy N`: N questions spread over the file (every len/N-th) are also answered at temperature 0 (a deterministic respondent, the setting
`sampling.temperature: 0` users choose for a reproducible S).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from adaem.config import DEFAULT_RESPONDENTS, RunConfig
from adaem.embeddings import default_encoder
from adaem.errors import OutputParseError
from adaem.measure import elicit_opinion, embed, opinion_problem
from adaem.models import CallCache, GenerateConfig, ModelPool


def answer_text(points: list[dict[str, str]]) -> str:
    """The whole-answer text the judge labels under `unit: answer` (as measure_answer joins the points)."""
    return " ".join(f"({i + 1}) {p['point']}: {p['justification']}" if p["justification"]
                    else f"({i + 1}) {p['point']}" for i, p in enumerate(points))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("runs/judge-data-cache.sqlite"))
    parser.add_argument("--greedy", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 keeps a busy machine usable)")
    args = parser.parse_args()

    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    config = RunConfig.model_validate({"local": {"n_threads": args.threads}})
    ev = config.evaluation
    encoder = default_encoder()
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["question_id"], r["model"], r["temperature"]))
    # both respondents question by question, every other question first (the file is ordered by kind, so kinds mix),
    # the greedy answers interleaved: a run stopped early still has every respondent, temperature and kind
    step = max(1, len(questions) // max(1, args.greedy))
    greedy = {q["id"] for q in questions[::step][: args.greedy]}
    jobs = []
    for q in questions[::2] + questions[1::2]:
        jobs += [(q, m, 1.0) for m in DEFAULT_RESPONDENTS]
        # greedy (temperature 0) for the 1.5B only: the 0.5B decoded greedily repeats itself (7 of its first 8 greedy
        # answers failed the opinion rules: copied points, or JSON never closed), and a re-ask is the same answer
        jobs += [(q, m, 0.0) for m in DEFAULT_RESPONDENTS[1:] if q["id"] in greedy]
    todo = [j for j in jobs if (j[0]["id"], j[1], j[2]) not in done]
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    pool = ModelPool(config, cache=CallCache(args.cache))
    began, failures = time.monotonic(), 0
    with args.out.open("a") as out:
        for n, (q, model, temperature) in enumerate(todo, 1):
            question = q["question"]

            async def check(opinion, question=question):
                vectors = await embed(encoder, [question, *(p.text for p in opinion.points)])
                return opinion_problem(opinion, question, ev.opinion_rules, encoder, vectors, allowed_words=ev.total_words)

            sampling = GenerateConfig(temperature=temperature, top_p=config.sampling.top_p, seed=config.sampling.seed)
            try:
                opinion = await elicit_opinion(pool.get(model), question, k=ev.key_points, words=ev.total_words,
                                               sampling=sampling, max_attempts=ev.max_parse_attempts, check=check)
            except OutputParseError as exc:
                failures += 1
                print(f"parse failure {q['id']} {model} T={temperature}: {str(exc)[:120]}", file=sys.stderr)
                continue
            points = [{"point": p.point, "justification": p.justification} for p in opinion.points]
            out.write(json.dumps({
                "question_id": q["id"], "question": question, "kind": q.get("kind"), "category": q.get("category"),
                "targets": q.get("targets", []), "model": model, "temperature": temperature,
                "stance": opinion.stance, "points": points, "text": answer_text(points),
                "attempts": opinion.attempts, "parse_failures": opinion.parse_failures}, ensure_ascii=False) + "\n")
            out.flush()
            rate = n / (time.monotonic() - began)
            print(f"{n}/{len(todo)} answers, {rate * 60:.1f}/min, ETA {(len(todo) - n) / rate / 60:.0f} min, "
                  f"{failures} parse failures", file=sys.stderr, flush=True)
    await pool.aclose()


if __name__ == "__main__":
    asyncio.run(main())
