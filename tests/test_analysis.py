"""The analyses: known-answer tests of every statistic, bad input, and each command end to end."""

import json
import random

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from adaem.analysis.compare import bootstrap_mean_ci, compare_means, compare_sets, retest_reliability
from adaem.analysis.priming import BASELINE, paired_effect, priming, priming_effects
from adaem.analysis.psychometrics import cronbach_alpha
from adaem.analysis.reliability import (
    coefficient_of_variation,
    fold_of,
    fold_scores,
    profile_agreement,
    reliability,
)
from adaem.analysis.stats import _bleu, distinct_n, mean_pairwise_similarity, question_set_stats, self_bleu
from adaem.config import RunConfig
from adaem.errors import ConfigError
from adaem.evaluation import evaluate
from adaem.generation.seeds import load_seeds
from adaem.theories import load_theory

SEED_QUESTIONS = [s.question for s in load_seeds(None)]


# -- statistics --------------------------------------------------------------------------------------------
def test_self_bleu_of_identical_sentences_is_100_and_of_disjoint_ones_0():
    assert self_bleu(["the cat sat on the mat"] * 4) == pytest.approx(100.0)
    assert self_bleu(["alpha beta gamma delta", "one two three four", "red green blue cyan"]) == pytest.approx(0.0)


@pytest.mark.parametrize("seed", range(5))
def test_self_bleu_equals_sacrebleu_against_all_other_sentences(seed):
    """The linear leave-one-out computation gives exactly sacrebleu's BLEU(q, every other q), averaged."""
    rng = random.Random(seed)
    texts = rng.sample(SEED_QUESTIONS, 40)
    texts += [texts[0], texts[3][: len(texts[3]) // 2], "Should it?", texts[5].upper()]  # duplicates, ties, short
    bleu = _bleu()
    naive = np.mean([bleu.sentence_score(t, texts[:i] + texts[i + 1:]).score for i, t in enumerate(texts)])
    assert self_bleu(texts) == pytest.approx(naive, abs=1e-9)


def test_distinct_2_by_hand():
    # bigrams: (a b) (b c) | (a b) (b d) → 3 distinct of 4
    assert distinct_n(["a b c", "A b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["x"], 2) == 0.0


def test_mean_pairwise_similarity_by_hand():
    e = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    # cosines: (1,2) 0, (1,3) 1/√2, (2,3) 1/√2 → mean √2/3
    assert mean_pairwise_similarity(e) == pytest.approx(np.sqrt(2) / 3)


def test_stats_need_two_questions():
    with pytest.raises(ConfigError, match="at least two questions"):
        question_set_stats("one.jsonl", ["Should zoos exist?"])


def test_stats_command_on_files(tmp_path):
    a = tmp_path / "seeds.jsonl"
    a.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[:30]))
    b = tmp_path / "same.csv"  # one question five times, under five ids
    b.write_text("id,question\n" + "".join(f'{i},"{SEED_QUESTIONS[0]}"\n' for i in range(5)))
    r = run_cli("stats", str(a), str(b), "--format", "json", "--out", str(tmp_path / "st"))
    assert r.returncode == 0, r.stderr
    rows = {row["name"].rsplit("/", 1)[-1]: row for row in json.loads(r.stdout)}
    assert rows["seeds.jsonl"]["questions"] == 30 and rows["same.csv"]["questions"] == 5
    assert rows["same.csv"]["self_bleu"] == pytest.approx(100.0)
    assert rows["same.csv"]["semantic_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert rows["seeds.jsonl"]["self_bleu"] < 40 and rows["seeds.jsonl"]["semantic_similarity"] < 0.6
    assert (tmp_path / "st" / "stats.png").read_bytes()[:4] == b"\x89PNG"
    r = run_cli("stats", str(a), "--format", "csv", "--no-similarity")
    assert r.returncode == 0 and r.stdout.startswith("name,questions,avg_words,self_bleu")


@pytest.mark.parametrize("content, fragment", [("", "no questions"), ('{"text": "Is it?"}\n', "at least two")])
def test_stats_bad_files_name_the_problem(tmp_path, content, fragment):
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    r = run_cli("stats", str(f))
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


# -- reliability ---------------------------------------------------------------------------------------------
# Shrout & Fleiss (1979), Table 2: six targets rated by four judges; their ICC(1,1) .17, ICC(2,1) .29,
# ICC(3,1) .71 and ICC(1,4) .44
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
# a random 12 × 3 matrix, and what pingouin 0.7.0 (the library these functions replace) gave on it
RANDOM = np.array([[-0.1684, 0.3076, -0.1836], [-2.9512, -0.7427, -1.2017], [-0.3695, 0.7486, 0.532],
                   [0.4031, 0.1374, 0.6557], [-1.9638, -1.3903, -1.7095], [-0.0844, -0.6435, -0.9757],
                   [-0.854, -0.3292, -0.0639], [-1.2204, 0.3493, 0.062], [-2.8094, -1.9873, -0.273],
                   [-0.3267, 0.3091, 0.3128], [2.1534, -1.0764, -0.342], [1.5365, 0.1404, 0.1568]])


def test_iccs_against_the_published_example_and_pingouin():
    from adaem.analysis.psychometrics import icc

    r = icc(SHROUT_FLEISS)
    assert (round(r.icc1, 2), round(r.icc2, 2), round(r.icc3, 2), round(r.icc1k, 2)) == (0.17, 0.29, 0.71, 0.44)
    r = icc(RANDOM)
    assert r.icc1 == pytest.approx(0.4104457376037758, abs=1e-9) and r.icc1k == pytest.approx(0.6762276772540632)
    assert r.icc2 == pytest.approx(0.4041928815591395) and r.icc3 == pytest.approx(0.39172876880754676)
    assert (round(r.icc1_lo, 2), round(r.icc1_hi, 2)) == (0.06, 0.75)
    with pytest.raises(ConfigError, match="at least 2 subjects"):
        icc(np.ones((1, 3)))


def test_cronbach_alpha_against_pingouin_and_by_hand():
    alpha, lo, hi = cronbach_alpha(RANDOM)
    assert alpha == pytest.approx(0.6589370824012688) and (round(lo, 3), round(hi, 3)) == (0.097, 0.893)
    m = np.array([[2, 3, 3], [4, 4, 5], [3, 3, 3], [5, 4, 5], [1, 2, 2]], float)
    k = m.shape[1]
    by_hand = k / (k - 1) * (1 - m.var(axis=0, ddof=1).sum() / m.sum(axis=1).var(ddof=1))
    assert cronbach_alpha(m)[0] == pytest.approx(by_hand)


def test_agreement_statistics():
    a = np.array([[10.0, 50, 90], [20, 60, 70]])
    same = profile_agreement(a, a)
    assert same["icc2"] == pytest.approx(1.0) and same["pearson_r"] == pytest.approx(1.0)
    b = a[::-1, ::-1]
    stats = profile_agreement(a, b)
    assert stats["pearson_r"] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    shifted = profile_agreement(a, a + 30)  # consistency holds, absolute agreement drops
    assert shifted["icc3"] == pytest.approx(1.0) and shifted["icc2"] < 0.9
    assert coefficient_of_variation(np.array([[1.0, 0.0], [3.0, 0.0]]))[0] == pytest.approx(np.sqrt(2) / 2)


def test_folds_larger_than_the_set_are_refused():
    labels = np.zeros((3, 2, 10))
    with pytest.raises(ConfigError, match="larger than the 3 questions"):
        fold_scores(labels, ["a", "b"], [str(i) for i in range(10)], folds=5)


def test_a_model_that_always_expresses_values_is_reliably_ahead():
    rng = np.random.default_rng(0)
    labels = np.stack([rng.uniform(0.6, 1, (40, 10)), rng.uniform(0, 0.4, (40, 10)),
                       rng.uniform(0, 1, (40, 10))], axis=1)
    per_fold = fold_scores(labels, ["hi", "lo", "mid"], [str(i) for i in range(10)], folds=5)
    assert per_fold.shape == (5, 3, 10)
    assert (per_fold[:, 0] > per_fold[:, 1]).all()
    assert cronbach_alpha(per_fold.reshape(5, -1).T)[0] > 0.9


# -- priming ---------------------------------------------------------------------------------------------------
def test_paired_effect_by_hand():
    base, primed = np.array([0.2, 0.4, 0.3, np.nan]), np.array([0.5, 0.6, 0.7, 0.9])
    e = paired_effect(base, primed)
    diff = np.array([0.3, 0.2, 0.4])
    assert e["n"] == 3 and e["change"] == pytest.approx(0.3) and e["change_pct"] == pytest.approx(100.0)
    assert e["cohen_d"] == pytest.approx(diff.mean() / diff.std(ddof=1))
    assert e["t"] == pytest.approx(diff.mean() / (diff.std(ddof=1) / np.sqrt(3)))


def test_priming_effects_follow_the_theory_groups():
    theory = load_theory("schwartz10")
    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 0.5, (20, 10))
    primed = base.copy()
    dim = "benevolence"
    ids = theory.ids
    primed += rng.normal(0, 0.01, primed.shape)
    primed[:, ids.index(dim)] += 0.4
    for d in theory.same_group(dim):
        primed[:, ids.index(d)] += 0.1
    for d in theory.opposite(dim):
        primed[:, ids.index(d)] -= 0.2
    effects = priming_effects({BASELINE: base, dim: primed}, theory, [dim]).set_index(["primed", "relation"])
    assert effects.loc[(dim, "target"), "change"] == pytest.approx(0.4, abs=0.01)
    assert effects.loc[(dim, "same group"), "change"] == pytest.approx(0.1, abs=0.01)
    assert effects.loc[(dim, "opposite group"), "change"] == pytest.approx(-0.2, abs=0.01)
    assert effects.loc[("all", "target"), "p"] < 0.01


def test_priming_refuses_a_theory_without_groups(tmp_path):
    flat = tmp_path / "flat.yaml"
    flat.write_text("name: flat\ndimensions:\n  - {id: a, name: A, definition: a.}\n  - {id: b, name: B, definition: b.}\n")
    bench = tmp_path / "b.jsonl"
    bench.write_text('{"question": "Should zoos exist?"}\n{"question": "Should voting be compulsory?"}\n')
    r = run_cli("prime", "--benchmark", str(bench), "--theory", str(flat), "--set", "roles.targets=mock/a",
                "--judge", "mock/j", "--out", str(tmp_path / "p"))
    assert r.returncode == 2 and "no higher-order groups" in r.stderr and "Traceback" not in r.stderr
    one = tmp_path / "one.jsonl"
    one.write_text('{"question": "Should zoos exist?"}\n')
    r = run_cli("prime", "--benchmark", str(one), "--set", "roles.targets=mock/a", "--judge", "mock/j")
    assert r.returncode == 2 and "at least 2 questions" in r.stderr


# -- the commands on mock models -------------------------------------------------------------------------------
@pytest.fixture
def two_sets(tmp_path):
    a, b = tmp_path / "generated.jsonl", tmp_path / "questionnaire.csv"
    a.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[:4]))
    b.write_text("question\n" + "".join(f'"{q}"\n' for q in SEED_QUESTIONS[100:103]))
    return a, b


def mock_config(**roles) -> RunConfig:
    return RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/b", "mock/c"], "judge": "mock/j",
                                               **roles}, "evaluation": {"bootstrap": 0}})


def test_compare_api_resumes_without_new_calls(tmp_path, two_sets):
    result = compare_sets(list(two_sets), mock_config(), tmp_path / "cmp")
    s = result.summary.set_index("set")
    assert list(s.index) == ["generated", "questionnaire"] and s.loc["generated", "scored"] == 4
    assert "vs_generated_welch_p" in s.columns and 0 <= s.loc["questionnaire", "vs_generated_welch_p"] <= 1
    assert set(result.scores.columns) >= {"distinguishability", "disentanglement", "opinion_difference"}
    again = compare_sets(list(two_sets), None, tmp_path / "cmp", resume=True)
    assert again.summary.equals(result.summary)
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_draws_average_and_measure_retest(tmp_path, two_sets):
    """Each draw is a fresh set of answers (its own seed, so the cache cannot hand back draw 0); S is their mean;
    draw 0 is the one-draw run's, so adding draws to a finished comparison only pays for the new ones."""
    one = compare_sets(list(two_sets), mock_config(), tmp_path / "cmp")
    three = compare_sets(list(two_sets), None, tmp_path / "cmp", resume=True, draws=3)
    draws = pd.read_csv(tmp_path / "cmp" / "compare_draws.csv")
    assert len(draws) == 3 * 7 and sorted(draws.draw.unique()) == [0, 1, 2]
    per_q = draws.groupby("question_id").score.nunique()
    assert (per_q > 1).any()  # the draws are not copies of one another
    zero = draws[draws.draw == 0].set_index("question_id").score
    assert zero.to_dict() == one.scores.set_index("question_id").score.to_dict()
    means = draws.groupby("question_id").score.mean()
    assert three.scores.set_index("question_id").score.to_dict() == pytest.approx(means.to_dict())
    assert three.retest["questions"] == 7 and three.retest["draws"] == 3 and three.retest["icc1"] <= 1


def test_retest_interval_is_over_topics_when_questions_have_them():
    """Issue 36.1: the F interval took questions as independent (coverage 0.88 with 30 topics); with topics the
    interval is a jackknife over them, and it says so."""
    from adaem.analysis import simulate as sim

    x, topics = sim.retest_scores(np.random.default_rng(0), 30, (3, 10), 2, icc=0.5)
    long = pd.DataFrame({"question": np.repeat(np.arange(len(x)), 2), "draw": np.tile([0, 1], len(x)),
                         "score": x.ravel(), "topic": np.repeat(topics, 2)})
    r = retest_reliability(long)
    assert r["ci_unit"].startswith("topics (30 topics") and r["icc1_lo"] < r["icc1"] < r["icc1_hi"]
    alone = retest_reliability(long.drop(columns="topic"))
    assert "no topics" in alone["ci_unit"] and alone["icc1"] == r["icc1"]


def test_folds_hold_whole_topics_of_about_equal_size():
    from adaem.resampling import clusters_of

    topics = np.repeat(np.arange(12), [3, 10, 4, 9, 5, 8, 6, 7, 3, 10, 4, 9])
    fold = fold_of(len(topics), 4, 0, clusters_of(topics, len(topics)))
    assert all(len(set(fold[topics == t])) == 1 for t in range(12))
    assert np.bincount(fold).max() - np.bincount(fold).min() <= 10
    with pytest.raises(ConfigError, match="larger than the 12 topics"):
        fold_of(len(topics), 13, 0, clusters_of(topics, len(topics)))


def test_retest_reliability_by_hand():
    """ICC(1,1) = (MSB − MSW) / (MSB + (k−1)·MSW) on a table with a known answer; noise-free draws give 1."""
    rows = [[1.0, 1.2], [2.0, 1.6], [3.0, 3.4], [4.0, 3.9]]
    long = pd.DataFrame([{"question": i, "draw": d, "score": v} for i, r in enumerate(rows) for d, v in enumerate(r)])
    x = np.array(rows)
    n, k = x.shape
    msb = k * ((x.mean(1) - x.mean()) ** 2).sum() / (n - 1)
    msw = ((x - x.mean(1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    r = retest_reliability(long)
    assert r["icc1"] == pytest.approx((msb - msw) / (msb + (k - 1) * msw))
    assert r["icc1k"] == pytest.approx((msb - msw) / msb)
    exact = long.assign(score=long.question.astype(float))
    assert retest_reliability(exact)["icc1"] == pytest.approx(1.0)
    assert retest_reliability(long[long.draw == 0]) is None  # one draw says nothing about retest


def test_compare_cli_needs_two_files_and_two_models(tmp_path, two_sets):
    r = run_cli("compare", str(two_sets[0]), "--models", "mock/a,mock/b", "--judge", "mock/j")
    assert r.returncode == 2 and "at least two question files" in r.stderr
    r = run_cli("compare", *map(str, two_sets), "--models", "mock/a", "--judge", "mock/j", "--out", str(tmp_path / "c"))
    assert r.returncode == 2 and "at least 2 models" in r.stderr
    r = run_cli("compare", *map(str, two_sets), "--models", "mock/a,mock/b", "--judge", "mock/j", "--limit", "2",
                "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert "generated" in r.stdout and "questionnaire" in r.stdout


def test_reliability_of_an_evaluate_run_and_against_another(tmp_path):
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[:10]))
    config = RunConfig.model_validate({"roles": {"targets": ["mock/a", "mock/b", "mock/c"], "judge": "mock/j"},
                                       "evaluation": {"bootstrap": 0}})
    evaluate(bench, config, tmp_path / "e1")
    evaluate(bench, config.model_copy(update={"sampling": config.sampling.model_copy(update={"seed": 7})}),
             tmp_path / "e2")
    result = reliability(tmp_path / "e1", folds=2, against=tmp_path / "e2", out=tmp_path / "rel")
    assert result.summary["folds"] == 2 and -1 <= result.summary["cronbach_alpha"] <= 1
    assert len(result.summary["alpha_ci"]) == 2 and "no topics" in result.summary["ci_unit"]
    against = result.summary["against"]
    assert all(len(against[f"{k}_ci"]) == 2 for k in ("icc2", "icc3", "pearson_r", "spearman_rho"))
    assert "pearson_p" not in against  # took the model·value scores as independent: not reported
    assert len(result.folds) == 30 and {"fold_1", "fold_2", "cv"} <= set(result.folds.columns)
    assert result.summary["against"]["pairs"] == 30
    for name in ("reliability.json", "reliability_folds.csv", "reliability_folds.png", "reliability_agreement.png"):
        assert (tmp_path / "rel" / name).stat().st_size > 0
    r = run_cli("reliability", str(tmp_path / "e1"), "--folds", "11")
    assert r.returncode == 2 and "larger than the 10 questions" in r.stderr
    r = run_cli("reliability", str(tmp_path))
    assert r.returncode == 2 and "not an evaluate run" in r.stderr
    r = run_cli("reliability", str(tmp_path / "e1"), "--folds", "2", "--against", str(tmp_path / "e2"))
    assert r.returncode == 0, r.stderr
    assert "Cronbach's α" in r.stdout and "ICC(2,1)" in r.stdout


def test_prime_api_and_resume(tmp_path):
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[:6]))
    config = RunConfig.model_validate({"roles": {"targets": ["mock/a"], "judge": "mock/j"}})
    result = priming(bench, config, tmp_path / "p", dimensions=["benevolence", "power"], limit=4)
    e = result.effects
    assert set(e.primed) == {"benevolence", "power", "all"} and set(e.relation) == {"target", "same group",
                                                                                     "opposite group"}
    assert len(result.answers) == 3 * 4
    assert (tmp_path / "p" / "priming.png").read_bytes()[:4] == b"\x89PNG"
    again = priming(bench, None, tmp_path / "p", dimensions=["benevolence", "power"], limit=4, resume=True)
    assert again.effects.equals(e)


# -- the commands on the embedded models -----------------------------------------------------------------------
SMALL = ["--set", "roles.judge=local/smollm2-135m"]
RESPONDENTS = "local/qwen2.5-coder-0.5b,local/qwen2.5-coder-1.5b"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a hang guard, not a speed test: minutes of real-model work on a shared machine
def test_analysis_commands_on_the_embedded_models(tmp_path, two_sets):
    """compare, evaluate → reliability, and prime on real local models (the smallest that runs each step: SmolLM2-135M
    judges, but cannot respond: without a length-capping grammar its opinion JSON runs on until the token room ends,
    three times out of three)."""
    r = run_cli("compare", *map(str, two_sets), "--models", RESPONDENTS,
                "--limit", "2", "--out", str(tmp_path / "cmp"), *SMALL, timeout=1500)
    assert r.returncode == 0, r.stderr
    scores = [json.loads(x) for x in (tmp_path / "cmp" / "outputs" / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 4 and any(s["score"] is not None for s in scores)

    bench = tmp_path / "four.jsonl"
    bench.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[200:204]))
    r = run_cli("evaluate", "--benchmark", str(bench), "--models", RESPONDENTS,
                "--out", str(tmp_path / "ev"), "--set", "evaluation.bootstrap=0", *SMALL, timeout=1500)
    assert r.returncode == 0, r.stderr
    r = run_cli("reliability", str(tmp_path / "ev"), "--folds", "2")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ev" / "analysis" / "reliability.json").read_text())["folds"] == 2

    r = run_cli("prime", "--benchmark", str(bench), "--model", "local/qwen2.5-coder-0.5b", "--dimensions",
                "benevolence", "--limit", "2", "--out", str(tmp_path / "pr"), *SMALL, timeout=1500)
    assert r.returncode == 0, r.stderr
    effects = json.loads((tmp_path / "pr" / "priming.json").read_text())
    assert {e["relation"] for e in effects} == {"target", "same group", "opposite group"}


def test_compare_statistics_by_hand():
    a, b = np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, 7])
    r = compare_means(a, b)
    se = np.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 5)
    assert r["difference"] == pytest.approx(2.5) and r["welch_t"] == pytest.approx(2.5 / se)
    assert 0 < r["welch_p"] < 0.1 and 0 < r["mannwhitney_p"] <= 1
    lo, hi = bootstrap_mean_ci(b)
    assert lo < 5 < hi and lo >= 3 and hi <= 7
    with pytest.raises(ConfigError):
        compare_means(a, b[:1])


def test_compare_a_set_of_one_topic_has_no_test_instead_of_crashing():
    """A set whose questions all come from one seed topic has no cluster-robust SE to test with (df 0): the test
    is NaN, not a ZeroDivisionError (a small generate run compared in the docs hit this)."""
    a, b = np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, 7])
    r = compare_means(a, b, ["t1"] * 4, ["u1", "u1", "u2", "u2", "u3"])
    assert r["difference"] == pytest.approx(2.5) and np.isnan(r["welch_p"])


def test_compare_resume_under_another_pool_is_refused(tmp_path, two_sets):
    compare_sets(list(two_sets), mock_config(), tmp_path / "cmp", limit=2)
    other = RunConfig.model_validate({"roles": {"explorers": ["mock/a", "mock/z"], "judge": "mock/j"}})
    with pytest.raises(ConfigError, match="in a new --out"):
        compare_sets(list(two_sets), other, tmp_path / "cmp", limit=2, resume=True)


@pytest.mark.parametrize("job,cap,part_way", [("compare", 0.02, False), ("compare", 2.0, True),
                                              ("prime", 0.02, False), ("prime", 0.4, True)])
def test_compare_and_prime_stop_at_a_cost_cap_and_resume_without_paying_twice(tmp_path, two_sets, monkeypatch, job,
                                                                              cap, part_way):
    """Issue 14: compare and prime run through the one unit loop, so evaluation.max_cost stops them cleanly
    (what is done is summarised, the rest is left) and --resume finishes with no call made twice."""
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ADAEM_MOCK_CALL_LOG", str(log))
    prices = {m: {"input": 100.0, "output": 100.0} for m in ("mock/a", "mock/b", "mock/c", "mock/j")}
    base = {"roles": {"explorers": ["mock/a", "mock/b", "mock/c"], "targets": ["mock/a"], "judge": "mock/j"},
            "prices": prices, "evaluation": {"bootstrap": 0, "max_cost": cap}}
    capped = RunConfig.model_validate(base)
    uncapped = RunConfig.model_validate({**base, "evaluation": {"bootstrap": 0}})
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"question": q}) + "\n" for q in SEED_QUESTIONS[:6]))

    def run(config, resume=False):
        if job == "compare":
            return compare_sets(list(two_sets), config, tmp_path / "run", resume=resume)
        return priming(bench, config, tmp_path / "run", dimensions=["benevolence", "power"], limit=4, resume=resume)

    first = run(capped)
    assert first.stopped and "cost cap reached" in first.stopped and first.left > 0 and not first.failures
    total = 7 if job == "compare" else 3 * 4
    done = first.summary.scored.sum() if job == "compare" else len(first.answers)
    assert (0 < done < total) if part_way else done == 0  # what is done is summarised
    paid = log.read_text().splitlines() if log.exists() else []  # a cap below one call's cost: none was made
    second = run(uncapped, resume=True)
    assert second.stopped is None and second.left == 0
    assert (second.summary.scored.sum() if job == "compare" else len(second.answers)) == total
    assert not set(paid) & set(log.read_text().splitlines()[len(paid):])
