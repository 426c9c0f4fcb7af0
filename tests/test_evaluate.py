"""`adaem evaluate`: file formats, bad input, the API's DataFrames, resume, and a real run on local models."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from adaem.benchmark import load_questions
from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.evaluate import evaluate
from adaem.models.providers.mock import register_mock, unregister_mock

QUESTIONS = [
    {"question": "Should payday loans be banned?", "category": "economics & business"},
    {"question": "Should voting be compulsory?", "category": "politics & international relations", "country": "Australia"},
    {"question": "Should zoos be abolished?", "category": "science, health & environment"},
]


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def mock_config(**evaluation) -> RunConfig:
    return RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b", "mock/c"], "judge": "mock/j"},
                                     "evaluation": {"bootstrap": 20, **evaluation}})


def test_formats_load_alike(tmp_path, bench):
    csv = tmp_path / "b.csv"
    csv.write_text("question,category\n" + "".join(f"\"{q['question']}\",{q['category']}\n" for q in QUESTIONS))
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pylist(QUESTIONS), parquet)
    texts = [[q.text for q in load_questions(p)] for p in (bench, csv, parquet)]
    assert texts[0] == texts[1] == texts[2] == [q["question"] for q in QUESTIONS]
    assert load_questions(bench)[1].country == "Australia"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.jsonl", "", "holds no questions"),
        ("blank.csv", "question\n\n", "holds no questions"),
        ("nocol.csv", "prompt,x\nhello,1\n", "has no 'question' column (columns: prompt, x)"),
        ("bad.jsonl", '{"question": "ok?"}\n{"question": oops}\n', "bad.jsonl:2: not a JSON object"),
        ("nofield.jsonl", '{"prompt": "ok?"}\n', "nofield.jsonl:1: no 'question'"),
        ("dup.jsonl", '{"id": "1", "question": "a?"}\n{"id": "1", "question": "b?"}\n', "'1' appears twice"),
        ("x.txt", "hello", "unknown benchmark format"),
    ],
)
def test_bad_benchmarks_name_the_problem(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_questions(path)
    assert fragment in str(info.value)


def test_api_returns_dataframes_and_writes_files(tmp_path, bench):
    result = evaluate(bench, mock_config(), tmp_path / "run")
    assert set(result.scores.columns) >= {"model", "dimension", "score", "score_lo", "score_hi", "rate"}
    assert len(result.scores) == 3 * 10 and len(result.answers) == 9
    profile = result.profile()
    assert list(profile.index) == ["mock/a", "mock/b", "mock/c"] and list(profile.columns) == result.theory.ids
    assert ((profile >= 0) & (profile <= 100)).all().all()
    for name in ("scores.csv", "scores.json", "radar.png", "heatmap.png", "scores_by_category.csv"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert (tmp_path / "run" / "radar.png").read_bytes()[:4] == b"\x89PNG"
    assert set(result.breakdowns["category"].group) == {q["category"] for q in QUESTIONS}
    labels = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "question_labels.jsonl").read_text().splitlines()]
    assert len(labels) == 3 and all(set(r["vector"]) == set(result.theory.ids) for r in labels)


def test_joint_protocol_and_mft(tmp_path, bench):
    result = evaluate(bench, mock_config(protocol="joint", theory="mft"), tmp_path / "run")
    assert set(result.scores.dimension) == {"care", "fairness", "loyalty", "authority", "sanctity", "liberty"}
    assert all(r == 1 for r in result.answers.judge_calls)


def test_judge_outside_the_schema_is_recorded_and_the_run_goes_on(tmp_path, bench):
    register_mock("j", lambda messages, config: "I think it is about family values.")
    try:
        result = evaluate(bench, mock_config(), tmp_path / "run")
    finally:
        unregister_mock("j")
    assert result.answers.vector.isna().all()
    assert result.answers.parse_failure.str.contains("no yes/no answer").all()
    assert (result.scores.score == 50).all()  # no usable labels: no matches, everyone ties


def test_resume_adds_a_model_and_repeats_no_call(tmp_path, bench):
    run = tmp_path / "run"
    evaluate(bench, mock_config(), run)
    more = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b", "mock/c"], "judge": "mock/j",
                                               "targets": ["mock/a", "mock/b", "mock/c", "mock/d"]},
                                     "evaluation": {"bootstrap": 20}})
    result = evaluate(bench, more, run, resume=True)
    assert len(result.answers) == 12
    from adaem.store import read_usage

    usage = read_usage(run)  # accounting is kept per session
    second = [u for u in usage if u["session"] == 2]
    assert {u["model"] for u in second if u["calls"]} == {"mock/d", "mock/j"}


def test_cli_bad_input(tmp_path, bench):
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    r = run_cli("evaluate", "--benchmark", str(empty), "--models", "mock/a,mock/b", "--judge", "mock/j",
                "--out", str(tmp_path / "r1"))
    assert r.returncode == 2 and "holds no questions" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("evaluate", "--benchmark", str(bench), "--models", "mock/a", "--judge", "mock/j",
                "--theory", "hofstede", "--out", str(tmp_path / "r2"))
    assert r.returncode == 2 and "unknown theory 'hofstede'" in r.stderr
    assert not (tmp_path / "r2").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard, not a speed test: minutes of real-model work on a shared machine
def test_cli_end_to_end_on_the_embedded_models(tmp_path, bench):
    """Two embedded respondents, the embedded 1.5B judge (per-value, log-probabilities), two questions."""
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS[:2]))
    r = run_cli("evaluate", "--benchmark", str(two), "--out", str(tmp_path / "run"),
                "--set", "evaluation.bootstrap=20", timeout=1200)
    assert r.returncode == 0, r.stderr
    assert "Self-direction" in r.stdout and "local/smollm2-135m" in r.stdout
    answers = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 4
    usable = [a for a in answers if a["vector"]]
    assert usable, "at least one answer must parse and be labelled"
    for a in usable:
        assert all(0.0 <= v <= 1.0 for v in a["vector"].values())
        assert a["judge_calls"] == 10
        assert len({round(v, 3) for v in a["vector"].values()}) > 1  # soft labels from log-probabilities
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert len(scores["scores"]) == 20
