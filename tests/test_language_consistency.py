"""`analysis.languages.language_consistency` on seeded synthetic label tensors: agreement gives spread 0 and
rho 1, a planted shift is found and tested, profiles with unrelated orders give rho near 0 below its ceiling,
statistics are over complete cases (issue 24: a missing translation is no language effect; the permutation is
exact on few questions), topics widen the interval, one language gives empty frames."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from adaem.analysis.languages import MODEL_COLUMNS, PAIR_COLUMNS, language_consistency, spearman

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
    for col in ("spread", "spread_lo", "spread_hi", "max_shift"):
        assert np.allclose(per_model[col], 0.0), col
    for col in ("rho", "rho_null"):
        assert np.allclose(per_model[col], 1.0), col
    assert (per_model.spread_p == 1.0).all() and (per_model.questions == 80).all() and (per_model.excluded == 0).all()
    assert per_model.max_shift_value.isna().all()  # nothing moved: no value is "the" largest shift
    assert len(pairs) == 3 * 3 and set(zip(pairs.language_a, pairs.language_b, strict=True)) == {
        ("en", "zh"), ("en", "de"), ("zh", "de")}
    assert np.allclose(pairs[["rho", "rho_null"]], 1.0)
    assert np.allclose(pairs[["rms_diff", "rms_diff_lo", "rms_diff_hi"]], 0.0)


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
    assert a.spread_p < 0.01  # beyond what shuffling languages gives
    assert b.spread_p > 0.05 and c.spread_p > 0.05  # the same propensities in both: noise only
    assert a.spread > max(b.spread, c.spread) and b.spread_lo == 0 and c.spread_lo == 0  # debiased: noise is no spread
    assert all(r.rho > 0.7 for r in (a, b, c))  # one value moved: the order of the others holds
    pair = pairs.set_index("model").loc["a"]
    assert pair.rms_diff > pairs.set_index("model").loc["b"].rms_diff and pair.rms_diff_lo > 0


def zero_rank_partner(order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of `order`'s values whose Spearman correlation with it is exactly 0 (needs n(n²−1)/6 even:
    9 values, not 10, whose Σd² is always even and so never 165)."""
    n, ranks = len(order), np.argsort(np.argsort(order))
    for _ in range(100_000):
        other = rng.permutation(n)  # ranks of the partner
        if 6 * ((ranks - other) ** 2).sum() == n * (n**2 - 1):  # Σd² = n(n²−1)/6: rho = 0
            return np.sort(order)[other]
    raise AssertionError("no such permutation found")


def test_profiles_in_unrelated_orders_give_rho_near_zero_below_its_ceiling():
    """The profiles' true rank correlation is set to 0: ρ is near it, while shuffling languages (no language
    effect) gives a ρ near 1: the ceiling that noise allows, against which ρ is read."""
    rng = np.random.default_rng(2)
    n_q, models, dims = 300, ["a", "b", "c", "d"], DIMS[:9]
    levels = np.linspace(0.1, 0.9, len(dims))  # 10 points apart: a few ranks swap between resamples
    en = np.stack([rng.permutation(levels) for _ in models])  # models × dims: well separated rates
    zh = np.stack([zero_rank_partner(row, rng) for row in en])
    labels = {"en": draw(np.broadcast_to(en, (n_q, *en.shape)), rng),
              "zh": draw(np.broadcast_to(zh, (n_q, *zh.shape)), rng)}
    per_model, pairs = consistency(labels, models, dims=dims)
    assert (per_model.rho.abs() < 0.3).all() and (per_model.rho_null > 0.8).all(), per_model[["rho", "rho_null"]]
    assert (pairs.rho.abs() < 0.3).all()
    assert (per_model.spread_p < 0.01).all()  # the rates themselves did move


def test_statistics_are_over_the_questions_answered_in_every_language():
    """Issue 24: a question missing in one language (a flagged translation, a parse failure, an unlabelled
    value) is left out of every language and counted as excluded; a model with one language has no statistics."""
    rng = np.random.default_rng(3)
    n_q, models = 120, ["a", "b", "c"]
    p = propensities(n_q, len(models), rng)
    en, zh = draw(p, rng), draw(p, rng)
    zh[:30] = np.nan  # 30 questions not asked in zh (a flagged translation, say)
    zh[30:50, 1] = np.nan  # model b's parse failures
    zh[50:60, 0, 4] = np.nan  # values the judge could not label
    zh[:, 2] = np.nan  # model c never answered in zh
    per_model, pairs = consistency({"en": en, "zh": zh}, models, permutations=100)
    rows = per_model.set_index("model")
    assert rows.loc["a", "languages"] == "en,zh" and rows.loc["c", "languages"] == "en"
    assert (rows.loc["a", "questions"], rows.loc["a", "excluded"]) == (90, 30)
    assert (rows.loc["b", "questions"], rows.loc["b", "excluded"]) == (70, 50)
    flipped = en.copy()  # what the English answers to the excluded questions say changes nothing
    flipped[:30] = 1 - flipped[:30]
    again, _ = consistency({"en": flipped, "zh": zh}, models, permutations=100)
    assert np.allclose(again[["spread", "rho"]].to_numpy(float)[:2], per_model[["spread", "rho"]].to_numpy(float)[:2])
    for m in ("a", "b"):
        assert rows.loc[m, "spread_lo"] <= rows.loc[m, "spread"] <= rows.loc[m, "spread_hi"]
    c = rows.loc["c"]
    assert np.isnan(c.spread) and np.isnan(c.rho) and np.isnan(c.spread_p) and pd.isna(c.max_shift_value)
    assert "c" not in set(pairs.model)  # no pair where the model has one language only


def test_missing_translations_are_no_language_effect_and_few_questions_give_exact_p():
    """Issue 24's cases: 100 identical en/zh answers plus 25 English-only questions gave p = 0.0002 (the empty
    slots were shuffled into); 4 complete pairs have 2⁴ arrangements, so the smallest p is 2/16 = 0.125."""
    en = np.zeros((125, 1, 2))
    en[:60, 0, 0], en[:30, 0, 1] = 1, 1
    zh = en.copy()
    zh[100:] = np.nan
    row = consistency({"en": en, "zh": zh}, ["a"], ["x", "y"], permutations=2000)[0].iloc[0]
    assert row.spread == 0 and row.spread_p == 1 and (row.questions, row.excluded) == (100, 25)
    four = np.ones((4, 1, 2))
    row = consistency({"en": four, "zh": 0 * four}, ["a"], ["x", "y"], permutations=2000)[0].iloc[0]
    assert row.spread_p == pytest.approx(2 / 16) and row.spread == pytest.approx(50)


def test_topics_widen_the_interval():
    """Answers that move together inside a topic carry less information than as many independent ones."""
    from adaem.analysis import simulate

    rng = np.random.default_rng(5)
    shape = simulate.Shape(topics=20, per_topic=8, topic_sd=1.5)
    mu = simulate.model_profiles(rng, [0], shape.values)
    en, zh, topics = simulate.draw_languages(shape, mu, rng, shift=np.full_like(mu, 0.4))
    dims = [f"v{j}" for j in range(shape.values)]
    by_question = consistency({"en": en, "zh": zh}, ["m"], dims, permutations=0)[0].iloc[0]
    by_topic = consistency({"en": en, "zh": zh}, ["m"], dims, permutations=0, topics=topics)[0].iloc[0]
    assert by_topic.spread_hi - by_topic.spread_lo > by_question.spread_hi - by_question.spread_lo
    assert "topics (20 topics" in by_topic.ci_unit and "no topics" in by_question.ci_unit


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
