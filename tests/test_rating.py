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
        for arr in (table.score, table.score_lo, table.score_hi, table.rate):
            assert np.all((arr >= 0) & (arr <= 100))
        assert np.all(table.score_lo <= table.score_hi + 1e-9)


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
