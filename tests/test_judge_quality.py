"""Issue 25: every profile carries its judge's quality; the embedded judge calibrated by default; a correction
must not break the ranking; a calibration tried on other texts; two judges compared; judge-check figures with
intervals."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from test_judge_check import SCHWARTZ, _labelled_file

from adaem.analysis.judge_check import judge_check
from adaem.analysis.judge_metrics import bootstrap_intervals, choose_correction, summarize
from adaem.calibration import calibration_file, judge_quality, shipped_calibrations
from adaem.config import RunConfig
from adaem.evaluation import evaluate
from adaem.models.providers.base import Completion
from adaem.models.providers.mock import register_mock, unregister_mock
from adaem.models.types import Choice, TokenLogprob, Usage

EMBEDDED = "local/qwen2.5-coder-1.5b"


def judge_with(name, gold, bias=3.0, noise=0.0):
    """A judge whose P(yes) = σ(±2 + bias + noise·hash): gold says where +2 is."""
    names = {d.name: d.id for d in SCHWARTZ.dimensions}

    def handler(messages, config):
        prompt = messages[-1].content
        text = re.search(r'Text: "(.*)"', prompt).group(1)
        value = names[re.search(r"Value: (.+?) \(", prompt).group(1)]
        jitter = noise * ((hash((text, value)) % 7) - 3) / 3
        s = 0.0 if text in ("N/A", " ", "[MASK]") else 2.0 if value in gold.get(text, ()) else -2.0
        p = 1 / (1 + math.exp(-(s + bias + jitter)))
        word = "Yes" if p >= 0.5 else "No"
        lp = [TokenLogprob(token=word, logprob=math.log(max(p, 1 - p)), top={"Yes": math.log(p), "No": math.log(1 - p)})]
        return Completion(Choice(text=word, finish_reason="stop", logprobs=lp if config.logprobs else None),
                          Usage(input_tokens=50, output_tokens=1))

    register_mock(name, handler)


@pytest.fixture
def judges(tmp_path):
    path, gold = _labelled_file(tmp_path, n=60)
    judge_with("biased", gold)
    judge_with("other", gold, bias=2.5, noise=1.5)
    yield path, gold
    unregister_mock("biased")
    unregister_mock("other")


def test_every_judge_check_figure_has_an_interval(tmp_path, judges):
    labels, _ = judges
    result = judge_check(RunConfig.model_validate({"roles": {"judge": "mock/biased"}}), tmp_path / "run", labels=labels)
    s = result.summary
    for m in ("macro_f1", "top1", "mean_rank", "macro_precision"):
        assert (s[f"{m}_lo"] <= s[m] + 1e-9).all() and (s[m] <= s[f"{m}_hi"] + 1e-9).all()
    assert s.ece_lo.isna().all() and s.ece.notna().all()  # ECE is biased upwards: no interval (issue 36)
    raw = s[s.condition == "raw"].iloc[0]
    assert raw.macro_f1_lo < raw.macro_f1_hi or raw.macro_f1_lo == raw.macro_f1
    assert "[" in (tmp_path / "run" / "judge_check.html").read_text()


def test_bootstrap_intervals_cover_the_truth_near_their_level():
    """Texts are independent: the BCa bootstrap of macro F1 over 60 texts covers the population's F1 about 95% of
    the time (simulated judge with 25% label noise; the validity suite measures every figure)."""
    rng = np.random.default_rng(1)
    big_gold = rng.random((20000, 4)) < 0.3
    noisy = lambda g: np.where(rng.random(g.shape) < 0.25, ~g, g).astype(float)  # noqa: E731
    truth = summarize(big_gold, noisy(big_gold), 0.5)["macro_f1"]
    covered = 0
    runs = 120
    for _ in range(runs):
        g = rng.random((60, 4)) < 0.3
        lo, hi = bootstrap_intervals(g, noisy(g), 0.5, resamples=300, seed=int(rng.integers(1e9)))["macro_f1"]
        covered += lo <= truth <= hi
    assert 0.85 <= covered / runs <= 0.99


def test_a_correction_that_breaks_the_ranking_is_not_kept():
    """Issue 25.2: per-value thresholds lifted F1 0.29 → 0.45 on MFT but dropped top-1 0.60 → 0.13: not kept."""
    raw = {"macro_f1": 0.29, "top1": 0.60, "mean_rank": 2.0}
    results = {"raw": raw, "thresholds": {"macro_f1": 0.45, "top1": 0.13, "mean_rank": 2.27},
               "global threshold": {"macro_f1": 0.40, "top1": 0.60, "mean_rank": 2.0},
               "contextual": {"macro_f1": 0.20, "top1": 0.62, "mean_rank": 1.9}}
    intervals = {"top1": (0.45, 0.75), "mean_rank": (1.6, 2.4)}
    assert choose_correction(results, intervals) == "global threshold"
    assert choose_correction({"raw": raw, "thresholds": results["thresholds"]}, intervals) == "raw"
    # within the raw figures' intervals a small drop is no worsening
    ok = {"raw": raw, "thresholds": {"macro_f1": 0.45, "top1": 0.50, "mean_rank": 2.3}}
    assert choose_correction(ok, intervals) == "thresholds"


def test_a_saved_calibration_applied_to_other_texts_learns_nothing(tmp_path, judges):
    labels, _ = judges
    config = RunConfig.model_validate({"roles": {"judge": "mock/biased"}})
    learned = judge_check(config, tmp_path / "learn", labels=labels)
    cal = learned.calibrations["schwartz10/per-value"]
    other, _ = _labelled_file(tmp_path / "x", n=30) if (tmp_path / "x").mkdir() is None else None
    checked = judge_check(config, tmp_path / "external", labels=other, calibration=cal)
    s = checked.summary.set_index("condition")
    assert list(s.index) == ["raw", "calibrated"] and s.loc["calibrated", "kept"]
    assert s.loc["calibrated", "texts"] == 30  # every text, none held back to learn on
    assert s.loc["calibrated", "macro_f1"] > s.loc["raw", "macro_f1"]
    assert not checked.calibrations  # nothing new saved
    data = json.loads((tmp_path / "external" / "judge_check.json").read_text())
    assert data["external_calibration"]["judge"] == "mock/biased"
    with pytest.raises(Exception, match="learned for judge mock/biased"):
        judge_check(RunConfig.model_validate({"roles": {"judge": "mock/other"}}), tmp_path / "wrong", labels=other,
                    calibration=cal)


def test_two_judges_are_compared_on_the_same_texts(tmp_path, judges):
    labels, _ = judges
    config = RunConfig.model_validate({"roles": {"judge": "mock/biased"}})
    result = judge_check(config, tmp_path / "two", labels=labels, judges=["mock/biased", "mock/other"])
    assert set(result.summary.variant) == {"mock/biased:schwartz10/per-value", "mock/other:schwartz10/per-value",
                                           "mean:schwartz10/per-value"}  # issue 37.3: their average, measured alike
    report = json.loads((tmp_path / "two" / "judge_check.json").read_text())["variants"]
    assert report["mean:schwartz10/per-value"]["judge"] == "mock/biased, mock/other".join(("mean(", ")"))
    raw = result.summary[result.summary.condition == "raw"].set_index("variant")
    between = sorted(raw.loc[[f"{j}:schwartz10/per-value" for j in ("mock/biased", "mock/other")], "mean_rank"])
    assert raw.loc["mean:schwartz10/per-value", "texts"] == raw.loc["mock/biased:schwartz10/per-value", "texts"]
    assert np.isfinite(raw.loc["mean:schwartz10/per-value", "mean_rank"]) and between[0] > 0
    a = result.agreement
    assert set(a.judge_a) | set(a.judge_b) == {"mock/biased", "mock/other"}  # κ between the judges themselves
    assert set(a.value) == {*SCHWARTZ.ids, "all values"} and (a.n > 0).all()
    overall = a[a.value == "all values"].iloc[0]
    assert -1 <= overall.kappa <= 1 and overall.agreement > 0.5
    same = judge_check(config, tmp_path / "same", labels=labels, judges=["mock/biased", "mock/biased"])
    assert same.agreement is None or (same.agreement.kappa.dropna() == 1).all()


def test_scores_json_and_the_report_name_the_judge_and_its_quality(tmp_path, judges):
    labels, _ = judges
    bench = tmp_path / "b.jsonl"
    bench.write_text('{"question": "Should zoos be abolished?"}\n{"question": "Should voting be compulsory?"}\n')
    base = {"roles": {"targets": ["mock/a", "mock/b"], "judge": "mock/biased"}, "evaluation": {"bootstrap": 0}}
    unvalidated = evaluate(bench, RunConfig.model_validate(base), tmp_path / "raw")
    q = json.loads((unvalidated.run_dir / "scores.json").read_text())["judge_quality"]
    assert q["validated"] is False and "adaem judge-check --judge mock/biased" in q["note"]
    assert q["calibration"] == "none"  # no calibration ships for a mock judge: auto is none
    check = judge_check(RunConfig.model_validate({"roles": {"judge": "mock/biased"}}), tmp_path / "jc", labels=labels)
    cal = check.calibrations["schwartz10/per-value"]
    with_cal = evaluate(bench, RunConfig.model_validate({**base, "evaluation": {"bootstrap": 0, "calibration": cal}}),
                        tmp_path / "cal")
    q = json.loads((with_cal.run_dir / "scores.json").read_text())["judge_quality"]
    assert q["validated"] and q["calibration"] == cal and q["correction"] == "contextual"
    assert q["quality"]["macro_f1"] == pytest.approx(1.0) and len(q["quality"]["macro_f1_ci"]) == 2
    assert "ece_ci" not in q["quality"]  # the ECE has no interval; strict JSON has no NaN
    per_value = {r["value"]: r for r in q["quality"]["per_value"]}  # issue 37.4: what each value's numbers mean
    assert set(per_value) == set(SCHWARTZ.ids)
    found = [r for r in per_value.values() if r["support"]]
    assert found and all(r["recall"] == pytest.approx(1.0) and r["recall_ci"][0] < 1.0 == r["recall_ci"][1]
                         for r in found)  # a perfect judge: recall 1 with Wilson's interval below it
    named = evaluate(bench, RunConfig.model_validate({**base, "evaluation": {"bootstrap": 0, "calibration": "none",
                                                                            "judge_check": str(tmp_path / "jc")}}),
                     tmp_path / "named")
    q = json.loads((named.run_dir / "scores.json").read_text())["judge_quality"]
    assert q["validated"] and q["correction"] == "raw" and q["quality_source"] == str(tmp_path / "jc")
    assert {r["value"] for r in q["quality"]["per_value"]} == set(SCHWARTZ.ids)
    from adaem.report.collect import collect_run

    assert collect_run(with_cal.run_dir).judge["quality"]["macro_f1"] == pytest.approx(1.0)


def test_the_embedded_judge_is_calibrated_by_default():
    """Issue 25.1: `auto` finds the calibration shipped for the embedded judge; `none` turns it off."""
    shipped = shipped_calibrations()
    assert (EMBEDDED, "schwartz10", "per-value", "one-definition", "opinion") in shipped  # (…, kind of text)
    config = RunConfig()
    path = calibration_file(config.evaluation.calibration, EMBEDDED, "schwartz10", "per-value",
                            config.evaluation.judge_prompt)
    assert path is not None and path in shipped.values()
    assert calibration_file("none", EMBEDDED, "schwartz10", "per-value") is None
    q = judge_quality(config, "schwartz10")
    assert q["calibration_source"] == "shipped" and q["validated"] and q["quality"]["texts"] >= 30  # answers


def test_the_joint_protocol_has_its_shipped_calibration_whatever_the_per_value_prompt():
    """Issue 25.1, "per protocol": the embedded judge's joint protocol is calibrated too; the per-value prompt setting
    does not hide it (a joint judge-check records "one-definition")."""
    for theory in ("schwartz10", "mft"):
        path = calibration_file("auto", EMBEDDED, theory, "joint", "one-definition")
        assert path is not None and "joint" in Path(path).name
        assert calibration_file("auto", EMBEDDED, theory, "joint", "all-definitions") == path
        config = RunConfig.model_validate({"evaluation": {"protocol": "joint", "judge_prompt": "all-definitions",
                                                          "theory": theory, "unit": "opinion"}})
        q = judge_quality(config, theory)
        assert q["calibration"] == path and q["validated"] and q["prompt"] is None


def test_whole_answers_get_the_calibration_learned_on_whole_answers():
    """The crafted sets' thresholds silence the embedded judge on real whole answers (F1 0.34 → 0.02 on the 69
    labelled answers: every demo profile read 0%), so a calibration says which kind of text it was learned on and
    `auto` applies it only to that kind: whole answers get the one learned on the real-answers set."""
    opinion = calibration_file("auto", EMBEDDED, "schwartz10", "per-value", "one-definition", "opinion")
    answer = calibration_file("auto", EMBEDDED, "schwartz10", "per-value", "one-definition", "answer")
    assert opinion and answer and opinion != answer
    assert json.loads(Path(answer).read_text())["unit"] == "answer"
    assert json.loads(Path(opinion).read_text()).get("unit", "opinion") == "opinion"
    mft_answer = calibration_file("auto", EMBEDDED, "mft", "per-value", "one-definition", "answer")
    assert mft_answer and json.loads(Path(mft_answer).read_text())["unit"] == "answer"  # issue 37: MFT too
    q = judge_quality(RunConfig(), "schwartz10")  # the default unit is the whole answer
    assert q["calibration"] == answer and q["calibration_unit"] == "answer" and q["validated"]
    assert q["quality"]["labels"] == "real_answers_schwartz10.jsonl" and q["quality"]["per_value"]  # issue 37
    mft = judge_quality(RunConfig.model_validate({"evaluation": {"theory": "mft"}}), "mft")
    assert mft["validated"] and mft["quality"]["labels"] == "real_answers_mft.jsonl"  # no default run is unvalidated


async def test_two_judges_behind_a_loopback_server(tmp_path, stub):
    """`--judge A --judge B` against an OpenAI-compatible server: both label every text, κ per value and overall."""
    from adaem.analysis.judge_check import judge_check_async

    labels, _ = _labelled_file(tmp_path, n=20)
    config = RunConfig.model_validate({"roles": {"judge": "stub/sim-j"},
                                       "endpoints": {"stub": {"base_url": stub.base_url}}})
    result = await judge_check_async(config, tmp_path / "run", labels=labels, judges=["stub/sim-j", "stub/sim-k"])
    assert {v.split(":")[0] for v in result.summary.variant} == {"stub/sim-j", "stub/sim-k", "mean"}
    overall = result.agreement[result.agreement.value == "all values"].iloc[0]
    assert overall.n == 20 * 10 and -1 <= overall.kappa <= 1
    assert (tmp_path / "run" / "judge_agreement.csv").exists()


REAL_RUNS = Path(__file__).parent.parent / "benchmarks" / "results" / "judge-check-qwen2.5-coder-1.5b"


@pytest.mark.parametrize("theory", ["schwartz10", "mft"])
def test_the_shipped_whole_answer_calibration_is_what_judge_check_learns_on_the_real_answers(tmp_path, theory):
    """Issue 37: the shipped whole-answer calibration is the output of `adaem judge-check --theory T --labels
    data/judge_validation/real_answers_T.jsonl --unit answer` (embedded 1.5B judge, seed 0). The judge's P(yes) of
    that run ship beside it (~25 min of judge calls on 2 cores: not repeated here); a resumed check on them learns
    the same correction with the same held-out figures, so the figures a report shows can be reproduced."""
    import shutil

    run = REAL_RUNS / f"real-answers-175-{theory}"
    if not run.exists():
        pytest.skip(f"no recorded judge-check run for {theory}")
    shutil.copytree(run, tmp_path / "jc")
    labels = Path(__file__).parent.parent / "src" / "adaem" / "data" / "judge_validation" / f"real_answers_{theory}.jsonl"
    result = judge_check(RunConfig.model_validate({"roles": {"judge": EMBEDDED}}), tmp_path / "jc", labels=labels,
                         theories=[theory], unit="answer", resume=True)
    learned = json.loads(Path(result.calibrations[f"{theory}/per-value"]).read_text())
    shipped = calibration_file("auto", EMBEDDED, theory, "per-value", "one-definition", "answer")
    assert shipped is not None
    assert learned["quality"] == json.loads(Path(shipped).read_text())["quality"]
    assert learned["quality"]["figures"][learned["quality"]["kept"]]["per_value"]  # what the report's line reads


ENSEMBLE_RUNS = Path(__file__).parent.parent / "benchmarks" / "results" / "judge-check-ensemble"


@pytest.mark.parametrize("theory", ["schwartz10", "mft"])
def test_the_recorded_two_judge_check_gives_the_documented_figures(tmp_path, theory):
    """Issue 37.3: both embedded judges and their mean on the real answers (docs/explanation/judge.md quotes the
    figures). The P(yes) of both judges are recorded; a resumed check learns the same corrections without a call."""
    import shutil

    run = ENSEMBLE_RUNS / f"real-answers-175-{theory}"
    if not run.exists():
        pytest.skip(f"no recorded two-judge run for {theory}")
    shutil.copytree(run, tmp_path / "jc")
    recorded = json.loads((run / "judge_check.json").read_text())["variants"]
    labels = Path(__file__).parent.parent / "src" / "adaem" / "data" / "judge_validation" / f"real_answers_{theory}.jsonl"
    result = judge_check(RunConfig.model_validate({"roles": {"judge": EMBEDDED}}), tmp_path / "jc", labels=labels,
                         theories=[theory], unit="answer", resume=True)
    kept = result.summary[result.summary.kept].set_index("variant")
    assert set(kept.index) == set(recorded) and any(v.startswith("mean:") for v in kept.index)
    for variant, figures in recorded.items():
        assert kept.loc[variant, "condition"] == figures["kept"]
        assert kept.loc[variant, "macro_f1"] == pytest.approx(figures["conditions"][figures["kept"]]["macro_f1"])
