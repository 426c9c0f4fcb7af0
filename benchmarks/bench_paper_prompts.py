"""adaem's prompts against the paper's as printed, on the models you name (default: the embedded ones).

Two measurements, each over the same seed questions for both prompt sets:
- opinions (adaem's `opinion.txt` vs Listing 3): the share of answers that are usable opinions at the first
  attempt and after the opinion rules' re-asks, their length in words, and the parse failures' reasons;
- generation (adaem's two-step prompts vs Listings 5 → 6 as one conversation): the share of proposals that pass
  the format gate (a yes/no question of at most `max_words`), and their length.

    .venv/bin/python benchmarks/bench_paper_prompts.py [--questions 12] [--models a,b] [--generator g] [--out DIR]
        [--parts opinions,generation]

On 2 cores the generation part is slow with the embedded 1.5B generator: Listing 5 asks it to think step by step,
and its answers run to the 1,024-token room (minutes each); `--parts opinions` measures the opinions alone.

Calls go through the call cache in --out, so a rerun (or an interrupted one) repeats nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path

from adaem.config import DEFAULT_HELPER, DEFAULT_RESPONDENTS, RunConfig
from adaem.embeddings import default_encoder
from adaem.errors import OutputParseError
from adaem.generation.gates import json_field, listing_question, question_problem
from adaem.generation.search import PAPER_ANSWER_TOKENS, PAPER_STEP_TOKENS
from adaem.generation.seeds import load_seeds
from adaem.languages import count_words
from adaem.measure import elicit_opinion, embed, opinion_problem
from adaem.models import CallCache, GenerateConfig, ModelPool
from adaem.prompts import render


async def opinions(pool: ModelPool, config: RunConfig, models: list[str], questions: list[str]) -> dict:
    ev, encoder = config.evaluation, default_encoder()
    out: dict = {}
    for prompts in ("adaem", "paper"):
        for model in models:
            first = usable = 0
            words: list[float] = []
            failures: list[str] = []
            for q in questions:
                async def check(opinion, q=q):
                    vectors = await embed(encoder, [q, *(p.text for p in opinion.points)])
                    return opinion_problem(opinion, q, ev.opinion_rules, encoder, vectors, allowed_words=ev.total_words)
                try:
                    op = await elicit_opinion(pool.get(model), q, k=ev.key_points, words=ev.total_words,
                                              sampling=GenerateConfig(temperature=1.0, top_p=0.95, seed=0),
                                              check=check, prompts=prompts,  # type: ignore[arg-type]
                                              prompt_words=ev.total_words)
                except OutputParseError as exc:
                    failures.append(str(exc).split("last: ")[-1][:80])
                    continue
                usable += 1
                first += op.attempts == 1
                words.append(sum(count_words(p.text) for p in op.points))
            out[f"{prompts} | {model}"] = {"answers": len(questions), "usable": usable, "first_attempt": first,
                                          "median_words": statistics.median(words) if words else None,
                                          "failures": failures}
    return out


async def generation(pool: ModelPool, config: RunConfig, generator: str, seeds: list) -> dict:
    gen, out = config.generation, {}
    for prompts in ("adaem", "paper"):
        passed, lengths, reasons, proposed = 0, [], [], []
        for i, seed in enumerate(seeds):
            if prompts == "paper":
                messages = [{"role": "user", "content": render("paper/explore_fact", general=seed.question,
                                                               examples="")}]
                sampling = GenerateConfig(temperature=1.0, top_p=0.95, seed=i, max_tokens=PAPER_STEP_TOKENS)
                fact = (await pool.get(generator).generate(messages, sampling, role="generator")).text
                messages += [{"role": "assistant", "content": fact}, {"role": "user", "content": render(
                    "paper/explore_question", words=gen.question_words)}]
                raw = (await pool.get(generator).generate(messages, sampling.model_copy(
                    update={"max_tokens": PAPER_ANSWER_TOKENS}), role="generator")).text
                question = listing_question(raw)
            else:
                system = {"role": "system", "content": render("generate_system")}
                sampling = GenerateConfig(temperature=1.0, top_p=0.95, seed=i, max_tokens=160)
                fact = (await pool.get(generator).generate([system, {"role": "user", "content": render(
                    "generate_fact", topic=seed.topic, general=seed.question, question=seed.question, examples="")}],
                    sampling, role="generator")).text
                from adaem.generation.gates import QUESTION_SCHEMA

                raw = (await pool.get(generator).generate([system, {"role": "user", "content": render(
                    "generate_question", topic=seed.topic, general=seed.question, question=seed.question,
                    examples="", fact=fact, words=gen.question_words)}],
                    sampling.model_copy(update={"json_schema": QUESTION_SCHEMA}), role="generator")).text
                question = json_field(raw, "question")
            problem = "no question found" if not question else question_problem(question, gen.max_words)
            proposed.append({"seed": seed.question, "question": question, "problem": problem})
            if problem:
                reasons.append(problem[:60])
            else:
                passed += 1
                lengths.append(len(question.split()))  # type: ignore[union-attr]
        out[prompts] = {"proposals": len(seeds), "usable": passed,
                        "median_words": statistics.median(lengths) if lengths else None, "rejected": reasons,
                        "questions": proposed}
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--models", default=",".join(DEFAULT_RESPONDENTS))
    parser.add_argument("--generator", default=DEFAULT_HELPER)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-paper-prompts"))
    parser.add_argument("--parts", default="opinions,generation", help="which measurements, comma-separated")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    config = RunConfig.model_validate({"local": {"n_ctx": 4096}})
    seeds = load_seeds(None)
    random.Random(0).shuffle(seeds)
    seeds = seeds[: args.questions]
    pool = ModelPool(config, cache=CallCache(args.out / "cache.sqlite"))
    began = time.monotonic()
    result: dict = {
        "opinions": await opinions(pool, config, args.models.split(","), [s.question for s in seeds])
        if "opinions" in parts else {},
        "generation": await generation(pool, config, args.generator, seeds) if "generation" in parts else {}}
    await pool.aclose()
    result["seconds"] = round(time.monotonic() - began, 1)
    (args.out / "bench_paper_prompts.json").write_text(json.dumps(result, indent=1))
    print(f"{args.questions} seed questions; answers at temperature 1.0, top-p 0.95")
    print(f"{'opinions (prompt | model)':<44} {'usable':>8} {'1st try':>8} {'words':>6}")
    for name, r in result["opinions"].items():
        print(f"{name:<44} {r['usable']:>4}/{r['answers']:<3} {r['first_attempt']:>8} {r['median_words']!s:>6}")
    if result["generation"]:
        print(f"{'generation (prompts)':<44} {'usable':>8} {'words':>6}")
    for name, r in result["generation"].items():
        print(f"{name:<44} {r['usable']:>4}/{r['proposals']:<3} {r['median_words']!s:>6}   kept out: {r['rejected'][:3]}")
    print(f"{result['seconds']} s; details in {args.out}/bench_paper_prompts.json")


if __name__ == "__main__":
    asyncio.run(main())
