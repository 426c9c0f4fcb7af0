"""The validity suite: every test and interval adaem reports, run on simulated benchmarks with adaem's own data
shapes (topics of ~8 questions, categories set per topic, regions mostly per topic, families of models, missing
labels, missing translations: `simulate`), under the null and under a planted effect.

For each test it measures the type-I error at α = 0.05 (target ≤ 0.07) and the power at a planted effect; for
each interval its coverage of the true value (target 0.92–0.98 for a 95% interval). With 500 simulations a
rate near 0.05 is measured to about ±0.02 (95%); `benchmarks/bench_validity.py` prints the table (the README has
it) and `tests/test_validity.py` runs each check small (enough simulations to fail an analysis that treats
topics or family members as independent).

Each check is a function `check_<name>(sims, seed) -> list[Measured]`, deterministic given its arguments.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import simulate as sim

ALPHA = 0.05
TYPE_I_MAX = 0.07
COVERAGE = (0.92, 0.98)


@dataclass
class Measured:
    """One measured property: a test's type-I error or power, or an interval's coverage."""

    analysis: str
    what: str  # "type-I error", "power", "coverage"
    value: float
    n: int  # tests or intervals counted
    sims: int
    design: str = ""

    @property
    def ok(self) -> bool | None:
        """Inside the target (None for power, which has none)."""
        if self.what == "type-I error":
            return self.value <= TYPE_I_MAX
        if self.what == "coverage":
            return COVERAGE[0] <= self.value <= COVERAGE[1]
        return None


def _share(hits: np.ndarray | list, n: int | None = None) -> tuple[float, int]:
    a = np.asarray(hits, float).ravel()
    a = a[np.isfinite(a)]
    return (float(a.mean()) if len(a) else float("nan")), int(len(a) if n is None else n)


def _covers(lo: Any, hi: Any, truth: Any) -> np.ndarray:
    lo, hi, truth = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float), np.asarray(truth, float))
    return np.where(np.isfinite(lo) & np.isfinite(hi), (lo <= truth + 1e-12) & (truth <= hi + 1e-12), np.nan)


def _quiet() -> warnings.catch_warnings:
    w = warnings.catch_warnings()
    w.__enter__()
    warnings.simplefilter("ignore")
    return w


SHAPE = sim.Shape()  # 4 categories × 40 topics × 8 questions, 10 values


# -- evaluate: score table ---------------------------------------------------------------------------------------


def check_scores(sims: int, seed: int = 0) -> list[Measured]:
    """scores.csv's intervals: the expression rate's (true rate known) and the TrueSkill score's, whose true value
    has no closed form: its coverage is of the mean score over the simulations (E[score] at this design)."""
    from ..rating import score_table

    mu = sim.model_profiles(np.random.default_rng(12345), [0, 0, 1, 1, 2, 2], SHAPE.values)
    truth = sim.expected_rate(mu, SHAPE.sd) * 100
    rate_cov, scores, lo, hi = [], [], [], []
    for i in range(sims):
        s = sim.draw(SHAPE, mu, np.random.default_rng([seed, i]))
        t = score_table(s.x, s.models, s.values, bootstrap=200, seed=i, topics=s.topic)
        rate_cov.append(_covers(t.rate_lo, t.rate_hi, truth))
        scores.append(t.score)
        lo.append(t.score_lo)
        hi.append(t.score_hi)
    design = "6 models, 40 topics × 8 questions, bootstrap over topics"
    mean = np.mean(scores, axis=0)
    return [Measured("evaluate: expression rate 95% CI", "coverage", *_share(rate_cov), sims, design),
            Measured("evaluate: TrueSkill score 95% CI", "coverage", *_share(_covers(np.array(lo), np.array(hi), mean)),
                     sims, design + "; truth = mean score over the simulations")]


# -- findings about questions -------------------------------------------------------------------------------------


def check_categories(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_questions import category_profiles

    null, power, cov = [], [], []
    effect = np.zeros((SHAPE.categories, 4, SHAPE.values))
    effect[0, 0, 0] = 1.0  # model 0, value 0: +1 logit in category c0
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, [0, 0, 1, 1], SHAPE.values)
        r = category_profiles(sim.draw(SHAPE, mu, rng).cube())
        null.append(r.shifts.p.to_numpy() <= ALPHA)
        truth = sim.expected_rate(mu, SHAPE.sd)
        mi = r.profiles.model.str[1:].astype(int).to_numpy()
        vi = r.profiles.value.str[1:].astype(int).to_numpy()
        cov.append(_covers(r.profiles.ci_lo, r.profiles.ci_hi, truth[mi, vi]))
        planted = category_profiles(sim.draw(SHAPE, mu, rng, category_effect=effect).cube())
        power.append(planted.shifts.set_index(["model", "value"]).loc[("m0", "v0"), "p"] <= ALPHA)
    d = "4 models, 4 categories set per topic, 40 topics × 8 questions"
    return [Measured("findings: category shift (ANOVA over topics)", "type-I error", *_share(np.concatenate(null)),
                     sims, d),
            Measured("findings: category shift (ANOVA over topics)", "power", *_share(power), sims,
                     d + "; +1 logit for one (model, value) in one category"),
            Measured("findings: rate per category 95% CI", "coverage", *_share(np.concatenate(cov)), sims, d)]


def check_regions(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_questions import region_divergence

    rows: list[Measured] = []
    effect = np.zeros((SHAPE.regions, 2, SHAPE.values))
    effect[0, 0, 0] = 1.0
    contrasts: tuple[Literal["zero", "elsewhere"], ...] = ("zero", "elsewhere")
    for contrast in contrasts:
        null, cov, power = [], [], []
        for i in range(sims):
            rng = np.random.default_rng([seed, i, contrast == "zero"])
            mu = sim.model_profiles(rng, [0, 1], SHAPE.values)
            if contrast == "zero":
                mu[1] = mu[0]
            r = region_divergence(sim.draw(SHAPE, mu, rng).cube(), "m0", "m1", contrast=contrast)
            null.append(r.table.p.to_numpy() <= ALPHA)
            cov.append(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
            planted = region_divergence(sim.draw(SHAPE, mu, rng, region_effect=effect).cube(), "m0", "m1",
                                        contrast=contrast)
            row = planted.table.set_index(["region", "value"])
            power.append(row.loc[("r0", "v0"), "p"] <= ALPHA if ("r0", "v0") in row.index else np.nan)
        name = f"findings: regional divergence ({contrast})"
        d = ("two models with one profile" if contrast == "zero" else "two models that differ everywhere") + \
            ", 3 regions mostly per topic"
        rows += [Measured(name, "type-I error", *_share(np.concatenate(null)), sims, d),
                 Measured(name, "power", *_share(power), sims, d + "; +1 logit for model a on one region and value"),
                 Measured(name + " 95% CI", "coverage", *_share(np.concatenate(cov)), sims, d)]
    return rows


# -- findings about models ----------------------------------------------------------------------------------------


def check_size_trend(sims: int, seed: int = 0) -> list[Measured]:
    from scipy.stats import t as t_dist

    from .findings_models import size_trend

    sizes = [1.0, 4.0, 16.0, 64.0]
    meta = {f"m{i}": {"family": "A", "size_b": s} for i, s in enumerate(sizes)}
    logs = np.log2(sizes)
    w = (logs - logs.mean()) / ((logs - logs.mean()) ** 2).sum()
    null, cov_t, cov_boot, power = [], [], [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        flat = sim.model_profiles(rng, [0] * 4, SHAPE.values, model_sd=0.0)
        r = size_trend(sim.draw(SHAPE, flat, rng).cube(), meta)
        null.append(r.table.p.to_numpy(float) <= ALPHA)
        mu = sim.model_profiles(rng, [0] * 4, SHAPE.values, model_sd=0.3)
        r = size_trend(sim.draw(SHAPE, mu, rng).cube(), meta)
        truth = w @ sim.expected_rate(mu, SHAPE.sd)
        tab = r.table
        half = t_dist.ppf(1 - ALPHA / 2, tab.df.to_numpy(float)) * tab.se.to_numpy(float)
        cov_t.append(_covers(tab.slope - half, tab.slope + half, truth))
        cov_boot.append(_covers(tab.boot_lo, tab.boot_hi, truth))
        planted = flat.copy()
        planted[:, 0] += 0.15 * (logs - logs.mean())
        power.append(size_trend(sim.draw(SHAPE, planted, rng).cube(), meta).table.p.iloc[0] <= ALPHA)
    d = "one family of 4 sizes (1–64B), 40 topics × 8 questions"
    return [Measured("findings: size trend slope", "type-I error", *_share(np.concatenate(null)), sims, d),
            Measured("findings: size trend slope", "power", *_share(power), sims, d + "; +0.15 logit per doubling"),
            Measured("findings: size trend 95% t interval", "coverage", *_share(np.concatenate(cov_t)), sims, d),
            Measured("findings: size trend 95% bootstrap interval", "coverage", *_share(np.concatenate(cov_boot)),
                     sims, d)]


FAMILIES16 = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]
REASONING16 = {0, 1, 4, 7, 14, 15}  # mixed inside families 0–2, and all of family 5


def check_groups(sims: int, seed: int = 0) -> list[Measured]:
    """Reasoning vs chat over 16 models in 6 families (two of them only chat, one only reasoning): family
    effects that a permutation over all models reads as a kind effect."""
    from .findings_models import group_difference

    shape = sim.Shape(topics=20)
    kinds = ["reasoning" if k in REASONING16 else "chat" for k in range(16)]
    meta = {f"m{k}": {"family": f"f{f}", "kind": kinds[k]} for k, f in enumerate(FAMILIES16)}
    null, cov, power = [], [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, FAMILIES16, shape.values, family_sd=0.5, model_sd=0.3)
        r = group_difference(sim.draw(shape, mu, rng).cube(), meta, "kind", ("reasoning", "chat"),
                             permutations=2000, seed=i)
        null.append(r.table.p.to_numpy(float) <= ALPHA)
        cov.append(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
        planted = mu.copy()
        planted[sorted(REASONING16), 0] += 1.0
        r = group_difference(sim.draw(shape, planted, rng).cube(), meta, "kind", ("reasoning", "chat"),
                             permutations=2000, seed=i)
        power.append(r.table.p.iloc[0] <= ALPHA)
    d = "16 models in 6 families, reasoning mixed in 3 and the whole of 1"
    nested_meta = {f"m{k}": {"family": f"f{f}", "kind": "reasoning" if f >= 4 else "chat"}
                   for k, f in enumerate(FAMILIES16)}
    nested = []
    for i in range(sims):
        rng = np.random.default_rng([seed, i, 1])
        mu = sim.model_profiles(rng, FAMILIES16, shape.values, family_sd=0.5, model_sd=0.3)
        r = group_difference(sim.draw(shape, mu, rng).cube(), nested_meta, "kind", ("reasoning", "chat"),
                             permutations=2000, seed=i)
        nested.append(r.table.p.to_numpy(float) <= ALPHA)
    return [Measured("findings: reasoning vs chat (models, within families)", "type-I error",
                     *_share(np.concatenate(null)), sims, d),
            Measured("findings: reasoning vs chat (models, within families)", "power", *_share(power), sims,
                     d + "; +1 logit on one value"),
            Measured("findings: reasoning vs chat 95% CI (test inversion)", "coverage", *_share(np.concatenate(cov)),
                     sims, d),
            Measured("findings: reasoning vs chat, reasoning = 2 whole families", "type-I error",
                     *_share(np.concatenate(nested)), sims, "16 models in 6 families; the design says it cannot "
                     "separate kind from family")]


def check_groups_question(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_models import group_difference

    meta = {f"m{k}": {"kind": "reasoning" if k < 2 else "chat"} for k in range(4)}
    null, cov = [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, [0, 0, 0, 0], SHAPE.values, family_sd=0.0, model_sd=0.0)
        r = group_difference(sim.draw(SHAPE, mu, rng).cube(), meta, "kind", ("reasoning", "chat"), unit="question")
        null.append(r.table.p.to_numpy(float) <= ALPHA)
        cov.append(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
    d = "4 models with one profile, 40 topics × 8 questions"
    return [Measured("findings: group difference of these models (over topics)", "type-I error",
                     *_share(np.concatenate(null)), sims, d),
            Measured("findings: group difference of these models 95% CI", "coverage", *_share(np.concatenate(cov)),
                     sims, d)]


def check_similarity(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_models import profile_similarity

    families = [0] * 4 + [1] * 4 + [2] * 4
    meta = {f"m{k}": {"family": str(f)} for k, f in enumerate(families)}
    null, power = [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, families, SHAPE.values, family_sd=0.0, model_sd=0.5)
        r = profile_similarity(sim.draw(SHAPE, mu, rng).cube(), meta, permutations=1000, seed=i)
        null.append(r.p <= ALPHA)
        fam = sim.model_profiles(rng, families, SHAPE.values, family_sd=0.4, model_sd=0.5)
        power.append(profile_similarity(sim.draw(SHAPE, fam, rng).cube(), meta, permutations=1000, seed=i).p <= ALPHA)
    d = "12 models in 3 families of 4"
    return [Measured("findings: family similarity (permutation)", "type-I error", *_share(null), sims, d),
            Measured("findings: family similarity (permutation)", "power", *_share(power), sims,
                     d + "; family effect sd 0.4 logit")]


def _model_trend_check(name: str, sims: int, seed: int, run: Callable[[np.random.Generator, bool, int], Any]
                       ) -> list[Measured]:
    null, cov, power = [], [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        r = run(rng, False, i)
        null.append(r.p <= ALPHA)
        cov.append(_covers(r.ci[0], r.ci[1], 0.0))
        power.append(run(rng, True, i).p <= ALPHA)
    return [Measured(name, "type-I error", *_share(null), sims), Measured(name, "power", *_share(power), sims),
            Measured(name + " 95% CI (test inversion)", "coverage", *_share(cov), sims)]


def check_safety(sims: int, seed: int = 0) -> list[Measured]:
    """Newer models and safety-related values: 12 models in 4 families of 3 releases (2023.0, 2024.0, 2025.0);
    planted: +0.4 logit on the safety values per year."""
    from .findings_models import safety_preference

    families = [f for f in range(4) for _ in range(3)]
    years = np.array([2023.0, 2024.0, 2025.0] * 4)
    safety = ["v5", "v6", "v8", "v9"]
    shape = sim.Shape(topics=20)

    def run(rng: np.random.Generator, plant: bool, i: int) -> Any:
        order = np.concatenate([rng.permutation(3) + 3 * f for f in range(4)])  # releases shuffled in each family
        meta = {f"m{k}": {"family": str(families[k]), "release": f"{int(years[order[k]])}-01"} for k in range(12)}
        mu = sim.model_profiles(rng, families, shape.values, family_sd=0.5, model_sd=0.3)
        if plant:
            mu[:, [5, 6, 8, 9]] += 0.4 * (years[order] - 2024.0)[:, None]
        return safety_preference(sim.draw(shape, mu, rng).cube(), meta, safety, permutations=2000, seed=i)

    rows = _model_trend_check("findings: newer models vs safety-related values", sims, seed, run)
    for r in rows:
        r.design = "12 models in 4 families of 3 releases" + ("; +0.4 logit per year" if r.what == "power" else "")
    return rows


def check_amplification(sims: int, seed: int = 0) -> list[Measured]:
    """Distance from the pool against size within families: 12 models in 4 families of sizes 8, 70, 400B;
    planted: a model's own deviation grows with size (×(1 + 0.5·log2(size/8)/log2(50)))."""
    from .findings_models import amplification

    families = [f for f in range(4) for _ in range(3)]
    sizes = np.array([8.0, 70.0, 400.0] * 4)
    shape = sim.Shape(topics=20)

    def run(rng: np.random.Generator, plant: bool, i: int) -> Any:
        meta = {f"m{k}": {"family": str(families[k]), "size_b": float(sizes[k])} for k in range(12)}
        base = sim.model_profiles(rng, [0] * 12, shape.values, family_sd=0.0, model_sd=0.0)
        fam = rng.normal(0, 0.4, (4, shape.values))[families]
        own = rng.normal(0, 0.5, (12, shape.values))
        scale = 1 + 1.5 * np.log2(sizes / 8) / np.log2(50) if plant else np.ones(12)
        own = own[rng.permutation(12)] if not plant else own
        mu = base + fam + own * scale[:, None]
        return amplification(sim.draw(shape, mu, rng).cube(), meta, permutations=2000, seed=i)

    rows = _model_trend_check("findings: amplification with size (within families)", sims, seed, run)
    for r in rows:
        r.design = "12 models in 4 families of 3 sizes" + ("; deviation ×2.5 from 8B to 400B" if r.what == "power"
                                                            else "")
    return rows


def check_report(sims: int, seed: int = 0) -> list[Measured]:
    """One findings report under the global null (models alike but for their own offsets; no family, kind,
    size, release, category or region effect): the share of reports that claim anything after one
    Benjamini–Hochberg over all their tests (under the global null, FDR = the chance of any claim)."""
    from .claims import adjust_report
    from .findings_models import amplification, group_difference, profile_similarity, safety_preference, size_trend
    from .findings_questions import category_profiles, region_divergence

    families = [f for f in range(4) for _ in range(3)]
    meta = {f"m{k}": {"family": str(families[k]), "kind": "reasoning" if k % 3 == 1 else "chat",
                      "size_b": [8.0, 70.0, 400.0][k % 3], "release": f"{2023 + k % 3}-06"} for k in range(12)}
    any_claim, tests = [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, [0] * 12, SHAPE.values, family_sd=0.0, model_sd=0.0)
        cube = sim.draw(SHAPE, mu, rng).cube()
        results: list[Any] = [profile_similarity(cube, meta, permutations=500, resamples=50, seed=i),
                   group_difference(cube, meta, "kind", permutations=500, seed=i),
                   safety_preference(cube, meta, ["v5", "v6", "v8", "v9"], permutations=500, seed=i),
                   amplification(cube, meta, permutations=500, seed=i), size_trend(cube, meta, resamples=50, seed=i),
                   category_profiles(cube), region_divergence(cube, "m0", "m1", contrast="elsewhere")]
        report = adjust_report(results, ALPHA)
        tests.append(report["tests"])
        any_claim.append(any(r.claim for r in results))
    return [Measured("findings report: any claim (BH over all tests)", "type-I error", *_share(any_claim), sims,
                     f"12 models, no effect anywhere; ~{int(np.mean(tests))} tests per report")]


# -- languages, compare, priming ----------------------------------------------------------------------------------


def check_languages(sims: int, seed: int = 0) -> list[Measured]:
    from .languages import language_consistency

    dims = [f"v{j}" for j in range(SHAPE.values)]
    rows: list[Measured] = []
    for label, delta in (("0 points", 0.0), ("2 points", 0.22), ("5 points", 0.55)):
        reject, cov = [], []
        for i in range(sims):
            rng = np.random.default_rng([seed, i, int(delta * 100)])
            mu = sim.model_profiles(rng, [0], SHAPE.values)
            shift = delta * np.where(np.arange(SHAPE.values) % 2, 1.0, -1.0)[None]
            en, zh, topics = sim.draw_languages(SHAPE, mu, rng, shift=shift, untranslated=0.2)
            per_model, _ = language_consistency({"en": en, "zh": zh}, ["m0"], dims, permutations=200, seed=i,
                                                topics=topics)
            r_en, r_zh = sim.expected_rate(mu, SHAPE.sd) * 100, sim.expected_rate(mu + shift, SHAPE.sd) * 100
            true = float(np.sqrt(np.mean(((r_en - r_zh) / 2) ** 2)))
            reject.append(per_model.spread_p[0] <= ALPHA)
            cov.append(_covers(per_model.spread_lo[0], per_model.spread_hi[0], true))
        d = f"one model, 40 topics × 8 questions, 20% untranslated; true spread {label}"
        if delta == 0:
            rows.append(Measured("languages: spread permutation p", "type-I error", *_share(reject), sims, d))
        elif label == "2 points":
            rows.append(Measured("languages: spread permutation p", "power", *_share(reject), sims, d))
        rows.append(Measured(f"languages: spread 95% CI at {label}", "coverage", *_share(cov), sims, d))
    return rows


def check_compare(sims: int, seed: int = 0) -> list[Measured]:
    from .compare import compare_means, mean_ci

    null, cov, power = [], [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        a, ta = sim.clustered_scores(rng, 40, 8, mean=6.0)
        b, tb = sim.clustered_scores(rng, 30, 5, mean=6.0)
        null.append(compare_means(a, b, ta, tb)["welch_p"] <= ALPHA)
        cov.append(_covers(*mean_ci(a, ta), 6.0))
        c, tc = sim.clustered_scores(rng, 30, 5, mean=7.0)
        power.append(compare_means(a, c, ta, tc)["welch_p"] <= ALPHA)
    d = "S of 40 topics × 8 questions vs 30 × 5, topic sd 1, question sd 1.5"
    return [Measured("compare: Welch test of mean S (over topics)", "type-I error", *_share(null), sims, d),
            Measured("compare: Welch test of mean S (over topics)", "power", *_share(power), sims, d + "; +1.0"),
            Measured("compare: mean S 95% CI", "coverage", *_share(cov), sims, d)]


def check_priming(sims: int, seed: int = 0) -> list[Measured]:
    from .priming import paired_effect

    null: list[bool] = []
    power: list[bool] = []
    topic = np.repeat(np.arange(10), 4)
    names = [f"t{k}" for k in topic]
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        base_logit = rng.normal(0, 0.8, 10)[topic] + rng.normal(0, 0.5, 40)
        for effect, out in ((0.0, null), (1.2, power)):
            inter = rng.normal(0, 1.0, 10)[topic]  # the prime's effect varies by topic
            b = (rng.random(40) < 1 / (1 + np.exp(-base_logit))).astype(float)
            p = (rng.random(40) < 1 / (1 + np.exp(-(base_logit + inter + effect)))).astype(float)
            out.append(paired_effect(b, p, names)["p"] <= ALPHA)
    d = "40 questions from 10 topics, the prime's effect varying by topic (sd 1 logit)"
    return [Measured("prime: paired t-test (over topics)", "type-I error", *_share(null), sims, d),
            Measured("prime: paired t-test (over topics)", "power", *_share(power), sims, d + "; +1.2 logit")]


CHECKS: dict[str, Callable[[int, int], list[Measured]]] = {
    "scores": check_scores, "categories": check_categories, "regions": check_regions, "size_trend": check_size_trend,
    "groups": check_groups, "groups_question": check_groups_question, "similarity": check_similarity,
    "safety": check_safety, "amplification": check_amplification, "report": check_report,
    "languages": check_languages, "compare": check_compare, "priming": check_priming,
}


def run_checks(sims: int, names: list[str] | None = None, seed: int = 0) -> list[Measured]:
    out: list[Measured] = []
    w = _quiet()
    try:
        for name in names or list(CHECKS):
            out += CHECKS[name](sims, seed)
    finally:
        w.__exit__(None, None, None)
    return out


__all__ = ["ALPHA", "CHECKS", "COVERAGE", "Measured", "TYPE_I_MAX", "run_checks"]
