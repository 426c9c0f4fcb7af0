"""`adaem report` and `adaem view`: what a report holds, partial runs, bad input, and the page in headless
Chromium (Debian's chromium driven by Playwright): charts render, filters narrow, no console errors, and model
output with <script> / onerror= stays text."""

import json
import sqlite3
import urllib.request

import pytest
from conftest import free_port, open_page, run_cli

from adaem.config import RunConfig
from adaem.evaluation import evaluate
from adaem.models.providers.mock import register_mock, unregister_mock
from adaem.report import collect_run, render_report
from adaem.report.collect import RunData
from adaem.report.render import embed_json

XSS_POINT = '<script>window.__xss = 1</script>Zoos protect species'
XSS_JUST = '<img src=x onerror="window.__xss = 2">because </script> breeding works'
QUESTIONS = [
    {"question": "Should zoos be abolished?", "category": "science, health & environment"},
    {"question": "Should voting be compulsory?", "category": "politics & international relations", "country": "Australia"},
    {"question": "Should payday loans be banned?", "category": "economics & business"},
    {"question": "Should the monarchy be abolished in the UK?", "category": "politics & international relations",
     "country": "United Kingdom"},
]


def evil(messages, config):
    """Markup in its points; three different points about zoos (off topic, hence parse failures, elsewhere)."""
    if config.json_schema and "points" in json.dumps(config.json_schema):
        return json.dumps({"stance": "yes", "points": [
            {"point": XSS_POINT, "justification": XSS_JUST},
            {"point": "Zoos keep wild animals in small enclosures", "justification": "they cannot roam freely"},
            {"point": "Conservation of endangered animals", "justification": "zoos run breeding programmes"}]})
    return "Yes"


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    bench = root / "bench.jsonl"
    bench.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    register_mock("evil", evil)
    try:
        config = RunConfig.model_validate({"roles": {"targets": ["mock/evil", "mock/b", "mock/c"], "judge": "mock/j"},
                                           "evaluation": {"bootstrap": 20}})
        evaluate(bench, config, root / "eval")
    finally:
        unregister_mock("evil")
    return root / "eval"


def test_collect_an_evaluate_run(eval_run):
    data = collect_run(eval_run, similarity=False)
    assert data.kind == "evaluate" and data.status == "finished" and not data.notes
    assert data.models == ["mock/evil", "mock/b", "mock/c"] and len(data.questions) == 4
    assert len(data.scores) == 30 and all(0 <= s["score"] <= 100 for s in data.scores)
    cell = data.answers[data.questions[0]["id"]]["mock/evil"]
    assert cell[0] == "yes" and cell[1][0] == [XSS_POINT, XSS_JUST] and len(cell[2]) == 10
    assert data.stats["questions"] == 4 and data.usage


def test_embedded_json_cannot_close_the_script_block():
    text = embed_json({"a": "</script><script>alert(1)</script><!--"})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script><!--"}


def test_a_partial_run_is_reported_as_partial(eval_run, tmp_path):
    import shutil

    part = tmp_path / "part"
    shutil.copytree(eval_run, part)
    lines = (part / "outputs" / "answers.jsonl").read_text().splitlines()
    (part / "outputs" / "answers.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])  # torn last line
    (part / "scores.json").unlink()
    with sqlite3.connect(part / "state.sqlite") as conn:
        conn.execute("UPDATE sessions SET status = 'running', finished = NULL")
    data = collect_run(part, similarity=False)
    assert data.status == "partial"
    assert any("never finished" in n for n in data.notes) and any("7 of 12 answers are missing" in n for n in data.notes)
    assert data.scores and all(s["score_lo"] is None for s in data.scores)
    r = run_cli("report", str(part), "-o", str(tmp_path / "p.html"), "--no-similarity")
    assert r.returncode == 0, r.stderr
    assert "1 models, partial" not in r.stdout and "3 models, partial" in r.stdout and "never finished" in r.stdout


def test_report_bad_input(tmp_path):
    r = run_cli("report", str(tmp_path), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 2 and "not an adaem run directory" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.html").exists()


def synthetic_run(questions: int, models: int) -> RunData:
    """A run of the size the issue names, without running anything: for the page's own limits."""
    import random

    rng = random.Random(0)
    dims = [f"v{j}" for j in range(10)]
    names = [m for m in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")]
    model_names = [f"vendor{i}/model-{i}" for i in range(models)]
    cats = ["politics", "economics", "science", "religion", "culture"]
    qs, answers = [], {}
    for i in range(questions):
        qid = f"q{i}"
        qs.append({"id": qid, "text": f"Should policy {i} on {rng.choice(cats)} topic {rng.randint(0, 99)} pass?",
                   "category": rng.choice(cats), "country": rng.choice([None, "Japan", "Brazil", "Kenya"]),
                   "score": round(rng.random(), 3)})
        answers[qid] = {m: [rng.choice(["yes", "no", "neutral"]),
                            [[f"point {k} of {m} on {i}", f"because reason {rng.randint(0, 9999)}"] for k in range(3)],
                            [round(rng.random(), 2) for _ in dims], None] for m in model_names}
    return RunData(name="big", path="/synthetic/big", kind="evaluate", status="finished",
                   theory={"name": "t", "title": "", "ids": dims, "names": names}, models=model_names,
                   scores=[{"model": m, "dim": d, "score": 50.0, "score_lo": 40.0, "score_hi": 60.0, "rate": 50.0,
                            "rate_lo": 40.0, "rate_hi": 60.0} for m in model_names for d in dims],
                   questions=qs, answers=answers, usage=[])




def test_report_in_the_browser(eval_run, tmp_path, browser):
    from playwright.sync_api import expect

    out = tmp_path / "report.html"
    r = run_cli("report", str(eval_run), "-o", str(out))
    assert r.returncode == 0, r.stderr
    page, errors = open_page(browser, out.as_uri())
    # charts render: non-empty SVG radar and heatmap
    assert page.locator("#profiles svg polygon").count() > 10
    assert page.locator("#heatmap svg rect").count() == 30
    assert page.locator("#stats table tbody tr").count() == 1
    # the question browser: all 4, then filters narrow
    assert page.text_content("#q-count") == "showing 4 of 4 questions"
    page.select_option("#q-country", "Australia")
    assert page.text_content("#q-count") == "showing 1 of 4 questions"
    assert page.locator("article.qcard").count() == 1
    page.select_option("#q-country", "")
    page.fill("#q-search", "monarchy")
    expect(page.locator("#q-count")).to_have_text("showing 1 of 4 questions")
    page.fill("#q-search", "")
    expect(page.locator("#q-count")).to_have_text("showing 4 of 4 questions")
    # untrusted model output is shown as text and never runs
    assert page.evaluate("window.__xss") is None
    assert page.locator("#q-list script").count() == 0 and page.locator("#q-list img").count() == 0
    assert XSS_POINT in page.text_content("#q-list") and 'onerror="window.__xss = 2"' in page.text_content("#q-list")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == []


def test_ten_thousand_questions_by_ten_models_load_and_filter(tmp_path, browser):
    out = tmp_path / "big.html"
    out.write_text(render_report([synthetic_run(10_000, 10)]))
    page, errors = open_page(browser, out.as_uri())
    assert page.text_content("#q-count") == "showing 10000 of 10000 questions"
    assert page.locator("article.qcard").count() == 25  # paginated: the DOM holds one page
    page.select_option("#q-country", "Japan")
    page.select_option("#q-value", "3")
    count = page.text_content("#q-count")
    shown = int(count.split()[1])
    assert 0 < shown < 10_000
    page.click("text=next ›")
    assert page.locator("article.qcard").count() == min(25, shown - 25) or shown <= 25
    assert errors == []


def test_view_serves_runs_on_localhost(eval_run, browser):
    import subprocess
    import sys
    import time

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "adaem", "view", str(eval_run.parent), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                index = urllib.request.urlopen(base + "/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError(proc.stderr.read() if proc.poll() is not None else "viewer did not start")
        assert 'href="/run/eval"' in index
        page, errors = open_page(browser, base + "/run/eval")
        assert page.locator("#heatmap svg rect").count() == 30 and errors == []
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/run/../../etc", timeout=2)
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_run_under_an_odd_path_is_read(eval_run, tmp_path):
    import shutil

    odd = tmp_path / "odd dir #1?x" / "eval"
    shutil.copytree(eval_run, odd)
    data = collect_run(odd, similarity=False)
    assert data.kind == "evaluate" and data.status == "finished" and len(data.questions) == 4


def test_the_judge_banner_says_how_far_to_trust_each_value(tmp_path, browser):
    """Issue 37.4: beside the profiles, per value, "the judge finds V in an answer with precision P [ci] and recall
    R [ci]" from the judge check's held-out figures, with the value's name."""
    from dataclasses import replace

    run = synthetic_run(5, 2)
    per_value = [{"value": f"v{j}", "support": 10, "predicted": 8, "precision": 0.75, "precision_ci": [0.41, 0.93],
                  "recall": 0.6, "recall_ci": [0.31, 0.83]} for j in range(10)]
    judge = {"judge": "local/qwen2.5-coder-1.5b", "theory": "t", "protocol": "per-value", "prompt": "one-definition",
             "unit": "answer", "merge": None, "threshold": 0.5, "calibration": "none", "correction": "raw",
             "validated": True, "value_names": [[f"v{j}", n] for j, n in enumerate(run.theory["names"])],
             "quality": {"texts": 35, "labels": "real answers", "macro_f1": 0.5, "macro_f1_ci": [0.4, 0.6],
                         "macro_precision": 0.5, "macro_recall": 0.5, "top1": 0.8, "top3": 0.9, "mean_rank": 1.5,
                         "ece": 0.1, "per_value": per_value}}
    out = tmp_path / "judge.html"
    out.write_text(render_report([replace(run, judge=judge)]))
    page, errors = open_page(browser, out.as_uri())
    page.click("#judge-quality summary")
    text = page.text_content("#judge-quality")
    assert "the judge finds alpha in an answer with precision 0.75 [0.41–0.93] and recall 0.60 [0.31–0.83]" in text
    assert errors == []
