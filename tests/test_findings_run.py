"""`adaem findings` end to end: an evaluate run of scripted models with a planted family structure, the facts
in `model_info`, the claims printed only when shown, files, the report's Findings section; a generate run's
informativeness against a compare run."""

import hashlib
import json
import sys
from pathlib import Path

import pytest
from conftest import run_cli

import adaem
from adaem.models.providers.mock import register_mock, unregister_mock

# three families of four: after one correction over the ~70 tests of the report (issue 24) a family structure
# is only showable with enough arrangements of the family labels (two families of four have 35: p ≥ 0.029)
FAMILIES = {"fa": ["fa1", "fa2", "fa3", "fa4"], "fb": ["fb1", "fb2", "fb3", "fb4"], "fc": ["fc1", "fc2", "fc3", "fc4"]}
WORDS = {"fa": "tradition matters", "fb": "freedom matters", "fc": "security matters"}
QUESTIONS = [{"question": f"Should {place} ban {topic}?", "category": cat, "country": place}
             for topic, cat in (("payday loans", "economy"), ("zoos", "environment"), ("fur farming", "environment"),
                                ("gambling ads", "economy"), ("private cars", "environment"), ("tipping", "economy"))
             for place in ("China", "France")]


def _bit(*parts: str) -> bool:
    return hashlib.sha256("|".join(parts).encode()).digest()[0] < 100


@pytest.fixture
def planted():
    """Family fa's answers speak of tradition, fb's of freedom, fc's of security; the judge sees exactly that on
    Tradition, Self-direction and Security and answers the other values by a coin fixed per (text, value): noise,
    no structure."""
    def respondent(family: str, name: str):
        def answer(messages, config):
            word = WORDS[family]
            question = messages[-1].content.splitlines()[0]
            points = [{"point": f"{name} thinks {word} here", "justification": f"{question} ({i})"} for i in range(3)]
            return json.dumps({"stance": "yes", "points": points})
        return answer

    def judge(messages, config):
        prompt = messages[-1].content
        text = prompt.split('"')[1]
        if "Value: Tradition" in prompt:
            return "Yes" if "tradition matters" in text else "No"
        if "Value: Self-direction" in prompt:
            return "Yes" if "freedom matters" in text else "No"
        if "Value: Security" in prompt:
            return "Yes" if "security matters" in text else "No"
        return "Yes" if _bit(text, prompt.split("Value: ")[1][:12]) else "No"

    for family, names in FAMILIES.items():
        for name in names:
            register_mock(name, respondent(family, name))
    register_mock("judge", judge)
    yield [f"mock/{n}" for names in FAMILIES.values() for n in names]
    for names in FAMILIES.values():
        for name in names:
            unregister_mock(name)
    unregister_mock("judge")


def test_a_planted_family_structure_is_found_and_said_in_words(tmp_path, planted):
    info = {m: {"family": m.split("/")[1][:2], "kind": "reasoning" if m.endswith(("3", "4")) else "chat",
                "size_b": float(m[-1]), "region": "China" if m.startswith("mock/fa") else "US"} for m in planted}
    ev = adaem.evaluate(QUESTIONS, planted, judge="mock/judge", out=tmp_path / "run", evaluation__bootstrap=0,
                        evaluation__opinion_rules={"enabled": False}, model_info=info)
    assert not ev.failures
    result = adaem.findings(ev.run_dir)
    by_name = {f.name: f for f in result.findings}
    assert set(by_name) >= {"similarity", "groups_kind", "groups_region", "size_trend", "categories", "regions"}
    similarity = by_name["similarity"]
    assert similarity.claim and similarity.claim.startswith("family members are closer")
    # kind splits each family in half: no value differs between reasoning and chat models
    assert by_name["groups_kind"].claim is None and by_name["groups_kind"].not_shown
    assert by_name["size_trend"].claim is None  # sizes were assigned without an effect
    assert (result.out / "similarity.png").exists() and (result.out / "findings.json").exists()

    cli = run_cli("findings", str(ev.run_dir), "--out", str(tmp_path / "again"))
    assert cli.returncode == 0, cli.stderr
    assert "shown: family members are closer" in cli.stdout and "not shown:" in cli.stdout

    report = run_cli("report", str(ev.run_dir), "--output", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report.html").read_text()
    assert "family members are closer" in html and "data:image/png;base64," in html


def test_findings_of_a_generate_run_against_a_compare_baseline(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    import mock_generate

    register_mock("gen", mock_generate.generator)
    try:
        gen = adaem.generate(["mock/a", "mock/b"], generators="mock/gen", judge="mock/j", budget=3,
                             out=tmp_path / "g", generation__arms=3, generation__depth=0)
    finally:
        unregister_mock("gen")
    base = adaem.compare([q["question"] for q in QUESTIONS[:4]], [q["question"] for q in QUESTIONS[4:8]],
                         models=["mock/a", "mock/b"], judge="mock/j", out=tmp_path / "c")
    result = adaem.findings(gen.run_dir, against=[base.run_dir])
    (finding,) = result.findings
    assert finding.name == "informativeness" and (result.out / "informativeness.png").exists()
    assert (finding.claim is None) == (finding.not_shown is not None)
    baselines = (result.out / "informativeness_baselines.csv").read_text()
    assert "set-1 (c)" in baselines and "set-2 (c)" in baselines
    with pytest.raises(adaem.ConfigError, match="compare"):
        adaem.findings(gen.run_dir, against=[gen.run_dir])


def test_two_models_get_every_analysis_that_can_run_and_topics_reach_the_answers(tmp_path, planted):
    """Issue 24: with two models `findings` used to stop at "profile similarity needs at least 3 models"; now it
    is listed as not run and the analyses of two models run. A benchmark's `topic` reaches every answer record
    and the score intervals, which name it, as do the findings' tables."""
    questions = [{**q, "topic": q["question"].split(" ban ")[1]} for q in QUESTIONS]  # 6 topics × 2 places
    two = planted[:1] + planted[4:5]
    ev = adaem.evaluate(questions, two, judge="mock/judge", out=tmp_path / "run", evaluation__bootstrap=20,
                        evaluation__opinion_rules={"enabled": False})
    assert set(ev.answers.topic) == {q["topic"] for q in questions}
    assert ev.scores.ci_unit.str.startswith("topics (6 topics of 12 questions)").all()
    result = adaem.findings(ev.run_dir)
    by_name = {f.name: f for f in result.findings}
    assert by_name["similarity"].not_shown.startswith("not run: profile similarity needs at least 3 models")
    assert by_name["categories"].not_shown and not by_name["categories"].not_shown.startswith("not run")
    assert by_name["regions"].not_shown and not by_name["regions"].not_shown.startswith("not run")
    assert by_name["safety"].not_shown.startswith("not run") and by_name["amplification"].not_shown.startswith("not run")
    assert "topics (6 topics" in by_name["categories"].unit
    shifts = (result.out / "categories_shifts.csv").read_text().splitlines()
    assert shifts[0].endswith(",unit,correction") and "Benjamini-Hochberg over the" in shifts[1]
    saved = json.loads((result.out / "findings.json").read_text())
    assert saved["multiplicity"]["correction"] == "Benjamini-Hochberg"
