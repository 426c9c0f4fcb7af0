"""Issue 17: `adaem judge-check`, its metrics, and calibration that corrects a biased judge."""

import json
import math
import re

import numpy as np
import pytest
from conftest import run_cli

from adaem.analysis.judge_check import judge_check, load_labelled, shipped_labels, split_halves
from adaem.analysis.judge_metrics import CONDITIONS, calibration_curve, per_value_metrics, rank_metrics
from adaem.calibration import Calibration, best_threshold, contextual, load_calibration, rescale
from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.models.providers.base import Completion
from adaem.models.providers.mock import register_mock, unregister_mock
from adaem.models.types import Choice, TokenLogprob, Usage
from adaem.theories import load_theory

SCHWARTZ = load_theory("schwartz10")


# -- metrics by hand -----------------------------------------------------------------------------------------
def test_per_value_metrics_by_hand():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], dtype=bool)
    prob = np.array([[0.9, 0.2], [0.4, 0.8], [0.7, np.nan], [0.1, 0.6]])
    a, b = per_value_metrics(gold, prob, np.array([0.5, 0.5]))
    # value a: predicted {0, 2}, gold {0, 1}: tp 1 -> P 1/2, R 1/2, F1 1/2
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == (0.5, 0.5, 0.5, 2)
    # value b: predicted {1, 3} (the missing label counts as not expressed), gold {1, 3}: perfect
    assert (b["precision"], b["recall"], b["f1"]) == (1.0, 1.0, 1.0)
    a_low, _ = per_value_metrics(gold, prob, np.array([0.3, 0.5]))  # a: predicted {0, 1, 2}
    assert a_low["recall"] == 1.0 and a_low["precision"] == pytest.approx(2 / 3)


def test_rank_metrics_by_hand():
    gold = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=bool)  # the last has two values: left out
    prob = np.array([[0.9, 0.1, 0.2], [0.8, 0.5, 0.1], [0.7, 0.6, np.nan], [0.0, 0.0, 0.0]])
    r = rank_metrics(gold, prob)
    # gold ranks 1, 2 and 3 (a missing label ranks last)
    assert r == {"single_texts": 3, "top1": pytest.approx(1 / 3), "top3": 1.0, "mean_rank": 2.0}


def test_ece_and_reliability_bins_by_hand():
    gold = np.array([[1], [0], [1], [1]], dtype=bool)
    prob = np.array([[0.95], [0.91], [0.15], [np.nan]])
    ece, bins = calibration_curve(gold, prob, bins=10)
    # bin 0.9-1.0: confidence 0.93, share 0.5, n 2; bin 0.1-0.2: confidence 0.15, share 1, n 1
    assert ece == pytest.approx(2 / 3 * abs(0.5 - 0.93) + 1 / 3 * abs(1 - 0.15))
    assert [(b["n"], round(b["confidence"], 2), b["expressed"]) for b in bins] == [(1, 0.15, 1.0), (2, 0.93, 0.5)]


def test_best_threshold_contextual_and_rescale():
    gold = np.array([0, 0, 1, 1, 1], dtype=bool)
    prob = np.array([0.6, 0.7, 0.8, 0.9, 0.95])  # a yes-biased judge: 0.5 calls everything expressed
    t, f1 = best_threshold(gold, prob)
    assert 0.7 < t < 0.8 and f1 == 1.0
    assert contextual(0.7, 0.5) == pytest.approx(0.7)
    assert contextual(0.8, 0.8) == pytest.approx(0.5)  # the prior itself becomes a coin flip
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert logit(contextual(0.9, 0.7)) == pytest.approx(logit(0.9) - logit(0.7))
    assert rescale(0.75, 0.75, 0.5) == 0.5 and rescale(0.0, 0.75, 0.5) == 0.0 and rescale(1.0, 0.75, 0.5) == 1.0
    assert rescale(0.6, 0.75, 0.5) < 0.5 < rescale(0.8, 0.75, 0.5)
    cal = Calibration("mock/j", "schwartz10", "per-value", priors={"power": 0.8}, thresholds={"power": 0.6})
    # contextual: 0.75 / (0.75 + 2) = 0.2727; then 0.2727 below its threshold 0.6 maps to 0.5 · 0.2727 / 0.6
    assert cal.apply({"power": 0.6, "hedonism": 0.3}, 0.5) == {"power": pytest.approx(0.5 * (3 / 11) / 0.6),
                                                                 "hedonism": 0.3}


# -- labelled files ------------------------------------------------------------------------------------------
def test_shipped_sets_parse_and_cover_every_value():
    for name, per_value in (("schwartz10", 15), ("mft", 10)):
        theory = load_theory(name)
        path = shipped_labels(name)
        assert path is not None, f"no labelled set ships for {name}"
        texts = load_labelled(path, theory)
        for d in theory.ids:
            assert sum(d in t.gold for t in texts) >= per_value, d
        assert any(not t.gold for t in texts)
    assert len(load_labelled(shipped_labels("schwartz10"), SCHWARTZ)) >= 200


@pytest.mark.parametrize("content,fragment", [
    ('{"text": "We must protect the weak.", "values": ["kindness"]}\n', "kindness is not a value"),
    ('{"text": "x", "values": ["power"]}\n{"text": \n', "line 2 is not JSON"),
    ('{"values": ["power"]}\n', "line 1 needs a non-empty `text`"),
    ('{"text": "x", "values": 3}\n', "must be a list of value ids"),
    ("text,gold\nx,power\n", "needs `text` and `values` columns"),
])
def test_bad_label_files_are_one_error_line(tmp_path, content, fragment):
    path = tmp_path / ("labels.csv" if content.startswith("text,") else "labels.jsonl")
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_labelled(path, SCHWARTZ)
    r = run_cli("judge-check", "--labels", str(path), "--judge", "mock/j", "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and r.stderr.startswith("error:") and fragment in r.stderr
    assert "Traceback" not in r.stderr


def test_csv_labels_with_separated_ids(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text('id,text,values\na,"Keep the old festivals.",tradition\nb,"Rules are rules.","conformity; security"\n'
                    'c,"It rained.",\nd,"Win the race.",achievement\n')
    texts = load_labelled(path, SCHWARTZ)
    assert [t.gold for t in texts] == [("tradition",), ("conformity", "security"), (), ("achievement",)]


# -- a judge with a known bias -------------------------------------------------------------------------------
def _labelled_file(tmp_path, n=40):
    """n texts, each expressing one value, in turn."""
    rows = [{"id": f"t{i}", "text": f"Opinion number {i} about the matter.", "values": [SCHWARTZ.ids[i % 10]]}
            for i in range(n)]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {r["text"]: r["values"] for r in rows}


@pytest.fixture
def biased_judge(tmp_path):
    """P(yes) = σ(s + bias): s = +2 where the gold says expressed, −2 elsewhere, 0 on content-free text; the bias
    of +3 makes the raw judge say yes to nearly everything. Contextual calibration divides σ(bias) out."""
    path, gold = _labelled_file(tmp_path)
    names = {d.name: d.id for d in SCHWARTZ.dimensions}
    bias = 3.0

    def handler(messages, config):
        prompt = messages[-1].content
        text = re.search(r'Text: "(.*)"', prompt).group(1)
        value = names[re.search(r"Value: (.+?) \(", prompt).group(1)]
        s = 0.0 if text in ("N/A", " ", "[MASK]") else 2.0 if value in gold.get(text, ()) else -2.0
        p = 1 / (1 + math.exp(-(s + bias)))
        word = "Yes" if p >= 0.5 else "No"
        lp = [TokenLogprob(token=word, logprob=math.log(max(p, 1 - p)), top={"Yes": math.log(p), "No": math.log(1 - p)})]
        return Completion(Choice(text=word, finish_reason="stop", logprobs=lp if config.logprobs else None),
                          Usage(input_tokens=50, output_tokens=1))

    register_mock("biased", handler)
    yield path, gold
    unregister_mock("biased")


def test_calibration_recovers_a_biased_judges_labels(tmp_path, biased_judge):
    labels, _ = biased_judge
    config = RunConfig.model_validate({"roles": {"judge": "mock/biased"}})
    result = judge_check(config, tmp_path / "run", labels=labels)
    s = result.summary.set_index("condition")
    assert s.loc["raw", "macro_precision"] == pytest.approx(0.1)  # yes to all ten values of every text
    assert s.loc["contextual", "macro_f1"] == 1.0 and s.loc["contextual", "top1"] == 1.0
    assert s.loc["contextual", "ece"] < s.loc["raw", "ece"]
    kept = s[s.kept].index.tolist()
    assert kept == ["contextual"]  # the simplest correction that reaches the best held-out F1
    cal = load_calibration(result.calibrations["schwartz10/per-value"], "mock/biased", "schwartz10", "per-value")
    assert cal.priors["power"] == pytest.approx(1 / (1 + math.exp(-3.0))) and not cal.thresholds
    train, test = split_halves(load_labelled(labels, SCHWARTZ), 0)
    assert len(train) == len(test) == 20 and not set(train) & set(test)
    for f in ("judge_check.html", "judge_check.csv", "judge_check_values.csv", "judge_check.json"):
        assert (tmp_path / "run" / f).exists()
    assert (tmp_path / "run" / "judge_check.png").read_bytes()[:4] == b"\x89PNG"


def test_judge_check_resumes_without_new_calls_and_evaluate_applies_the_calibration(tmp_path, biased_judge,
                                                                                     monkeypatch):
    from adaem.evaluation import evaluate

    labels, gold = biased_judge
    config = RunConfig.model_validate({"roles": {"judge": "mock/biased"}})
    first = judge_check(config, tmp_path / "run", labels=labels)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ADAEM_MOCK_CALL_LOG", str(log))
    again = judge_check(None, tmp_path / "run", resume=True)
    assert not log.exists() and again.summary.equals(first.summary)

    bench = tmp_path / "b.jsonl"
    bench.write_text('{"question": "Should zoos be abolished?"}\n{"question": "Should voting be compulsory?"}\n')
    base = {"roles": {"targets": ["mock/a", "mock/b"], "judge": "mock/biased"}, "evaluation": {"bootstrap": 0}}
    raw = evaluate(bench, RunConfig.model_validate(base), tmp_path / "raw")
    calibrated = RunConfig.model_validate({**base, "evaluation": {"bootstrap": 0,
                                                                  "calibration": first.calibrations["schwartz10/per-value"]}})
    cal = evaluate(bench, calibrated, tmp_path / "cal")
    # the judge sees no value in these opinions (s = −2), but its bias says yes to all; calibrated, it says no
    assert raw.scores.rate.min() == 100.0 and cal.scores.rate.max() == 0.0
    wrong = RunConfig.model_validate({**base, "roles": {**base["roles"], "judge": "mock/j"},
                                      "evaluation": {"bootstrap": 0,
                                                     "calibration": first.calibrations["schwartz10/per-value"]}})
    with pytest.raises(ConfigError, match="learned for judge mock/biased"):
        evaluate(bench, wrong, tmp_path / "wrong")


def test_variants_compare_protocols_and_definition_files(tmp_path, biased_judge):
    labels, _ = biased_judge
    data = load_theory("schwartz10").model_dump(mode="json")
    data["name"] = "schwartz10-examples"
    data["dimensions"][4]["examples"] = [{"text": "Whoever controls the money decides.", "expressed": True}]
    variant = tmp_path / "with_examples.yaml"
    import yaml

    variant.write_text(yaml.safe_dump(data))
    config = RunConfig.model_validate({"roles": {"judge": "mock/biased"}})
    result = judge_check(config, tmp_path / "run", labels=labels, theories=["schwartz10", str(variant)])
    assert set(result.summary.variant) == {"schwartz10/per-value", "with_examples/per-value"}
    prompts = (tmp_path / "run" / "outputs" / "labels.jsonl").read_text()
    assert prompts.count('"variant": "with_examples/per-value"') == 40 + 3
    mismatch = tmp_path / "mft_like.yaml"
    mismatch.write_text(yaml.safe_dump(load_theory("mft").model_dump(mode="json")))
    with pytest.raises(ConfigError, match="same values"):
        judge_check(config, tmp_path / "run2", labels=labels, theories=["schwartz10", str(mismatch)])


def test_few_shot_examples_change_only_the_prompts_that_have_them():
    from adaem.judge import _examples

    assert _examples(SCHWARTZ.dimension("power")) == ""
    data = SCHWARTZ.model_dump(mode="json")
    data["dimensions"][4]["examples"] = [{"text": "Control is all.", "expressed": True},
                                         {"text": "Share it.", "expressed": False}]
    from adaem.theories import Theory

    power = Theory.model_validate(data).dimension("power")
    assert _examples(power) == 'Examples for this value:\n- "Control is all.": Yes\n- "Share it.": No\n'


def test_judge_check_cli_on_the_shipped_set_subset(tmp_path):
    """The command end to end (mock judge): table, files, a calibration file evaluate accepts."""
    rows = [json.loads(line) for line in shipped_labels("schwartz10").read_text().splitlines()[:30]]
    labels = tmp_path / "l.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = run_cli("judge-check", "--judge", "mock/j", "--labels", str(labels), "--protocol", "per-value,joint",
                "--out", str(tmp_path / "jc"))
    assert r.returncode == 0, r.stderr
    assert "schwartz10/per-value" in r.stdout and "schwartz10/joint" in r.stdout and "contextual" in r.stdout
    page = (tmp_path / "jc" / "judge_check.html").read_text()
    assert "<table>" in page and "mock/j" in page
    cal = tmp_path / "jc" / "calibration-schwartz10-joint.json"
    assert json.loads(cal.read_text())["protocol"] == "joint"
    import adaem

    assert adaem.load_run(tmp_path / "jc").summary.shape[0] == 2 * 8  # raw + seven corrections (issue 37: relative, logistic, isotonic)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang guard, not a speed test
def test_judge_check_on_an_embedded_judge(tmp_path):
    """A real judge's log-probabilities go through the whole check: soft P(yes), content-free priors, a page."""
    rows = [json.loads(line) for line in shipped_labels("schwartz10").read_text().splitlines()[:6]]
    labels = tmp_path / "l.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = RunConfig.model_validate({"roles": {"judge": "local/smollm2-135m"}})
    result = judge_check(config, tmp_path / "jc", labels=labels)
    records = [json.loads(line) for line in (tmp_path / "jc" / "outputs" / "labels.jsonl").read_text().splitlines()]
    assert len(records) == 6 + 3
    soft = [p for r in records if r.get("values") for p in r["values"].values()]
    assert soft and all(0 <= p <= 1 for p in soft) and any(0 < p < 1 for p in soft)  # probabilities, not 0/1
    priors = json.loads((tmp_path / "jc" / "judge_check.json").read_text())["variants"]["schwartz10/per-value"]["priors"]
    assert set(priors) == set(SCHWARTZ.ids) and any(abs(p - 0.5) > 0.01 for p in priors.values())
    assert set(result.summary.condition) == set(CONDITIONS)  # every correction, the learned ones included
