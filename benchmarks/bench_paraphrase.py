"""Is a question's informativeness S a property of what it asks, or of its exact wording?

Rewords every question of the given files once (the config's first generator, greedy, "keep every place, group,
law and fact"), then scores originals and rewordings under one pool and judge (`adaem compare`) and prints,
per file and pooled, the mean S of each wording and the ICC of S between the two wordings of a question: the
share of S's spread across questions that survives a rewording. With greedy respondents (sampling.temperature
0) S is a fixed function of the wording, so its test–retest ICC is 1 by construction; this is the retest that
still means something there, and the one to run before crediting a search with its selected questions' S.

    .venv/bin/python benchmarks/bench_paraphrase.py FILE [FILE ...] [--config C] [--limit N] [--out DIR]

FILEs are question files (JSONL/CSV/parquet: a benchmark.jsonl, a run's outputs/seed_scores.jsonl). Every call is
cached in DIR, so a rerun (or a longer --limit) pays only for what is new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import numpy as np

from adaem.analysis.compare import compare_sets, retest_reliability, sample_questions
from adaem.benchmark import load_questions
from adaem.config import RunConfig, load_config
from adaem.generation.gates import QUESTION_SCHEMA, question_problem
from adaem.models import GenerateConfig, ModelPool
from adaem.models.cache import CallCache
from adaem.progress import progress_bar
from adaem.prompts import render


async def reword(config: RunConfig, cache: Path, texts: list[str]) -> list[str | None]:
    """One greedy rewording per text; None when the answer is not a usable yes/no question."""
    pool = ModelPool(config, CallCache(cache))
    model = pool.get(config.roles.generators[0])
    await pool.preflight([model.name])
    with progress_bar(pool.ledger) as progress:
        task = progress.add_task("rewording", total=len(texts))

        async def one(text: str) -> str | None:  # concurrent: the pool's per-model limits apply
            reply = await model.generate(
                [{"role": "system", "content": render("generate_system")},
                 {"role": "user", "content": render("paraphrase", question=text)}],
                GenerateConfig(temperature=0.0, max_tokens=160, seed=0, json_schema=QUESTION_SCHEMA), role="generator")
            progress.advance(task)
            try:
                new = " ".join(str(json.loads(reply.text)["question"]).split())
            except (ValueError, KeyError, TypeError):
                return None
            ok = new and new != text and question_problem(new, config.generation.max_words) is None
            return new if ok else None

        out = await asyncio.gather(*(one(t) for t in texts))
    await pool.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--config", type=Path, default=None, help="a run config (default: the embedded pool)")
    parser.add_argument("--limit", type=int, default=None, help="at most N questions per file (seeded sample)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-paraphrase"))
    args = parser.parse_args()
    config = load_config(args.config) if args.config else RunConfig()
    args.out.mkdir(parents=True, exist_ok=True)
    config = config.model_copy(update={"cache_path": config.cache_path or args.out / "cache.sqlite"})
    names = [f"{i + 1}-{f.parent.parent.name if f.parent.name == 'outputs' else f.parent.name}-{f.stem}"
             for i, f in enumerate(args.files)]
    originals = {name: sample_questions(load_questions(f), args.limit, 0) for name, f in zip(names, args.files, strict=True)}
    texts = [q.text for qs in originals.values() for q in qs]
    reworded = iter(asyncio.run(reword(config, Path(config.cache_path), texts)))
    files, pairs = [], []
    for name, questions in originals.items():
        kept = [(q, new) for q in questions if (new := next(reworded))]
        pairs += [{"file": name, "id": q.id, "original": q.text, "reworded": new} for q, new in kept]
        for wording, rows in (("original", [(q.id, q.text) for q, _ in kept]), ("reworded", [(q.id, new) for q, new in kept])):
            path = args.out / f"{name}.{wording}.jsonl"
            path.write_text("".join(json.dumps({"id": i, "question": t}) + "\n" for i, t in rows))
            files.append(path)
        print(f"{name}: {len(kept)} of {len(questions)} questions reworded usably")
    comparison = compare_sets(files, config, args.out / "scores", resume=(args.out / "scores").exists())
    scores = comparison.scores.assign(wording=lambda d: d.set.str.rsplit(".", n=1).str[1],
                                      file=lambda d: d.set.str.rsplit(".", n=1).str[0])
    print(f"\n{'questions':<44} {'n':>3} {'S original':>11} {'S reworded':>11} {'ICC1 [95% CI]':>22} {'Pearson':>8}")
    for name in [*originals, "all"]:
        part = scores if name == "all" else scores[scores.file == name]
        long = part.assign(question=part.file + "|" + part.question_id, draw=part.wording)
        wide = long.pivot_table(index="question", columns="draw", values="score").dropna()
        icc = retest_reliability(long)
        if icc is None:
            print(f"{name:<44} {len(wide):>3}  (too few questions scored in both wordings)")
            continue
        r = float(np.corrcoef(wide["original"], wide["reworded"])[0, 1])
        ci = f"{icc['icc1']:.2f} [{icc['icc1_lo']:.2f}, {icc['icc1_hi']:.2f}]"
        print(f"{name:<44} {len(wide):>3} {wide['original'].mean():>11.3f} {wide['reworded'].mean():>11.3f} {ci:>22} "
              f"{r:>8.2f}")
    (args.out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))


if __name__ == "__main__":
    main()
