"""Findings about models (SPEC §8, the paper's §5): do families share profiles, do reasoning models differ from
chat models, do newer models prefer safety-related values, do larger models drift further from the pool, and how
do rates move with size inside a family. The family-respecting permutation test is `family_tests`.

Two units of inference. Claims about *kinds of model* (families; reasoning vs chat; newer; larger) take the
models as the sample, which is the only way such a claim generalises past the models in hand. Models of one
family share training data and recipes, so they are not independent draws either: a group contrast is tested
by permuting labels *within* families (the family is held fixed, as a stratum) when families mix the groups,
else with the families as units, and a design in which the group cannot be told from the family says so
(`family_test`). Claims about *these models* (size trends inside one family) resample topics and are
conditional on the models.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..resampling import (
    CORRECTION_NAMES,
    Clusters,
    Correction,
    contrast_test,
    expression_rates,
    jackknife_groups,
    t_p,
    t_quantile,
)
from .claims import Metadata, conclude_alone, fmt_p, meta_value
from .cube import Labels, as_cube
from .family_tests import families_of, family_test

# -- 1. profile similarity --------------------------------------------------------------------------------------


def profile_correlations(profiles: np.ndarray, center: bool = True) -> np.ndarray:
    """Pearson r between models' profiles: ... × models × values -> ... × models × models. With `center`, each
    value's mean over the models is subtracted first, so r measures how alike two models *deviate* from the
    pool rather than the shared shape (every model expresses benevolence more than power, which would put
    every raw r near 1). The pool then matters: r needs at least 3 models and is biased towards −1/(M−1)."""
    p = profiles - profiles.mean(axis=-2, keepdims=True) if center else profiles
    p = p - p.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(p, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = p / np.where(norm > 0, norm, np.nan)
    return unit @ np.swapaxes(unit, -1, -2)


def _topic_sums(x: np.ndarray, clusters: Clusters) -> tuple[np.ndarray, np.ndarray]:
    """Per topic: the sum of the labels and their count (topics × models × values)."""
    here = ~np.isnan(x)
    sums, counts = np.zeros((clusters.count, *x.shape[1:])), np.zeros((clusters.count, *x.shape[1:]))
    np.add.at(sums, clusters.codes, np.where(here, x, 0.0))
    np.add.at(counts, clusters.codes, here.astype(float))
    return sums, counts


def _cross_r(sums: np.ndarray, counts: np.ndarray, in_a: np.ndarray, keep: np.ndarray, center: bool) -> np.ndarray:
    """Mean over the halvings (in_a: splits × topics) of the symmetrised cross-half r, topics where `keep`."""
    a, b = (in_a * keep).astype(float), (~in_a * keep).astype(float)
    flat_s, flat_n = sums.reshape(len(sums), -1), counts.reshape(len(counts), -1)
    shape = (len(in_a), *sums.shape[1:])
    with np.errstate(invalid="ignore", divide="ignore"):  # einsum: a threaded BLAS matmul of this shape ran 20× slower
        rates_a = (np.einsum("sg,gk->sk", a, flat_s) / np.einsum("sg,gk->sk", a, flat_n)).reshape(shape)
        rates_b = (np.einsum("sg,gk->sk", b, flat_s) / np.einsum("sg,gk->sk", b, flat_n)).reshape(shape)

    def unit(p: np.ndarray) -> np.ndarray:
        p = p - p.mean(axis=-2, keepdims=True) if center else p
        p = p - p.mean(axis=-1, keepdims=True)
        norm = np.linalg.norm(p, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return p / np.where(norm > 0, norm, np.nan)

    r = np.einsum("smv,snv->smn", unit(rates_a), unit(rates_b))  # small: einsum, not a threaded batched matmul
    with warnings.catch_warnings():  # a model with no label on some value in a half: that split says nothing
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean((r + np.swapaxes(r, -1, -2)) / 2, axis=0)


def _halvings(count: int, splits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(count) < count // 2 for _ in range(splits)])


def crossfit_correlations(x: np.ndarray, clusters: Clusters, splits: int = 20, seed: int = 0,
                          center: bool = True) -> np.ndarray:
    """models × models: Pearson r between one model's profile on a random half of the topics and the other's on
    the other half (both directions averaged), averaged over `splits` random halvings.

    Why across halves: two models of one family can react alike to particular topics and questions (a shared
    reading of a prompt) without having alike profiles on questions in general. On one set of questions that
    shared reaction makes their profiles correlate; across disjoint topics its mean is 0, since the halves'
    topic effects are independent. So the cross-half r estimates how alike the models are on questions like
    these (issue 36: r on all the questions made "family members are closer" reject 30.6% of the time at 0.05
    with 12 models of identical profiles)."""
    sums, counts = _topic_sums(x, clusters)
    return _cross_r(sums, counts, _halvings(clusters.count, splits, seed), np.ones(clusters.count), center)


def _partitions(sizes: list[int]) -> int:
    """Distinct ways to split len models into unlabelled groups of these sizes (what a label permutation can
    reach): M! / (Π n_g! · Π_k (number of groups of size k)!)."""
    out = math.factorial(sum(sizes))
    for n in sizes:
        out //= math.factorial(n)
    for repeats in Counter(sizes).values():
        out //= math.factorial(repeats)
    return out


@dataclass
class ProfileSimilarity:
    """Models' value profiles, how they correlate, their clustering, and whether one `key` (family) clusters."""

    key: str
    center: bool  # whether r is of profiles centered on the pool mean (see profile_correlations)
    models: list[str]  # the models with a complete profile, input order
    order: list[str]  # the same, in hierarchical-clustering leaf order
    profiles: pd.DataFrame  # models × values: expression rate
    correlation: pd.DataFrame  # models × models: Pearson r of (centered) profiles
    linkage: np.ndarray  # scipy linkage of 1 − r (average linkage)
    groups: dict[str, Any]  # model -> its `key` (None: unknown, not in the test)
    within_r: float  # mean cross-half r (`crossfit_correlations`) of same-key pairs: what the test is on
    between_r: float
    p: float  # max(p_models, p_topics): both must hold for the claim (an intersection–union test)
    permutations: int
    claim: str | None
    not_shown: str | None
    unit: str = ""  # the test's unit: the models
    reachable: int = 0
    p_adj: float = float("nan")
    unit_of_questions: str = "topics"  # what the halves split: topics, or questions when the benchmark has none
    p_models: float = float("nan")  # one-sided permutation p of within − between (family labels over models)
    p_topics: float = float("nan")  # one-sided t p of within − between against 0, SE by a jackknife over topics

    def pvalues(self) -> np.ndarray:
        return np.array([self.p if self.permutations else np.nan])

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        self.p_adj = float(p_adj[0])
        if not self.permutations:
            return
        who = f"{self.key} members" if self.key == "family" else f"models of one {self.key}"
        numbers = (f"mean r across disjoint halves of the {self.unit_of_questions} {self.within_r:.2f} vs "
                   f"{self.between_r:.2f}, {fmt_p(self.p)} (the larger of: permutation over models "
                   f"{fmt_p(self.p_models)}, jackknife over {self.unit_of_questions} {fmt_p(self.p_topics)}), {how}: "
                   f"adjusted p = {self.p_adj:.3f}")
        self.claim = self.not_shown = None
        if self.p_adj <= alpha and self.within_r > self.between_r:
            self.claim = f"{who} are closer than other pairs on questions like these: {numbers}"
        elif 1 / self.reachable > alpha:
            tested = sum(1 for g in self.groups.values() if g is not None)
            sizes = sorted(Counter(str(g) for g in self.groups.values() if g is not None).values())
            self.not_shown = (f"{tested} models in groups of {sizes} allow only {self.reachable} distinct "
                              f"arrangements, so no p can reach {alpha} ({numbers})")
        else:
            self.not_shown = f"{who} are not shown to be closer than other pairs: {numbers}"


def _similarity_topics_p(x: np.ndarray, clusters: Clusters, a: np.ndarray, b: np.ndarray, same: np.ndarray,
                         observed: float, splits: int, seed: int, center: bool) -> float:
    """One-sided p of the within − between cross-half r against 0, its SE from a delete-one-topic jackknife (the
    halvings held fixed; topics grouped when there are many, `jackknife_groups`)."""
    from scipy.stats import t

    sums, counts = _topic_sums(x, clusters)
    halves = _halvings(clusters.count, splits, seed)
    group_of_topic = np.empty(clusters.count, dtype=np.int64)
    group_of_topic[clusters.codes] = jackknife_groups(clusters, seed=seed)
    count = int(group_of_topic.max()) + 1
    if count < 3:
        return float("nan")
    reps = []
    for g in range(count):
        r = _cross_r(sums, counts, halves, group_of_topic != g, center)[a, b]
        reps.append(np.nanmean(r[same]) - np.nanmean(r[~same]))
    values = np.asarray(reps)
    se = math.sqrt((count - 1) / count * float(np.sum((values - values.mean()) ** 2)))
    if not np.isfinite(se):
        return float("nan")
    return float(t.sf(observed / se, count - 1)) if se > 0 else float(observed <= 0)


def profile_similarity(labels: Labels, meta: Metadata | None = None, *, key: str = "family", center: bool = True,
                       alpha: float = 0.05, permutations: int = 10_000, resamples: int = 200, splits: int = 20,
                       seed: int = 0) -> ProfileSimilarity:
    """Correlation of models' value profiles, their clustering, and the test of "models that share `key` are
    more alike than other pairs".

    The statistic is mean r over same-`key` pairs minus mean r over the other pairs, among models whose `key`
    is known, with r taken across disjoint halves of the topics (`crossfit_correlations`, `splits` halvings): a
    claim about questions like these, not only these questions. The claim needs two things, each tested one-sided
    (an intersection–union test, Berger 1982: p = the larger of the two, valid when either null holds):
    - among these models, same-`key` pairs are closer than the others: permuting the `key` labels over the
      models (a Mantel-type test: pairs share models, and the permutation respects that), p_models = (1 +
      #permuted ≥ observed) / (1 + permutations);
    - that closeness is not an accident of which topics were asked: the statistic against 0 with its SE from a
      delete-one-topic jackknife (`jackknife_groups`), t with G − 1 df, p_topics. Family members that react alike
      to particular topics still share that noise across halves (its square), which the permutation alone read
      as similarity (7.9% at 0.05 with identical profiles and family × topic effects; 0.0% with both).
    With few models there are few distinct arrangements (2 families of 2: 3), and the smallest reachable p is 1
    / that count: `not_shown` says so. `correlation` (the heatmap and clustering) is r on all the questions, a
    description. No interval for the two means: bootstrap intervals over topics covered the true means
    0.87–0.91 of the time in the validity suite, so they are not reported. `resamples` is unused (kept so calls
    that pass it work)."""
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    cube = as_cube(labels)
    rates = expression_rates(cube.x)
    complete = np.isfinite(rates).all(axis=1)
    models = [m for m, ok in zip(cube.models, complete, strict=True) if ok]
    if len(models) < 3:
        raise ConfigError(f"profile similarity needs at least 3 models with a label on every value, got {len(models)}")
    prof = rates[complete]
    r = profile_correlations(prof, center)
    dist = np.clip(1 - np.nan_to_num(r, nan=0.0), 0, 2)
    np.fill_diagonal(dist, 0)
    condensed = squareform(dist, checks=False)
    tree = optimal_leaf_ordering(linkage(condensed, "average"), condensed)
    order = [models[i] for i in leaves_list(tree)]
    groups = {m: meta_value(meta, m, key) for m in models}
    del resamples

    tested = [i for i, m in enumerate(models) if groups[m] is not None]
    codes = pd.factorize(np.array([groups[models[i]] for i in tested], dtype=object))[0]
    ii, jj = np.triu_indices(len(tested), 1)
    same = codes[ii] == codes[jj]
    a, b = np.array(tested, dtype=int)[ii], np.array(tested, dtype=int)[jj]
    result = ProfileSimilarity(key, center, models, order, pd.DataFrame(prof, index=models, columns=cube.values),
                               pd.DataFrame(r, index=models, columns=models), tree, groups, float("nan"),
                               float("nan"), float("nan"), 0, None, None, "models (family labels permuted)")
    sizes = list(Counter(codes.tolist()).values())
    if len(sizes) < 2 or not same.any():
        result.not_shown = (f"needs two {key} values and one {key} with two models among the models with a "
                            f"known {key}; found {dict(Counter(str(groups[models[i]]) for i in tested))}")
        return result
    clusters = cube.clusters()
    result.unit_of_questions = "topics" if clusters.unit == "topic" else "questions"
    if clusters.count < 4:
        result.not_shown = (f"needs at least 4 {result.unit_of_questions} to compare profiles across disjoint halves "
                            f"of them; found {clusters.count}")
        return result
    cross = crossfit_correlations(cube.x[:, np.flatnonzero(complete)], clusters, splits, seed, center)
    pair_r = cross[a, b]
    if not np.isfinite(pair_r).all():
        result.not_shown = (f"some models have no label on some value in a half of the {result.unit_of_questions}: "
                            "profiles across halves cannot be compared")
        return result
    result.within_r, result.between_r = float(pair_r[same].mean()), float(pair_r[~same].mean())
    observed = result.within_r - result.between_r

    rng = np.random.default_rng(seed)
    shuffled = codes[np.argsort(rng.random((permutations, len(codes))), axis=1)]
    same_p = shuffled[:, ii] == shuffled[:, jj]
    stats = (same_p @ pair_r) / same_p.sum(axis=1) - (~same_p @ pair_r) / (~same_p).sum(axis=1)
    result.p_models = float((1 + np.sum(stats >= observed - 1e-12)) / (1 + permutations))
    result.p_topics = _similarity_topics_p(cube.x[:, np.flatnonzero(complete)], clusters, a, b, same, observed,
                                           splits, seed, center)
    result.p = max(result.p_models, result.p_topics if np.isfinite(result.p_topics) else 1.0)
    result.permutations = permutations
    result.reachable = _partitions(sizes)
    result.conclude(result.pvalues(), alpha, "one test")
    return result


def topic_replicate_rates(x: np.ndarray, clusters: Clusters, seed: int = 0) -> np.ndarray | None:
    """G × models × values: the expression rates with each group of topics left out (`jackknife_groups`), for
    the jackknife over topics beside a permutation over models; None with fewer than 3 groups."""
    groups = jackknife_groups(clusters, seed=seed)
    count = int(groups.max()) + 1 if len(groups) else 0
    if count < 3:
        return None
    here = ~np.isnan(x)
    sums, n = np.zeros((count, *x.shape[1:])), np.zeros((count, *x.shape[1:]))
    np.add.at(sums, groups, np.where(here, x, 0.0))
    np.add.at(n, groups, here.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums.sum(axis=0) - sums) / (n.sum(axis=0) - n)


# -- 2. group differences ---------------------------------------------------------------------------------------


@dataclass
class GroupDifference:
    """Per value: how two groups of models (by one metadata key) differ in expression, with tests."""

    key: str
    groups: tuple[str, str]
    members: dict[str, list[str]]
    unit: str
    correction: str
    table: pd.DataFrame  # value, rate_a, rate_b, difference, ci_lo, ci_hi, cohen_h, cohen_d, p, p_adj, significant
    claim: str | None
    not_shown: str | None
    design: str = ""  # the units and permutations (unit="model") or the resampling unit (unit="question")
    cannot: str | None = None  # why the design cannot separate the groups from the families
    smallest: float = 0.0

    def pvalues(self) -> np.ndarray:
        return self.table["p"].to_numpy(float)

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        table = self.table.assign(p_adj=p_adj, significant=p_adj <= alpha)
        self.table, self.claim, self.not_shown = table, None, None
        a, b = self.groups
        n_a, n_b = len(self.members[a]), len(self.members[b])
        who = f"{a} vs {b} models ({self.key}, {n_a} vs {n_b})"
        test = "permutation over models" if self.unit == "model" else "t-test over topics"
        sig = table[table.significant]
        if len(sig):
            parts = [f"{row.value} {row.difference:+.2f} ({row.rate_a:.2f} vs {row.rate_b:.2f}, h = "
                     f"{row.cohen_h:.2f}, {fmt_p(row.p)})" for row in sig.itertuples()]
            self.claim = (f"{who} differ on {len(sig)} of {len(table)} values ({test}, {self.design}; {how}, "
                          f"adjusted p ≤ {alpha}): " + "; ".join(parts))
        elif self.cannot:
            self.not_shown = f"{who}: {self.cannot}"
        elif self.smallest > alpha or ("Holm" in how and self.smallest * int(table.p.notna().sum()) > alpha):
            self.not_shown = (f"{who}: with these group sizes the smallest {test} p is {self.smallest:.3f} "
                              f"({self.design}), so after {how} no value can reach {alpha}; more models are needed "
                              f"(unit='question' tests these models only)")
        else:
            best = table.loc[table["p"].idxmin()] if table["p"].notna().any() else None
            tail = "" if best is None else (f"; the closest is {best.value} {best.difference:+.2f}, {fmt_p(best.p)}, "
                                            f"adjusted p = {best.p_adj:.3f}")
            self.not_shown = f"{who} are not shown to differ on any value ({test}, {self.design}; {how}){tail}"


def group_difference(labels: Labels, meta: Metadata, key: str = "kind", groups: tuple[str, str] | None = None, *,
                     unit: Literal["model", "question"] = "model", family_key: str = "family",
                     correction: Correction = "holm", alpha: float = 0.05, permutations: int = 10_000,
                     resamples: int = 200, seed: int = 0) -> GroupDifference:
    """For every value, group a's expression rate minus group b's, the effect sizes, a p-value and its
    correction across values.

    unit="model" (default): "reasoning models express X more than chat models", with the models as the sample,
    respecting families (`family_test`): labels are permuted within the families that hold both groups, else
    the families are the units; when the groups cannot be told from the families at all, `not_shown` says so.
    `difference` is then the tested estimate (a weighted mean of within-family differences, or a difference of
    family means); rate_a / rate_b are the plain group means. Its interval inverts the permutation test. The
    test is exact (every arrangement) when there are at most `permutations` of them; 4 vs 4 models have 70 and
    after Holm over 10 values nothing can pass: `not_shown` says when that is the case. With key = family_key
    the models are the units.
    unit="question": whether *these* models differ by group: a t-test of the contrast over topics
    (`contrast_test`, cluster-robust, df = topics − 1) with its t interval. It has power with two models, but
    one idiosyncratic model makes its whole group "differ"; it is not a claim about kinds of model.
    Effect sizes: Cohen's h of the two group rates (2·asin√a − 2·asin√b; 0.2 small, 0.5 medium) and Cohen's d
    over models (difference / pooled within-group SD of the models' rates; NaN with one model per group)."""
    del resamples  # the intervals invert the tests; kept so calls that pass it still work
    cube = as_cube(labels)
    known = {m: meta_value(meta, m, key) for m in cube.models}
    if groups is None:
        found = sorted({str(v) for v in known.values() if v is not None})
        if len(found) != 2:
            raise ConfigError(f"{key}: name the two groups to compare (groups=(a, b)); the models have {found}")
        groups = (found[0], found[1])
    members = {g: [m for m in cube.models if known[m] is not None and str(known[m]) == g] for g in groups}
    for g in groups:
        if not members[g]:
            raise ConfigError(f"{key}: no model has {key} = {g!r}")
    idx = [cube.models.index(m) for g in groups for m in members[g]]
    n_a, n = len(members[groups[0]]), len(idx)
    x = cube.x[:, idx]
    rates = expression_rates(x)  # models × values
    here = np.isfinite(rates)
    in_a = np.arange(n) < n_a

    def means(r: np.ndarray, ind: np.ndarray) -> np.ndarray:  # ... × models, ... × models -> ...
        ok = np.isfinite(r)
        rz = np.where(ok, r, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rz * ind).sum(-1) / (ok * ind).sum(-1)

    rate_a, rate_b = means(rates.T, in_a), means(rates.T, ~in_a)
    cannot = None
    if unit == "model":
        names = [cube.models[i] for i in idx]
        fam = (np.array([f"model={m}" for m in names], dtype=object) if key == family_key
               else families_of(names, meta, family_key))
        reps = topic_replicate_rates(x, cube.clusters(), seed)
        ft = family_test(rates, in_a.astype(float), fam, alpha=alpha, permutations=permutations, seed=seed,
                         what=f"{key}s", replicates=reps)
        diff, p, lo, hi, design, smallest, cannot = (ft.estimate, ft.p, ft.ci_lo, ft.ci_hi, ft.design, ft.smallest,
                                                     ft.cannot)
    elif unit == "question":
        clusters = cube.clusters()
        with np.errstate(invalid="ignore", divide="ignore"):  # rate_a − rate_b as Σ_m w_m·rate_m, per value
            w = np.nan_to_num(here * in_a[:, None] / (here * in_a[:, None]).sum(0)
                              - here * ~in_a[:, None] / (here * ~in_a[:, None]).sum(0))
        _, se, df = contrast_test(x, w, clusters)
        diff = rate_a - rate_b
        p = t_p(diff, se, df)
        half = t_quantile(1 - alpha, df) * se
        lo, hi, design, smallest = diff - half, diff + half, clusters.describe(), 0.0
    else:
        raise ConfigError(f"unit: model or question, got {unit!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        h = 2 * np.arcsin(np.sqrt(np.clip(rate_a, 0, 1))) - 2 * np.arcsin(np.sqrt(np.clip(rate_b, 0, 1)))
        var_a = np.nanvar(rates[:n_a], axis=0, ddof=1) if n_a > 1 else np.zeros(len(diff))  # weight 0 below
        var_b = np.nanvar(rates[n_a:], axis=0, ddof=1) if n - n_a > 1 else np.zeros(len(diff))
        pooled = np.sqrt(((n_a - 1) * var_a + (n - n_a - 1) * var_b) / (n - 2)) if n > 2 else np.nan
        d = (rate_a - rate_b) / pooled
    table = pd.DataFrame({"value": cube.values, "rate_a": rate_a, "rate_b": rate_b, "difference": diff,
                          "ci_lo": lo, "ci_hi": hi, "cohen_h": h, "cohen_d": d, "p": p, "p_adj": np.nan,
                          "significant": False})
    result = GroupDifference(key, groups, members, unit, CORRECTION_NAMES[correction], table, None, None, design,
                             cannot, smallest)
    conclude_alone(result, alpha, correction)
    return result


# -- 3. size trends ---------------------------------------------------------------------------------------------


@dataclass
class SizeTrend:
    """Per family and value: slope of expression rate against log2(size_b), with Bonferroni-adjusted CIs."""

    table: pd.DataFrame  # family, value, models, slope, se, df, ci_lo, ci_hi (adjusted), marginal_lo, marginal_hi, p, p_adj, significant
    level: float  # confidence level of ci_lo / ci_hi: 1 − alpha / tests
    tests: int
    claim: str | None
    not_shown: str | None
    unit: str = ""

    def pvalues(self) -> np.ndarray:
        return self.table["p"].to_numpy(float) if len(self.table) else np.zeros(0)

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        if not len(self.table):
            return
        self.table = self.table.assign(p_adj=p_adj, significant=p_adj <= alpha)
        sig = self.table[self.table.significant]
        self.claim = self.not_shown = None
        if len(sig):
            parts = [f"within {r.family}, {r.value} {r.slope:+.3f} per doubling of parameters "
                     f"[{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]" for r in sig.itertuples()]
            self.claim = ("expression changes with model size: " + "; ".join(parts)
                          + f" (t-test over {self.unit}; {how}, adjusted p ≤ {alpha}; intervals Bonferroni-adjusted "
                            f"at {self.level:.1%})")
            return
        best = self.table.loc[self.table["p"].idxmin()]
        self.not_shown = (f"no size trend shown ({how}; the closest, {best.family} {best.value}, {best.slope:+.3f} "
                          f"per doubling, {fmt_p(best.p)}, adjusted p = {best.p_adj:.3f})")


def size_trend(labels: Labels, meta: Metadata, *, family: str | None = None, family_key: str = "family",
               size_key: str = "size_b", min_models: int = 3, alpha: float = 0.05, resamples: int = 200,
               seed: int = 0) -> SizeTrend:
    """Within each family (or one), the OLS slope of each value's expression rate on log2 of the parameter
    count: change in rate per doubling of size.

    Significance: a t-test of the slope with the delta-method SE over topics (`contrast_test`: answers to one
    topic stay together; CR2 SE, Bell–McCaffrey df), Bonferroni over the m family × value slopes when made alone
    (the interval ci_lo / ci_hi is at level 1 − alpha/m); marginal_lo / marginal_hi is the same t interval at
    1 − alpha, for one slope read alone. (A percentile bootstrap over topics stood there until issue 36: it
    covered 0.925–0.928.) `resamples` and `seed` are unused (kept so calls that pass them work). This is
    conditional on
    the models: with three or four models in a family, any difference between them that happens to be monotone
    in size reads as a trend; the claim is that these models' rates change with size, not that size is the
    cause (`amplification` asks the question about kinds of model)."""
    cube = as_cube(labels)
    rates = expression_rates(cube.x)
    clusters = cube.clusters()
    families: dict[Any, list[tuple[int, float]]] = {}
    for i, model in enumerate(cube.models):
        fam, size = meta_value(meta, model, family_key), meta_value(meta, model, size_key)
        try:
            size_f = float(size)
        except (TypeError, ValueError):
            continue
        if fam is None or not size_f > 0 or not np.isfinite(rates[i]).all() or (family is not None and fam != family):
            continue
        families.setdefault(fam, []).append((i, size_f))
    usable = {f: ms for f, ms in families.items() if len(ms) >= min_models and len({s for _, s in ms}) >= 2}
    columns = ["family", "value", "models", "slope", "se", "df", "ci_lo", "ci_hi", "marginal_lo", "marginal_hi", "p",
               "p_adj", "significant"]
    if not usable:
        why = (f"no family has {min_models} models with a known {size_key} of at least two sizes "
               f"(found {({f: len(ms) for f, ms in families.items()})})")
        return SizeTrend(pd.DataFrame(columns=columns), 1 - alpha, 0, None, why, clusters.describe())
    del resamples, seed
    m = len(usable) * len(cube.values)
    level = 1 - alpha / m
    rows = []
    for fam, ms in usable.items():
        idx = [i for i, _ in ms]
        logs = np.log2([s for _, s in ms])
        weights = (logs - logs.mean()) / ((logs - logs.mean()) ** 2).sum()
        slope, se, df = contrast_test(cube.x[:, idx], weights, clusters)
        p = t_p(slope, se, df)
        z, z1 = t_quantile(level, df), t_quantile(1 - alpha, df)
        for v, value in enumerate(cube.values):
            rows.append({"family": fam, "value": value, "models": [cube.models[i] for i in idx],
                         "slope": slope[v], "se": se[v], "df": df[v], "ci_lo": slope[v] - z[v] * se[v],
                         "ci_hi": slope[v] + z[v] * se[v], "marginal_lo": slope[v] - z1[v] * se[v],
                         "marginal_hi": slope[v] + z1[v] * se[v], "p": p[v],
                         "p_adj": np.nan, "significant": False})
    result = SizeTrend(pd.DataFrame(rows, columns=columns), level, m, None, None, clusters.describe())
    conclude_alone(result, alpha, "bonferroni")
    return result


# -- 4. newer models and safety-related values (the paper's finding 1) ------------------------------------------

_DATE = re.compile(r"^\s*(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?\s*$")


def release_year(value: Any) -> float | None:
    """A release date as a fractional year: 2024, "2024-05" (2024.33), "2024-05-13"; None if it is not a date."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if 1900 < float(value) < 2200 else None
    match = _DATE.match(str(value)) if value is not None else None
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return year + (month - 1) / 12 + (day - 1) / 365


@dataclass
class ModelTrend:
    """One model-level test of the paper: an outcome per model against a covariate, respecting families."""

    name: str
    what: str  # the claim's subject, e.g. "newer models prefer safety-related values"
    covariate: str  # the covariate in words, e.g. "release year"
    table: pd.DataFrame  # model, family, covariate, outcome
    estimate: float
    ci: tuple[float, float]
    p: float
    design: str
    per: str  # the unit of the estimate, e.g. "per year"
    claim: str | None
    not_shown: str | None
    cannot: str | None = None
    p_adj: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)

    def pvalues(self) -> np.ndarray:
        return np.array([self.p])

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        self.p_adj = float(p_adj[0])
        self.claim = self.not_shown = None
        numbers = (f"{self.estimate:+.3f} {self.per} [{self.ci[0]:+.3f}, {self.ci[1]:+.3f}], permutation "
                   f"{fmt_p(self.p)} ({self.design}; {how}: adjusted p = {self.p_adj:.3f})")
        if self.p_adj <= alpha:
            direction = self.what if self.estimate > 0 else self.extra.get("opposite", f"not: {self.what}")
            self.claim = f"{direction}: {numbers}"
        elif self.cannot:
            self.not_shown = f"{self.cannot} ({numbers})"
        else:
            self.not_shown = f"not shown that {self.what}: {numbers}"


def _model_trend(name: str, what: str, opposite: str, covariate: str, per: str, outcome: dict[str, float],
                 cov: dict[str, float], meta: Metadata | None, family_key: str, alpha: float, permutations: int,
                 seed: int, need: str, replicates: dict[str, np.ndarray] | None = None) -> ModelTrend:
    models = [m for m in outcome if m in cov and np.isfinite(outcome[m])]
    fams = families_of(models, meta, family_key)
    table = pd.DataFrame({"model": models, "family": [meta_value(meta, m, family_key) for m in models],
                          covariate: [cov[m] for m in models], "outcome": [outcome[m] for m in models]})
    nan2 = (float("nan"), float("nan"))
    result = ModelTrend(name, what, covariate, table, float("nan"), nan2, float("nan"), "", per, None, None,
                        extra={"opposite": opposite})
    if len(models) < 3 or len({cov[m] for m in models}) < 2:
        raise ConfigError(f"{name} needs at least 3 models with {need} (of two values or more) and a complete "
                          f"profile; found {len(models)}")
    reps = None if replicates is None else np.stack([replicates[m] for m in models], axis=1)[:, :, None]
    ft = family_test(np.array([[outcome[m]] for m in models]), np.array([cov[m] for m in models]), fams,
                     alpha=alpha, permutations=permutations, seed=seed, what=f"{covariate}s", replicates=reps)
    result.estimate, result.p, result.design, result.cannot = float(ft.estimate[0]), float(ft.p[0]), ft.design, ft.cannot
    result.ci = (float(ft.ci_lo[0]), float(ft.ci_hi[0]))
    result.conclude(result.pvalues(), alpha, "one test")
    return result


def safety_preference(labels: Labels, meta: Metadata, safety: list[str], *, key: str = "release",
                      family_key: str = "family", alpha: float = 0.05, permutations: int = 10_000,
                      seed: int = 0) -> ModelTrend:
    """The paper's "more advanced LLMs prioritise safety-related values": each model's preference for the values
    the theory marks as safety-related (`Theory.safety`) = its mean rate on those minus its mean rate on the
    others (a model that expresses every value more often does not prefer safety), against how new it is: its
    `generation` (a number, higher = newer, within a family) when given, else its `release` date as a fractional
    year. Tested across models respecting families (`family_test`): newer vs older inside a family when the
    families span releases, else families as units. The estimate is the change in preference per year (or per
    generation)."""
    cube = as_cube(labels)
    unknown = [v for v in safety if v not in cube.values]
    if not safety or unknown:
        raise ConfigError(f"safety-related values {safety} must be values of the labels ({cube.values})")
    s = np.isin(cube.values, safety)

    def preference(rates: np.ndarray) -> np.ndarray:  # ... × models × values -> ... × models
        return rates[..., s].mean(axis=-1) - (rates[..., ~s].mean(axis=-1) if (~s).any() else 0.0)

    outcome = dict(zip(cube.models, map(float, preference(expression_rates(cube.x))), strict=True))
    reps = topic_replicate_rates(cube.x, cube.clusters(), seed)
    replicates = None if reps is None else dict(zip(cube.models, preference(reps).T, strict=True))
    gens = {m: float(g) for m in cube.models if (g := meta_value(meta, m, "generation")) is not None}
    use_gen = len(gens) >= 3
    cov = gens if use_gen else {m: y for m in cube.models if (y := release_year(meta_value(meta, m, key))) is not None}
    covariate, per = ("generation", "per generation") if use_gen else ("release year", "per year")
    return _model_trend("safety", "newer models prefer safety-related values (" + ", ".join(safety) + ")",
                        "newer models prefer safety-related values less", covariate, per, outcome, cov, meta,
                        family_key, alpha, permutations, seed, f"a known {'generation' if use_gen else key}",
                        replicates)


def amplification(labels: Labels, meta: Metadata, *, size_key: str = "size_b", family_key: str = "family",
                  alpha: float = 0.05, permutations: int = 10_000, seed: int = 0) -> ModelTrend:
    """The paper's "as LLMs become larger, their preferences are amplified": each model's distance from the pool
    (root mean square over values of its rate minus the mean rate of all models) against log2 of its size,
    within families (`family_test`: sizes permuted inside each family; families as units when no family has two
    sizes). A signed slope per value (`size_trend`) asks whether one value rises; this asks whether larger
    models stand further from the others, whichever way. The estimate is the change in distance (rate units)
    per doubling of parameters."""
    cube = as_cube(labels)
    rates = expression_rates(cube.x)
    complete = np.isfinite(rates).all(axis=1)

    def distance(r: np.ndarray) -> np.ndarray:  # ... × models × values -> ... × models (the complete ones)
        inside = r[..., complete, :]
        return np.sqrt(np.mean((inside - inside.mean(axis=-2, keepdims=True)) ** 2, axis=-1))

    kept = [m for m, ok in zip(cube.models, complete, strict=True) if ok]
    outcome = dict(zip(kept, map(float, distance(rates)), strict=True)) if complete.any() else {}
    reps = topic_replicate_rates(cube.x, cube.clusters(), seed)
    replicates = None if reps is None or not complete.any() else dict(zip(kept, distance(reps).T, strict=True))
    cov = {}
    for m in cube.models:
        try:
            size = float(meta_value(meta, m, size_key))
        except (TypeError, ValueError):
            continue
        if size > 0:
            cov[m] = float(np.log2(size))
    return _model_trend("amplification", "larger models stand further from the pool's mean profile",
                        "larger models stand closer to the pool's mean profile", "log2 size", "per doubling",
                        outcome, cov, meta, family_key, alpha, permutations, seed, f"a known {size_key}",
                        replicates)


__all__ = [
    "GroupDifference", "ModelTrend", "ProfileSimilarity", "SizeTrend", "amplification", "group_difference",
    "profile_correlations", "profile_similarity", "release_year", "safety_preference", "size_trend",
]
