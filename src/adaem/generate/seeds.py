"""Seed topics: the shipped set (308 controversial topics over the 9 categories of SPEC §6, written for this
project), a user's own file, and near-duplicate removal by sentence similarity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..benchmark import load_questions
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
    for q in load_questions(path):  # ConfigError for a missing file, bad lines, no questions
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
