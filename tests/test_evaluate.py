"""`adaem evaluate`: file formats, bad input, the API's DataFrames, resume, and a real run on local models."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from adaem.benchmark import load_questions
from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.evaluation import evaluate
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


def test_a_value_the_judge_could_not_label_sits_out_its_match(tmp_path, bench):
    """Issue 12 item 5: the judge fails on Power for mock/a's answers only. mock/a sits out every Power match (it
    does not lose them), the others play; the missing labels are counted in scores.json."""
    from adaem.models.providers.mock import _digest, schema_instance, topic_words

    def judge(messages, config):
        text = messages[-1].content
        if "Value: Power" in text:
            return "It depends." if "marker" in text else "Yes"
        return "No"

    def respondent(name):
        def answer(messages, config):  # the default mock answer; mock/a's carries a marker word
            data = schema_instance(config.json_schema, _digest(name, messages[-1].content), topic_words(messages))
            if name == "mock/a":
                data["points"][0]["point"] += " marker"
            return json.dumps(data)
        return answer

    for name in ("a", "b", "c"):
        register_mock(name, respondent(f"mock/{name}"))
    register_mock("j", judge)
    try:
        result = evaluate(bench, mock_config(), tmp_path / "run")
    finally:
        for name in ("a", "b", "c", "j"):
            unregister_mock(name)
    records = {r["model"]: r for r in result.answers.to_dict("records")}
    assert records["mock/a"]["vector"]["power"] is None and records["mock/a"]["labels_missing"] == 1
    assert records["mock/b"]["vector"]["power"] is not None
    power = result.scores[result.scores.dimension == "power"].set_index("model")
    # b and c express Power everywhere: with a sitting out there is nobody to beat, so no match is played; had
    # a's missing label counted as "not expressed", a would have lost three matches
    assert power.loc["mock/a", "matches"] == 0 and power.score.nunique() == 1
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["labels_missing"] == {
        "mock/a": 3, "mock/b": 0, "mock/c": 0}


def test_benchmarks_load_the_way_they_are_published(tmp_path):
    """Issue 12 item 9: a JSON array of objects (or under "questions"), JSONL, CSV with a BOM, parquet."""
    array = tmp_path / "a.json"
    array.write_text(json.dumps(QUESTIONS, indent=2))
    wrapped = tmp_path / "w.json"
    wrapped.write_text(json.dumps({"questions": QUESTIONS}))
    jsonl_named_json = tmp_path / "l.json"
    jsonl_named_json.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffquestion,category\n".encode() + "".join(
        f"\"{q['question']}\",{q['category']}\n" for q in QUESTIONS).encode())
    for path in (array, wrapped, jsonl_named_json, bom):
        assert [q.text for q in load_questions(path)] == [q["question"] for q in QUESTIONS], path


def test_a_file_that_is_not_text_or_repeats_questions_gets_one_error_line(tmp_path, bench):
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"question\n\xff\xfe\x00\x81 zoos?\n")
    r = run_cli("evaluate", "--benchmark", str(binary), "--models", "mock/a", "--judge", "mock/j",
                "--out", str(tmp_path / "r1"))
    assert r.returncode == 2 and "is not UTF-8 text" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("question\nzoos?\n")
    with pytest.raises(ConfigError, match="not a readable parquet file"):
        load_questions(not_parquet)
    repeats = tmp_path / "rep.jsonl"
    rows = [*QUESTIONS, {"question": "should  ZOOS be abolished?"}, QUESTIONS[0]]
    repeats.write_text("".join(json.dumps(q) + "\n" for q in rows))
    with pytest.raises(ConfigError) as info:
        load_questions(repeats)
    message = str(info.value)
    assert "2 question(s) appear more than once" in message and "'Should zoos be abolished?'" in message
    assert "at line 3, line 4" in message and "at line 1, line 5" in message and "--dedupe" in message
    assert [q.text for q in load_questions(repeats, dedupe=True)] == [q["question"] for q in QUESTIONS]
    r = run_cli("evaluate", "--benchmark", str(repeats), "--models", "mock/a,mock/b", "--judge", "mock/j",
                "--out", str(tmp_path / "r2"), "--dedupe", "--set", "evaluation.bootstrap=0")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "r2" / "outputs" / "answers.jsonl").read_text().splitlines()) == 2 * 3


def test_a_cost_cap_stops_cleanly_and_resume_goes_on_without_paying_twice(tmp_path, bench, monkeypatch):
    """Issue 13: evaluation.max_cost stops the run (no call goes out once the cap is reached, queued ones
    included); --resume with a higher cap finishes it, every call already paid coming from the cache. Issue 26: a
    call sets its cost at most aside before it goes out, so the calls in flight never take the spending past it."""
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ADAEM_MOCK_CALL_LOG", str(log))
    prices = {m: {"input": 100.0, "output": 100.0} for m in ("mock/a", "mock/b", "mock/c", "mock/j")}
    capped = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b", "mock/c"], "judge": "mock/j"},
                                       "prices": prices, "evaluation": {"bootstrap": 0, "max_cost": 0.05}})
    first = evaluate(bench, capped, tmp_path / "run")
    assert first.stopped and "cost cap reached" in first.stopped and first.left > 0 and not first.failures
    paid = log.read_text().splitlines()
    from adaem.store import read_usage

    spent = sum(u["cost"] for u in read_usage(tmp_path / "run"))
    assert 0 < spent <= 0.05, spent  # no call went out that the cap could not pay
    uncapped = capped.model_copy(update={"evaluation": capped.evaluation.model_copy(update={"max_cost": None})})
    second = evaluate(bench, uncapped, tmp_path / "run", resume=True)
    assert second.stopped is None and len(second.answers) == 9
    repeated = set(paid) & set(log.read_text().splitlines()[len(paid):])
    assert not repeated


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard, not a speed test: minutes of real-model work on a shared machine
def test_cli_end_to_end_on_the_embedded_models(tmp_path, bench):
    """Two embedded respondents, the embedded 1.5B judge (per-value, log-probabilities), two questions."""
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS[:2]))
    r = run_cli("evaluate", "--benchmark", str(two), "--out", str(tmp_path / "run"),
                "--set", "evaluation.bootstrap=20", timeout=1200)
    assert r.returncode == 0, r.stderr
    assert "Self-direction" in r.stdout and "local/qwen2.5-coder-0.5b" in r.stdout
    answers = [json.loads(x) for x in (tmp_path / "run" / "outputs" / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 4
    usable = [a for a in answers if a["vector"]]
    assert usable, "at least one answer must parse and be labelled"
    for a in usable:
        assert all(0.0 <= v <= 1.0 for v in a["vector"].values())
        assert a["judge_calls"] == 10
        # soft labels from log-probabilities; the answer's vector is their thresholded OR (issue 23.2)
        assert len({round(v, 3) for v in a["soft_vector"].values()}) > 1
        assert set(a["vector"].values()) <= {0.0, 1.0}
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert len(scores["scores"]) == 20
