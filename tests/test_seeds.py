import json
from collections import Counter

import numpy as np
import pytest

from adaem.errors import ConfigError
from adaem.generation.seeds import CATEGORIES, Seed, dedupe_seeds, load_seeds, near_duplicates


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


async def test_expand_keeps_new_yes_no_questions_and_drops_duplicates(make_pool):
    from adaem.generation.seeds import expand_seeds
    from adaem.models.providers.mock import register_mock, unregister_mock

    fresh = iter([
        "Should chess be taught in every primary school?", "Should lighthouses be turned into hotels?",
        "Should pilots be allowed to unionise against airlines?", "Should monasteries open their archives?",
        "Should volcano tourism be restricted?", "Should knitting count as physical education?",
        "Should judges be elected by citizens?", "Should robots pay pension contributions?",
        "Should bakeries be forced to donate unsold bread?", "Should poets receive a state salary?",
        "Should nurses be allowed to prescribe antibiotics?", "Should ferries be free for islanders?",
        "Should astronauts be exempt from income tax?", "Should cemeteries be converted into parks?",
        "Should beekeepers receive subsidies?", "Should wedding gifts be taxed?",
        "Should ski resorts pay for melting glaciers?", "Should tattoo artists need a medical licence?",
        "Should marathon runners pay for road closures?", "Should circus acts with acrobats get arts funding?",
    ])

    def proposer(messages, config):
        return json.dumps({"topics": [
            {"topic": "payday loans", "question": "Should payday loans be banned?"},  # a shipped seed
            {"topic": "zoo", "question": "Tell me about zoos."},  # not a question
            {"topic": "a", "question": next(fresh)},
            {"topic": "b", "question": next(fresh)},
            {"topic": "payday again", "question": "Should payday lending be banned?"},
        ]})

    register_mock("proposer", proposer)
    try:
        seeds = load_seeds()
        new, dropped = await expand_seeds(make_pool().get("mock/proposer"), seeds, per_category=2, per_call=5)
    finally:
        unregister_mock("proposer")
    assert len(new) == 2 * len(CATEGORIES)
    assert all(s.question.startswith("Should") for s in new)
    assert dropped["not a usable question"] >= len(CATEGORIES) and dropped["near-duplicate"] >= len(CATEGORIES)
    assert {s.category for s in new} == set(CATEGORIES)


def test_seeds_expand_cli(tmp_path):
    from conftest import run_cli

    r = run_cli("seeds", "expand", "--out", str(tmp_path / "grown.jsonl"), "--generator", "mock/g",
                "--per-category", "1")
    assert r.returncode == 0, r.stderr
    grown = [json.loads(x) for x in (tmp_path / "grown.jsonl").read_text().splitlines()]
    assert len(grown) >= len(load_seeds())  # the mock's schema answers are not questions: dropped, counted
    assert "dropped" in r.stdout
