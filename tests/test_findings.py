"""Findings analyses: planted structure is found, structureless data claims nothing, false positives stay near α.

Synthetic labels: logit(P(expressed)) = value base rate + a question effect per value (shared by every model,
so answers to one question are correlated, as in real data) + whatever a test plants; 0/1 labels drawn from it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adaem.analysis.findings import (
    LabelCube,
    adjust_pvalues,
    category_profiles,
    expression_rates,
    group_difference,
    informativeness_curve,
    label_cube,
    profile_similarity,
    pull_scores,
    region_divergence,
    size_trend,
    tidy_labels,
)

FAMILIES = ["A", "B", "C"]
SIZES = [1.0, 4.0, 16.0, 64.0]
CATEGORIES = ["arts", "politics", "science"]
REGIONS = ["China", "France", "Kenya"]
FAMILY_VALUES = [0, 1, 2, 4, 6, 9]  # where families differ (when planted); the other values carry one plant each
REASONING_VALUE, TREND_VALUE, REGION_VALUE, CATEGORY_VALUE = 3, 5, 7, 8
REGION_PAIR, CATEGORY_MODEL = ("m12", "m13"), "m13"
MODELS = 14


def metadata() -> dict[str, dict[str, object]]:
    """m0–m11: families of four (A, B, C), sizes 1, 4, 16, 64B inside each, the middle two reasoning models (kind
    balanced against family and size, so no plant shows up as another). m12, m13: no family, size or kind (they
    are in no group test and carry the single-model plants, which would otherwise be real size trends)."""
    meta: dict[str, dict[str, object]] = {
        f"m{i}": {"family": FAMILIES[i // 4], "kind": "reasoning" if i % 4 in (1, 2) else "chat",
                  "size_b": SIZES[i % 4]} for i in range(12)}
    return meta | {"m12": {"vendor": "x"}, "m13": {}}


def synth(seed: int, *, questions: int = 600, values: int = 10, plant: bool = True, model_sd: float = 0.0) -> LabelCube:
    """A label cube; `plant` adds: family profiles (on FAMILY_VALUES), reasoning +0.8 logit on v3, a size trend in
    family A on v5, m12 above m13 on v7 on China questions, m13 higher on v8 in politics. `model_sd`: random
    per-model offsets (real differences between models that no group or size explains)."""
    rng = np.random.default_rng(seed)
    names = [f"m{i}" for i in range(MODELS)]
    meta = metadata()
    base = np.log(np.linspace(0.2, 0.6, values) / (1 - np.linspace(0.2, 0.6, values)))
    logit = base + rng.normal(0, 0.7, (questions, 1, values)) + rng.normal(0, model_sd, (1, MODELS, values))
    category = rng.choice(CATEGORIES, questions)
    region = rng.choice(np.array([*REGIONS, None], dtype=object), questions, p=[0.2, 0.2, 0.2, 0.4])
    if plant:
        pattern = np.zeros((len(FAMILIES), values))
        pattern[:, FAMILY_VALUES] = rng.normal(0, 1.0, (len(FAMILIES), len(FAMILY_VALUES)))
        for i, m in enumerate(names[:12]):
            logit[:, i] += pattern[FAMILIES.index(str(meta[m]["family"]))]
            if meta[m]["kind"] == "reasoning":
                logit[:, i, REASONING_VALUE] += 0.8
            if meta[m]["family"] == "A":
                logit[:, i, TREND_VALUE] += 0.25 * (math.log2(float(meta[m]["size_b"])) - 3)  # type: ignore[arg-type]
        logit[region == "China", names.index(REGION_PAIR[0]), REGION_VALUE] += 1.5
        logit[category == "politics", names.index(CATEGORY_MODEL), CATEGORY_VALUE] += 1.5
    x = (rng.random(logit.shape) < 1 / (1 + np.exp(-logit))).astype(float)
    qids = [f"q{k}" for k in range(questions)]
    attrs = pd.DataFrame({"category": category, "region": region}, index=pd.Index(qids, name="question_id"))
    return LabelCube(names, qids, [f"v{v}" for v in range(values)], x, attrs)


@pytest.fixture(scope="module")
def planted() -> LabelCube:
    return synth(0)


@pytest.fixture(scope="module")
def null() -> LabelCube:
    return synth(1, plant=False)


def significant(table: pd.DataFrame, *columns: str) -> set:
    rows = table[table.significant]
    return set(zip(*(rows[c] for c in columns), strict=True)) if len(columns) > 1 else set(rows[columns[0]])


# -- inputs and shared statistics ---------------------------------------------------------------------------------


def test_tidy_labels_and_cube_from_answer_records():
    records = [
        {"model": "a", "question_id": "q1", "category": "arts", "country": "Japan", "vector": {"x": 0.9, "y": None}},
        {"model": "b", "question_id": "q1", "category": "arts", "country": "Japan", "vector": {"x": 0.2, "y": 0.7}},
        {"model": "a", "question_id": "q2", "category": None, "country": None, "vector": None, "parse_failure": "…"},
        {"model": "b", "question_id": "q2", "category": "law", "country": None, "vector": {"x": 0.0, "y": 1.0}},
    ]
    tidy = tidy_labels(records, threshold=0.5)
    assert len(tidy) == 5 and set(tidy.columns) == {"model", "question_id", "value", "expressed", "category", "region"}
    cube = label_cube(tidy)
    assert cube.models == ["a", "b"] and cube.questions == ["q1", "q2"] and cube.values == ["x", "y"]
    assert np.array_equal(cube.x[0], [[1, np.nan], [0, 1]], equal_nan=True)
    assert np.isnan(cube.x[1, 0]).all() and list(cube.x[1, 1]) == [0, 1]
    assert list(cube.attribute("region")) == ["Japan", None] and list(cube.attribute("category")) == ["arts", "law"]
    assert np.allclose(expression_rates(cube.x), [[1, np.nan], [0, 1]], equal_nan=True)  # a missing label is not 0
    assert tidy_labels(records).expressed.tolist() == [0.9, 0.2, 0.7, 0.0, 1.0]  # soft labels kept without threshold
    with pytest.raises(Exception, match="more than once"):
        label_cube(pd.concat([tidy, tidy]))


def test_score_tables_rate_intervals_are_resamplings():
    from adaem.rating import score_table
    from adaem.resampling import rate_interval

    rng = np.random.default_rng(3)
    labels = (rng.random((40, 3, 2)) < 0.4).astype(float)
    labels[rng.random(labels.shape) < 0.1] = np.nan
    table = score_table(labels, ["a", "b", "c"], ["x", "y"], bootstrap=30, seed=5)
    rate, lo, hi = rate_interval(labels)
    assert np.allclose(lo * 100, table.rate_lo) and np.allclose(hi * 100, table.rate_hi)
    assert np.allclose(expression_rates(labels) * 100, table.rate) and np.allclose(rate * 100, table.rate)


def test_contrast_se_is_the_t_test_of_per_question_contrasts():
    """Without missing labels a contrast of rates is a mean over questions: its SE is the one-sample t-test's."""
    from scipy.stats import ttest_1samp

    from adaem.analysis.findings import contrast_se

    x = (np.random.default_rng(4).random((80, 4, 3)) < 0.4).astype(float)
    w = np.array([0.5, 0.5, -0.5, -0.5])
    test = ttest_1samp(np.einsum("qmv,m->qv", x, w), 0.0)
    assert np.allclose(np.einsum("m,mv->v", w, expression_rates(x)) / contrast_se(x, w), test.statistic)
    meta = {f"m{i}": {"kind": "r" if i < 2 else "c"} for i in range(4)}
    cube = LabelCube([f"m{i}" for i in range(4)], [f"q{k}" for k in range(80)], ["x", "y", "z"], x, pd.DataFrame())
    assert np.allclose(group_difference(cube, meta, "kind", ("r", "c"), unit="question").table.p, test.pvalue)


def test_adjust_pvalues_holm_and_bh():
    from scipy.stats import false_discovery_control

    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    assert np.allclose(adjust_pvalues(p, "holm"), [0.04, 0.09, np.nan, 0.09, 0.5], equal_nan=True)
    assert np.allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, np.nan, 0.12, 1.0], equal_nan=True)
    ok = np.isfinite(p)
    assert np.allclose(adjust_pvalues(p, "bh")[ok], false_discovery_control(p[ok], method="bh"))


# -- planted structure is found --------------------------------------------------------------------------------


def test_families_cluster(planted):
    result = profile_similarity(planted, metadata(), permutations=2000, resamples=100)
    assert result.claim and result.claim.startswith("family members are closer than other pairs on questions like "
                                                    "these: mean r across disjoint halves of the questions")
    assert result.p < 0.01 and result.within_r > result.between_r  # (its intervals missed coverage: removed)
    order = [m for m in result.order if m not in ("m12", "m13")]  # the clustering puts each family together
    assert {frozenset(order[k:k + 4]) for k in (0, 4, 8)} == {frozenset(f"m{i}" for i in range(f, f + 4))
                                                               for f in (0, 4, 8)}
    assert result.groups["m12"] is None and "m12" in result.models  # no family: in the matrix, not in the test


def test_few_models_cannot_show_family_similarity_and_say_so(planted):
    four = LabelCube(planted.models[:8:2], planted.questions, planted.values, planted.x[:, :8:2], planted.attrs)
    result = profile_similarity(four, metadata(), permutations=500, resamples=20)  # m0, m2 (A), m4, m6 (B)
    assert result.claim is None and "allow only 3 distinct arrangements" in (result.not_shown or "")
    assert result.within_r > result.between_r  # the data do show it: the test cannot


def test_reasoning_models_differ_on_the_planted_value_only(planted):
    """Issue 24: labels are permuted within families (2 reasoning + 2 chat in each of 3), not over all 12
    models (which read family differences as kind differences): 6³ = 216 arrangements, smallest p 2/216, which
    Holm over 10 values cannot pass (and says so); BH, with one true effect, cannot either. The planted value
    has that smallest p and the only interval above 0."""
    result = group_difference(planted, metadata(), "kind", ("reasoning", "chat"))
    row = result.table.set_index("value").loc[f"v{REASONING_VALUE}"]
    assert row.difference > 0.1 and row.ci_lo > 0 and row.cohen_h > 0.2 and row.p == pytest.approx(2 / 216)
    assert set(result.table[result.table.ci_lo > 0].value) == {f"v{REASONING_VALUE}"}
    assert "within the 3 families" in result.design
    assert result.claim is None and "smallest permutation over models p is 0.009" in (result.not_shown or "")
    assert sorted(result.members["reasoning"] + result.members["chat"]) == sorted(f"m{i}" for i in range(12))


def test_few_models_cannot_show_a_group_difference_and_say_so(planted):
    four = LabelCube(planted.models[:4], planted.questions, planted.values, planted.x[:, :4], planted.attrs)  # A
    result = group_difference(four, metadata(), "kind")
    assert result.claim is None and "smallest permutation over models p is 0.333" in (result.not_shown or "")
    by_question = group_difference(four, metadata(), "kind", unit="question")  # these four models: it shows
    assert f"v{REASONING_VALUE}" in significant(by_question.table, "value")


def test_size_trend_in_family_a(planted):
    result = size_trend(planted, metadata())
    assert significant(result.table, "family", "value") == {("A", f"v{TREND_VALUE}")}
    assert result.tests == 30 and result.level == pytest.approx(1 - 0.05 / 30)
    row = result.table[result.table.significant].iloc[0]
    assert 0.02 < row.slope < 0.1 and row.ci_lo > 0 and result.claim and "within A" in result.claim


def test_category_shift_of_one_model(planted):
    result = category_profiles(planted, resamples=100)
    assert significant(result.shifts, "model", "value") == {(CATEGORY_MODEL, f"v{CATEGORY_VALUE}")}
    shift = result.shifts[result.shifts.significant].iloc[0]
    assert shift.top == "politics" and result.claim and "m13 on v8" in result.claim
    prof = result.profiles.set_index(["category", "model", "value"])
    assert (prof.ci_lo <= prof.rate).all() and (prof.rate <= prof.ci_hi).all()
    assert prof.loc[("politics", "m13", "v8")].ci_lo > prof.loc[("arts", "m13", "v8")].ci_hi


def test_regional_divergence_of_two_models(planted):
    for contrast in ("zero", "elsewhere"):
        result = region_divergence(planted, *REGION_PAIR, contrast=contrast)  # type: ignore[arg-type]
        assert significant(result.table, "region", "value") == {("China", f"v{REGION_VALUE}")}, contrast
        top = result.table.iloc[0]
        assert (top.region, top.value) == ("China", f"v{REGION_VALUE}") and top.effect > 0.15 and top.ci_lo > 0
        assert result.claim and "China · v7" in result.claim


# -- nothing planted, nothing claimed -------------------------------------------------------------------------


def test_structureless_data_claims_nothing(null):
    meta = metadata()
    results = [profile_similarity(null, meta, permutations=2000, resamples=100),
               group_difference(null, meta, "kind"), size_trend(null, meta), category_profiles(null, resamples=100),
               region_divergence(null, *REGION_PAIR), region_divergence(null, *REGION_PAIR, contrast="elsewhere")]
    for r in results:
        assert r.claim is None and r.not_shown, type(r).__name__


def test_a_region_difference_everywhere_is_not_regional():
    """Two models that differ on every question differ in each region ("zero"), but not more than elsewhere."""
    cube = synth(2, plant=False, model_sd=0.0)
    x = cube.x.copy()
    rng = np.random.default_rng(0)
    x[:, 12, 7] = np.maximum(x[:, 12, 7], rng.random(len(x)) < 0.5)  # m12 above m13 on v7 on every question
    shifted = LabelCube(cube.models, cube.questions, cube.values, x, cube.attrs)
    assert region_divergence(shifted, *REGION_PAIR).claim is not None
    assert region_divergence(shifted, *REGION_PAIR, contrast="elsewhere").claim is None


def test_false_positive_rate_is_near_alpha():
    """Structureless data sets: how often each analysis claims something (≈ alpha or less), and how often one
    test's unadjusted p is ≤ alpha, pooled over values and cells (≈ alpha). Each seed has data with no model
    differences at all, and data with random per-model offsets: those leave "kinds of model" and "shifts
    between categories / regions" null, but are real differences between two given models or along size, so
    size trends and the plain two-model difference are checked on the first kind only."""
    seeds, alpha = 80, 0.05
    runs: dict[str, int] = {}
    claims: dict[str, int] = {}
    raw: dict[str, list[float]] = {}
    meta = metadata()
    for seed in range(seeds):
        for model_sd in (0.0, 0.4):
            cube = synth(100 + seed, questions=150, values=4, plant=False, model_sd=model_sd)
            results = {"family": profile_similarity(cube, meta, permutations=300, resamples=20, seed=seed),
                       "group": group_difference(cube, meta, "kind", permutations=300, resamples=20, seed=seed),
                       "category": category_profiles(cube, resamples=20, seed=seed),
                       "region-elsewhere": region_divergence(cube, *REGION_PAIR, contrast="elsewhere", resamples=20)}
            if model_sd == 0:
                results |= {"size": size_trend(cube, meta, resamples=100, seed=seed),
                            "region": region_divergence(cube, *REGION_PAIR, resamples=20)}
            for name, r in results.items():
                runs[name] = runs.get(name, 0) + 1
                claims[name] = claims.get(name, 0) + (r.claim is not None)
                if name != "family":
                    raw.setdefault(name, []).extend((r.shifts if name == "category" else r.table)["p"].dropna())
    rates = {k: claims[k] / runs[k] for k in claims}
    assert all(rate <= 0.1 for rate in rates.values()), rates
    raw_rates = {k: float(np.mean(np.array(v) <= alpha)) for k, v in raw.items()}
    assert all(0.02 <= rate <= 0.075 for rate in raw_rates.values()), raw_rates


# -- informativeness by pull ----------------------------------------------------------------------------------


def test_pull_scores_and_running_mean_against_baselines():
    questions = [{"id": "p0-w0-g0", "p2_score": 4.0}, {"id": "p0-w1-g0", "p2_score": 6.0},
                 {"id": "p2-w0-g0", "p2_score": 8.0}, {"id": "p3-w0-g0", "p2_score": 9.0},
                 {"id": "p4-w0-g0", "p2_score": None}]
    scores = pull_scores(questions)
    assert scores.pull.tolist() == [1, 1, 3, 4]
    result = informativeness_curve(scores, {"SVS": 6.07, "low": 1.0, "high": 10.0, "tie": 5.0})
    curve = result.curve
    assert curve.pull.tolist() == [1, 2, 3, 4] and curve.questions.tolist() == [2, 2, 3, 4]
    assert np.allclose(curve.running_mean, [5, 5, 6, 6.75]) and np.isnan(curve.pull_mean[1])
    above = dict(zip(result.baselines.name, result.baselines.above_from, strict=True))
    assert above["SVS"] == 4 and above["low"] == 1 and np.isnan(above["high"]) and above["tie"] == 3
    trajectory = [{"pull": 1, "id": 0, "reward": 5.0}, {"pull": 2, "id": 1, "reward": None},
                  {"pull": 3, "id": 2, "reward": 7.0}]
    assert pull_scores(trajectory).pull.tolist() == [1, 3]


# -- pictures -----------------------------------------------------------------------------------------------


def test_plots_write_pngs(planted, tmp_path: Path):
    from adaem.analysis import findings_plots as plots

    meta = metadata()
    paths = [
        plots.similarity_heatmap(profile_similarity(planted, meta, permutations=200, resamples=20), tmp_path / "s.png"),
        plots.group_forest(group_difference(planted, meta, "kind", resamples=20), tmp_path / "g.png"),
        plots.category_small_multiples(category_profiles(planted, resamples=20), tmp_path / "c.png"),
        plots.region_divergence_bars(region_divergence(planted, *REGION_PAIR, resamples=50), tmp_path / "r.png"),
        plots.informativeness_plot(informativeness_curve(pull_scores(
            [{"id": f"p{t}-w0-g0", "p2_score": 5 + t / 10} for t in range(30)]), {"SVS": 6.07}), tmp_path / "i.png"),
    ]
    for p in paths:
        assert p.exists() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- family-respecting model tests (issue 24) ---------------------------------------------------------------------


def test_a_group_that_is_one_family_cannot_be_told_from_it(planted):
    """All reasoning models in one family: any family difference would read as a kind difference, so nothing is
    claimed and the result says why, however large the difference."""
    meta = {m: {**v, "kind": "reasoning" if v.get("family") == "A" else "chat"} for m, v in metadata().items()
            if v.get("family")}
    cube = LabelCube(planted.models[:12], planted.questions, planted.values, planted.x[:, :12], planted.attrs)
    result = group_difference(cube, meta, "kind", ("reasoning", "chat"))
    assert result.claim is None and "cannot be told apart from the families" in (result.not_shown or "")
    assert "3 families as units" in result.design


def test_newer_models_and_amplification_within_families():
    from adaem.analysis import simulate as sim
    from adaem.analysis.findings import amplification, safety_preference

    rng = np.random.default_rng(3)
    families = [f for f in range(4) for _ in range(3)]
    years = np.array([2023.0, 2024.0, 2025.0] * 4)
    mu = sim.model_profiles(rng, families, 10, family_sd=0.5, model_sd=0.2)
    mu[:, [5, 6, 8, 9]] += 0.5 * (years - 2024.0)[:, None]
    meta = {f"m{k}": {"family": str(families[k]), "release": f"{int(years[k])}-03", "size_b": [8, 70, 400][k % 3]}
            for k in range(12)}
    cube = sim.draw(sim.Shape(topics=20), mu, rng).cube()
    newer = safety_preference(cube, meta, ["v5", "v6", "v8", "v9"], permutations=2000)
    assert newer.claim and newer.claim.startswith("newer models prefer safety-related values")
    assert newer.estimate > 0 and newer.ci[0] > 0 and "within the 4 families" in newer.design
    assert newer.table.shape[0] == 12 and newer.covariate == "release year"
    flat = amplification(cube, meta, permutations=2000)  # sizes were not planted: nothing to show
    assert flat.claim is None and "not shown that larger models stand further" in (flat.not_shown or "")
    with pytest.raises(Exception, match="at least 3 models"):
        amplification(cube, {m: {"family": "A"} for m in meta}, permutations=100)


def test_family_members_alike_on_these_questions_only_are_not_shown_closer():
    """Issue 36.2: members of a family that react alike to particular topics and questions, with identical
    profiles over questions in general: r on these questions puts them together, the claim (r across disjoint
    halves of the topics, and a jackknife over topics beside the permutation) does not."""
    from adaem.analysis import simulate as sim

    families = [0] * 4 + [1] * 4 + [2] * 4
    meta = {f"m{k}": {"family": str(f)} for k, f in enumerate(families)}
    shape = sim.Shape(topics=30, sizes=(3, 10), family_topic_sd=0.6, family_question_sd=1.0)
    rng = np.random.default_rng(0)
    mu = sim.model_profiles(rng, families, shape.values, family_sd=0.0, model_sd=0.0)
    result = profile_similarity(sim.draw(shape, mu, rng, families=families).cube(), meta, permutations=500)
    r = result.correlation.to_numpy()
    same = np.equal.outer(families, families) & ~np.eye(12, dtype=bool)
    assert r[same].mean() > r[~np.equal.outer(families, families)].mean() + 0.2  # alike on these questions
    assert result.p == max(result.p_models, result.p_topics) and result.p > 0.05 and result.claim is None
