"""`analysis.languages.language_consistency` on seeded synthetic label tensors: agreement gives spread 0 and
rho 1, a planted shift is found and tested, profiles with unrelated orders give a rho CI around 0, missing
answers are left out, one language gives empty frames; rates follow `rating.score_table`'s convention."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from adaem.analysis.languages import MODEL_COLUMNS, PAIR_COLUMNS, language_consistency, spearman
from adaem.rating import score_table

DIMS = [f"v{j}" for j in range(10)]


def draw(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hard 0/1 labels, expressed with probability p (questions × models × dims)."""
    return (rng.random(p.shape) < p).astype(float)


def propensities(n_q: int, models: int, rng: np.random.Generator) -> np.ndarray:
    """Per (question, model, value) P(expressed): a model profile plus a question effect, in [0.02, 0.98]."""
    profile = rng.uniform(0.1, 0.9, (1, models, len(DIMS)))
    question = rng.normal(0, 0.15, (n_q, 1, len(DIMS)))
    return np.clip(profile + question, 0.02, 0.98)


def consistency(labels, models, dims=DIMS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from empty slices may leak to the caller
        return language_consistency(labels, models, dims, **kw)


def test_identical_labels_across_languages_give_no_spread_and_rho_one():
    rng = np.random.default_rng(0)
    soft = rng.random((80, 3, len(DIMS)))  # soft labels: thresholded at 0.5 as evaluate scores them
    models = ["a", "b", "c"]
    per_model, pairs = consistency({"en": soft, "zh": soft.copy(), "de": soft.copy()}, models, bootstrap=50,
                                   permutations=50)
    assert list(per_model.columns) == MODEL_COLUMNS and list(pairs.columns) == PAIR_COLUMNS
    assert per_model.model.tolist() == models and (per_model.languages == "en,zh,de").all()
    for col in ("spread", "spread_lo", "spread_hi", "spread_null", "max_shift"):
        assert np.allclose(per_model[col], 0.0), col
    for col in ("rho", "rho_lo", "rho_hi"):
        assert np.allclose(per_model[col], 1.0), col
    assert (per_model.spread_p == 1.0).all()
    assert per_model.max_shift_value.isna().all()  # nothing moved: no value is "the" largest shift
    assert len(pairs) == 3 * 3 and set(zip(pairs.language_a, pairs.language_b, strict=True)) == {
        ("en", "zh"), ("en", "de"), ("zh", "de")}
    assert np.allclose(pairs[["rho", "rho_lo", "rho_hi"]], 1.0)
    assert np.allclose(pairs[["mean_abs_diff", "mean_abs_diff_lo", "mean_abs_diff_hi"]], 0.0)


def test_a_planted_shift_is_the_largest_and_is_told_apart_from_noise():
    rng = np.random.default_rng(1)
    n_q, models = 300, ["a", "b", "c"]
    p = propensities(n_q, len(models), rng)
    p[:, 0, 3] = np.clip(0.3 + rng.normal(0, 0.15, n_q), 0.02, 0.98)  # room to move without hitting 1
    shifted = p.copy()
    shifted[:, 0, 3] = np.clip(shifted[:, 0, 3] + 0.35, 0, 1)  # model a expresses v3 far more often in zh
    labels = {"en": draw(p, rng), "zh": draw(shifted, rng)}  # each language its own answers: noise in b and c too
    per_model, pairs = consistency(labels, models)
    a, b, c = (per_model.set_index("model").loc[m] for m in models)
    assert a.max_shift_value == "v3" and a.max_shift > 12  # half of the ~35-point difference in the rate
    assert a.spread_lo > 0 and a.spread_lo <= a.spread <= a.spread_hi + 1e-9
    assert a.spread_p < 0.01 and a.spread > a.spread_null  # beyond what shuffling languages gives
    assert b.spread_p > 0.05 and c.spread_p > 0.05  # the same propensities in both: noise only
    assert a.spread > max(b.spread, c.spread)
    assert all(r.rho > 0.7 for r in (a, b, c))  # one value moved: the order of the others holds
    pair = pairs.set_index("model").loc["a"]
    assert pair.mean_abs_diff > pairs.set_index("model").loc["b"].mean_abs_diff


def zero_rank_partner(order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of `order`'s values whose Spearman correlation with it is exactly 0 (needs n(n²−1)/6 even:
    9 values, not 10, whose Σd² is always even and so never 165)."""
    n, ranks = len(order), np.argsort(np.argsort(order))
    for _ in range(100_000):
        other = rng.permutation(n)  # ranks of the partner
        if 6 * ((ranks - other) ** 2).sum() == n * (n**2 - 1):  # Σd² = n(n²−1)/6: rho = 0
            return np.sort(order)[other]
    raise AssertionError("no such permutation found")


def test_profiles_in_unrelated_orders_give_a_rho_interval_around_zero():
    """The CI is over questions, so it is about these profiles: their true rank correlation is set to 0."""
    rng = np.random.default_rng(2)
    n_q, models, dims = 300, ["a", "b", "c", "d"], DIMS[:9]
    levels = np.linspace(0.1, 0.9, len(dims))  # 10 points apart: a few ranks swap between resamples
    en = np.stack([rng.permutation(levels) for _ in models])  # models × dims: well separated rates
    zh = np.stack([zero_rank_partner(row, rng) for row in en])
    labels = {"en": draw(np.broadcast_to(en, (n_q, *en.shape)), rng),
              "zh": draw(np.broadcast_to(zh, (n_q, *zh.shape)), rng)}
    per_model, pairs = consistency(labels, models, dims=dims)
    assert (per_model.rho_lo <= 0).all() and (per_model.rho_hi >= 0).all(), per_model[["rho", "rho_lo", "rho_hi"]]
    assert (per_model.rho.abs() < 0.3).all() and (pairs.rho_hi < 0.6).all()
    assert (per_model.spread_p < 0.01).all()  # the rates themselves did move


def test_missing_answers_in_one_language_are_left_out():
    rng = np.random.default_rng(3)
    n_q, models = 120, ["a", "b", "c"]
    p = propensities(n_q, len(models), rng)
    en, zh = draw(p, rng), draw(p, rng)
    zh[:30] = np.nan  # 30 questions not asked in zh (a flagged translation, say)
    zh[30:50, 1] = np.nan  # model b's parse failures
    zh[50:60, 0, 4] = np.nan  # values the judge could not label
    zh[:, 2] = np.nan  # model c never answered in zh
    per_model, pairs = consistency({"en": en, "zh": zh}, models, bootstrap=100, permutations=100)
    rows = per_model.set_index("model")
    assert rows.loc["a", "languages"] == "en,zh" and rows.loc["c", "languages"] == "en"
    rate_en, rate_zh = np.nanmean(en, axis=0) * 100, np.nanmean(zh[:, :2], axis=0) * 100  # NaN left out, not 0
    for i, m in enumerate(["a", "b"]):
        expect = np.mean(np.std(np.stack([rate_en[i], rate_zh[i]]), axis=0))
        assert rows.loc[m, "spread"] == pytest.approx(expect)
        assert rows.loc[m, "spread_lo"] <= rows.loc[m, "spread_hi"] and np.isfinite(rows.loc[m, "rho_lo"])
        mad = pairs.set_index("model").loc[m, "mean_abs_diff"]
        assert mad == pytest.approx(np.mean(np.abs(rate_en[i] - rate_zh[i])))
    c = rows.loc["c"]
    assert np.isnan(c.spread) and np.isnan(c.rho) and np.isnan(c.spread_p) and pd.isna(c.max_shift_value)
    assert "c" not in set(pairs.model)  # no pair where the model has one language only


def test_rates_follow_score_table():
    rng = np.random.default_rng(4)
    models = ["a", "b"]
    soft = {"en": rng.random((60, 2, len(DIMS))), "zh": rng.random((60, 2, len(DIMS)))}
    soft["zh"][:5, 0] = np.nan
    _, pairs = consistency(soft, models, threshold=0.6, bootstrap=0, permutations=0)
    tables = {lang: score_table(x, models, DIMS, threshold=0.6, bootstrap=0) for lang, x in soft.items()}
    for i, m in enumerate(models):
        expect = np.mean(np.abs(tables["en"].rate[i] - tables["zh"].rate[i]))
        assert pairs.set_index("model").loc[m, "mean_abs_diff"] == pytest.approx(expect)
    assert pairs[["rho_lo", "rho_hi", "mean_abs_diff_lo"]].isna().all().all()  # bootstrap=0: no interval


def test_one_language_gives_empty_frames():
    labels = {"en": np.random.default_rng(5).random((10, 2, len(DIMS)))}
    per_model, pairs = consistency(labels, ["a", "b"])
    assert per_model.empty and pairs.empty
    assert list(per_model.columns) == MODEL_COLUMNS and list(pairs.columns) == PAIR_COLUMNS
    assert consistency({}, ["a", "b"])[0].empty


def test_mismatched_shapes_are_refused():
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="same questions"):
        language_consistency({"en": rng.random((10, 2, 10)), "zh": rng.random((9, 2, 10))}, ["a", "b"], DIMS)


def test_spearman_matches_scipy_with_ties_nan_and_constant_profiles():
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 4, (300, 8)).astype(float), rng.integers(0, 4, (300, 8)).astype(float)  # many ties
    ours = spearman(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on the constant rows it then calls NaN
        ref = np.array([spearmanr(x, y).statistic for x, y in zip(a, b, strict=True)])
    assert np.allclose(ours, ref, equal_nan=True)
    a[0, 2], b[1, 5] = np.nan, np.nan  # a position missing in either profile is left out of that pair
    for k, drop in ((0, 2), (1, 5)):
        assert spearman(a[k], b[k]) == pytest.approx(spearmanr(np.delete(a[k], drop), np.delete(b[k], drop)).statistic)
    assert np.isnan(spearman(np.full(5, 30.0), np.arange(5.0)))  # a constant profile: rho undefined
    assert spearman(np.arange(5.0), np.arange(5.0)[::-1]) == pytest.approx(-1.0)
