import json
from collections import Counter

import numpy as np
import pytest

from adaem.errors import ConfigError
from adaem.generate.seeds import CATEGORIES, Seed, dedupe_seeds, load_seeds, near_duplicates


def test_shipped_seeds_cover_every_category():
    seeds = load_seeds()
    assert len(seeds) >= 300
    counts = Counter(s.category for s in seeds)
    assert set(counts) == set(CATEGORIES) and min(counts.values()) >= 20
    assert all(s.question.endswith("?") and len(s.question.split()) <= 20 for s in seeds)
    assert len({s.question for s in seeds}) == len(seeds)


def test_shipped_seeds_hold_no_near_duplicates():
    kept, dropped = dedupe_seeds(load_seeds(), threshold=0.85)
    assert dropped == []


def test_near_duplicates_first_one_wins():
    e = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert near_duplicates(e, 0.9) == [1]
    assert near_duplicates(e, 0.999) == []


def test_dedupe_drops_paraphrases():
    seeds = [Seed("a", "Should payday loans be banned?", "x"), Seed("b", "Should payday loans be prohibited?", "x"),
             Seed("c", "Should zoos be abolished?", "x")]
    kept, dropped = dedupe_seeds(seeds, threshold=0.8)
    assert [s.topic for s in kept] == ["a", "c"] and [s.topic for s in dropped] == ["b"]


def test_user_seed_files(tmp_path):
    f = tmp_path / "mine.jsonl"
    f.write_text(json.dumps({"question": "Should cities ban cars?", "category": "social & cultural issues"}) + "\n")
    (seed,) = load_seeds(f)
    assert seed.topic == "Should cities ban cars" and seed.category == "social & cultural issues"
    empty = tmp_path / "empty.csv"
    empty.write_text("question\n")
    with pytest.raises(ConfigError, match="no questions"):
        load_seeds(empty)
