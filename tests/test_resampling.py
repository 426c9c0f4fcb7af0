"""Resampling and intervals (issue 36): known answers for every small-sample correction in `adaem.resampling`;
their coverage is measured by the validity suite (tests/test_validity.py, benchmarks/bench_validity.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adaem.resampling import (
    bca_interval,
    bell_mccaffrey_df,
    bootstrap_too_small,
    cluster_leverage,
    cluster_se,
    clusters_of,
    expanded_percentile_ci,
    jackknife_groups,
    jackknife_interval,
    jackknife_weights,
    mean_interval,
    rate_interval,
    ratio_interval,
    wilson_interval,
)


def test_bell_mccaffrey_df_is_g_minus_1_for_equal_clusters_and_fewer_for_unequal():
    assert bell_mccaffrey_df(np.full((30, 1), 1 / 30))[0] == pytest.approx(29)
    assert np.isnan(bell_mccaffrey_df(np.full((1, 1), 1.0))[0])  # one cluster: no df
    sizes = np.array([3, 10, 3, 10, 3, 10, 3, 10.0])
    df = bell_mccaffrey_df((sizes / sizes.sum())[:, None])[0]
    assert 4 < df < 7  # a few large clusters carry most of the information


def test_cr2_se_by_hand_for_unequal_clusters():
    rng = np.random.default_rng(0)
    topics = np.repeat(np.arange(6), [2, 5, 3, 7, 4, 2])
    x = rng.normal(size=len(topics))
    c = clusters_of(topics, len(x))
    psi = (x - x.mean()) / len(x)
    se, df = cluster_se(psi[:, None], c)
    h = np.bincount(topics) / len(x)
    sums = np.bincount(topics, psi)
    assert se[0] == pytest.approx(np.sqrt(np.sum(sums**2 / (1 - h))))
    assert df[0] == pytest.approx(bell_mccaffrey_df(h[:, None])[0])
    assert cluster_leverage(c, np.ones((len(x), 1), bool))[:, 0] == pytest.approx(h)


def test_mean_interval_without_clusters_is_the_textbook_t_interval():
    x = np.random.default_rng(1).normal(5, 2, 12)
    m, lo, hi = mean_interval(x)
    ref = stats.t.interval(0.95, 11, loc=x.mean(), scale=stats.sem(x))
    assert m == pytest.approx(x.mean()) and (lo, hi) == pytest.approx(ref)


def test_rate_interval_is_inside_0_1_and_uses_clopper_pearson_at_the_edges():
    x = np.zeros((40, 2))
    x[:8, 1] = 1.0  # 8 of 40 for the second column
    topics = np.repeat(np.arange(10), 4)
    rate, lo, hi = rate_interval(x, clusters_of(topics, 40))
    assert rate[0] == 0 and lo[0] == 0 and hi[0] == pytest.approx(1 - 0.025 ** (1 / 10))
    assert 0 < lo[1] < rate[1] == 0.2 < hi[1] < 1
    # on the logit scale: the interval is skewed away from 0
    assert hi[1] - rate[1] > rate[1] - lo[1]


def test_wilson_interval_is_scipys():
    hits = np.r_[np.ones(37), np.zeros(13), [np.nan]]
    p, lo, hi = wilson_interval(hits)
    ref = stats.binomtest(37, 50).proportion_ci(0.95, method="wilson")
    assert p == pytest.approx(0.74) and (lo, hi) == pytest.approx((ref.low, ref.high))


def test_ratio_interval_is_symmetric_on_the_log_scale():
    rng = np.random.default_rng(2)
    b, g = rng.uniform(1, 3, 12), rng.uniform(1.5, 3, 12)
    gain, lo, hi = ratio_interval(g, b)
    ratio = g.mean() / b.mean()
    assert gain == pytest.approx(ratio - 1)
    assert np.log(1 + hi) - np.log(ratio) == pytest.approx(np.log(ratio) - np.log(1 + lo))


def test_the_jackknife_of_a_mean_is_the_t_interval():
    x = np.random.default_rng(3).normal(size=20)
    c = clusters_of(None, 20)
    reps = jackknife_weights(c) @ x / 19
    lo, hi = jackknife_interval(x.mean(), reps, 0.95)
    assert (float(lo), float(hi)) == pytest.approx(stats.t.interval(0.95, 19, loc=x.mean(), scale=stats.sem(x)))
    # two independent samples: variances add, df by Welch–Satterthwaite
    lo2, hi2 = jackknife_interval(0.0, [reps - x.mean(), reps - x.mean()], 0.95)
    assert float(hi2 - lo2) > float(hi - lo)


def test_jackknife_groups_keep_topics_whole():
    topics = np.repeat(np.arange(120), 3)
    c = clusters_of(topics, len(topics))
    groups = jackknife_groups(c, most=50)
    assert groups.max() + 1 == 50
    for t in range(120):
        assert len(set(groups[topics == t])) == 1
    assert np.array_equal(jackknife_groups(clusters_of(topics[:30], 30)), clusters_of(topics[:30], 30).codes)


def test_bca_without_bias_or_skew_is_the_percentile_interval():
    boot = np.linspace(-2, 2, 2001)[:, None]
    jack = np.linspace(-1, 1, 21)[:, None]
    lo, hi = bca_interval(np.array([0.0]), boot, jack, 0.95)
    assert (lo[0], hi[0]) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), abs=1e-6)
    shifted_lo, _ = bca_interval(np.array([0.5]), boot, jack, 0.95)  # most resamples below: moved up
    assert shifted_lo[0] > lo[0]


def test_expanded_percentile_widens_with_few_clusters():
    boot = np.random.default_rng(4).normal(size=(20000, 1))
    lo30, hi30 = expanded_percentile_ci(boot, 0.95, 30)
    lo5, hi5 = expanded_percentile_ci(boot, 0.95, 5)
    z30 = np.sqrt(30 / 29) * stats.t.ppf(0.975, 29)
    assert hi30[0] == pytest.approx(z30, abs=0.05) and hi5[0] - lo5[0] > hi30[0] - lo30[0]


def test_a_bootstrap_over_too_few_topics_says_so():
    assert "3 questions, no topics" in bootstrap_too_small(clusters_of(None, 3))
    assert "10 topics, 80 questions" in bootstrap_too_small(clusters_of(np.repeat(np.arange(10), 8), 80))
    assert bootstrap_too_small(clusters_of(np.repeat(np.arange(15), 4), 60)) is None
