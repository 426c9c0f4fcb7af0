"""Seed topics: the shipped set (308 controversial topics over the 9 categories of SPEC §6, written for this
project), a user's own file, and near-duplicate removal by sentence similarity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..benchmark import load_questions
from ..config import RunConfig
from ..errors import ConfigError

CATEGORIES = (
    "entertainment & arts",
    "philosophy & beliefs",
    "technology & innovation",
    "politics & international relations",
    "science, health & environment",
    "law, justice & human rights",
    "education & media",
    "social & cultural issues",
    "economics & business",
)


@dataclass(frozen=True)
class Seed:
    topic: str
    question: str
    category: str


def load_seeds(path: Path | str | None = None) -> list[Seed]:
    """The shipped seeds, or a user's file (JSONL/CSV/parquet with `question`, optional `topic`, `category`)."""
    if path is None:
        text = resources.files("adaem").joinpath("data/seeds.jsonl").read_text(encoding="utf-8")
        return [Seed(**json.loads(line)) for line in text.splitlines() if line.strip()]
    seeds = []
    for q in load_questions(path, dedupe=True):  # ConfigError for a missing file, bad lines, no questions
        topic = str(q.meta.get("topic") or q.text.rstrip("?"))
        seeds.append(Seed(topic=topic, question=q.text, category=q.category or "uncategorised"))
    return seeds


def near_duplicates(embeddings: np.ndarray, threshold: float) -> list[int]:
    """Indices to drop so that no two kept rows have cosine similarity above threshold (first one wins)."""
    if len(embeddings) == 0:
        return []
    sims = embeddings @ embeddings.T
    drop: list[int] = []
    kept: list[int] = []
    for i in range(len(embeddings)):
        if kept and float(np.max(sims[i, kept])) > threshold:
            drop.append(i)
        else:
            kept.append(i)
    return drop


def dedupe_seeds(seeds: list[Seed], threshold: float = 0.85) -> tuple[list[Seed], list[Seed]]:
    """(kept, dropped) after removing seeds whose question is a near-duplicate of an earlier one."""
    from ..embeddings import default_encoder

    if not seeds:
        raise ConfigError("the seed set holds no questions")
    drop = set(near_duplicates(default_encoder().encode([s.question for s in seeds]), threshold))
    return [s for i, s in enumerate(seeds) if i not in drop], [s for i, s in enumerate(seeds) if i in drop]


def expand_schema(count: int) -> dict:
    # no maxLength: a grammar would cut a question mid-word; question_problem checks each afterwards
    item = {"type": "object", "properties": {"topic": {"type": "string"}, "question": {"type": "string"}},
            "required": ["topic", "question"], "additionalProperties": False}
    return {"type": "object", "properties": {"topics": {"type": "array", "items": item, "minItems": count,
                                                        "maxItems": count}},
            "required": ["topics"], "additionalProperties": False}


async def expand_seeds(model, seeds: list[Seed], per_category: int, *, rounds: int = 3, per_call: int = 5,
                       threshold: float = 0.85, on_step=None) -> tuple[list[Seed], dict[str, int]]:
    """Ask a generator for new topics in every category until each has `per_category` new ones (or `rounds`
    calls per category are spent); keep only yes/no questions that are not near-duplicates of any seed.
    Returns (new seeds, counts of what was dropped and why)."""
    import json
    import random

    from ..embeddings import default_encoder
    from ..models import GenerateConfig
    from ..prompts import render
    from .gates import question_problem

    encoder = default_encoder()
    kept_emb = encoder.encode([s.question for s in seeds]) if seeds else np.zeros((0, 384), np.float32)
    categories = list(dict.fromkeys([*CATEGORIES, *(s.category for s in seeds)]))
    new: list[Seed] = []
    dropped = {"not a usable question": 0, "near-duplicate": 0, "unparsable answer": 0}
    for category in categories:
        mine = [s for s in seeds if s.category == category]
        added = 0
        for r in range(rounds):
            if added >= per_category:
                break
            examples = "; ".join(s.topic for s in random.Random(r).sample(mine, min(12, len(mine))))
            out = await model.generate(render("seeds_expand", category=category, examples=examples or "none",
                                              count=per_call),
                                       GenerateConfig(temperature=1.0, top_p=0.95, max_tokens=90 * per_call, seed=r,
                                                      json_schema=expand_schema(per_call)), role="generator")
            try:
                items = json.loads(out.text)["topics"]
            except (ValueError, KeyError, TypeError):
                dropped["unparsable answer"] += 1
                continue
            for item in items:
                question = str(item.get("question", "")).strip()
                if question_problem(question, 20):
                    dropped["not a usable question"] += 1
                    continue
                vector = encoder.encode([question])
                if len(kept_emb) and float(np.max(kept_emb @ vector[0])) > threshold:
                    dropped["near-duplicate"] += 1
                    continue
                kept_emb = np.vstack([kept_emb, vector])
                new.append(Seed(str(item.get("topic") or question.rstrip("?")).strip(), question, category))
                added += 1
                if added >= per_category:
                    break
            if on_step is not None:
                on_step()
    return new, dropped


def expand_seed_file(config: RunConfig, seeds: Path | None, out_file: Path, per_category: int,
                     threshold: float = 0.85) -> tuple[list[Seed], list[Seed], dict[str, int]]:
    """`adaem seeds expand`: grow a seed file with the config's first generator and write base + new seeds to
    `out_file` (calls cached beside it, so a re-run pays nothing twice). Returns (base, new, dropped counts)."""
    from ..jobs import run_sync
    from ..models import CallCache, ModelPool
    from ..progress import progress_bar
    from ..store import write_jsonl

    base = load_seeds(seeds)
    model_name = config.roles.generators[0]
    pool = ModelPool(config, cache=CallCache(out_file.with_suffix(".cache.sqlite")))

    async def run() -> tuple[list[Seed], dict[str, int]]:
        try:
            await pool.preflight([model_name])
            with progress_bar(pool.ledger) as progress:
                task = progress.add_task("seeds: expand", total=None)
                return await expand_seeds(pool.get(model_name), base, per_category, threshold=threshold,
                                          on_step=lambda: progress.advance(task))
        finally:
            await pool.aclose()

    new, dropped = run_sync(run())
    out_file.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_file, ({"topic": s.topic, "question": s.question, "category": s.category} for s in [*base, *new]))
    return base, new, dropped
