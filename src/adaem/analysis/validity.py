"""The validity suite: every test and interval adaem shows, run through adaem's own functions on simulated data
with adaem's data shapes (`simulate`: topics of ~8 questions, categories set per topic, regions mostly per topic,
families of models, missing labels and translations) and with the harder shapes of issue 36 (topics of 3–10
questions, topic ICC 0.1–0.3, family × topic and family × question effects, 30 and 60 topics, 12 pairs for a
human study), under the null and under a planted effect.

For each test it measures the type-I error at α = 0.05 (target ≤ 0.06) and the power at a planted effect; for
each 95% interval its coverage of the true value (target 0.94–0.96); each figure with its Monte-Carlo standard
error over the simulations (several intervals of one simulation are not independent, so the SE is over
simulations). A figure is inside its target when it is within one MC SE of it. `benchmarks/bench_validity.py`
prints the table (the README has it) and `tests/test_validity.py` runs every check small.

Adding a row: write `check_<name>(sims, seed) -> list[Measured]`, deterministic given its arguments, and register
it with `@check("<name>", fast=N)` (N: the simulations of its fast version in tests/test_validity.py, which is
generated from the registry). Use `Tally` to collect each simulation's hits and `Tally.row` to make a `Measured`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from . import simulate as sim

ALPHA = 0.05
TYPE_I_MAX = 0.06
COVERAGE = (0.94, 0.96)
What = Literal["type-I error", "power", "coverage"]


@dataclass
class Measured:
    """One measured property: a test's type-I error or power, or an interval's coverage, with its Monte-Carlo SE."""

    analysis: str
    what: str  # "type-I error", "power", "coverage"
    value: float
    n: int  # tests or intervals counted
    sims: int
    design: str = ""
    se: float = float("nan")  # Monte-Carlo standard error (over simulations)

    @property
    def ok(self) -> bool | None:
        """Inside the target give or take one MC SE (None for power, which has none)."""
        tol = self.se if math.isfinite(self.se) else 0.0
        if self.what == "type-I error":
            return self.value - tol <= TYPE_I_MAX
        if self.what == "coverage":
            return COVERAGE[0] <= self.value + tol and self.value - tol <= COVERAGE[1]
        return None


@dataclass
class Tally:
    """Hits (0/1, NaN = not counted) collected simulation by simulation: the rate over all of them and its MC SE
    over simulations (a ratio estimator: simulations hold different numbers of tests)."""

    hits: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, hits: Any) -> None:
        a = np.asarray(hits, float).ravel()
        a = a[np.isfinite(a)]
        self.hits.append(float(a.sum()))
        self.counts.append(len(a))

    def rate(self) -> tuple[float, int, float]:
        h, c = np.array(self.hits), np.array(self.counts, float)
        n = c.sum()
        if n == 0:
            return float("nan"), 0, float("nan")
        r = h.sum() / n
        s = len(h)
        se = math.sqrt(s / max(s - 1, 1) * np.sum((h - r * c) ** 2)) / n if s > 1 else float("nan")
        return float(r), int(n), float(se)

    def row(self, analysis: str, what: What, design: str = "") -> Measured:
        value, n, se = self.rate()
        return Measured(analysis, what, value, n, len(self.hits), design, se)


def _covers(lo: Any, hi: Any, truth: Any) -> np.ndarray:
    lo, hi, truth = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float), np.asarray(truth, float))
    return np.where(np.isfinite(lo) & np.isfinite(hi), (lo <= truth + 1e-12) & (truth <= hi + 1e-12), np.nan)


def _rejects(p: Any) -> np.ndarray:
    p = np.asarray(p, float)
    return np.where(np.isfinite(p), p <= ALPHA, np.nan)


Check = Callable[[int, int], list[Measured]]
CHECKS: dict[str, Check] = {}
FAST: dict[str, int] = {}  # simulations of each check's fast version (tests/test_validity.py)


def check(name: str, fast: int) -> Callable[[Check], Check]:
    """Register a check (a function of (sims, seed) returning its rows) under `name`."""
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        FAST[name] = fast
        return fn
    return register


# -- designs ------------------------------------------------------------------------------------------------------

OWN = sim.Shape()  # adaem's shape: 4 categories × 40 topics × 8 questions, 10 values
T30 = sim.Shape(topics=30, sizes=(3, 10)).with_icc(0.2)  # issue 36: 30 topics of 3–10 questions, topic ICC 0.2
T60 = replace(T30, topics=60)
FAM = replace(T30, family_topic_sd=0.3, family_question_sd=0.5)  # family × topic and family × question effects
SHAPE = OWN  # the name earlier code used


def describe(shape: sim.Shape) -> str:
    """A design in words, for the table."""
    size = f"× {shape.per_topic}" if shape.sizes is None else f"of {shape.sizes[0]}–{shape.sizes[1]}"
    icc = shape.topic_sd**2 / (shape.sd**2 + math.pi**2 / 3)
    out = (f"{shape.topics} topics {size} questions, topic ICC {icc:.2f}" if shape.per_topic > 1 or shape.sizes
           else f"{shape.topics} independent questions (no topics)")
    if shape.family_topic_sd or shape.family_question_sd:
        out += f", family × topic sd {shape.family_topic_sd}, family × question sd {shape.family_question_sd}"
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- evaluate: score table ---------------------------------------------------------------------------------------


@check("rates", fast=40)
def check_rates(sims: int, seed: int = 0) -> list[Measured]:
    """scores.csv's expression-rate intervals (t on the logit scale over topics) against the true rate."""
    from ..rating import score_table

    rows = []
    designs = [OWN, T30.with_icc(0.1), T30, T30.with_icc(0.3), T60, OWN.without_topics()]
    for k, shape in enumerate(designs):
        mu = sim.model_profiles(np.random.default_rng(12345), [0, 0, 1, 1, 2, 2], shape.values)
        truth = sim.expected_rate(mu, shape.sd) * 100
        tally = Tally()
        for i in range(sims):
            s = sim.draw(shape, mu, np.random.default_rng([seed, i, k]))
            t = score_table(s.x, s.models, s.values, bootstrap=0, topics=s.topic if shape.per_topic > 1 or shape.sizes
                            else None)
            tally.add(_covers(t.rate_lo, t.rate_hi, truth))
        rows.append(tally.row("evaluate: expression rate 95% CI", "coverage", "6 models, " + describe(shape)))
    return rows


@check("scores", fast=30)
def check_scores(sims: int, seed: int = 0) -> list[Measured]:
    """scores.csv's TrueSkill intervals (percentile bootstrap over topics). A score has no closed-form true value:
    coverage is of the mean score over the simulations (E[score] at the design). The smallest benchmark that gets
    an interval (15 topics) is a row of its own."""
    from ..rating import score_table

    rows = []
    for k, shape in enumerate([OWN, T30, T60, replace(T30, topics=15)]):
        mu = sim.model_profiles(np.random.default_rng(12345), [0, 0, 1, 1, 2, 2], shape.values)
        scores, lo, hi = [], [], []
        for i in range(sims):
            s = sim.draw(shape, mu, np.random.default_rng([seed, i, k]))
            t = score_table(s.x, s.models, s.values, bootstrap=200, seed=i, topics=s.topic)
            scores.append(t.score)
            lo.append(t.score_lo)
            hi.append(t.score_hi)
        mean = np.mean(scores, axis=0)
        tally = Tally()
        for a, b in zip(lo, hi, strict=True):
            tally.add(_covers(a, b, mean))
        name = "evaluate: TrueSkill score 95% CI" + (" (smallest benchmark given one)" if k == 3 else "")
        rows.append(tally.row(name, "coverage", "6 models, " + describe(shape) + "; truth = mean score"))
    return rows


# -- findings about questions -------------------------------------------------------------------------------------


@check("categories", fast=25)
def check_categories(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_questions import category_profiles

    rows = []
    for k, shape in enumerate([OWN, T30]):
        null, power, cov = Tally(), Tally(), Tally()
        effect = np.zeros((shape.categories, 4, shape.values))
        effect[0, 0, 0] = 1.0  # model 0, value 0: +1 logit in category c0
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            mu = sim.model_profiles(rng, [0, 0, 1, 1], shape.values)
            r = category_profiles(sim.draw(shape, mu, rng).cube())
            null.add(_rejects(r.shifts.p))
            truth = sim.expected_rate(mu, shape.sd)
            mi = r.profiles.model.str[1:].astype(int).to_numpy()
            vi = r.profiles.value.str[1:].astype(int).to_numpy()
            cov.add(_covers(r.profiles.ci_lo, r.profiles.ci_hi, truth[mi, vi]))
            planted = category_profiles(sim.draw(shape, mu, rng, category_effect=effect).cube())
            power.add(planted.shifts.set_index(["model", "value"]).loc[("m0", "v0"), "p"] <= ALPHA)
        d = f"4 models, 4 categories set per topic, {describe(shape)}"
        rows += [null.row("findings: category shift (ANOVA over topics)", "type-I error", d),
                 power.row("findings: category shift (ANOVA over topics)", "power",
                           d + "; +1 logit for one (model, value) in one category"),
                 cov.row("findings: rate per category 95% CI", "coverage", d)]
    return rows


@check("regions", fast=20)
def check_regions(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_questions import region_divergence

    rows: list[Measured] = []
    contrasts: tuple[Literal["zero", "elsewhere"], ...] = ("zero", "elsewhere")
    for k, shape in enumerate([OWN, T30]):
        effect = np.zeros((shape.regions, 2, shape.values))
        effect[0, 0, 0] = 1.0
        for contrast in contrasts:
            null, cov, power = Tally(), Tally(), Tally()
            for i in range(sims):
                rng = np.random.default_rng([seed, i, contrast == "zero", k])
                mu = sim.model_profiles(rng, [0, 1], shape.values)
                if contrast == "zero":
                    mu[1] = mu[0]
                r = region_divergence(sim.draw(shape, mu, rng).cube(), "m0", "m1", contrast=contrast)
                null.add(_rejects(r.table.p))
                cov.add(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
                planted = region_divergence(sim.draw(shape, mu, rng, region_effect=effect).cube(), "m0", "m1",
                                            contrast=contrast)
                row = planted.table.set_index(["region", "value"])
                power.add(row.loc[("r0", "v0"), "p"] <= ALPHA if ("r0", "v0") in row.index else np.nan)
            name = f"findings: regional divergence ({contrast})"
            d = (("two models with one profile" if contrast == "zero" else "two models that differ everywhere")
                 + f", 3 regions mostly per topic, {describe(shape)}")
            rows += [null.row(name, "type-I error", d),
                     power.row(name, "power", d + "; +1 logit for model a on one region and value"),
                     cov.row(name + " 95% CI", "coverage", d)]
    return rows


# -- findings about models ----------------------------------------------------------------------------------------


@check("size_trend", fast=25)
def check_size_trend(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_models import size_trend

    sizes = [1.0, 4.0, 16.0, 64.0]
    meta = {f"m{i}": {"family": "A", "size_b": s} for i, s in enumerate(sizes)}
    logs = np.log2(sizes)
    w = (logs - logs.mean()) / ((logs - logs.mean()) ** 2).sum()
    rows = []
    for k, shape in enumerate([OWN, replace(FAM, family_topic_sd=0.3)]):
        null, cov, power = Tally(), Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            flat = sim.model_profiles(rng, [0] * 4, shape.values, model_sd=0.0)
            r = size_trend(sim.draw(shape, flat, rng, families=[0] * 4).cube(), meta)
            null.add(_rejects(r.table.p))
            mu = sim.model_profiles(rng, [0] * 4, shape.values, model_sd=0.3)
            tab = size_trend(sim.draw(shape, mu, rng, families=[0] * 4).cube(), meta).table
            cov.add(_covers(tab.marginal_lo, tab.marginal_hi, w @ sim.expected_rate(mu, shape.sd)))
            planted = flat.copy()
            planted[:, 0] += 0.15 * (logs - logs.mean())
            power.add(size_trend(sim.draw(shape, planted, rng, families=[0] * 4).cube(), meta).table.p.iloc[0] <= ALPHA)
        d = "one family of 4 sizes (1–64B), " + describe(shape)
        rows += [null.row("findings: size trend slope", "type-I error", d),
                 power.row("findings: size trend slope", "power", d + "; +0.15 logit per doubling"),
                 cov.row("findings: size trend 95% t interval (marginal)", "coverage", d)]
    return rows


FAMILIES16 = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]
REASONING16 = {0, 1, 4, 7, 14, 15}  # mixed inside families 0–2, and all of family 5


@check("groups", fast=25)
def check_groups(sims: int, seed: int = 0) -> list[Measured]:
    """Reasoning vs chat over 16 models in 6 families (two of them only chat, one only reasoning): family
    effects that a permutation over all models reads as a kind effect; then the same with family × topic and
    family × question effects (members alike on these questions only)."""
    from .findings_models import group_difference

    kinds = ["reasoning" if k in REASONING16 else "chat" for k in range(16)]
    meta = {f"m{k}": {"family": f"f{f}", "kind": kinds[k]} for k, f in enumerate(FAMILIES16)}
    kind_codes = [int(k in REASONING16) for k in range(16)]
    rows = []
    designs = [(sim.Shape(topics=20), FAMILIES16, ""), (FAM, FAMILIES16, ""),
               (FAM, kind_codes, "; the same effects shared by kind instead (reasoning models react alike)")]
    for k, (shape, shared, note) in enumerate(designs):
        null, cov, power = Tally(), Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            mu = sim.model_profiles(rng, FAMILIES16, shape.values, family_sd=0.5, model_sd=0.3)
            r = group_difference(sim.draw(shape, mu, rng, families=shared).cube(), meta, "kind",
                                 ("reasoning", "chat"), permutations=2000, seed=i)
            null.add(_rejects(r.table.p))
            cov.add(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
            planted = mu.copy()
            planted[sorted(REASONING16), 0] += 1.0
            r = group_difference(sim.draw(shape, planted, rng, families=shared).cube(), meta, "kind",
                                 ("reasoning", "chat"), permutations=2000, seed=i)
            power.add(r.table.p.iloc[0] <= ALPHA)
        d = "16 models in 6 families, reasoning mixed in 3 and the whole of 1; " + describe(shape) + note
        rows += [null.row("findings: reasoning vs chat (models, within families)", "type-I error", d),
                 power.row("findings: reasoning vs chat (models, within families)", "power", d + "; +1 logit"),
                 cov.row("findings: reasoning vs chat 95% CI (test inversion)", "coverage", d)]
    nested_meta = {f"m{k}": {"family": f"f{f}", "kind": "reasoning" if f >= 4 else "chat"}
                   for k, f in enumerate(FAMILIES16)}
    nested = Tally()
    shape = sim.Shape(topics=20)
    for i in range(sims):
        rng = np.random.default_rng([seed, i, 1])
        mu = sim.model_profiles(rng, FAMILIES16, shape.values, family_sd=0.5, model_sd=0.3)
        r = group_difference(sim.draw(shape, mu, rng).cube(), nested_meta, "kind", ("reasoning", "chat"),
                             permutations=2000, seed=i)
        nested.add(_rejects(r.table.p))
    rows.append(nested.row("findings: reasoning vs chat, reasoning = 2 whole families", "type-I error",
                           "16 models in 6 families; the design says it cannot separate kind from family"))
    return rows


@check("groups_question", fast=30)
def check_groups_question(sims: int, seed: int = 0) -> list[Measured]:
    from .findings_models import group_difference

    meta = {f"m{k}": {"kind": "reasoning" if k < 2 else "chat"} for k in range(4)}
    rows = []
    for k, shape in enumerate([OWN, T30]):
        null, cov = Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            mu = sim.model_profiles(rng, [0, 0, 0, 0], shape.values, family_sd=0.0, model_sd=0.0)
            r = group_difference(sim.draw(shape, mu, rng).cube(), meta, "kind", ("reasoning", "chat"),
                                 unit="question")
            null.add(_rejects(r.table.p))
            cov.add(_covers(r.table.ci_lo, r.table.ci_hi, 0.0))
        d = "4 models with one profile, " + describe(shape)
        rows += [null.row("findings: group difference of these models (over topics)", "type-I error", d),
                 cov.row("findings: group difference of these models 95% CI", "coverage", d)]
    return rows


@check("similarity", fast=30)
def check_similarity(sims: int, seed: int = 0) -> list[Measured]:
    """Family similarity over 12 models in 3 families of 4: under the null the population profiles do not depend
    on the family (models' own offsets only, or none at all), with and without family × topic and family ×
    question effects (members alike on these questions only: issue 36 measured 30.6% at 0.05 with the test on
    all the questions); power at a family effect of sd 0.4 logit."""
    from .findings_models import profile_similarity

    families = [0] * 4 + [1] * 4 + [2] * 4
    meta = {f"m{k}": {"family": str(f)} for k, f in enumerate(families)}
    rows = []
    cases = [(OWN, 0.5, "models' own offsets sd 0.5"), (FAM, 0.5, "models' own offsets sd 0.5"),
             (FAM, 0.0, "identical population profiles")]
    for k, (shape, model_sd, what) in enumerate(cases):
        null, power = Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            mu = sim.model_profiles(rng, families, shape.values, family_sd=0.0, model_sd=model_sd)
            r = profile_similarity(sim.draw(shape, mu, rng, families=families).cube(), meta, permutations=1000, seed=i)
            null.add(r.p <= ALPHA)
            if k < 2:
                fam = sim.model_profiles(rng, families, shape.values, family_sd=0.4, model_sd=0.5)
                power.add(profile_similarity(sim.draw(shape, fam, rng, families=families).cube(), meta,
                                             permutations=1000, seed=i).p <= ALPHA)
        d = f"12 models in 3 families of 4, {what}; {describe(shape)}"
        rows.append(null.row("findings: family similarity (permutation, r across topic halves)", "type-I error", d))
        if k < 2:
            rows.append(power.row("findings: family similarity (permutation, r across topic halves)", "power",
                                  d + "; family effect sd 0.4 logit"))
    return rows


def _model_trend_rows(name: str, sims: int, seed: int, design: str, effect: str,
                      run: Callable[[np.random.Generator, bool, int], Any], k: int = 0) -> list[Measured]:
    null, cov, power = Tally(), Tally(), Tally()
    for i in range(sims):
        rng = np.random.default_rng([seed, i, k])
        r = run(rng, False, i)
        null.add(_rejects(r.p))
        cov.add(_covers(r.ci[0], r.ci[1], 0.0))
        power.add(run(rng, True, i).p <= ALPHA)
    return [null.row(name, "type-I error", design), power.row(name, "power", design + "; " + effect),
            cov.row(name + " 95% CI (test inversion)", "coverage", design)]


@check("safety", fast=25)
def check_safety(sims: int, seed: int = 0) -> list[Measured]:
    """Newer models and safety-related values: 12 models in 4 families of 3 releases (2023.0, 2024.0, 2025.0);
    planted: +0.4 logit on the safety values per year. With and without family × topic effects."""
    from .findings_models import safety_preference

    families = [f for f in range(4) for _ in range(3)]
    years = np.array([2023.0, 2024.0, 2025.0] * 4)
    safety = ["v5", "v6", "v8", "v9"]
    rows = []
    for k, shape in enumerate([sim.Shape(topics=20), FAM]):
        def run(rng: np.random.Generator, plant: bool, i: int, shape: sim.Shape = shape) -> Any:
            order = np.concatenate([rng.permutation(3) + 3 * f for f in range(4)])  # releases shuffled per family
            meta = {f"m{j}": {"family": str(families[j]), "release": f"{int(years[order[j]])}-01"} for j in range(12)}
            mu = sim.model_profiles(rng, families, shape.values, family_sd=0.5, model_sd=0.3)
            if plant:
                mu[:, [5, 6, 8, 9]] += 0.4 * (years[order] - 2024.0)[:, None]
            return safety_preference(sim.draw(shape, mu, rng, families=families).cube(), meta, safety,
                                     permutations=2000, seed=i)

        rows += _model_trend_rows("findings: newer models vs safety-related values", sims, seed,
                                  "12 models in 4 families of 3 releases, " + describe(shape), "+0.4 logit per year",
                                  run, k)
    return rows


@check("amplification", fast=25)
def check_amplification(sims: int, seed: int = 0) -> list[Measured]:
    """Distance from the pool against size within families: 12 models in 4 families of sizes 8, 70, 400B;
    planted: a model's own deviation grows with size (×(1 + 1.5·log2(size/8)/log2(50))). With and without
    family × topic effects."""
    from .findings_models import amplification

    families = [f for f in range(4) for _ in range(3)]
    sizes = np.array([8.0, 70.0, 400.0] * 4)
    rows = []
    for k, shape in enumerate([sim.Shape(topics=20), FAM]):
        def run(rng: np.random.Generator, plant: bool, i: int, shape: sim.Shape = shape) -> Any:
            meta = {f"m{j}": {"family": str(families[j]), "size_b": float(sizes[j])} for j in range(12)}
            base = sim.model_profiles(rng, [0] * 12, shape.values, family_sd=0.0, model_sd=0.0)
            fam = rng.normal(0, 0.4, (4, shape.values))[families]
            own = rng.normal(0, 0.5, (12, shape.values))
            scale = 1 + 1.5 * np.log2(sizes / 8) / np.log2(50) if plant else np.ones(12)
            own = own[rng.permutation(12)] if not plant else own
            mu = base + fam + own * scale[:, None]
            return amplification(sim.draw(shape, mu, rng, families=families).cube(), meta, permutations=2000, seed=i)

        rows += _model_trend_rows("findings: amplification with size (within families)", sims, seed,
                                  "12 models in 4 families of 3 sizes, " + describe(shape),
                                  "deviation ×2.5 from 8B to 400B", run, k)
    return rows


@check("report", fast=20)
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
    any_claim, tests = Tally(), []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        mu = sim.model_profiles(rng, [0] * 12, OWN.values, family_sd=0.0, model_sd=0.0)
        cube = sim.draw(OWN, mu, rng).cube()
        results: list[Any] = [profile_similarity(cube, meta, permutations=500, resamples=50, seed=i),
                              group_difference(cube, meta, "kind", permutations=500, seed=i),
                              safety_preference(cube, meta, ["v5", "v6", "v8", "v9"], permutations=500, seed=i),
                              amplification(cube, meta, permutations=500, seed=i),
                              size_trend(cube, meta, resamples=50, seed=i), category_profiles(cube),
                              region_divergence(cube, "m0", "m1", contrast="elsewhere")]
        report = adjust_report(results, ALPHA)
        tests.append(report["tests"])
        any_claim.add(any(r.claim for r in results))
    return [any_claim.row("findings report: any claim (BH over all tests)", "type-I error",
                          f"12 models, no effect anywhere; ~{int(np.mean(tests))} tests per report; "
                          + describe(OWN))]


# -- languages, compare, priming ----------------------------------------------------------------------------------


@check("languages", fast=25)
def check_languages(sims: int, seed: int = 0) -> list[Measured]:
    from .languages import language_consistency

    rows: list[Measured] = []
    for k, shape in enumerate([OWN, T30]):
        dims = [f"v{j}" for j in range(shape.values)]
        for label, delta in (("0 points", 0.0), ("2 points", 0.22), ("5 points", 0.55)):
            reject, cov = Tally(), Tally()
            for i in range(sims):
                rng = np.random.default_rng([seed, i, int(delta * 100), k])
                mu = sim.model_profiles(rng, [0], shape.values)
                shift = delta * np.where(np.arange(shape.values) % 2, 1.0, -1.0)[None]
                en, zh, topics = sim.draw_languages(shape, mu, rng, shift=shift, untranslated=0.2)
                per_model, _ = language_consistency({"en": en, "zh": zh}, ["m0"], dims, permutations=200, seed=i,
                                                    topics=topics)
                r_en, r_zh = sim.expected_rate(mu, shape.sd) * 100, sim.expected_rate(mu + shift, shape.sd) * 100
                true = float(np.sqrt(np.mean(((r_en - r_zh) / 2) ** 2)))
                reject.add(per_model.spread_p[0] <= ALPHA)
                cov.add(_covers(per_model.spread_lo[0], per_model.spread_hi[0], true))
            d = f"one model, 20% untranslated, true spread {label}; {describe(shape)}"
            if delta == 0:
                rows.append(reject.row("languages: spread permutation p", "type-I error", d))
            elif label == "2 points":
                rows.append(reject.row("languages: spread permutation p", "power", d))
            rows.append(cov.row(f"languages: spread 95% CI at {label}", "coverage", d))
    return rows


@check("compare", fast=150)
def check_compare(sims: int, seed: int = 0) -> list[Measured]:
    from .compare import compare_means, mean_ci

    rows = []
    designs: list[tuple[tuple[int, int | tuple[int, int]], tuple[int, int | tuple[int, int]], str]] = [
        ((40, 8), (30, 5), "S of 40 topics × 8 questions vs 30 × 5"),
        ((30, (3, 10)), (30, (3, 10)), "S of 30 topics of 3–10 questions vs another 30")]
    for k, ((ta_n, ta_k), (tb_n, tb_k), what) in enumerate(designs):
        null, cov, power = Tally(), Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            a, ta = sim.clustered_scores(rng, ta_n, ta_k, mean=6.0)
            b, tb = sim.clustered_scores(rng, tb_n, tb_k, mean=6.0)
            null.add(compare_means(a, b, ta, tb)["welch_p"] <= ALPHA)
            cov.add(_covers(*mean_ci(a, ta), 6.0))
            c, tc = sim.clustered_scores(rng, tb_n, tb_k, mean=7.0)
            power.add(compare_means(a, c, ta, tc)["welch_p"] <= ALPHA)
        d = what + ", topic sd 1, question sd 1.5"
        rows += [null.row("compare: Welch test of mean S (over topics)", "type-I error", d),
                 power.row("compare: Welch test of mean S (over topics)", "power", d + "; +1.0"),
                 cov.row("compare: mean S 95% CI", "coverage", d)]
    mwu = Tally()
    for i in range(sims):
        rng = np.random.default_rng([seed, i, 9])
        a, b = rng.normal(6, 1.8, 120), rng.normal(6, 1.8, 80)
        mwu.add(compare_means(a, b)["mannwhitney_p"] <= ALPHA)
    rows.append(mwu.row("compare: Mann–Whitney U (sets without topics)", "type-I error",
                        "120 vs 80 independent questions, one distribution"))
    return rows


@check("retest", fast=60)
def check_retest(sims: int, seed: int = 0) -> list[Measured]:
    """`compare --draws`' test–retest ICC(1) interval (a jackknife over topics) against the true ICC."""
    import pandas as pd

    from .compare import retest_reliability

    rows = []
    cases = [(30, (3, 10), 2, 0.5), (30, (3, 10), 3, 0.5), (30, (3, 10), 2, 0.2), (60, (3, 10), 2, 0.5),
             (120, (1, 1), 2, 0.5)]
    for k, (topics, sizes, draws, icc) in enumerate(cases):
        tally = Tally()
        for i in range(sims):
            x, t = sim.retest_scores(np.random.default_rng([seed, i, k]), topics, sizes, draws, icc=icc)
            long = pd.DataFrame({"question": np.repeat(np.arange(len(x)), draws), "draw": np.tile(np.arange(draws),
                                 len(x)), "score": x.ravel(), "topic": np.repeat(t, draws) if sizes != (1, 1) else None})
            r = retest_reliability(long)
            tally.add(_covers(r["icc1_lo"], r["icc1_hi"], icc) if r else np.nan)
        d = (f"{topics} topics of {sizes[0]}–{sizes[1]} questions (half of S's variance the topic's)" if sizes != (1, 1)
             else f"{topics} independent questions") + f", {draws} draws, ICC1 {icc}"
        rows.append(tally.row("compare --draws: test–retest ICC1 95% CI", "coverage", d))
    return rows


@check("priming", fast=150)
def check_priming(sims: int, seed: int = 0) -> list[Measured]:
    from .priming import paired_effect

    rows = []
    for k, (topics, sizes) in enumerate([(10, (4, 4)), (30, (3, 10))]):
        null, power = Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            topic = np.repeat(np.arange(topics), rng.integers(sizes[0], sizes[1] + 1, topics))
            names = [f"t{j}" for j in topic]
            n = len(topic)
            base_logit = rng.normal(0, 0.8, topics)[topic] + rng.normal(0, 0.5, n)
            for effect, out in ((0.0, null), (1.2 if k == 0 else 0.6, power)):
                inter = rng.normal(0, 1.0, topics)[topic]  # the prime's effect varies by topic
                b = (rng.random(n) < 1 / (1 + np.exp(-base_logit))).astype(float)
                p = (rng.random(n) < 1 / (1 + np.exp(-(base_logit + inter + effect)))).astype(float)
                out.add(paired_effect(b, p, names)["p"] <= ALPHA)
        d = f"{topics} topics of {sizes[0]}–{sizes[1]} questions, the prime's effect varying by topic (sd 1 logit)"
        rows += [null.row("prime: paired t-test (over topics)", "type-I error", d),
                 power.row("prime: paired t-test (over topics)", "power", d + f"; +{1.2 if k == 0 else 0.6} logit")]
    return rows


# -- reliability --------------------------------------------------------------------------------------------------


def _agreement_components(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The mean squares and moments behind ICC(2,1), ICC(3,1), Pearson and Spearman of two profiles: their
    population values are these functions of the components' expectations."""
    from scipy.stats import rankdata

    x = np.stack([a.ravel(), b.ravel()], axis=1)
    n = len(x)
    grand = x.mean()
    msr = 2 * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - grand) ** 2).sum()
    sse = ((x - grand) ** 2).sum() - msr * (n - 1) - msc
    ra, rb = rankdata(x[:, 0]), rankdata(x[:, 1])
    return np.array([msr, msc, sse / (n - 1), np.cov(x.T)[0, 1], x[:, 0].var(ddof=1), x[:, 1].var(ddof=1),
                     np.cov(ra, rb)[0, 1], ra.var(ddof=1), rb.var(ddof=1)])


def _agreement_truth(c: np.ndarray, n: int) -> dict[str, float]:
    msr, msc, mse, cov, va, vb, rcov, rva, rvb = c
    return {"icc2": (msr - mse) / (msr + mse + 2 * (msc - mse) / n), "icc3": (msr - mse) / (msr + mse),
            "pearson_r": cov / math.sqrt(va * vb), "spearman_rho": rcov / math.sqrt(rva * rvb)}


@check("reliability", fast=25)
def check_reliability(sims: int, seed: int = 0) -> list[Measured]:
    """`adaem reliability`: Cronbach's α over 5 folds of whole topics and the agreement with a second benchmark
    of the same models (ICC(2,1), ICC(3,1), Pearson, Spearman), each with its jackknife interval over topics.
    The subjects (model, value) are fixed and the questions random, so the true value of each is its formula at
    the expected mean squares over question draws (estimated over the simulations). Feldt's F interval of α,
    shown until issue 36, is measured beside it."""
    from ..resampling import clusters_of
    from .psychometrics import cronbach_alpha
    from .reliability import AGREEMENT, agreement_intervals, alpha_interval, fold_alpha, fold_of, subset_scores

    shape = T30
    families = [0, 0, 1, 1, 2, 2]
    mu = sim.model_profiles(np.random.default_rng(2024), families, shape.values, family_sd=0.5, model_sd=0.3)
    models, dims = [f"m{j}" for j in range(6)], [f"v{j}" for j in range(shape.values)]
    folds = 5
    est, comp_alpha, comp_agree, ci, feldt = [], [], [], [], []
    for i in range(sims):
        rng = np.random.default_rng([seed, i])
        a, b = sim.draw(shape, mu, rng, families=families), sim.draw(shape, mu, rng, families=families)
        clusters = clusters_of(a.topic, len(a.x))
        fold = fold_of(len(a.x), folds, i, clusters)
        per_fold = subset_scores(a.x, [np.flatnonzero(fold == k) for k in range(folds)], models, dims)
        items = per_fold.reshape(folds, -1).T
        comp_alpha.append([items.var(axis=0, ddof=1).sum(), items.sum(axis=1).var(ddof=1)])
        est.append(fold_alpha(per_fold))
        lo, hi = alpha_interval(a.x, fold, clusters, models, dims, seed=i)
        feldt.append(cronbach_alpha(items)[1:])
        full_a = subset_scores(a.x, [np.arange(len(a.x))], models, dims)[0]
        full_b = subset_scores(b.x, [np.arange(len(b.x))], models, dims)[0]
        comp_agree.append(_agreement_components(full_a, full_b))
        ci.append(((lo, hi), agreement_intervals(a.x, a.topic, b.x, b.topic, models, dims, seed=i)))
    sums = np.mean(comp_alpha, axis=0)
    true_alpha = folds / (folds - 1) * (1 - sums[0] / sums[1])
    truth = _agreement_truth(np.mean(comp_agree, axis=0), len(models) * len(dims))
    alpha_t, feldt_t = Tally(), Tally()
    agree = {k: Tally() for k in AGREEMENT}
    for ((lo, hi), intervals), (f_lo, f_hi) in zip(ci, feldt, strict=True):
        alpha_t.add(_covers(lo, hi, true_alpha))
        feldt_t.add(_covers(f_lo, f_hi, true_alpha))
        for k in AGREEMENT:
            agree[k].add(_covers(*intervals[k], truth[k]))
    d = f"6 models × 10 values, {describe(shape)}"
    rows = [alpha_t.row("reliability: Cronbach's α 95% CI (over topics)", "coverage",
                        d + f", 5 folds of whole topics; true α {true_alpha:.2f}"),
            feldt_t.row("reliability: Cronbach's α, Feldt's F interval (no longer shown)", "coverage",
                        d + ", 5 folds of whole topics")]
    names = {"icc2": "ICC(2,1)", "icc3": "ICC(3,1)", "pearson_r": "Pearson r", "spearman_rho": "Spearman ρ"}
    for k in AGREEMENT:
        rows.append(agree[k].row(f"reliability --against: {names[k]} 95% CI (over both runs' topics)",
                                 "coverage", d + f", two benchmarks; true value {truth[k]:.2f}"))
    return rows


# -- judge-check and the human study -------------------------------------------------------------------------------


@check("judge", fast=15)
def check_judge(sims: int, seed: int = 0) -> list[Measured]:
    """judge-check's held-out figures with their intervals over texts, against the judge's figures on 200,000
    texts (the population), for the held-out halves of the shipped sets (63 MFT texts, 125 Schwartz texts).
    ECE is shown without an interval; the percentile bootstrap it had is measured here on a calibrated judge
    (population ECE 0) and on the noisy one."""
    from .judge_metrics import METRICS, bootstrap_intervals, calibration_curve, summarize

    rows = []
    for k, (texts, values) in enumerate([(125, 10), (63, 6)]):
        g, p = sim.judged_texts(np.random.default_rng(123), 200_000, values)
        truth = summarize(g, p, 0.5)
        tallies = {m: Tally() for m in METRICS if m != "ece"}
        for i in range(sims):
            gold, prob = sim.judged_texts(np.random.default_rng([seed, i, k]), texts, values)
            intervals = bootstrap_intervals(gold, prob, 0.5, resamples=1000, seed=i)
            for m in tallies:
                tallies[m].add(_covers(*intervals[m], truth[m]))
        d = f"{texts} held-out texts, {values} values, a noisy judge"
        rows += [tallies[m].row(f"judge-check: {m} 95% CI", "coverage", d) for m in tallies]
    rows += _per_value_rows(sims, seed)
    for k, calibrated in enumerate((True, False)):
        g, p = sim.judged_texts(np.random.default_rng(124), 200_000, 10, calibrated=calibrated)
        truth_ece = calibration_curve(g, p)[0]
        tally = Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, 7, k])
            gold, prob = sim.judged_texts(rng, 125, 10, calibrated=calibrated)
            boot = [calibration_curve(gold[r], prob[r])[0] for r in rng.integers(0, 125, (300, 125))]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            tally.add(_covers(lo, hi, truth_ece))
        rows.append(tally.row("judge-check: ECE percentile 95% CI (removed: ECE is shown without one)", "coverage",
                              f"125 texts, 10 values, {'a calibrated' if calibrated else 'the noisy'} judge "
                              f"(true ECE {truth_ece:.2f})"))
    return rows


def _per_value_rows(sims: int, seed: int) -> list[Measured]:
    """The report's per-value line (issue 37.4): each value's held-out precision and recall with Wilson's interval,
    against that value's figures on 200,000 texts; 88 texts as the shipped real-answer sets hold out."""
    from .judge_check import per_value_intervals

    ids = [f"v{j}" for j in range(10)]
    g, p = sim.judged_texts(np.random.default_rng(125), 200_000, 10)
    truth = {r["value"]: r for r in per_value_intervals(g, p, 0.5, ids)}
    tallies = {m: Tally() for m in ("precision", "recall")}
    for i in range(sims):
        gold, prob = sim.judged_texts(np.random.default_rng([seed, i, 37]), 88, 10)
        for r in per_value_intervals(gold, prob, 0.5, ids):
            for m, tally in tallies.items():
                if r[f"{m}_ci"] is not None:
                    lo, hi = r[f"{m}_ci"]
                    tally.add(_covers(lo, hi, truth[r["value"]][m]))
    return [tally.row(f"judge-check: per-value {m} 95% CI (Wilson, the report's judge line)", "coverage",
                      "88 held-out texts, 10 values, a noisy judge") for m, tally in tallies.items()]


@check("subsets", fast=6)
def check_subsets(sims: int, seed: int = 0) -> list[Measured]:
    """`adaem subsets` (Appendix K.2): the topic-resampled interval of the mean agreement between random subsets
    and the whole benchmark, against its expectation over benchmarks drawn from the same population of topics
    (Monte Carlo over fresh benchmarks): the figure a study on questions like these would give."""
    from .subsets import METRICS, subset_agreement, subset_consistency

    sizes = [40, 100]
    mu = sim.model_profiles(np.random.default_rng(4321), [0, 0, 1, 1, 2, 2], T30.values)
    found: dict[int, list[np.ndarray]] = {s: [] for s in sizes}
    for i in range(max(60, sims)):  # the truth: mean agreement averaged over independent benchmarks
        x = sim.draw(T30, mu, np.random.default_rng([99, i])).x
        present = ~np.isnan(x)
        drawn = subset_agreement((np.nan_to_num(x) >= 0.5) & present, present, sizes, 20, np.random.default_rng(i))
        for size in sizes:
            found[size].append(np.nanmean(drawn[size], axis=0))
    truth = {size: np.mean(found[size], axis=0) for size in sizes}
    tallies = {size: Tally() for size in sizes}
    for i in range(sims):
        a = sim.draw(T30, mu, np.random.default_rng([seed, i, 21]))
        table = subset_consistency(a.x, sizes, topics=list(a.topic), seed=i).table.set_index(["size", "metric"])
        for size in sizes:
            rows = table.loc[size].loc[list(METRICS)]
            tallies[size].add(_covers(rows["lo"].to_numpy(), rows["hi"].to_numpy(), truth[size]))
    return [tallies[size].row("subsets: mean agreement 95% CI (topics resampled; ICC, Pearson, Spearman, α)",
                              "coverage", f"subsets of {size} questions, 6 models in 3 families, {describe(T30)}")
            for size in sizes]


@check("annotate", fast=100)
def check_annotate(sims: int, seed: int = 0) -> list[Measured]:
    """`annotate results`: each set's mean rating with its interval, the relative gain's interval and the paired
    sign-flip test, with 12 and 150 pairs of questions rated 1–3 by 3 raters (pairs matched by topic share half
    their latent quality). The true means come from 400,000 simulated pairs."""
    from ..annotate.comparison import compare_sets

    big_b, big_g = sim.rated_pairs(np.random.default_rng(99), 400_000, shift=0.3)
    true_b, true_g = float(big_b.mean()), float(big_g.mean())
    rows = []
    for k, pairs in enumerate([12, 150]):
        mean_t, gain_t, null = Tally(), Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            b, g = sim.rated_pairs(rng, pairs, shift=0.3)
            c = compare_sets(b, g, permutations=500, seed=i)
            mean_t.add([_covers(*c.baseline_ci, true_b), _covers(*c.generated_ci, true_g)])
            gain_t.add(_covers(*c.gain_ci, true_g / true_b - 1))
            b0, g0 = sim.rated_pairs(rng, pairs)
            null.add(compare_sets(b0, g0, permutations=500, seed=i).p_value <= ALPHA)
        d = f"{pairs} pairs, 3 raters, ratings 1–3"
        rows += [mean_t.row("annotate: set mean 95% CI", "coverage", d),
                 gain_t.row("annotate: relative gain 95% CI", "coverage", d + "; generated +0.3 latent"),
                 null.row("annotate: paired sign-flip test", "type-I error", d)]
    return rows


@check("distinguish", fast=40)
def check_distinguish(sims: int, seed: int = 0) -> list[Measured]:
    """`adaem distinguish` (Fig. 8a / Table 15): each benchmark's mean pairwise correlation of the models' rate
    profiles and mean within-model SD, with jackknife-t intervals over topics, against their population values
    (the profiles' expected rates); the Welch test of a difference between two independent benchmarks of one
    design (null), and against a benchmark whose questions separate the models more (power)."""
    from ..resampling import clusters_of
    from .distinguishability import Benchmark, profile_separation, separation

    rows = []
    pairs = replace(T30, topics=15)  # two close models on 15 topics: the embedded demo's correlation near 0.9
    for k, (shape, families) in enumerate([(T30, [0, 0, 1, 1, 2, 2]), (T60, [0, 0, 1, 1, 2, 2]), (pairs, [0, 0])]):
        mu = sim.model_profiles(np.random.default_rng(4321), families, shape.values, model_sd=0.3 if k < 2 else 0.15)
        wider = mu + np.random.default_rng(4322).normal(0, 0.6, mu.shape)  # questions that pull the models apart
        truth = np.array(profile_separation(sim.expected_rate(mu, shape.sd)))
        corr, sd, null, power, sizes = Tally(), Tally(), Tally(), Tally(), Tally()
        for i in range(sims):
            rng = np.random.default_rng([seed, i, k])
            a, b, c = (sim.draw(shape, m, rng) for m in (mu, mu, wider))
            bench = [Benchmark(name, x.x, clusters_of(list(x.topic), len(x.x))) for name, x in
                     (("a", a), ("b", b), ("c", c))]
            result = separation(bench)
            first = result.table.iloc[0]
            corr.add(_covers(first.corr_lo, first.corr_hi, truth[0]))
            sd.add(_covers(first.sd_lo, first.sd_hi, truth[1]))
            tests = result.tests.set_index(["a", "b", "statistic"])
            null.add([_rejects(tests.loc[("a", "b", st), "p"]) for st in ("mean_corr", "mean_sd")])
            power.add(_rejects(tests.loc[("a", "c", "mean_sd"), "p"]))
            if k == 0:  # one design against a benchmark twice its size: their biases differ, the corrected do not
                big = sim.draw(T60, mu, rng)
                other = separation([bench[0], Benchmark("big", big.x, clusters_of(list(big.topic), len(big.x)))])
                sizes.add(_rejects(other.tests.p.to_numpy()))
        d = f"{len(families)} models in {len(set(families))} famil{'ies' if len(set(families)) > 1 else 'y'}, " \
            + (f"profile correlation {truth[0]:.2f}, " if k == 2 else "") + describe(shape)
        rows += [corr.row("distinguish: mean profile correlation 95% CI (jackknife over topics)", "coverage", d),
                 sd.row("distinguish: mean within-model SD 95% CI (jackknife over topics)", "coverage", d),
                 null.row("distinguish: Welch test between two benchmarks", "type-I error",
                          d + "; both figures, two benchmarks of one design"),
                 power.row("distinguish: Welch test between two benchmarks", "power",
                           d + "; mean SD, against questions adding model offsets of sd 0.6 logit")]
        if k == 0:
            rows.append(sizes.row("distinguish: Welch test between two benchmarks", "type-I error",
                                  d + " against 60 such topics; both figures"))
    return rows


def run_checks(sims: int, names: list[str] | None = None, seed: int = 0) -> list[Measured]:
    out: list[Measured] = []
    with _quiet():
        for name in names or list(CHECKS):
            out += CHECKS[name](sims, seed)
    return out


__all__ = ["ALPHA", "CHECKS", "COVERAGE", "FAST", "Measured", "TYPE_I_MAX", "Tally", "check", "describe",
           "run_checks"]
