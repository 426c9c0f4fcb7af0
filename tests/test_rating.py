"""Ratings from team matches: hand-checkable cases, the package as oracle, bounds."""

import numpy as np
import pytest
import trueskill
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaem.rating import Rating, beta_of, matches, rate, score_table, value_scores, win_probability


def test_always_expressing_outranks_never():
    expressed = np.array([[True, False]] * 5)
    scores = value_scores(expressed)
    assert scores[0] > 90 and scores[1] < 10 and scores.sum() == pytest.approx(100)


def test_identical_models_tie_and_one_sided_matches_are_skipped():
    same = np.array([[True, True, True], [False, False, False], [True, True, True]])
    assert matches(same) == []
    assert value_scores(same) == pytest.approx([50, 50, 50])
    both = np.array([[True, False], [True, True], [False, False]])
    assert value_scores(both) == pytest.approx(value_scores(both[:1]))  # rows 2-3 change nothing


def test_missing_answers_sit_out():
    expressed = np.array([[True, False, False]])
    present = np.array([[True, True, False]])
    assert matches(expressed, present) == [([0], [1])]
    ratings = rate(expressed, present=present)
    assert ratings[2] == Rating(25.0, 25.0 / 3)


def test_win_probability_against_direct_trueskill():
    env = trueskill.TrueSkill()
    a, b = env.create_rating(mu=30, sigma=4), env.create_rating(mu=24, sigma=6)
    denom = np.sqrt(2 * env.beta**2 + a.sigma**2 + b.sigma**2)
    direct = env.cdf((a.mu - b.mu) / denom)
    assert win_probability(Rating(a.mu, a.sigma), Rating(b.mu, b.sigma), env.beta) == pytest.approx(direct)
    assert beta_of("trueskill") == env.beta


def test_scores_are_the_package_ratings_mean_win_probability():
    expressed = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=bool)
    env = trueskill.TrueSkill(draw_probability=0.0)
    r = [env.create_rating() for _ in range(3)]
    for row in expressed:
        w = [i for i in range(3) if row[i]]
        lo = [i for i in range(3) if not row[i]]
        nw, nl = env.rate([[r[i] for i in w], [r[i] for i in lo]], ranks=[0, 1])
        for i, x in zip(w + lo, list(nw) + list(nl), strict=True):
            r[i] = x
    direct = [np.mean([win_probability(Rating(r[i].mu, r[i].sigma), Rating(r[j].mu, r[j].sigma), env.beta)
                       for j in range(3) if j != i]) * 100 for i in range(3)]
    assert value_scores(expressed) == pytest.approx(direct)


@settings(max_examples=40, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(2, 5))))
def test_fast_two_team_update_equals_the_package(expressed):
    for a, b in zip(rate(expressed, "trueskill"), rate(expressed, "trueskill-fast"), strict=True):
        assert a.mu == pytest.approx(b.mu, abs=1e-5) and a.sigma == pytest.approx(b.sigma, abs=1e-5)


@settings(max_examples=30, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 8), st.integers(2, 4), st.integers(1, 3)),
              elements=st.floats(0, 1)))
def test_score_table_bounds(labels):
    models = [f"m{i}" for i in range(labels.shape[1])]
    dims = [f"d{i}" for i in range(labels.shape[2])]
    for system in ("trueskill", "openskill"):
        table = score_table(labels, models, dims, system=system, bootstrap=10)
        for arr in (table.score, table.rate):
            assert np.all((arr >= 0) & (arr <= 100))
        for lo, hi in ((table.rate_lo, table.rate_hi), (table.score_lo, table.score_hi)):
            shown = np.isfinite(lo)
            assert np.all((lo[shown] >= 0) & (hi[shown] <= 100) & (lo[shown] <= hi[shown] + 1e-9))
        assert np.isnan(table.score_lo).all() and "too few" in table.note  # at most 8 questions: no score interval


def test_a_tiny_benchmark_says_it_has_too_few_questions_for_a_score_interval():
    """Issue 36.4: three questions printed "91 [91–91]", a percentile bootstrap over three units. The score
    interval is withheld below 15 topics / 60 questions (where it covered under 0.93), and the note says so;
    the rate's analytic interval stays (it is conservative there, not degenerate)."""
    rng = np.random.default_rng(0)
    labels = rng.random((3, 2, 2))
    table = score_table(labels, ["a", "b"], ["x", "y"], bootstrap=200)
    assert np.isnan(table.score_lo).all() and np.isnan(table.score_hi).all()
    assert table.note.startswith("too few for an interval (3 questions, no topics)")
    assert np.all(table.rate_lo < table.rate_hi)
    big = score_table(rng.random((80, 2, 2)), ["a", "b"], ["x", "y"], bootstrap=50)
    assert np.isfinite(big.score_lo).all() and big.note == ""
    topics = [f"t{k // 8}" for k in range(80)]  # 10 topics of 8: too few topics for the bootstrap
    assert "10 topics, 80 questions" in score_table(rng.random((80, 2, 2)), ["a", "b"], ["x", "y"], topics=topics).note


def test_openskill_agrees_on_the_obvious_case():
    expressed = np.array([[True, False, False]] * 4)
    scores = value_scores(expressed, "openskill")
    assert scores[0] > scores[1] and scores[1] == pytest.approx(scores[2])


def test_rate_ci_covers_the_point_estimate():
    rng = np.random.default_rng(0)
    labels = rng.random((40, 3, 2))
    table = score_table(labels, ["a", "b", "c"], ["x", "y"], bootstrap=100)
    assert np.all(table.rate_lo <= table.rate) and np.all(table.rate <= table.rate_hi)
    assert table.questions == 40 and table.matches.shape == (2,)


def _sequential_two_teams(expressed, present):
    """The closed-form update as it was, one match at a time in Python (the oracle of the batched one)."""
    import math

    from adaem.rating import _v_w

    mu0, sigma0, beta, tau = 25.0, 25.0 / 3, 25.0 / 6, 25.0 / 300
    mu = [mu0] * expressed.shape[1]
    var = [sigma0**2] * expressed.shape[1]
    for winners, losers in matches(expressed, present):
        players = winners + losers
        var_t = {i: var[i] + tau**2 for i in players}
        c = math.sqrt(sum(var_t[i] + beta**2 for i in players))
        t = (sum(mu[i] for i in winners) - sum(mu[i] for i in losers)) / c
        v, w = _v_w(t)
        for i in players:
            sign = 1.0 if i in winners else -1.0
            mu[i] += sign * var_t[i] / c * v
            var[i] = var_t[i] * (1 - var_t[i] / c**2 * w)
    return [Rating(m, np.sqrt(s)) for m, s in zip(mu, var, strict=True)]


def test_batched_bootstrap_equals_one_resample_at_a_time():
    """Issue 13: every resample and dimension in one numpy pass gives today's CIs to 1e-6 for the same seed."""
    from adaem.rating import scores_from_ratings

    rng = np.random.default_rng(3)
    labels = rng.random((60, 4, 3))
    labels[rng.random(labels.shape) < 0.1] = np.nan  # missing answers and labels sit out
    table = score_table(labels, ["a", "b", "c", "d"], ["x", "y", "z"], bootstrap=50, seed=7)
    present = ~np.isnan(labels)
    expressed = (np.nan_to_num(labels) >= 0.5) & present
    draws = np.random.default_rng(7)
    boot = []
    for _ in range(50):
        rows = draws.integers(0, 60, 60)
        boot.append(np.stack([scores_from_ratings(_sequential_two_teams(expressed[rows, :, d], present[rows, :, d]),
                                                  beta_of("trueskill")) for d in range(3)], axis=1))
    lo, hi = np.percentile(np.stack(boot), [2.5, 97.5], axis=0)
    assert np.allclose(table.score_lo, lo, atol=1e-6) and np.allclose(table.score_hi, hi, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(2, 5))), st.integers(0, 2**16))
def test_batched_update_equals_the_sequential_one(expressed, seed):
    present = np.random.default_rng(seed).random(expressed.shape) < 0.8
    for a, b in zip(_sequential_two_teams(expressed, present), rate(expressed, "trueskill-fast", present), strict=True):
        assert a.mu == pytest.approx(b.mu, abs=1e-9) and a.sigma == pytest.approx(b.sigma, abs=1e-9)


def test_the_point_estimate_is_the_packages():
    rng = np.random.default_rng(5)
    labels = rng.random((30, 4, 2))
    labels[rng.random(labels.shape) < 0.1] = np.nan
    table = score_table(labels, list("abcd"), ["x", "y"], bootstrap=0)
    present = ~np.isnan(labels)
    expressed = (np.nan_to_num(labels) >= 0.5) & present
    for d in range(2):
        assert table.score[:, d] == pytest.approx(value_scores(expressed[:, :, d], "trueskill", present[:, :, d]), abs=1e-4)


def test_the_bootstrap_draws_whole_topics_when_questions_have_them():
    """Issue 24: questions of one topic move together; a bootstrap over questions was too narrow. With topics
    the rate intervals widen (here 10 topics of 8 questions sharing a rate), and the table names its unit;
    without topics it is the question bootstrap, draws unchanged."""
    rng = np.random.default_rng(1)
    topic_rate = rng.uniform(0.1, 0.9, (20, 1, 3))
    labels = (rng.random((160, 3, 3)) < np.repeat(topic_rate, 8, axis=0)).astype(float)
    topics = [f"t{k // 8}" for k in range(160)]
    by_question = score_table(labels, ["a", "b", "c"], ["x", "y", "z"], bootstrap=200, seed=2)
    by_topic = score_table(labels, ["a", "b", "c"], ["x", "y", "z"], bootstrap=200, seed=2, topics=topics)
    assert np.allclose(by_topic.rate, by_question.rate) and np.allclose(by_topic.score, by_question.score)
    assert ((by_topic.rate_hi - by_topic.rate_lo) > (by_question.rate_hi - by_question.rate_lo)).mean() > 0.8
    assert by_topic.unit.startswith("topics (20 topics") and "no topics" in by_question.unit
    again = score_table(labels, ["a", "b", "c"], ["x", "y", "z"], bootstrap=200, seed=2, topics=[None] * 160)
    assert np.array_equal(again.score_lo, by_question.score_lo)  # no topic anywhere: questions
