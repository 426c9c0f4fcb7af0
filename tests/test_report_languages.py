"""The report's Languages section: what `collect_run` reads of an evaluate run answered in two languages
(scores_by_language.csv, language_consistency.csv; computed from the answers when they are missing), and the
page in headless Chromium (Debian's chromium driven by Playwright): the language and model selects redraw
their radars, the consistency table names the planted shift, a one-language run has no such section.

The run is a mock `adaem evaluate` in English, given a Chinese copy of every answer (model b expresses the
first value in every Chinese answer) and the files `evaluate` writes for several languages, made here with
the same functions (score_table, language_consistency), so this does not wait for the translation step."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import open_page

from adaem.analysis.languages import language_consistency
from adaem.config import RunConfig
from adaem.evaluation import evaluate, label_tensor, read_evaluation
from adaem.rating import score_table
from adaem.report import collect_run, render_report

MODELS = ["mock/a", "mock/b", "mock/c"]
QUESTIONS = [
    {"question": "Should zoos be abolished?", "category": "science"},
    {"question": "Should voting be compulsory?", "category": "politics", "country": "Australia"},
    {"question": "Should payday loans be banned?", "category": "economics"},
    {"question": "Should the monarchy be abolished in the UK?", "category": "politics", "country": "United Kingdom"},
    {"question": "Should nuclear power plants be phased out?", "category": "science"},
    {"question": "Should homework be banned in primary schools?", "category": "education"},
]


def add_language(run_dir, language: str = "zh", shifted: str = "mock/b") -> None:
    """A copy of every answer in `language` (the `shifted` model expresses the first value in all of them), and
    scores_by_language.csv, language_consistency.csv, language_pairs.csv and scores.json's "languages"."""
    run = read_evaluation(run_dir)
    dims, ev = run.theory.ids, run.config.evaluation
    copies = []
    for r in run.records:
        c = {**r, "key": f"{r['key']}|{language}", "language": language, "source_question": r["question"],
             "question": f"[{language}] {r['question']}"}
        if c.get("vector") and r["model"] == shifted:
            c["vector"] = {**r["vector"], dims[0]: 1.0}
        copies.append(c)
    answers = run_dir / "outputs" / "answers.jsonl"
    with answers.open("a") as f:
        f.writelines(json.dumps(c) + "\n" for c in copies)
    records = run.records + copies
    tensors = {lang: label_tensor([r for r in records if (r.get("language") or "en") == lang], run.questions,
                                  run.models, dims) for lang in ("en", language)}
    rows = []
    for lang, labels in tensors.items():
        t = score_table(labels, run.models, dims, threshold=ev.threshold, bootstrap=20)
        rows += [{"language": lang, "model": m, "dimension": d, "name": run.theory.dimension(d).name,
                  "score": t.score[i, j], "score_lo": t.score_lo[i, j], "score_hi": t.score_hi[i, j],
                  "rate": t.rate[i, j], "rate_lo": t.rate_lo[i, j], "rate_hi": t.rate_hi[i, j],
                  "questions": t.questions, "matches": int(t.matches[j])}
                 for i, m in enumerate(run.models) for j, d in enumerate(dims)]
    pd.DataFrame(rows).to_csv(run_dir / "scores_by_language.csv", index=False)
    per_model, pairs = language_consistency(tensors, run.models, dims, threshold=ev.threshold, bootstrap=50,
                                            permutations=50)
    per_model.to_csv(run_dir / "language_consistency.csv", index=False)
    pairs.to_csv(run_dir / "language_pairs.csv", index=False)
    scores = json.loads((run_dir / "scores.json").read_text())
    (run_dir / "scores.json").write_text(json.dumps({**scores, "languages": ["en", language]}))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    bench = root / "bench.jsonl"
    bench.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    config = RunConfig.model_validate({"roles": {"targets": MODELS, "judge": "mock/j"},
                                       "evaluation": {"bootstrap": 20, "opinion_rules": {"enabled": False}}})
    evaluate(bench, config, root / "en-only")  # no opinion rules: no embedding model to load (30 s)
    shutil.copytree(root / "en-only", root / "two")
    add_language(root / "two")
    return root


def test_collect_reads_the_languages_of_a_run(runs):
    data = collect_run(runs / "two", similarity=False)
    assert data.kind == "evaluate" and data.status == "finished" and not data.notes
    assert data.languages == ["en", "zh"]
    dims = data.theory["ids"]
    assert len(data.language_scores) == 2 * len(MODELS) * len(dims)
    assert set(data.language_scores[0]) == {"language", "model", "dim", "score", "rate"}
    zh_b = {r["dim"]: r for r in data.language_scores if r["language"] == "zh" and r["model"] == "mock/b"}
    assert zh_b[dims[0]]["rate"] == 100.0  # the planted shift, as scores_by_language.csv has it
    rows = {r["model"]: r for r in data.consistency}
    assert list(rows) == MODELS and rows["mock/b"]["languages"] == "en,zh"
    assert rows["mock/b"]["max_shift_value"] == dims[0] and rows["mock/b"]["spread"] > 0
    assert rows["mock/a"]["spread"] == 0 and rows["mock/a"]["rho"] == 1 and rows["mock/a"]["max_shift_value"] is None
    assert rows["mock/b"]["spread_lo"] is not None and rows["mock/b"]["spread_p"] is not None
    # the profiles and the question browser stay English: one answer per model and question, never the copy
    cell = data.answers[data.questions[0]["id"]]
    assert set(cell) == set(MODELS) and not any(q["text"].startswith("[zh]") for q in data.questions)
    assert len(data.scores) == len(MODELS) * len(dims)
    assert any("2 languages (en, zh)" in i for i in data.info)
    json.dumps(data.as_json(), allow_nan=False)  # what render embeds: no NaN may reach the page


def test_a_one_language_run_has_no_language_data(runs):
    data = collect_run(runs / "en-only", similarity=False)
    assert data.languages == [] and data.language_scores == [] and data.consistency == []
    assert not any("languages" in i for i in data.info)


def test_without_the_files_they_are_computed_from_the_answers(runs, tmp_path):
    run = tmp_path / "two"
    shutil.copytree(runs / "two", run)
    for name in ("scores_by_language.csv", "language_consistency.csv", "language_pairs.csv"):
        (run / name).unlink()
    data = collect_run(run, similarity=False)
    finished = collect_run(runs / "two", similarity=False)
    assert data.languages == ["en", "zh"] and data.status == "finished" and not data.notes
    assert [(r["language"], r["model"], r["dim"], r["rate"]) for r in data.language_scores] == [
        (r["language"], r["model"], r["dim"], r["rate"]) for r in finished.language_scores]
    rows = {r["model"]: r for r in data.consistency}
    assert rows["mock/b"]["spread"] == pytest.approx({r["model"]: r for r in finished.consistency}["mock/b"]["spread"])
    assert rows["mock/b"]["spread_lo"] is None and rows["mock/b"]["spread_p"] is None  # no intervals
    assert any("without confidence intervals" in i for i in data.info)


def test_the_page_embeds_the_language_data(runs):
    page = render_report([collect_run(runs / "two", similarity=False)])
    start = page.index('id="adaem-data">') + len('id="adaem-data">')
    payload = json.loads(page[start:page.index("</script>", start)])
    run = payload["runs"][0]
    assert run["languages"] == ["en", "zh"] and len(run["consistency"]) == 3 and run["language_scores"]
    assert 'id: "languages"' in page and 'id: "lang-select"' in page and 'id: "lang-model"' in page




def series(page, selector):
    """(title, points) of each data polygon of a radar (the four grid polygons have no title)."""
    return page.eval_on_selector_all(selector + " svg polygon", "ps => ps.filter(p => p.querySelector('title'))"
                                     ".map(p => [p.querySelector('title').textContent, p.getAttribute('points')])")


def test_the_languages_section_in_the_browser(runs, tmp_path, browser):
    data = collect_run(runs / "two", similarity=False)
    out = tmp_path / "two.html"
    out.write_text(render_report([data]))
    page, errors = open_page(browser, out)
    assert page.locator("section#languages").count() == 1
    assert page.eval_on_selector_all("#lang-select option", "os => os.map(o => o.value)") == ["en", "zh"]
    assert page.eval_on_selector_all("#lang-model option", "os => os.map(o => o.value)") == MODELS
    # (a) every model's scores in the chosen language
    en = series(page, "#lang-radar")
    assert [t for t, _ in en] == [f"{m} (en)" for m in MODELS]
    page.select_option("#lang-select", "zh")
    assert page.get_attribute("#lang-radar", "data-language") == "zh"
    zh = series(page, "#lang-radar")
    assert [t for t, _ in zh] == [f"{m} (zh)" for m in MODELS] and [p for _, p in zh] != [p for _, p in en]
    # (b) one model in every language: one polygon and one legend entry per language
    a = series(page, "#lang-model-radar")
    assert [t for t, _ in a] == ["mock/a in en", "mock/a in zh"] and a[0][1] == a[1][1]  # a did not move
    page.select_option("#lang-model", "mock/b")
    assert page.get_attribute("#lang-model-radar", "data-model") == "mock/b"
    b = series(page, "#lang-model-radar")
    assert [t for t, _ in b] == ["mock/b in en", "mock/b in zh"] and b[0][1] != b[1][1]  # b did
    assert page.eval_on_selector_all(".lang-legend span", "ss => ss.map(s => s.textContent)") == ["en", "zh"]
    # (c) the consistency table names b's shifted value
    rows = page.locator("#lang-consistency tbody tr")
    assert rows.count() == 3
    first = data.theory["names"][0]
    assert first in rows.nth(1).text_content() and "–" in rows.nth(0).text_content()
    page.screenshot(path=str(tmp_path / "languages.png"), full_page=True)
    assert errors == []


def test_a_one_language_run_shows_no_languages_section(runs, tmp_path, browser):
    out = tmp_path / "one.html"
    out.write_text(render_report([collect_run(runs / "en-only", similarity=False)]))
    page, errors = open_page(browser, out)
    assert page.locator("#profiles svg polygon").count() > 10  # the page did draw
    assert page.locator("section#languages").count() == 0 and page.locator("#lang-select").count() == 0
    assert errors == []


def test_rates_in_the_page_match_the_csv(runs):
    data = collect_run(runs / "two", similarity=False)
    frame = pd.read_csv(runs / "two" / "scores_by_language.csv")
    got = {(r["language"], r["model"], r["dim"]): r["rate"] for r in data.language_scores}
    for r in frame.itertuples():
        assert got[(r.language, r.model, r.dimension)] == pytest.approx(r.rate, abs=0.01) or np.isnan(r.rate)
