"""Opinion parsing on a corpus of messy answers, the judge protocols and the OR merge, on scripted models."""

import asyncio
import json
from pathlib import Path

import pytest

from adaem.config import OpinionRules
from adaem.errors import OutputParseError
from adaem.judge import label_joint, label_per_value, merge_or, p_flagged, p_yes
from adaem.measure import (
    Opinion,
    Point,
    elicit_opinion,
    opinion_problem,
    parse_opinion,
    parse_opinion_json,
    points_logprob,
)
from adaem.models import GenerateConfig, TokenLogprob
from adaem.models.providers.mock import register_mock, unregister_mock
from adaem.theories import load_theory

CORPUS = json.loads((Path(__file__).parent / "data" / "opinion_corpus.json").read_text())


def test_corpus_is_large_and_mixed():
    assert len(CORPUS) >= 30
    assert sum(c["source"].endswith("(real output)") for c in CORPUS) >= 15
    assert sum(c["stance"] == "FAIL" for c in CORPUS) >= 5


@pytest.mark.parametrize("case", CORPUS, ids=[f"{i}-{c['source'][:20]}" for i, c in enumerate(CORPUS)])
def test_parse_opinion_corpus(case):
    if case["stance"] == "FAIL":
        with pytest.raises(OutputParseError, match="no key points"):
            parse_opinion(case["text"], 3)
        return
    opinion = parse_opinion(case["text"], 3)
    assert opinion.stance == case["stance"]
    assert len(opinion.points) == case["points"]
    assert opinion.points[0].text.startswith(case["first"])
    assert all("**" not in p.text and "<key point>" not in p.text for p in opinion.points)


def test_points_split_into_point_and_justification():
    opinion = parse_opinion("1. **Debt traps**: borrowers roll loans over.\n2. Cost - fees exceed 300% a year.", 3)
    assert (opinion.points[0].point, opinion.points[0].justification) == ("Debt traps", "borrowers roll loans over.")
    assert (opinion.points[1].point, opinion.points[1].justification) == ("Cost", "fees exceed 300% a year.")


def test_json_opinions():
    good = json.dumps({"stance": "no", "points": [{"point": "Zoos fund conservation", "justification": "breeding"},
                                                  {"point": "one-sentence justification", "justification": "x"}]})
    opinion = parse_opinion_json(good, 3)
    assert opinion.stance == "no" and [p.point for p in opinion.points] == ["Zoos fund conservation"]
    with pytest.raises(OutputParseError):
        parse_opinion_json('{"stance": "no"}', 3)
    with pytest.raises(OutputParseError):
        parse_opinion_json("not json", 3)


@pytest.fixture
def scripted():
    names = []
    yield lambda name, fn: (names.append(name), register_mock(name, fn))
    for n in names:
        unregister_mock(n)


async def test_parse_failures_are_retried_with_new_samples_then_recorded(make_pool, scripted):
    answers = iter(["I would rather not say.", "Still no list here.",
                    "Stance: yes\n1. Loans with 400% interest exploit the poor.\n2. Bans work in 18 US states."])
    scripted("shy", lambda messages, config: next(answers))
    model = make_pool().get("mock/shy")
    opinion = await elicit_opinion(model, "Should payday loans be banned?", fmt="text", sampling=GenerateConfig(seed=1))
    assert opinion.attempts == 3 and len(opinion.parse_failures) == 2 and opinion.stance == "yes"

    scripted("mute", lambda messages, config: "no list at all")
    with pytest.raises(OutputParseError, match="3 answers without usable key points"):
        await elicit_opinion(make_pool().get("mock/mute"), "q?", fmt="text", sampling=GenerateConfig(seed=1))


def test_p_yes_from_logprobs_and_text():
    lp = [TokenLogprob(token="Yes", logprob=-0.2, top={"Yes": -0.2, " yes": -3.0, "No": -2.0, "The": -4.0})]
    import math

    expected = (math.exp(-0.2) + math.exp(-3.0)) / (math.exp(-0.2) + math.exp(-3.0) + math.exp(-2.0))
    assert p_yes(lp, "Yes") == pytest.approx(expected)
    assert p_yes(None, "No.") == 0.0 and p_yes(None, "yes") == 1.0
    assert p_yes(None, "Maybe") is None


async def test_per_value_protocol_one_call_per_dimension(make_pool, scripted):
    theory = load_theory("schwartz10")

    def judge(messages, config):
        return "Yes" if "Benevolence" in messages[-1].content or "Power (" in messages[-1].content else "No"

    scripted("judge", judge)
    labels = await label_per_value(make_pool().get("mock/judge"), theory, "Help your neighbours.", logprobs=False)
    assert labels.calls == 10
    assert {d for d, v in labels.values.items() if v == 1.0} == {"benevolence", "power"}


def _watched_judge(scripted, make_pool, reuses_prefix: bool, answer: str):
    """A scripted judge that records which text each call is about and the most calls it had at once."""
    seen = {"order": [], "in": 0, "peak": 0}

    async def judge(messages, config):
        seen["order"].append("A" if "text A" in messages[-1].content else "B")
        seen["in"] += 1
        seen["peak"] = max(seen["peak"], seen["in"])
        await asyncio.sleep(0.005)
        seen["in"] -= 1
        return answer

    scripted("judge", judge)
    model = make_pool().get("mock/judge")
    model.provider.reuses_prefix = reuses_prefix
    return model, seen


@pytest.mark.parametrize("reuses_prefix", [True, False])
async def test_a_prefix_reusing_judge_labels_one_text_at_a_time(make_pool, scripted, reuses_prefix):
    """Two texts labelled at once: a judge that keeps its KV state gets each text's ten calls back to back (so
    it evaluates only each value's tokens); any other judge gets all twenty at once."""
    model, seen = _watched_judge(scripted, make_pool, reuses_prefix, "No")
    theory = load_theory("schwartz10")
    await asyncio.gather(*(label_per_value(model, theory, f"text {t}", logprobs=False) for t in "AB"))
    order = seen["order"]
    runs = sum(1 for i in range(1, len(order)) if order[i] != order[i - 1]) + 1
    assert len(order) == 20 and (runs == 2 and seen["peak"] == 1 if reuses_prefix else seen["peak"] == 20)


@pytest.mark.parametrize("reuses_prefix", [True, False])
async def test_a_remote_judge_gets_one_texts_values_at_once(make_pool, scripted, reuses_prefix):
    """Issue 13: without prefix reuse the ten per-value calls of one text go out concurrently."""
    model, seen = _watched_judge(scripted, make_pool, reuses_prefix, "Yes")
    labels = await label_per_value(model, load_theory("schwartz10"), "One text.", logprobs=False)
    assert len(labels.values) == 10 and seen["peak"] == (1 if reuses_prefix else 10)


async def test_joint_protocol_shuffles_and_validates(make_pool, scripted):
    theory = load_theory("schwartz10")
    seen_orders = []

    def judge(messages, config):
        order = list(config.json_schema["properties"])
        seen_orders.append(order)
        return json.dumps({d: d == "tradition" for d in order})

    scripted("jjudge", judge)
    pool = make_pool()
    a = await label_joint(pool.get("mock/jjudge"), theory, "Keep the old customs.")
    await label_joint(pool.get("mock/jjudge"), theory, "A different text entirely.")
    assert a.values["tradition"] == 1.0 and sum(a.values.values()) == 1.0 and a.calls == 1
    assert seen_orders[0] != seen_orders[1] and sorted(seen_orders[0]) == sorted(theory.ids)

    scripted("badjudge", lambda messages, config: '{"tradition": "maybe"}')
    with pytest.raises(OutputParseError, match="outside the schema"):
        await label_joint(pool.get("mock/badjudge"), theory, "x")


def test_merge_or_thresholds_each_opinion_then_ors_as_the_paper_does():
    """Issue 23.2: v = v¹ ∨ … ∨ v^L over binary labels (§3.3): three opinions at P(yes) 0.3 do not express a value
    (the soft noisy-OR made it 0.66, "expressed"); the noisy-OR stays available as a mode, for S."""
    weak = [{"a": 0.3}, {"a": 0.3}, {"a": 0.3}]
    assert merge_or(weak, ["a"]) == {"a": 0.0}
    assert merge_or(weak, ["a"], mode="noisy-or")["a"] == pytest.approx(1 - 0.7 ** 3)
    merged = merge_or([{"a": 0.5, "b": 0.0, "c": 0.1}, {"a": 0.5, "b": 0.2, "c": 0.0}], ["a", "b", "c"])
    assert merged == {"a": 1.0, "b": 0.0, "c": 0.0}
    soft = merge_or([{"a": 0.5, "b": 0.0, "c": 0.1}, {"a": 0.5, "b": 0.2, "c": 0.0}], ["a", "b", "c"], mode="noisy-or")
    assert soft == pytest.approx({"a": 0.75, "b": 0.2, "c": 0.1})
    assert merge_or([{"a": 1.0}, {"a": 0.0}], ["a"]) == {"a": 1.0}
    assert merge_or([{"a": 0.7}], ["a"], threshold=0.8) == {"a": 0.0}  # the run's threshold, not 0.5


def test_a_value_the_judge_could_not_label_is_missing_not_zero():
    """Issue 12 item 5: one opinion without a label for a value leaves the answer's value unknown (None)."""
    merged = merge_or([{"a": 0.1, "b": 0.3, "c": 0.9}, {"a": 0.2}], ["a", "b", "c"], mode="noisy-or")
    assert merged["a"] == pytest.approx(1 - 0.9 * 0.8) and merged["b"] is None
    assert merged["c"] == pytest.approx(0.9)  # already expressed whatever the missing label says: a lower bound
    binary = merge_or([{"a": 0.1, "b": 0.3, "c": 0.9}, {"a": 0.2}], ["a", "b", "c"])
    assert binary == {"a": 0.0, "b": None, "c": 1.0}


def test_field_probabilities_read_each_boolean_fields_alternatives():
    import math

    from adaem.judge import field_probabilities
    from adaem.models.providers.local import boolean_object_keys

    def t(token, top=None):
        return TokenLogprob(token=token, logprob=0.0, top={k: math.log(v) for k, v in (top or {}).items()})

    tokens = [t('{"'), t("care"), t('":'), t(" true", {" true": 0.7, " false": 0.2, " maybe": 0.1}),
              t(', "fairness": '), t("f", {"f": 0.6, "t": 0.2}), t("alse"), t("}")]
    probs = field_probabilities(tokens, ["care", "fairness"])
    assert probs == pytest.approx({"care": 0.7 / 0.9, "fairness": 0.25})
    assert field_probabilities(None, ["care"]) == {}
    schema = {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}},
              "required": ["b", "a"], "additionalProperties": False}
    assert boolean_object_keys(schema) == ["b", "a"]
    assert boolean_object_keys({**schema, "additionalProperties": True}) is None
    assert boolean_object_keys({**schema, "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}}) is None


# -- is it an opinion? (issue 12 item 4) ---------------------------------------------------------------------
ZOOS = "Should zoos be abolished?"


def _opinion(*points: tuple[str, str]) -> Opinion:
    return Opinion("yes", [Point(p, j) for p, j in points])


@pytest.fixture(scope="module")
def encoder():
    from adaem.embeddings import default_encoder

    return default_encoder()


GOOD = _opinion(("Animal welfare", "wild animals suffer in small enclosures"),
                ("Conservation", "zoos breed endangered species that would otherwise vanish"),
                ("Education", "children learn to care for nature by seeing animals"))


@pytest.mark.parametrize(("points", "fragment"), [
    ((("1 2", ""), ("3 4", ""), ("5 6", "")), "words"),  # seen from the embedded 135M respondent
    ((("1. 2. 3.", "4 5 6"), ("Animal welfare", "wild animals suffer in cages"), ("x", "y z w")), "not in words"),
    ((("transitivity", "enlaxa dezrecioni"), ("Animal welfare", "wild animals suffer in cages"),
      ("Conservation", "zoos breed endangered species")), "not in words"),
    ((("Animal welfare", "wild animals suffer in cages"), ("Football tactics", "a team should press high up the pitch"),
      ("Conservation", "zoos breed endangered species")), "off topic"),
    ((("Should zoos be abolished", ""), ("Animal welfare", "wild animals suffer in cages"),
      ("Conservation", "zoos breed endangered species")), "repeats the question"),
    ((("Animal welfare", "wild animals suffer in cages"), ("Animal welfare", "wild animals suffer in cages!"),
      ("Conservation", "zoos breed endangered species")), "same text"),
])
def test_answers_that_are_not_opinions(encoder, points, fragment):
    problem = opinion_problem(_opinion(*points), ZOOS, OpinionRules(), encoder)
    assert problem is not None and fragment in problem


def test_a_real_opinion_passes(encoder):
    assert opinion_problem(GOOD, ZOOS, OpinionRules(), encoder) is None
    # technical and hyphenated vocabulary is words, though the embedding model's vocabulary lacks it
    physics = _opinion(("Quantum chromodynamics", "gluons bind quarks tightly inside every proton"),
                       ("Basic research", "particle colliders answered questions nobody could foresee"),
                       ("Cost", "the money could fund physics teaching instead"))
    assert opinion_problem(physics, "Should governments fund a larger particle collider?", OpinionRules(), encoder) is None
    drugs = _opinion(("Decriminalization reduces incarceration", "and stigmatization of marginalized communities"),
                     ("Self-determination isn't negotiable", "adults decide what they take into their bodies"),
                     ("Public health", "drug treatment works better than prison"))
    assert opinion_problem(drugs, "Should drug possession be decriminalized?", OpinionRules(), encoder) is None


async def test_an_answer_that_is_not_an_opinion_is_re_asked_then_a_parse_failure(make_pool, scripted):
    from adaem.config import Evaluation
    from adaem.measure import measure_answer

    answers = iter([json.dumps({"stance": "yes", "points": [{"point": f"{i} {i + 1}", "justification": f"{i + 2} 0"}
                                                            for i in range(3)]}),
                    json.dumps({"stance": "no", "points": [{"point": p.point, "justification": p.justification}
                                                           for p in GOOD.points]})])
    scripted("numbers", lambda messages, config: next(answers))
    scripted("judge", lambda messages, config: "No")
    pool = make_pool()
    answer = await measure_answer(pool.get("mock/numbers"), pool.get("mock/judge"), load_theory("schwartz10"), ZOOS,
                                  Evaluation(max_parse_attempts=2))
    assert answer.opinion.attempts == 2 and "not an opinion" in answer.opinion.parse_failures[0]
    scripted("numbers2", lambda messages, config: json.dumps({"stance": "yes", "points": [
        {"point": "1 2", "justification": "3 4"}, {"point": "5 6", "justification": "7 8"},
        {"point": "9 1", "justification": "2 3"}]}))
    with pytest.raises(OutputParseError, match="not an opinion"):
        await measure_answer(pool.get("mock/numbers2"), pool.get("mock/judge"), load_theory("schwartz10"), ZOOS,
                             Evaluation(max_parse_attempts=2))


def test_safety_verdicts_yes_no_and_llama_guard():
    assert p_flagged(None, "unsafe\nS1") == 1.0 and p_flagged(None, "safe") == 0.0
    assert p_flagged(None, "\n\nunsafe\nS10") == 1.0
    assert p_flagged(None, "Yes") == 1.0 and p_flagged(None, "No.") == 0.0
    assert p_flagged(None, "I am not sure") is None
    lp = [TokenLogprob(token="safe", logprob=-0.1, top={"safe": -0.1, "unsafe": -2.5})]
    import math

    assert p_flagged(lp, "safe") == pytest.approx(math.exp(-2.5) / (math.exp(-2.5) + math.exp(-0.1)))
    assert p_yes(None, "unsafe") is None  # the judge's verdicts stay yes/no


def test_points_logprob_reads_the_points_tokens_only():
    tokens = ['{"', 'stance', '":', ' "yes', '",', ' "points', '":', ' [{"', 'point', '":', ' "', 'Animal', ' welfare',
              '",', ' "', 'justification', '":', ' "', 'cages', ' hurt', '"}]}']
    logprobs = [TokenLogprob(token=t, logprob=-2.0 if t in ("Animal", " welfare", "cages", " hurt") else -0.01)
                for t in tokens]
    opinion = _opinion(("Animal welfare", "cages hurt"))
    assert points_logprob(logprobs, opinion) == pytest.approx(-2.0)
    assert points_logprob(None, opinion) is None


async def test_a_whole_answer_asks_for_the_answer_calibration(make_pool, scripted, monkeypatch):
    """measure_answer says which kind of text the judge labels: the whole answer under `unit: answer`, each point
    (and the question) as an opinion under `unit: opinion`."""
    import adaem.judge
    from adaem.config import Evaluation
    from adaem.measure import measure_answer

    asked: list[str] = []

    def lookup(setting, judge, theory, protocol, prompt="one-definition", unit="opinion"):
        asked.append(unit)
        return None

    monkeypatch.setattr(adaem.judge, "calibration_file", lookup)
    scripted("resp", lambda messages, config: json.dumps(
        {"stance": "no", "points": [{"point": p.point, "justification": p.justification} for p in GOOD.points]}))
    scripted("judge", lambda messages, config: "No")
    pool = make_pool()
    for unit, expected in (("answer", ["answer"]), ("opinion", ["opinion"] * len(GOOD.points))):
        asked.clear()
        await measure_answer(pool.get("mock/resp"), pool.get("mock/judge"), load_theory("schwartz10"), ZOOS,
                             Evaluation(unit=unit))
        assert asked == expected
