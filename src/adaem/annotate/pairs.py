"""The two question sets of a study and their pairing: the generated questions (a generate run or any question
file) against a baseline (the run's own seed questions by default, or any question file), paired by topic where
possible, then by category, then at random.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..benchmark import load_questions
from ..errors import ConfigError
from ..store import read_jsonl


@dataclass(frozen=True)
class Candidate:
    """A question that can enter a study: its text and what it can be matched on."""

    text: str
    topic: str | None = None
    category: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class Pair:
    baseline: Candidate
    generated: Candidate
    match: str  # topic | category | none


def norm_text(text: str | None) -> str | None:
    return " ".join(text.casefold().split()) if text and text.strip() else None


def _from_file(path: Path) -> list[Candidate]:
    return [Candidate(q.text, q.topic or str(q.meta.get("topic") or "") or None, q.category, q.id)
            for q in load_questions(path, dedupe=True)]


def load_generated(source: Path | str) -> tuple[list[Candidate], str]:
    """The questions of a generate run (its benchmark.jsonl; outputs/benchmark.jsonl of a run that never wrote
    one) or of a question file; and a name for the set."""
    source = Path(source)
    if source.is_dir():
        if (source / "benchmark.jsonl").exists():
            return _from_file(source / "benchmark.jsonl"), f"generated ({source.name})"
        raw = read_jsonl(source / "outputs" / "benchmark.jsonl") if (source / "outputs").is_dir() else []
        if not raw:
            raise ConfigError(f"{source} holds no generated questions (no benchmark.jsonl, no outputs/benchmark.jsonl):"
                              " give a generate run directory or a question file")
        return [Candidate(r["question"], r.get("topic"), r.get("category"), r.get("id")) for r in raw], \
            f"generated ({source.name})"
    if not source.exists():
        raise ConfigError(f"{source}: no such run directory or question file")
    return _from_file(source), f"generated ({source.name})"


def load_baseline(source: Path | str, baseline: Path | str | None) -> tuple[list[Candidate], str]:
    """`baseline` (any question file), else the run's own seed questions (the seeds its arms were scored on;
    else the seed file of its config), else adaem's shipped seed questions."""
    from ..generation.seeds import load_seeds

    if baseline is not None:
        path = Path(baseline)
        if path.is_dir():
            raise ConfigError(f"--baseline {path}: give a question file (JSONL/CSV/JSON/parquet), not a directory")
        return _from_file(path), f"baseline ({path.name})"
    source = Path(source)
    if source.is_dir():
        seeds = read_jsonl(source / "outputs" / "seed_scores.jsonl")
        if seeds:
            return [Candidate(s["question"], s.get("key"), s.get("category"), f"seed:{s.get('key')}")
                    for s in seeds], f"seed questions ({source.name})"
        config = source / "config.yaml"
        if config.exists():
            from ..config import load_config

            seed_file = load_config(config).generation.seeds
            if seed_file is not None:
                return ([Candidate(s.question, s.topic, s.category, f"seed:{s.topic}") for s in load_seeds(seed_file)],
                        f"seed questions ({Path(seed_file).name})")
    return [Candidate(s.question, s.topic, s.category, f"seed:{s.topic}") for s in load_seeds(None)], \
        "seed questions (adaem's shipped seeds)"


def match_pairs(baseline: list[Candidate], generated: list[Candidate], n: int, seed: int | str = 0) -> list[Pair]:
    """Up to `n` pairs, no question in two pairs. Pairs with the same topic first (one per topic in turn, so that
    a cut at n keeps as many topics as it can), then the same category, then the rest at random."""
    rng = random.Random(seed)
    taken = {norm_text(b.text) for b in baseline}
    gen = [g for g in generated if norm_text(g.text) not in taken]  # a question in both sets cannot be blind
    base = list(baseline)
    rng.shuffle(gen)
    rng.shuffle(base)
    pairs: list[Pair] = []
    for key, kind in ((lambda c: norm_text(c.topic), "topic"), (lambda c: norm_text(c.category), "category")):
        pool_b: dict[str, list[Candidate]] = defaultdict(list)
        pool_g: dict[str, list[Candidate]] = defaultdict(list)
        for b in base:
            if (k := key(b)) is not None:
                pool_b[k].append(b)
        for g in gen:
            if (k := key(g)) is not None:
                pool_g[k].append(g)
        shared = [k for k in pool_g if k in pool_b]
        used: set[int] = set()
        while len(pairs) < n and shared:
            for k in list(shared):
                if len(pairs) >= n:
                    break
                b, g = pool_b[k].pop(), pool_g[k].pop()
                used |= {id(b), id(g)}
                pairs.append(Pair(b, g, kind))
                if not pool_b[k] or not pool_g[k]:
                    shared.remove(k)
        base = [b for b in base if id(b) not in used]
        gen = [g for g in gen if id(g) not in used]
    for b, g in zip(base, gen, strict=False):
        if len(pairs) >= n:
            break
        pairs.append(Pair(b, g, "none"))
    return pairs


def describe(pairs: list[Pair]) -> str:
    """'300 pairs: 274 by topic, 20 by category, 6 unmatched'."""
    counts = {k: sum(p.match == k for p in pairs) for k in ("topic", "category", "none")}
    parts = [f"{counts['topic']} by topic"] + ([f"{counts['category']} by category"] if counts["category"] else []) \
        + ([f"{counts['none']} unmatched"] if counts["none"] else [])
    return f"{len(pairs)} pairs: " + ", ".join(parts)

