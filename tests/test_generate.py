"""`adaem generate` on scripted mock models: the loop, its outputs, budgets, bad input, kill/resume,
self-extension. The real-model run is the slow test at the end."""

import json
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.generation.gates import question_problem, top3_similarity
from adaem.generation.job import generate
from adaem.generation.search import pick_arms
from adaem.generation.seeds import CATEGORIES, load_seeds
from adaem.models.providers.mock import register_mock, unregister_mock

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import mock_generate  # noqa: E402


@pytest.fixture
def scripted_generator():
    register_mock("gen", mock_generate.generator)
    yield
    unregister_mock("gen")


def cfg(**generation) -> RunConfig:
    args = Namespace(explorers="mock/a,mock/b", budget=generation.pop("budget", 3), tau=generation.pop("tau", -100.0))
    config = mock_generate.config(args)
    return config.model_copy(update={"generation": config.generation.model_copy(update=generation)})


def test_question_checks():
    assert question_problem("Should zoos close?", 20) is None
    assert question_problem("In Japan, should dual citizenship be allowed?", 20) is None
    assert "no question mark" in question_problem("Zoos should close.", 20)
    assert "not a yes/no" in question_problem("Why do zoos exist?", 20)
    # a yes/no question with a comma later on is not mistaken for a framing clause (seen from the 1.5B generator)
    assert question_problem("Should online anonymity be abolished in India and Pakistan, considering the custom?", 30) is None
    assert question_problem("Would you agree that in many cultures and regions, work from home is a right?", 30) is None
    assert "not a yes/no" in question_problem("In many cultures and regions, why do zoos exist?", 20)
    assert "too long" in question_problem("Should " + "very " * 30 + "long?", 20)
    assert question_problem("", 20) == "empty question"


def test_top3_similarity():
    existing = np.eye(4)
    assert top3_similarity(np.array([1.0, 0, 0, 0]), existing) == pytest.approx(1 / 3)
    assert top3_similarity(np.array([1.0, 0, 0, 0]), np.zeros((0, 4))) == 0.0


def test_arms_are_spread_over_categories_reproducibly():
    seeds = load_seeds()
    picked = pick_arms(seeds, 9, seed=0)
    assert {s.category for s in picked} == set(CATEGORIES)
    assert picked == pick_arms(seeds, 9, seed=0) and picked != pick_arms(seeds, 9, seed=1)
    assert len(pick_arms(seeds, None, 0)) == len(seeds)


def test_generate_writes_a_benchmark_with_everything_behind_each_question(tmp_path, scripted_generator):
    result = generate(cfg(budget=3), tmp_path / "run")
    assert result.failure is None and result.summary["pulls"] == 3
    assert result.summary["accepted"] == 3 * 2  # width 2, one generator
    assert len(result.questions) == 5  # the benchmark: the top 80% by P2 score (issue 23.3)
    raw = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "benchmark.jsonl").read_text().splitlines()]
    for q in raw:
        assert q["question"].startswith("Should") and q["country"] == "Kenya"
        assert q["category"] in CATEGORIES and q["parent"] and q["depth"] in (0, 1)
        assert set(q["p2"]["components"]) == {"score", "distinguishability", "disentanglement",
                                              "opinion_difference", "conformity", "coherence"}
        assert all(v is not None for v in q["p2"]["components"].values())  # unit=opinion measures every one
        assert set(q["p2"]["answers"]) == {"mock/a", "mock/b"} and q["p2"]["question_vector"]
    table = pq.read_table(tmp_path / "run" / "benchmark.parquet")
    assert table.num_rows == 5 and "p2_score" in table.column_names and "question" in table.column_names
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["trajectory"]) == 3 and summary["calls_per_question"] > 0
    assert set(summary["calls_per_role"]) >= {"explorer", "generator", "judge"}
    # the benchmark feeds straight into evaluate
    from adaem.evaluation import evaluate

    evaluation = evaluate(tmp_path / "run" / "benchmark.jsonl",
                          cfg().model_copy(update={"evaluation": cfg().evaluation.model_copy(update={"bootstrap": 5})}),
                          tmp_path / "eval")
    assert len(evaluation.answers) == 10  # the 5 selected questions × 2 models


def test_refinement_depth_follows_tau(tmp_path, scripted_generator):
    deep = generate(cfg(budget=1, tau=-100.0), tmp_path / "deep")
    shallow = generate(cfg(budget=1, tau=100.0), tmp_path / "shallow")
    assert all(q["depth"] == 1 for q in deep.questions)
    assert all(q["depth"] == 0 for q in shallow.questions)


def test_generators_sample_at_their_own_temperature(tmp_path):
    """Greedy respondents (a deterministic S) with generators that still vary their questions."""
    from adaem.models.providers.mock import _digest, default_text, schema_instance, topic_words

    seen: dict[str, set[float]] = {"gen": set(), "a": set()}

    def gen(messages, config):
        seen["gen"].add(config.temperature)
        return mock_generate.generator(messages, config)

    def respondent(messages, config):
        seen["a"].add(config.temperature)
        if config.json_schema:
            return json.dumps(schema_instance(config.json_schema, _digest(messages[-1].content, config.seed),
                                              topic_words(messages)))
        return default_text("a", messages, config)

    register_mock("gen", gen)
    register_mock("a", respondent)
    config = cfg(budget=1, generator_temperature=0.9)
    config = config.model_copy(update={"sampling": config.sampling.model_copy(update={"temperature": 0.0})})
    try:
        result = generate(config, tmp_path / "run")
    finally:
        unregister_mock("gen")
        unregister_mock("a")
    assert result.questions and seen == {"gen": {0.9}, "a": {0.0}}


def test_call_budget_stops_the_run(tmp_path, scripted_generator):
    result = generate(cfg(budget=50, max_calls=400), tmp_path / "run")
    assert result.summary["pulls"] < 50 and "call budget" in result.summary["stopped"]


def test_bad_generator_answers_are_recorded_rejections(tmp_path):
    register_mock("gen", lambda messages, config: json.dumps({"question": "Tell me about zoos.", "country": "none"})
                  if config.json_schema else "a fact")
    try:
        result = generate(cfg(budget=2), tmp_path / "run")
    finally:
        unregister_mock("gen")
    assert result.questions == [] and result.summary["rejected"] == {"not a question": 4}
    rejected = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 4 and all(r["stage"] == "format" for r in rejected)


def test_near_duplicates_are_rejected(tmp_path):
    register_mock("gen", lambda messages, config: json.dumps({"question": "Should zoos be abolished in Kenya?",
                                                              "country": "Kenya"}) if config.json_schema else "f")
    try:
        result = generate(cfg(budget=2), tmp_path / "run")
    finally:
        unregister_mock("gen")
    assert len(result.questions) == 1
    assert Counter(result.summary["rejected"]) == {"near-duplicate": 3}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"roles": {"explorers": ["mock/a"]}}, "roles.explorers: name at least 2 models"),
        ({"generation": {"budget": 0}}, "generation.budget"),
    ],
)
def test_bad_configs(tmp_path, overrides, fragment):
    from adaem.config import parse_config

    with pytest.raises(ConfigError) as info:
        generate(parse_config(overrides), tmp_path / "run")
    assert fragment in str(info.value)
    assert not (tmp_path / "run").exists()


def test_seed_file_without_questions(tmp_path):
    empty = tmp_path / "seeds.csv"
    empty.write_text("question,category\n")
    r = run_cli("generate", "--out", str(tmp_path / "run"), "--seeds", str(empty), "--set",
                "roles.explorers=mock/a,mock/b", "--set", "roles.judge=mock/j", "--set", "roles.generators=mock/g")
    assert r.returncode == 2 and "holds no questions" in r.stderr and "Traceback" not in r.stderr


def _run(out: Path, *extra: str, log: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "ADAEM_MOCK_LATENCY": "0.01", **({"ADAEM_MOCK_CALL_LOG": str(log)} if log else {})}
    return subprocess.Popen([sys.executable, str(HERE / "mock_generate.py"), str(out), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.mark.parametrize("parallel", [[], ["--parallel", "1"]], ids=["pulls-at-once", "one-pull"])
def test_kill_9_then_resume_ends_like_an_uninterrupted_run(tmp_path, parallel):
    clean = _run(tmp_path / "clean", *parallel)
    assert clean.wait(300) == 0
    run = tmp_path / "run"
    bench = run / "outputs" / "benchmark.jsonl"
    log = tmp_path / "calls.log"  # a line per call the mock finished
    for target in (1, 4):
        proc = _run(run, *(["--resume"] if run.exists() else []), *parallel, log=log)
        deadline = time.time() + 120
        while (not bench.exists() or len(bench.read_text().splitlines()) < target) and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = _run(run, "--resume", *parallel, log=log)
    assert finished.wait(300) == 0
    calls = log.read_text().splitlines()
    # a call is repeated only if it finished in the instant between the provider's answer and the cache's
    # commit when the kill struck: at most one per kill; calls that were in flight and unfinished run once
    assert len(calls) - len(set(calls)) <= 2
    a = [json.loads(x) for x in (run / "benchmark.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "clean" / "benchmark.jsonl").read_text().splitlines()]
    assert [q["id"] for q in a] == [q["id"] for q in b] and [q["question"] for q in a] == [q["question"] for q in b]
    assert [q["p2_score"] for q in a] == pytest.approx([q["p2_score"] for q in b])


def test_self_extension_continues_from_saved_arms_with_more_models(tmp_path):
    run = tmp_path / "run"
    assert _run(run, "--budget", "2").wait(300) == 0
    arms_before = json.loads((run / "summary.json").read_text())["arms"]
    assert _run(run, "--resume", "--budget", "4", "--explorers", "mock/a,mock/b,mock/c").wait(300) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pulls"] == 4 and len(summary["trajectory"]) == 4
    assert [a["topic"] for a in summary["arms"]] == [a["topic"] for a in arms_before]
    assert sum(a["pulls"] for a in summary["arms"]) == sum(a["pulls"] for a in arms_before) + 2
    late = [json.loads(x) for x in (run / "outputs" / "benchmark.jsonl").read_text().splitlines()][-2:]
    assert all(q["explorers"] == ["mock/a", "mock/b", "mock/c"] for q in late)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard, not a speed test: minutes of real-model work on a shared machine
def test_generate_then_evaluate_on_the_embedded_models(tmp_path):
    """The README's main job with a tiny budget: real questions from the embedded pool, then their profiles."""
    run = tmp_path / "gen"
    r = run_cli("generate", "--out", str(run), "--set", "generation.arms=2", "--budget", "1",
                "--set", "generation.depth=0", timeout=1500)
    assert r.returncode == 0, r.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pulls"] == 1
    seeds = [json.loads(x) for x in (run / "outputs" / "seed_scores.jsonl").read_text().splitlines()]
    assert len(seeds) == 2 and any(s["score"] is not None for s in seeds)
    questions = [json.loads(x) for x in (run / "benchmark.jsonl").read_text().splitlines()]
    rejected = (run / "outputs" / "rejected.jsonl")
    assert questions or rejected.exists(), "a pull ends in a question or a recorded rejection"
    for q in questions:
        assert question_problem(q["question"], 30) is None and q["p2_score"] > 0
    if questions:
        e = run_cli("evaluate", "--benchmark", str(run / "benchmark.jsonl"), "--out", str(tmp_path / "eval"),
                    "--set", "evaluation.bootstrap=10", timeout=1200)
        assert e.returncode == 0, e.stderr
        assert (tmp_path / "eval" / "radar.png").exists()


def test_a_judge_that_never_answers_yes_or_no_does_not_crash_the_run(tmp_path, scripted_generator):
    register_mock("j", lambda messages, config: "It depends.")
    try:
        result = generate(cfg(budget=1), tmp_path / "run")
    finally:
        unregister_mock("j")
    assert result.failure is None and result.questions == []
    assert "only 0 of 2 models gave a usable answer" in (tmp_path / "run" / "outputs" / "rejected.jsonl").read_text()


# -- the paper's method exactly (issue 12) -------------------------------------------------------------------
def _refining_generator(refined: str):
    """First proposals as the scripted generator writes them; every refinement is `refined`."""
    def gen(messages, config):
        if config.json_schema is not None and messages[-1].content.startswith("Question:") and \
                "Suggestions:" in messages[-1].content:
            return json.dumps({"question": refined, "country": "none"})
        return mock_generate.generator(messages, config)
    return gen


def _benchmark_records(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "outputs" / "benchmark.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("refined", "stage", "fragment"), [
    ("Tell me about zoos.", "format", "not a question"),
    (None, "dedupe", "near-duplicate"),  # a copy of a seed question of the run
    ("Should city guns be banned near schools?", "safety", "flagged by the safety filter"),
])
def test_a_refinement_passes_the_same_gates_as_a_first_proposal(tmp_path, refined, stage, fragment):
    """Item 1: a refined version that fails a gate is recorded in `refinements` and the last accepted version
    stands; it never reaches benchmark.jsonl unchecked."""
    seed_question = pick_arms(load_seeds(), 3, 0)[0].question
    register_mock("gen", _refining_generator(refined or seed_question))
    register_mock("guard", lambda messages, config: "unsafe\nS1" if "guns be banned" in messages[-1].content else "safe")
    config = cfg(budget=2, depth=2)
    config = config.model_copy(update={"roles": config.roles.model_copy(update={"safety_filter": "mock/guard"})})
    try:
        result = generate(config, tmp_path / "run")
    finally:
        unregister_mock("gen")
        unregister_mock("guard")
    records = _benchmark_records(tmp_path / "run")
    assert records and all(q["depth"] == 0 for q in records)
    for q in records:
        assert q["question"] != (refined or seed_question)
        last = q["refinements"][-1]
        assert last["stage"] == stage and fragment in last["rejected"]
        assert q["question"] == q["refinements"][0]["question"]
    assert all(q["question"] != (refined or seed_question) for q in result.questions)


def test_a_near_duplicate_of_a_sibling_accepted_earlier_in_the_pull_is_kept_out(tmp_path):
    """Two questions of one pull that are the same question: the second is rejected against the first."""
    register_mock("gen", lambda messages, config: json.dumps({"question": "Should zoos be abolished in Kenya now?",
                                                              "country": "Kenya"}) if config.json_schema else "f")
    try:
        result = generate(cfg(budget=1, width=2, depth=0), tmp_path / "run")
    finally:
        unregister_mock("gen")
    assert len(result.questions) == 1 and result.summary["rejected"] == {"near-duplicate": 1}


def test_a_component_that_was_not_measured_is_null_everywhere(tmp_path, scripted_generator):
    """Item 2: unit=answer measures no conformity: null in JSON, null in parquet, '–' in the report; S is the
    weighted sum of the measured components only."""
    config = cfg(budget=1)
    config = config.model_copy(update={"evaluation": config.evaluation.model_copy(update={"unit": "answer"})})
    result = generate(config, tmp_path / "run")
    assert result.questions
    for q in _benchmark_records(tmp_path / "run"):
        parts = q["p2"]["components"]
        assert parts["conformity"] is None
        measured = [v for k, v in parts.items() if k != "score" and v is not None]
        assert parts["score"] == pytest.approx(sum(measured))  # weights 1
        assert {"distinguishability", "opinion_difference", "coherence"} <= {k for k, v in parts.items() if v is not None}
    flat = [json.loads(x) for x in (tmp_path / "run" / "benchmark.jsonl").read_text().splitlines()]
    assert all(q["p2_conformity"] is None and q["p2_coherence"] is not None for q in flat)
    column = pq.read_table(tmp_path / "run" / "benchmark.parquet").column("p2_conformity")
    assert column.null_count == len(flat)
    from adaem.report import collect_run

    data = collect_run(tmp_path / "run", similarity=False)
    assert all(q["components"]["conformity"] is None for q in data.questions)


def test_coherence_is_a_weighted_component(tmp_path, scripted_generator):
    """Item 3: semantic coherence is stored and has its own weight."""
    base = generate(cfg(budget=1, depth=0), tmp_path / "a")
    weighted = generate(cfg(budget=1, depth=0, weights={"coherence": 3.0}), tmp_path / "b")
    for a, b in zip(_benchmark_records(tmp_path / "a"), _benchmark_records(tmp_path / "b"), strict=True):
        ca, cb = a["p1"]["components"], b["p1"]["components"]
        assert 0 < ca["coherence"] <= 1 and ca["coherence"] == pytest.approx(cb["coherence"])
        assert cb["score"] - ca["score"] == pytest.approx(2.0 * ca["coherence"])
    assert base.questions and weighted.questions


def test_coherence_by_likelihood_where_the_backend_gives_log_probabilities(tmp_path, scripted_generator):
    """The likelihood variant: each respondent's per-token probability of its points (mock: p = e^-0.1)."""
    result = generate(cfg(budget=1, depth=0, coherence="likelihood"), tmp_path / "run")
    assert result.questions
    for q in _benchmark_records(tmp_path / "run"):
        assert q["p1"]["coherence_method"] == "likelihood"
        assert q["p1"]["components"]["coherence"] == pytest.approx(np.exp(-0.1))
        assert all(a["mean_logprob"] == pytest.approx(-0.1) for a in q["p1"]["answers"].values())


def test_a_value_the_judge_fails_on_is_masked_and_counted(tmp_path, scripted_generator):
    """Item 5: the judge never answers for Power: masked out of S (not 0 for answers, not 0.5 for the
    question), counted in the record."""
    def judge(messages, config):
        if "Value: Power" in messages[-1].content:
            return "It depends."
        return "Yes" if "family" in messages[-1].content or "tradition" in messages[-1].content else "No"

    register_mock("j", judge)
    try:
        result = generate(cfg(budget=1, depth=1), tmp_path / "run")  # refinement reads the masked vectors too
    finally:
        unregister_mock("j")
    assert result.questions and result.failure is None
    for q in _benchmark_records(tmp_path / "run"):
        p2 = q["p2"]
        assert p2["question_vector"] is not None and "power" not in p2["question_vector"]
        assert all(a["vector"]["power"] is None for a in p2["answers"].values() if "vector" in a)
        answered = sum("vector" in a for a in p2["answers"].values())
        assert p2["labels_missing"] == answered + 1  # one per answer and one for the question


def test_llama_guard_verdicts_and_unreadable_ones(tmp_path, scripted_generator):
    """Item 6: `unsafe\\nS1` keeps a question out, `safe` lets it in, anything else keeps it out as unreadable;
    a filter named *guard* is sent the question as the user turn (its own template asks)."""
    seen: list[list[dict]] = []
    verdicts: dict[str, str] = {}

    def guard(messages, config):  # verdicts in turn: safe, unsafe, unreadable, safe, ...
        seen.append([m.model_dump() for m in messages])
        text = messages[-1].content
        return verdicts.setdefault(text, ["safe", "unsafe\nS10", "I cannot decide"][len(verdicts) % 3])

    register_mock("llama-guard", guard)
    config = cfg(budget=3)
    config = config.model_copy(update={"roles": config.roles.model_copy(update={"safety_filter": "mock/llama-guard"})})
    try:
        generate(config, tmp_path / "run")
    finally:
        unregister_mock("llama-guard")
    assert all(len(m) == 1 and m[0]["role"] == "user" and m[0]["content"].startswith("Should") for m in seen)
    rejected = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "rejected.jsonl").read_text().splitlines()]
    reasons = {r["reason"] for r in rejected if r["stage"] == "safety"}
    reasons |= {h["rejected"] for q in _benchmark_records(tmp_path / "run") for h in q["refinements"]
                if h.get("stage") == "safety"}
    assert "flagged by the safety filter" in reasons
    assert "unreadable safety verdict (kept out): 'I cannot decide'" in reasons
    for q in _benchmark_records(tmp_path / "run"):  # every accepted version (refinements too) was 'safe'
        assert verdicts[q["question"]] == "safe"


def test_screen_answers_keeps_out_a_question_whose_answer_is_flagged(tmp_path, scripted_generator):
    register_mock("guard", lambda messages, config: "unsafe\nS1" if messages[-1].role == "assistant" else "safe")
    config = cfg(budget=1, depth=0, screen_answers=True)
    config = config.model_copy(update={"roles": config.roles.model_copy(update={"safety_filter": "mock/guard"})})
    try:
        result = generate(config, tmp_path / "run")
    finally:
        unregister_mock("guard")
    assert result.questions == []
    assert result.summary["rejected"] == {"answer of mock/a: flagged by the safety filter": 2}


def test_arms_start_on_the_scorers_scale_and_rejected_pulls_keep_their_mean(tmp_path):
    """Item 7: seeds are scored by P2 like every reward; a pull whose candidates were all rejected is a visit
    (C + 1) that leaves the arm's mean where the seed put it, not pulled toward 0."""
    register_mock("gen", lambda messages, config: json.dumps({"question": "Tell me about zoos.", "country": "none"})
                  if config.json_schema else "a fact")
    config = cfg(budget=2)
    config = config.model_copy(update={"roles": config.roles.model_copy(update={"scorers": ["mock/a", "mock/b", "mock/c"]})})
    try:
        result = generate(config, tmp_path / "run")
    finally:
        unregister_mock("gen")
    seeds = {s["key"]: s for s in (json.loads(x) for x in
                                   (tmp_path / "run" / "outputs" / "seed_scores.jsonl").read_text().splitlines())}
    assert all(s["models"] == ["mock/a", "mock/b", "mock/c"] and s["scored_by"] == "scorers" for s in seeds.values())
    for arm in result.summary["arms"]:
        assert arm["mean"] == pytest.approx(seeds[arm["topic"]]["score"])
    assert sum(a["pulls"] for a in result.summary["arms"]) == 3 + 2
    assert all(t["reward"] is None for t in result.summary["trajectory"])


def test_a_run_made_by_an_earlier_adaem_is_not_extended(tmp_path, scripted_generator):
    """Its arms mix P1 seed scores with P2 rewards and its records hold made-up numbers: refused, not mixed."""
    import sqlite3

    run = tmp_path / "run"
    generate(cfg(budget=1, depth=0), run)
    with sqlite3.connect(run / "state.sqlite") as conn:
        conn.execute("DELETE FROM kv WHERE key = 'search_method'")
    with pytest.raises(ConfigError, match="earlier adaem"):
        generate(cfg(budget=2, depth=0), run, resume=True)


def test_summary_counts_refinements_kept_out_and_arms_without_reward_have_no_mean(tmp_path):
    register_mock("gen", _refining_generator("Tell me about zoos."))
    try:
        result = generate(cfg(budget=1, depth=1), tmp_path / "run")
    finally:
        unregister_mock("gen")
    assert result.summary["refinements_rejected"] == {"not a question": 2}
    unpulled = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b"], "generators": ["mock/gen"],
                                                   "judge": "mock/never"}, "generation": {"arms": 2, "budget": 1}})
    register_mock("never", lambda messages, config: "It depends.")
    register_mock("gen", mock_generate.generator)
    try:
        result = generate(unpulled, tmp_path / "never")
    finally:
        unregister_mock("never")
        unregister_mock("gen")
    assert all(a["mean"] is None and a["rewarded"] == 0 for a in result.summary["arms"])
    assert result.summary["trajectory"][0]["arm_mean"] is None


def _replay_ucb(summary: dict, seeds: dict[str, float], c: float) -> None:
    """Every pull of a one-at-a-time run took the arm sequential UCB takes, given the rewards before it."""
    from adaem.generation.bandit import Arm, ucb_select

    arms = [Arm(a["topic"], a["category"]) for a in summary["arms"]]
    for arm in arms:
        arm.update(seeds.get(arm.topic))
    for step in summary["trajectory"]:
        assert arms[ucb_select(arms, c)].topic == step["arm"]
        next(a for a in arms if a.topic == step["arm"]).update(step["reward"])


def test_one_pull_in_flight_is_the_papers_sequential_ucb(tmp_path, scripted_generator):
    """Issue 13: parallel_pulls=1 is today's algorithm: pull ids in order, each arm the UCB maximum."""
    result = generate(cfg(budget=6, parallel_pulls=1, depth=0), tmp_path / "run")
    seeds = {json.loads(x)["key"]: json.loads(x)["score"]
             for x in (tmp_path / "run" / "outputs" / "seed_scores.jsonl").read_text().splitlines()}
    assert [t["id"] for t in result.summary["trajectory"]] == list(range(6))
    _replay_ucb(result.summary, seeds, 1.0)


def test_pulls_in_flight_spread_over_arms(tmp_path, scripted_generator):
    """Three pulls started at once, with nothing learnt in between, take the arms UCB takes when each pull in flight
    counts as a visit (plain UCB would take the maximum three times; virtual visits spread them unless one arm's
    mean stays ahead even with its bonus shrunk)."""
    from adaem.generation.bandit import Arm, ucb_select

    result = generate(cfg(budget=3, parallel_pulls=3, depth=0), tmp_path / "run")
    seeds = {json.loads(x)["key"]: json.loads(x)["score"]
             for x in (tmp_path / "run" / "outputs" / "seed_scores.jsonl").read_text().splitlines()}
    arms = [Arm(a["topic"], a["category"]) for a in result.summary["arms"]]
    for arm in arms:
        arm.update(seeds.get(arm.topic))
    visits: dict[int, int] = {}
    expected = []
    for _ in range(3):
        i = ucb_select(arms, 1.0, in_flight=visits)
        visits[i] = visits.get(i, 0) + 1
        expected.append(arms[i].topic)
    assert sorted(t["arm"] for t in result.summary["trajectory"]) == sorted(expected)
    assert sorted(t["id"] for t in result.summary["trajectory"]) == [0, 1, 2]
    # and with equal seeds, the three pulls take three arms
    even = [Arm(str(i), "x") for i in range(3)]
    for arm in even:
        arm.update(1.0)
    picked: dict[int, int] = {}
    for _ in range(3):
        i = ucb_select(even, 1.0, in_flight=picked)
        picked[i] = picked.get(i, 0) + 1
    assert len(picked) == 3


def test_a_cost_cap_stops_generate_and_resume_continues(tmp_path, scripted_generator):
    prices = {m: {"input": 100.0, "output": 100.0} for m in ("mock/a", "mock/b", "mock/gen", "mock/j")}
    config = RunConfig.model_validate({**cfg(budget=6, depth=0, parallel_pulls=1, max_cost=0.02).model_dump(),
                                       "prices": prices})
    first = generate(config, tmp_path / "run")
    assert first.summary["pulls"] < 6 and first.summary["stopped"].startswith("cost budget reached")
    more = config.model_copy(update={"generation": config.generation.model_copy(update={"max_cost": None})})
    second = generate(more, tmp_path / "run", resume=True)
    assert second.summary["pulls"] == 6


def test_the_estimate_is_within_a_quarter_of_the_calls_a_run_makes(tmp_path, scripted_generator):
    """Issue 13: `adaem estimate` / --dry-run from the config alone, against a small mock run."""
    from adaem.estimate import estimate_evaluate, estimate_generate, totals
    from adaem.evaluation import evaluate
    from adaem.store import read_usage

    config = cfg(budget=4, depth=1, tau=100.0, parallel_pulls=1)  # one refinement tried, not continued
    result = generate(config, tmp_path / "run")
    made = sum(u["calls"] for u in read_usage(tmp_path / "run"))
    expected = totals(estimate_generate(config, len(load_seeds()))).calls
    assert abs(expected - made) <= 0.25 * made, (expected, made)
    assert result.questions
    evaluation = evaluate(tmp_path / "run" / "benchmark.jsonl", config.model_copy(update={
        "evaluation": config.evaluation.model_copy(update={"bootstrap": 0})}), tmp_path / "eval")
    made = sum(u["calls"] for u in read_usage(tmp_path / "eval"))
    expected = totals(estimate_evaluate(config, len(result.questions))).calls
    assert abs(expected - made) <= 0.25 * made, (expected, made)
    assert len(evaluation.answers) == 2 * len(result.questions)


def test_dry_run_prints_the_estimate_and_runs_nothing(tmp_path):
    r = run_cli("generate", "--dry-run", "--out", str(tmp_path / "run"), "--set", "roles.explorers=mock/a,mock/b",
                "--set", "roles.judge=mock/j", "--set", "roles.generators=mock/g", "--set",
                "prices={mock/j: {input: 2.5, output: 10}}")
    assert r.returncode == 0, r.stderr
    assert "Expected model calls" in r.stdout and "mock/j" in r.stdout and not (tmp_path / "run").exists()
    r = run_cli("estimate", "evaluate", "--benchmark", "examples/sample_benchmark.jsonl", "--models", "mock/a,mock/b",
                "--judge", "mock/j")
    assert r.returncode == 0 and "target" in r.stdout


def test_default_pulls_in_flight_follow_the_judges_connections():
    """Issue 38: a wide judge (9 of 10 calls per question) is kept busy by default: a quarter of its limit."""
    from adaem.generation.search import parallelism
    from adaem.models import ModelPool

    roles = {"explorers": ["mock/a", "mock/b"], "generators": ["mock/g"], "judge": "mock/j"}
    narrow = RunConfig.model_validate({"roles": roles, "limits": {"max_concurrency": 64}})
    wide = RunConfig.model_validate({"roles": roles, "limits": {"max_concurrency": 64},
                                     "model_limits": {"mock/j": {"max_concurrency": 256}}})
    assert parallelism(narrow, ModelPool(narrow)) == (32, True)
    assert parallelism(wide, ModelPool(wide)) == (64, True)
