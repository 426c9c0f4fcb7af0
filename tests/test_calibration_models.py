"""Calibrations that read a text's whole vector (issue 37): a relative threshold, a logistic model and isotonic maps,
learned by judge-check on the training half and applied as stored numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adaem.analysis.judge_check import learn_corrections
from adaem.analysis.judge_metrics import learn_relative, macro_f1
from adaem.calibration import Calibration, read_calibration, relative_rescale


def _ranking_judge(n: int, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A judge like the embedded one: it says yes to almost everything (P(yes) 0.8–1.0), but the gold values sit
    at the top of each text's ranking."""
    rng = np.random.default_rng(seed)
    gold = np.zeros((n, d), bool)
    for i in range(n):
        gold[i, rng.choice(d, rng.integers(1, 3), replace=False)] = True
    logit = rng.normal(2.0, 0.6, (n, d)) + 1.8 * gold
    return gold, 1 / (1 + np.exp(-logit))


def test_a_relative_threshold_keeps_what_the_ranking_knows():
    gold, prob = _ranking_judge(400)
    raw = macro_f1(gold, prob, 0.5)
    rule = learn_relative(gold[:200], prob[:200])
    held = relative_rescale(prob[200:], rule["delta"], rule["floor"], 0.5)
    assert macro_f1(gold[200:], held, 0.5) > raw + 0.2
    # the order of a text's values is kept
    assert (np.argsort(held, axis=1) == np.argsort(prob[200:], axis=1)).all()


def test_every_correction_is_learned_stored_and_applied_the_same(tmp_path):
    gold, prob = _ranking_judge(300, seed=1)
    ids = [f"v{j}" for j in range(6)]
    base = {"judge": "mock/j", "theory": "t", "protocol": "per-value", "prompt": "one-definition", "unit": "answer"}
    learned = learn_corrections(gold[:150], prob[:150], np.full(6, 0.5), ids, 0.5, base)
    assert set(learned) >= {"raw", "thresholds", "relative", "logistic", "isotonic"}
    for name in ("relative", "logistic", "isotonic"):
        cal = learned[name]
        path = tmp_path / f"{name}.json"
        cal.save(path)
        again = read_calibration(str(path))
        array = again.apply_array(prob[150:], ids, 0.5)
        one = again.apply(dict(zip(ids, prob[150], strict=True)), 0.5)
        assert [one[d] for d in ids] == pytest.approx(array[0].tolist())
        assert macro_f1(gold[150:], array, 0.5) > macro_f1(gold[150:], prob[150:], 0.5)
        assert json.loads(path.read_text())["model" if name != "relative" else "relative"]


def test_a_missing_label_stays_missing():
    cal = Calibration("j", "t", "per-value", relative={"delta": 1.0, "floor": 0.2})
    out = cal.apply_array(np.array([[0.9, np.nan, 0.3]]), ["a", "b", "c"], 0.5)
    assert np.isnan(out[0, 1]) and out[0, 0] >= 0.5 and out[0, 2] < 0.5


def test_judge_check_labels_an_answers_points_and_ors_them(tmp_path):
    """--by-point: each whole answer's key points are labelled one by one and the answer's P(yes) is its highest
    point's (what evaluation.unit opinion ORs); the calibration learned that way is for single opinions."""
    import math
    import re

    from adaem.analysis.judge_check import judge_check
    from adaem.config import RunConfig
    from adaem.models.providers.base import Completion
    from adaem.models.providers.mock import register_mock, unregister_mock
    from adaem.models.types import Choice, TokenLogprob, Usage
    from adaem.theories import load_theory

    theory = load_theory("schwartz10")
    names = {d.name: d.id for d in theory.dimensions}
    rows = []
    for i in range(12):
        a, b = theory.ids[i % 10], theory.ids[(i + 3) % 10]
        points = [f"Point {i} speaks of {a} only.", f"Another point {i} speaks of {b} only."]
        rows.append({"id": f"a{i}", "text": " ".join(points), "values": [a, b], "points": points})
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def handler(messages, config):
        prompt = messages[-1].content
        text = re.search(r'Text: "(.*)"', prompt).group(1)
        value = names[re.search(r"Value: (.+?) \(", prompt).group(1)]
        p = 0.9 if f"of {value} only" in text else 0.2
        if " speaks of " in text and text.count("speaks of") > 1:  # a whole answer: the judge is muddled
            p = 0.55
        word = "Yes" if p >= 0.5 else "No"
        lp = [TokenLogprob(token=word, logprob=math.log(max(p, 1 - p)), top={"Yes": math.log(p), "No": math.log(1 - p)})]
        return Completion(Choice(text=word, finish_reason="stop", logprobs=lp if config.logprobs else None),
                          Usage(input_tokens=30, output_tokens=1))

    register_mock("pointwise", handler)
    try:
        result = judge_check(RunConfig.model_validate({"roles": {"judge": "mock/pointwise"}}), tmp_path / "run",
                             labels=path, unit="answer", by_point=True)
    finally:
        unregister_mock("pointwise")
    raw = result.summary[result.summary.condition == "raw"].set_index("variant")
    assert raw.loc["schwartz10/per-value/by-point", "macro_f1"] > raw.loc["schwartz10/per-value", "macro_f1"]
    assert raw.loc["schwartz10/per-value/by-point", "macro_precision"] > raw.loc["schwartz10/per-value",
                                                                                "macro_precision"]
    by_point = json.loads(open(result.calibrations["schwartz10/per-value/by-point"]).read())
    assert by_point["unit"] == "opinion" and not by_point["model"]  # applied to each point, before the OR
    assert set(result.summary[result.summary.variant.str.endswith("by-point")].condition) == {
        "raw", "contextual", "global threshold", "thresholds", "contextual+thresholds"}


def test_a_value_never_seen_in_training_gets_the_pooled_isotonic_map():
    """A value with no positive training text (power in the 87 real answers) is not left at its raw P(yes), which
    the judge gave as 'yes' to half the answers: isotonic maps it with the map of every value pooled."""
    from adaem.analysis.judge_metrics import learn_model
    from adaem.calibration import model_probabilities

    rng = np.random.default_rng(0)
    gold = rng.random((80, 3)) < 0.3
    gold[:, 2] = False  # the third value never expressed in training
    prob = np.clip(np.where(gold, 0.7, 0.4) + rng.normal(0, 0.1, gold.shape), 0.01, 0.99)
    prob[:, 2] = 0.9  # and the raw judge says yes to it every time
    model = learn_model("isotonic", gold, prob, ["a", "b", "c"])
    assert model["ids"] == ["a", "b"] and "pooled" in model
    out = model_probabilities(model, prob, ["a", "b", "c"])
    assert (out[:, 2] < 0.9).all()  # not the raw P(yes)
    old = {k: v for k, v in model.items() if k != "pooled"}  # a file written before the pooled map: raw, as then
    assert (model_probabilities(old, prob, ["a", "b", "c"])[:, 2] == 0.9).all()
