"""`adaem annotate serve`: the rating server over HTTP (403s, bad input, what a page may see, escaping) and the
rating page in real Chromium (keyboard, mouse, undo, reload, a killed server, two raters at once).

Set ADAEM_SCREENSHOTS=1 to also write the README's screenshots to benchmarks/results/annotate/."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import free_port, open_page, run_cli, wait_http
from playwright.sync_api import expect

from adaem.annotate.ratings_csv import import_csv
from adaem.annotate.server import make_app
from adaem.annotate.study import Study, create_study

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '<img src=x onerror="window.__pwned=1"> & <script>window.__pwned=2</script> "quoted" </textarea>'


def _questions(path: Path, texts: list[str], topics: list[str]) -> Path:
    path.write_text("".join(json.dumps({"question": q, "topic": t}) + "\n" for q, t in zip(texts, topics, strict=True)))
    return path


@pytest.fixture
def study(tmp_path):
    gen = _questions(tmp_path / "gen.jsonl", [f"Should city {i} build trams by 2030?" for i in range(5)] + [HOSTILE + "?"],
                     [f"t{i}" for i in range(6)])
    base = _questions(tmp_path / "base.jsonl", [f"Should town {i} ban cars?" for i in range(6)],
                      [f"t{i}" for i in range(6)])
    s, _ = create_study(gen, tmp_path / "study", baseline=base, pairs=6, raters=["ann", "bob", "cy"], per_item=2)
    yield s
    s.close()


@pytest.fixture
async def client(study):
    async with TestClient(TestServer(make_app(study))) as c:
        yield c


def _rater(study, name):
    return next(r for r in study.raters() if r.name == name)


async def test_bad_tokens_get_403_everywhere(client, study):
    ann = _rater(study, "ann")
    admin = study.meta("admin_token")
    for method, path in (("GET", "/r/nope"), ("GET", "/api/r/nope"), ("POST", "/api/r/nope/rating"),
                         ("GET", "/admin/nope"), ("GET", "/api/admin/nope"), ("GET", "/admin/nope/ratings.csv"),
                         ("GET", f"/admin/{ann.token}"), ("GET", f"/api/admin/{ann.token}"),  # a rater is no admin
                         ("GET", f"/admin/{ann.token}/ratings.csv"), ("GET", f"/r/{admin}"), ("GET", f"/api/r/{admin}"),
                         ("GET", f"/r/{ann.token[:-1]}")):
        r = await client.request(method, path, json={"item": "x", "metric": "y", "value": 1})
        assert r.status == 403, (method, path)
        assert "not valid" in await r.text()
    assert (await client.get(f"/r/{ann.token}")).status == 200
    assert (await client.get(f"/admin/{admin}")).status == 200


async def test_a_rater_sees_only_their_own_items_and_ratings(client, study):
    ann, bob = _rater(study, "ann"), _rater(study, "bob")
    bob_item = study.rater_items(bob.id)[0]["id"]
    study.set_rating(bob.id, bob_item, "controversy", 3)
    r = await client.get(f"/api/r/{ann.token}")
    assert r.status == 200 and r.content_type == "application/json"
    state = await r.json()
    assert state["rater"] == "ann" and state["total"] == len(study.rater_items(ann.id)) == 8  # 4 of 6 pairs × 2
    assert {it["id"] for it in state["items"]} == {it["id"] for it in study.rater_items(ann.id)}
    assert all(set(it) == {"id", "text", "ratings"} and it["ratings"] == {} for it in state["items"])
    text = json.dumps(state).casefold()
    for leak in ("baseline", "generated", "seed", "set_name", "pair", "topic", "bob", bob.token.casefold(),
                 study.meta("admin_token").casefold(), study.meta("secret"), "plan"):
        assert leak not in text, leak
    assert state["instructions"] and state["metrics"][0]["examples"][0]["point"] == 1  # the design, as Markdown trees
    admin = await (await client.get(f"/api/admin/{study.meta('admin_token')}")).text()
    assert study.meta("secret") not in admin  # the order secret leaves the study through no page
    r = await client.post(f"/api/r/{ann.token}/rating", json={"item": bob_item, "metric": "controversy", "value": 1})
    shared = bob_item in {it["id"] for it in state["items"]}
    assert r.status == (200 if shared else 400)  # per_item=2: some of bob's items are ann's too, never his rating


async def test_a_rating_is_stored_before_the_answer(client, study):
    ann = _rater(study, "ann")
    item = study.rater_items(ann.id)[0]["id"]
    r = await client.post(f"/api/r/{ann.token}/rating", json={"item": item, "metric": "rationality", "value": 3})
    assert r.status == 200 and (await r.json()) == {"saved": True, "done": 0, "total": 8, "prior": 0, "version": 1}
    on_disk = sqlite3.connect(study.path / "study.sqlite")
    assert on_disk.execute("SELECT value, source FROM ratings").fetchall() == [(3, "web")]
    for m in ("controversy", "value_elicitation"):
        await client.post(f"/api/r/{ann.token}/rating", json={"item": item, "metric": m, "value": 1})
    assert (await (await client.get(f"/api/r/{ann.token}")).json())["done"] == 1
    r = await client.post(f"/api/r/{ann.token}/rating", json={"item": item, "metric": "rationality", "value": None})
    assert (await r.json())["done"] == 0 and on_disk.execute("SELECT COUNT(*) FROM ratings").fetchone() == (2,)


async def test_two_pages_of_one_rater_the_stored_rating_wins(client, study):
    ann = _rater(study, "ann")
    item = study.rater_items(ann.id)[0]["id"]
    url = f"/api/r/{ann.token}"
    first = await client.post(f"{url}/rating", json={"item": item, "metric": "controversy", "value": 3, "expected": None})
    assert (await first.json())["version"] == 1
    stale = await client.post(f"{url}/rating", json={"item": item, "metric": "controversy", "value": 1, "expected": None})
    assert stale.status == 409
    assert await stale.json() == {"error": "this rating was changed in another open page: showing the saved one",
                                  "conflict": True, "current": 3, "version": 1}
    assert (await (await client.get(f"{url}/version")).json()) == {"version": 1}
    fresh = await client.post(f"{url}/rating", json={"item": item, "metric": "controversy", "value": 1, "expected": 3})
    assert fresh.status == 200 and (await fresh.json())["prior"] == 1
    assert [r["value"] for r in study.ratings()] == [1]
    r = await client.post(f"{url}/time", json={"item": item, "seconds": 4.5})
    assert r.status == 200 and study.seconds_per_item() == {"ann": {item: 4.5}}
    for body in ({"item": item, "seconds": 99999}, {"item": "q-nope", "seconds": 1}, {"item": item}):
        assert (await client.post(f"{url}/time", json=body)).status == 400


@pytest.mark.parametrize("body, headers, status, fragment", [
    ({"metric": "rationality", "value": 4}, {}, 400, "rating 4 for rationality is not a whole number from 1 to 3"),
    ({"metric": "rationality", "value": "3"}, {}, 400, "not a whole number"),
    ({"metric": "rationality", "value": 2.5}, {}, 400, "not a whole number"),
    ({"metric": "beauty", "value": 2}, {}, 400, "unknown metric"),
    ({"metric": "rationality", "value": 2, "extra": 1}, {}, 400, "exactly"),
    ({"metric": "rationality"}, {}, 400, "exactly"),
    ("not json", {"Content-Type": "application/json"}, 400, "not JSON"),
    ({"metric": "rationality", "value": 2}, {"Content-Type": "text/plain"}, 415, "application/json"),
    ({"metric": "rationality", "value": 2}, {"Origin": "http://evil.example"}, 403, "rating page itself"),
])
async def test_bad_input_is_one_clear_error_and_stores_nothing(client, study, body, headers, status, fragment):
    ann = _rater(study, "ann")
    item = study.rater_items(ann.id)[0]["id"]
    if isinstance(body, dict):
        data = json.dumps({"item": item, **body})
    else:
        data = body
    r = await client.post(f"/api/r/{ann.token}/rating", data=data,
                          headers={"Content-Type": "application/json", **headers})
    assert r.status == status
    assert fragment in (await r.json())["error"]
    assert study.ratings() == []


async def test_an_item_of_another_rater_and_an_oversized_body(client, study):
    ann, cy = _rater(study, "ann"), _rater(study, "cy")
    not_anns = next(it["id"] for it in study.rater_items(cy.id)
                    if it["id"] not in {x["id"] for x in study.rater_items(ann.id)})
    r = await client.post(f"/api/r/{ann.token}/rating", json={"item": not_anns, "metric": "rationality", "value": 2})
    assert r.status == 400 and "not one of this rater's items" in (await r.json())["error"]
    r = await client.post(f"/api/r/{ann.token}/rating", data="x" * 100_000, headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert study.ratings() == []


async def test_pages_are_static_escaped_and_locked_down(client, study):
    ann = _rater(study, "ann")
    page = await client.get(f"/r/{ann.token}")
    html = await page.text()
    assert "trams" not in html and "<img src=x" not in html  # questions only ever arrive as JSON data
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    assert (await client.get("/assets/rate.js")).status == 200
    for bad in ("/assets/..%2fstudy.sqlite", "/assets/study.sqlite", "/assets/metrics.yaml", "/study.sqlite"):
        assert (await client.get(bad)).status == 404
    index = await (await client.get("/")).text()
    assert "ann" not in index and "trams" not in index
    admin = study.meta("admin_token")
    csv = await client.get(f"/admin/{admin}/ratings.csv")
    assert csv.status == 200 and (await csv.text()).startswith("rater,item_id,pair,set")
    progress = await (await client.get(f"/api/admin/{admin}")).json()
    assert [p["rater"] for p in progress["raters"]] == ["ann", "bob", "cy"]
    assert progress["raters"][0]["link"] == f"/r/{ann.token}"


# -- the page in a real browser ----------------------------------------------------------------------------
SCREENSHOTS = ROOT / "benchmarks" / "results" / "annotate"
# Questions for the screenshots: the shipped seeds of three topics against specific questions on the same topics.
SHOWN = [("Should Japan allow dual citizenship for adults who naturalised abroad before 2022?", "dual citizenship"),
         ("Should Nigeria ban the export of raw cocoa beans to build local chocolate factories?", "export bans"),
         ("Should Kenya's 2019 ban on single-use plastic bags be extended to plastic bottles?", "plastic bags")]


def _serve(study_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "adaem", "annotate", "serve", str(study_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_http(f"http://127.0.0.1:{port}/", proc, 60)
    return proc


def _pressed(page) -> list:
    return page.eval_on_selector_all(
        "section.metric", "ss => ss.map(s => { const b = s.querySelector('button[aria-pressed=true]'); "
                          "return b ? Number(b.dataset.value) : null; })")


def _wait_saved(page) -> None:
    expect(page.locator("#status")).to_have_text("All ratings saved")


@pytest.mark.slow
def test_rating_in_chromium_by_keyboard_and_mouse_survives_reload_and_a_killed_server(tmp_path, browser):
    gen = _questions(tmp_path / "gen.jsonl", [HOSTILE + "?", *(q for q, _ in SHOWN), "Should zoos be abolished by 2030?"],
                     ["hostile", *(t for _, t in SHOWN), "zoos"])
    base = _questions(tmp_path / "base.jsonl", ["Is this the baseline?", "Should dual citizenship be allowed?",
                                                "Should export bans on raw materials be used?",
                                                "Should plastic bags be banned?", "Should zoos be abolished?"],
                      ["hostile", *(t for _, t in SHOWN), "zoos"])
    study_dir = tmp_path / "study"
    assert run_cli("annotate", "create", str(gen), "--baseline", str(base), "--out", str(study_dir),
                   "--rater-names", "ann,bob").returncode == 0
    with Study.open(study_dir) as s:
        ann, bob = s.raters()
        order = [it["id"] for it in s.rater_items(ann.id)]
        bobs_first = s.rater_items(bob.id)[0]["id"]
        texts = {it["id"]: it["question"] for it in s.items()}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = _serve(study_dir, port)
    try:
        line = proc.stdout.readline()
        assert f"serving study {study_dir} at {base_url}" in line
        page, errors = open_page(browser, f"{base_url}/r/{ann.token}")
        page.wait_for_selector("#start")  # the instructions come first, with each scale's examples
        assert "Almost everyone answers the same way" in page.text_content("#app")  # an example of Controversy 1
        page.click("#start")
        page.wait_for_selector("#question")
        assert page.text_content("#progress") == "0 / 10 rated"
        assert page.text_content("#question") == texts[order[0]]  # the same question, as text: nothing ran
        assert page.evaluate("window.__pwned") is None and page.query_selector("#question img") is None
        assert page.text_content("#who") == "Rating as ann"
        # keyboard: 3, 2, 1 rate the three scales in turn; the question is then done and the next one shown
        for key in "321":
            page.keyboard.press(key)
        expect(page.locator("#progress")).to_have_text("1 / 10 rated")
        assert page.text_content(".position") == "Question 2 of 10"
        # mouse: one click per scale on question 2
        for metric in ("rationality", "controversy", "value_elicitation"):
            page.click(f"section[data-metric={metric}] button[data-value='2']")
        expect(page.locator("#progress")).to_have_text("2 / 10 rated")
        # question 3: one scale, a mistake undone, then the right value
        page.keyboard.press("1")
        assert _pressed(page) == [1, None, None]
        page.keyboard.press("u")
        assert _pressed(page) == [None, None, None]
        page.keyboard.press("3")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowUp")  # back on the first scale: still 3
        assert _pressed(page) == [3, None, None]
        _wait_saved(page)
        # a second rater at the same time, on their own page
        page2, errors2 = open_page(browser, f"{base_url}/r/{bob.token}")
        page2.click("#start")
        page2.wait_for_selector("#question")
        page2.keyboard.press("1")
        page2.keyboard.press("1")
        page2.keyboard.press("1")
        expect(page2.locator("#progress")).to_have_text("1 / 10 rated")
        _wait_saved(page2)
        if os.environ.get("ADAEM_SCREENSHOTS"):
            _screenshot_rating_page(page, order, texts)
            page.keyboard.press("n")  # back to the first question not fully rated
        # reload: lands on question 3 (the first not fully rated), with its first scale as given
        page.reload()
        page.wait_for_selector("#question")
        assert page.text_content(".position") == "Question 3 of 10"
        assert _pressed(page) == [3, None, None] and page.text_content("#progress") == "2 / 10 rated"
        page.keyboard.press("ArrowLeft")
        assert _pressed(page) == [2, 2, 2]  # question 2 as the mouse left it
        page.keyboard.press("ArrowRight")
        # kill the server mid-study: the page keeps the rating and retries until a new server answers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        page.keyboard.press("2")
        expect(page.locator("#status")).to_contain_text("Not saved yet")
        proc = _serve(study_dir, port)
        expect(page.locator("#status")).to_have_text("All ratings saved", timeout=30_000)
        assert not errors2
        assert all("Failed to load resource" in e or "ERR_CONNECTION_REFUSED" in e for e in errors), errors
    finally:
        proc.kill()
        proc.wait()
    with Study.open(study_dir) as s:
        got = {(r["rater"], r["item"], r["metric"]): r["value"] for r in s.ratings()}
    metrics = ("rationality", "controversy", "value_elicitation")
    assert got == {**{("ann", order[0], m): v for m, v in zip(metrics, (3, 2, 1), strict=True)},
                   **{("ann", order[1], m): 2 for m in metrics},
                   ("ann", order[2], "rationality"): 3, ("ann", order[2], "controversy"): 2,
                   **{("bob", bobs_first, m): 1 for m in metrics}}


def _screenshot_rating_page(page, order, texts) -> None:
    """The README's picture of the rating page, on a readable question (moving there rates nothing)."""
    shown = {q for q, _ in SHOWN}
    here = int(page.text_content(".position").split()[1]) - 1
    target = next(i for i, item in enumerate(order) if texts[item] in shown and i > 2)
    for _ in range(abs(target - here)):
        page.keyboard.press("ArrowRight" if target > here else "ArrowLeft")
    page.keyboard.press("3")  # mid-question: the first scale rated, the second highlighted...
    expect(page.locator("#status")).to_have_text("All ratings saved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 760})
    page.screenshot(path=str(SCREENSHOTS / "rating-page.png"))
    page.keyboard.press("u")  # ...and undone, so the ratings checked at the end are the test's own
    expect(page.locator("#status")).to_have_text("All ratings saved")
    assert _pressed(page) == [None, None, None]


@pytest.mark.slow
def test_admin_page_and_the_report_of_a_rated_study_in_chromium(tmp_path, browser):
    """A study rated by five simulated raters (ratings imported as another tool's CSV), its admin page and its
    report section in Chromium; the README's screenshot of the results comes from here."""
    import numpy as np

    from adaem.generation.seeds import load_seeds

    seeds = load_seeds()[:40]
    gen = _questions(tmp_path / "gen.jsonl", [f"In {c}, {s.question[0].lower()}{s.question[1:]}"
                                              for s, c in zip(seeds, ["Japan", "Kenya", "Chile", "Poland"] * 10, strict=True)],
                     [s.topic for s in seeds])
    study_dir = tmp_path / "study"
    s, _ = create_study(gen, study_dir, pairs=40, raters=5)
    rng = np.random.default_rng(0)
    rows = ["rater,item_id,metric,value"]
    with s:
        for it in s.items():
            lift = 0.6 if it["set_name"] == "generated" else 0.0
            quality = rng.normal(0, 0.7)
            for r in s.raters():
                for k, m in enumerate(s.metrics.keys()):
                    noise = rng.normal(0, 0.45) if r.name != "rater-4" else rng.normal(0, 3)  # rater-4 is careless
                    v = int(np.clip(np.round(1.8 + [0.5, -0.3, -0.2][k] + lift * (k > 0) + quality + noise), 1, 3))
                    rows.append(f"{r.name},{it['id']},{m},{v}")
        (tmp_path / "sim.csv").write_text("\n".join(rows) + "\n")
        import_csv(s, tmp_path / "sim.csv")
        admin = s.meta("admin_token")
    out = tmp_path / "report.html"
    r = run_cli("report", str(study_dir), "-o", str(out))
    assert r.returncode == 0, r.stderr
    page, errors = open_page(browser, out)
    page.wait_for_selector("#results table")
    text = page.text_content("#results")
    assert "Human evaluation" in text and "Rationality" in text and "Krippendorff" in text
    assert "warning: rater 'rater-4'" in page.text_content("#overview")
    assert not errors
    if os.environ.get("ADAEM_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1250, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / "report-results.png"), full_page=True)
    port = free_port()
    proc = _serve(study_dir, port)
    try:
        admin_page, admin_errors = open_page(browser, f"http://127.0.0.1:{port}/admin/{admin}")
        admin_page.wait_for_selector("table")
        assert admin_page.text_content("tbody tr:first-child td:nth-child(2)") == "80 / 80"
        assert not admin_errors
    finally:
        proc.kill()
        proc.wait()
    shutil.rmtree(study_dir)


# -- three raters, gaps, two tabs of one rater, focus after every action, WCAG AA (axe-core) ------------------
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CROWD_DESIGN = """
scale: {min: 1, max: 3, labels: {1: Low, 2: Medium, 3: High}}
instructions: |
  ## How to rate
  Rate **every** question on both scales. <img src=x onerror="window.__pwned=3"> [a link](javascript:window.__pwned=4)
metrics:
  - {key: sense, name: Sense, definition: "Does the question make sense?", examples: {1: "*Is the moon illegal?*", 3: "A clear question."}}
  - {key: heat, name: Heat, definition: "Would people answer it in opposing ways?"}
practice:
  - {question: "Practice: should the moon be banned?", expected: {sense: 1}, feedback: "Its premise makes **no** sense."}
checks:
  - {question: "Attention check: rate both scales 1.", expected: {sense: 1, heat: 1}}
"""
FOCUS = """() => { const a = document.activeElement, s = a && a.closest('section.metric');
  const hi = document.querySelector('section.metric.active'), cur = document.querySelector('section.metric[aria-current=true]');
  return {id: a ? a.id : null, metric: s ? s.dataset.metric : null, value: a && a.dataset ? a.dataset.value || null : null,
          active: hi ? hi.dataset.metric : null, current: cur ? cur.dataset.metric : null}; }"""


def _axe(page) -> list:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}}).response["violations"]
    return [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found]


def _focus(page) -> dict:
    return page.evaluate(FOCUS)


def _on_highlight(page, metric: str | None = None) -> dict:
    """Focus is on a scale button inside the highlighted scale (the one the digit keys rate), which is also the one
    announced as current; optionally a given one."""
    f = _focus(page)
    assert f["metric"] is not None and f["metric"] == f["active"] == f["current"], f
    if metric is not None:
        assert f["metric"] == metric, f
    return f


def _rate_through(page, answers: dict[str, dict[str, int]], texts: dict[str, str], stop_after: int) -> int:
    """Rate the questions shown, one after another, by keyboard (an attention check as it asks); focus checked
    after every key. Returns how many questions were rated."""
    rated = 0
    while rated < stop_after and page.query_selector(".done") is None:
        text = page.text_content("#question")
        values = answers.get(text, {"sense": 2, "heat": 3})
        while page.text_content("#question") == text and None in _pressed(page):
            page.keyboard.press(str(values[_on_highlight(page)["metric"]]))
        rated += 1
    _wait_saved(page)
    return rated


@pytest.mark.slow
def test_three_raters_with_gaps_two_tabs_focus_and_wcag_aa_in_chromium(tmp_path, browser):
    texts = [f"Should region {i} fund night trains before {2030 + i}?" for i in range(6)]
    gen = _questions(tmp_path / "gen.jsonl", texts, [f"t{i}" for i in range(6)])
    base = _questions(tmp_path / "base.jsonl", [f"Should trains run at night ({i})?" for i in range(6)],
                      [f"t{i}" for i in range(6)])
    design = tmp_path / "design.yaml"
    design.write_text(CROWD_DESIGN)
    study_dir = tmp_path / "study"
    r = run_cli("annotate", "create", str(gen), "--baseline", str(base), "--out", str(study_dir), "--rater-names",
                "ann,bob,cy", "--per-item", "2", "--design", str(design), "--min-gap", "2")
    assert r.returncode == 0, r.stderr
    with Study.open(study_dir) as s:
        ann, bob, cy = s.raters()
        admin = s.meta("admin_token")
        secret = s.meta("secret")
        orders = {r.name: [it["id"] for it in s.rater_items(r.id)] for r in (ann, bob, cy)}
    check = {"Attention check: rate both scales 1.": {"sense": 1, "heat": 1}}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = _serve(study_dir, port)
    bodies: list[str] = []
    try:
        page, errors = open_page(browser, f"{base_url}/r/{ann.token}")
        page.on("response", lambda resp: bodies.append(resp.text()) if "/api/r/" in resp.url and
                resp.request.method == "GET" else None)
        page.wait_for_selector("#start")
        assert page.evaluate("window.__pwned") is None and page.query_selector("#app img") is None
        assert "<img src=x" in page.text_content(".instructions")  # the Markdown's raw HTML is shown as text
        assert page.query_selector(".instructions a") is None  # a javascript: link is no link
        assert _axe(page) == []  # the instructions page
        page.focus("#start")
        page.keyboard.press("Enter")
        expect(page.locator("h2.position")).to_have_text("Practice question 1 of 1not counted")
        _on_highlight(page, "sense")
        page.keyboard.press("3")  # a wrong answer to the practice question...
        _on_highlight(page, "heat")
        expect(page.locator("#announce")).to_have_text("Heat scale, not rated")  # told to a screen reader
        page.keyboard.press("2")
        assert _focus(page)["id"] == "continue"  # ...the feedback, and focus on the way on
        assert "you rated 3, we expected 1 Low" in page.text_content("#feedback")
        assert _axe(page) == []  # the practice page with its feedback
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_contain_text("Practice done")
        _on_highlight(page, "sense")
        assert page.text_content("#progress") == "0 / 9 rated"  # 4 pairs and the check; practice not counted
        # the mouse: a click keeps focus on the scale it highlights next
        page.click("section[data-metric=sense] button[data-value='2']")
        _on_highlight(page, "heat")
        # arrows move highlight and focus together; Tab moves focus and the highlight follows
        page.keyboard.press("ArrowUp")
        _on_highlight(page, "sense")
        for _ in range(3):
            page.keyboard.press("Tab")
        _on_highlight(page, "heat")
        # the nav buttons keep focus on themselves
        page.click("#next")
        assert _focus(page)["id"] == "next" and page.text_content("h2.position") == "Question 2 of 9"
        page.click("#prev")
        assert _focus(page)["id"] == "prev" or _focus(page)["metric"]  # at question 1 "Previous" is disabled
        page.keyboard.press("3")  # rates the highlighted scale (heat) of question 1: done, on to question 2
        expect(page.locator("#progress")).to_have_text("1 / 9 rated")
        _on_highlight(page, "sense")
        page.keyboard.press("1")
        page.click("#undo")
        assert _focus(page)["id"] == "undo" and _pressed(page) == [None, None]
        page.keyboard.press("Backspace")  # documented: Backspace undoes too, here question 1's last rating
        expect(page.locator("h2.position")).to_have_text("Question 1 of 9")
        assert _pressed(page) == [2, None]
        _on_highlight(page, "heat")
        page.keyboard.press("i")
        expect(page.locator("#view-heading")).to_be_focused()
        page.keyboard.press("Escape")
        _on_highlight(page)
        # rate 3 more questions: ann leaves gaps
        _rate_through(page, check, texts, 3)
        ann_done = int(page.text_content("#progress").split()[0])
        # a second tab of ann: it shows what the first saved, and the server's rating wins over a stale one
        page2, errors2 = open_page(browser, f"{base_url}/r/{ann.token}")
        page2.wait_for_selector("#question")
        assert page2.text_content("#progress") == f"{ann_done} / 9 rated"
        here = page2.text_content("#question")
        while page.text_content("#question") != here:
            page.keyboard.press("ArrowRight")
        _on_highlight(page, "sense")
        page.keyboard.press("3")  # tab 1 rates it...
        _wait_saved(page)
        page2.keyboard.press("1")  # ...tab 2, still showing it unrated, is refused and shows the stored 3
        expect(page2.locator("#status")).to_contain_text("changed in another open page")
        expect(page2.locator("section[data-metric=sense] button[data-value='3']")).to_have_attribute("aria-pressed", "true")
        page2.keyboard.press("ArrowUp")
        _on_highlight(page2, "sense")
        page2.keyboard.press("2")  # tab 2 now changes it knowingly; tab 1 picks it up by itself
        _wait_saved(page2)
        expect(page.locator("section[data-metric=sense] button[data-value='2']")).to_have_attribute(
            "aria-pressed", "true", timeout=20_000)
        _on_highlight(page, "heat")  # tab 1's focus was not disturbed by the update
        # bob rates everything (the done page); cy rates two questions
        bob_page, bob_errors = open_page(browser, f"{base_url}/r/{bob.token}")
        bob_page.click("#start")
        for key in ("1", "3", "Enter"):
            bob_page.keyboard.press(key)
        _rate_through(bob_page, check, texts, 99)
        expect(bob_page.locator(".done")).to_contain_text("All 9 questions rated")
        assert _axe(bob_page) == []  # the done page
        cy_page, cy_errors = open_page(browser, f"{base_url}/r/{cy.token}")
        cy_page.click("#start")
        for key in ("1", "1", "Enter"):
            cy_page.keyboard.press(key)
        _rate_through(cy_page, {}, texts, 2)
        assert _axe(cy_page) == []  # a rating page mid-study
        for p in (page, page2, bob_page, cy_page):
            p.close()  # a closed page reports the time on its last question
        # the admin page on a phone: no sideways scrolling, nothing an axe run objects to
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{base_url}/admin/{admin}")
        phone.wait_for_selector("tbody tr")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert _axe(phone) == []
        assert "1 / 1 passed" in phone.text_content("tbody")  # bob answered the attention check as asked
        phone.close()
        assert all("409 (Conflict)" in e for e in errors2)  # the refused stale rating, logged by the browser
        assert not bob_errors and not cy_errors and not errors, errors
    finally:
        proc.kill()
        proc.wait()
    # what ann's pages were sent: question texts in her own order, and nothing that tells a set, a pair or a check
    for body in bodies:
        for leak in ("baseline", "generated", "set_name", "pair", secret, '"kind"'):
            assert leak not in body, leak
    state = json.loads(next(b for b in bodies if b.startswith('{"rater"')))
    assert [it["id"] for it in state["items"]] == orders["ann"]
    with Study.open(study_dir) as s:
        progress = {p["rater"]: p for p in s.progress()}
        seconds = s.seconds_per_item()
    assert progress["bob"]["complete"] == 9 and progress["cy"]["complete"] == 2
    assert progress["ann"]["complete"] == 3  # ann leaves gaps (and one question half rated)
    assert len(seconds["bob"]) == 9 and all(v > 0 for v in seconds["bob"].values())  # time on every question
    r = run_cli("annotate", "results", str(study_dir))
    assert r.returncode == 0 and "too few shared items" in r.stdout, r.stdout + r.stderr
