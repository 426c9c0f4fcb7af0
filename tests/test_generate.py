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
from adaem.generate.job import generate
from adaem.generate.search import pick_arms, question_problem, top3_similarity
from adaem.generate.seeds import CATEGORIES, load_seeds
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
    assert len(result.questions) == 3 * 2  # width 2, one generator
    raw = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "benchmark.jsonl").read_text().splitlines()]
    for q in raw:
        assert q["question"].startswith("Should") and q["country"] == "Kenya"
        assert q["category"] in CATEGORIES and q["parent"] and q["depth"] in (0, 1)
        assert set(q["p2"]["components"]) == {"score", "distinguishability", "disentanglement",
                                              "opinion_difference", "conformity"}
        assert set(q["p2"]["answers"]) == {"mock/a", "mock/b"} and q["p2"]["question_vector"]
    table = pq.read_table(tmp_path / "run" / "benchmark.parquet")
    assert table.num_rows == 6 and "p2_score" in table.column_names and "question" in table.column_names
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["trajectory"]) == 3 and summary["calls_per_question"] > 0
    assert set(summary["calls_per_role"]) >= {"explorer", "generator", "judge"}
    # the benchmark feeds straight into evaluate
    from adaem.evaluate import evaluate

    evaluation = evaluate(tmp_path / "run" / "benchmark.jsonl",
                          cfg().model_copy(update={"evaluation": cfg().evaluation.model_copy(update={"bootstrap": 5})}),
                          tmp_path / "eval")
    assert len(evaluation.answers) == 12


def test_refinement_depth_follows_tau(tmp_path, scripted_generator):
    deep = generate(cfg(budget=1, tau=-100.0), tmp_path / "deep")
    shallow = generate(cfg(budget=1, tau=100.0), tmp_path / "shallow")
    assert all(q["depth"] == 1 for q in deep.questions)
    assert all(q["depth"] == 0 for q in shallow.questions)


def test_generators_sample_at_their_own_temperature(tmp_path):
    """Greedy respondents (a deterministic S) with generators that still vary their questions."""
    from adaem.models.providers.mock import _digest, default_text, schema_instance

    seen: dict[str, set[float]] = {"gen": set(), "a": set()}

    def gen(messages, config):
        seen["gen"].add(config.temperature)
        return mock_generate.generator(messages, config)

    def respondent(messages, config):
        seen["a"].add(config.temperature)
        if config.json_schema:
            return json.dumps(schema_instance(config.json_schema, _digest(messages[-1].content, config.seed)))
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
    assert len(rejected) == 4 and all(r["stage"] == "generate" for r in rejected)


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


def _run(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "ADAEM_MOCK_LATENCY": "0.01"}
    return subprocess.Popen([sys.executable, str(HERE / "mock_generate.py"), str(out), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_kill_9_then_resume_ends_like_an_uninterrupted_run(tmp_path):
    clean = _run(tmp_path / "clean")
    assert clean.wait(300) == 0
    run = tmp_path / "run"
    bench = run / "outputs" / "benchmark.jsonl"
    for target in (1, 4):
        proc = _run(run, *(["--resume"] if run.exists() else []))
        deadline = time.time() + 120
        while (not bench.exists() or len(bench.read_text().splitlines()) < target) and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = _run(run, "--resume")
    assert finished.wait(300) == 0
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
