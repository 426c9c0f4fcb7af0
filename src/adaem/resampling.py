"""Resampling and the small statistics every analysis shares: the unit questions are resampled in (topics),
bootstrap draws, percentile intervals, cluster-robust standard errors, permutations inside strata, t p-values
and multiplicity corrections. Pure numpy; used by `rating.score_table`, the findings, languages, compare and
priming, so one definition of "resample the topics" serves them all.

Why topics: a generated benchmark's questions are not independent. They come ~8 to a seed topic (the bandit arm
they were generated from; refinement chains stay inside it) and a topic sets the category. Answers to questions
of one topic are correlated, so a bootstrap or a standard error over questions is too narrow and a test over
questions rejects too often. Everything here takes a `Clusters` (each question's topic) and resamples or sums
over topics; a benchmark without topics gives every question its own cluster, which is exactly the question
bootstrap / plain standard error, and `Clusters.describe()` then says that the unit is the question.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np

from .errors import ConfigError

Correction = Literal["holm", "bh", "bonferroni"]
Topics = Sequence[object] | np.ndarray | None  # each question's seed topic (None: the benchmark has none)
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


# -- the resampling unit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clusters:
    """Each question's cluster (its topic), as codes 0..count−1 in order of first appearance."""

    codes: np.ndarray
    count: int
    unit: Literal["topic", "question"]

    def describe(self) -> str:
        """The resampling unit in words, for every output that resamples or aggregates over it."""
        if self.unit == "topic":
            return f"topics ({self.count} topics of {len(self.codes)} questions)"
        return f"questions ({self.count}; the benchmark has no topics, so questions are taken as independent)"

    def subset(self, rows: np.ndarray) -> Clusters:
        """The clusters of some questions (a boolean mask or indices), renumbered."""
        codes = self.codes[rows]
        _, renumbered = np.unique(codes, return_inverse=True)
        order = _first_appearance(renumbered)
        return Clusters(order[renumbered], int(len(order)), self.unit)


def _first_appearance(codes: np.ndarray) -> np.ndarray:
    """old code -> new code, numbering the codes in the order they first appear."""
    out = np.full(int(codes.max()) + 1 if len(codes) else 0, -1)
    k = 0
    for c in codes:
        if out[c] < 0:
            out[c] = k
            k += 1
    return out


def clusters_of(topics: Topics, n: int) -> Clusters:
    """Questions' topics -> Clusters. None (no topics at all) makes every question its own cluster (unit
    "question"); a question without a topic in a benchmark with topics is a cluster of its own."""
    if topics is None or all(t is None or (isinstance(t, float) and math.isnan(t)) for t in topics):
        return Clusters(np.arange(n), n, "question")
    if len(topics) != n:
        raise ConfigError(f"{len(topics)} topics for {n} questions")
    index: dict[object, int] = {}
    codes = np.empty(n, dtype=np.int64)
    for q, t in enumerate(topics):
        key: object = ("question", q) if t is None or (isinstance(t, float) and math.isnan(t)) else t
        codes[q] = index.setdefault(key, len(index))
    return Clusters(codes, len(index), "topic")


# -- bootstrap draws ---------------------------------------------------------------------------------------------


def bootstrap_counts(n: int, resamples: int, seed: int | Sequence[int] = 0) -> np.ndarray:
    """resamples × n: how often each item is drawn in each bootstrap resample. With an int seed these are the
    draws of `rating.score_table` without topics (default_rng(seed).integers(0, n, (resamples, n))); a sequence
    seeds an independent stream (e.g. [seed, stratum])."""
    rows = np.random.default_rng(seed).integers(0, n, (resamples, n))
    flat = (rows + n * np.arange(resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(float)


def cluster_counts(clusters: Clusters, resamples: int, seed: int | Sequence[int] = 0) -> np.ndarray:
    """resamples × questions: how often each question is drawn when whole clusters are drawn with replacement.
    Without topics (each question its own cluster, in order) these are exactly `bootstrap_counts`."""
    return bootstrap_counts(clusters.count, resamples, seed)[:, clusters.codes]


def cluster_rows(clusters: Clusters, resamples: int, seed: int | Sequence[int] = 0) -> np.ndarray:
    """resamples × L question indices in draw order (the clusters drawn, each with its questions in order),
    padded with −1 to the longest resample: for statistics whose order matters (TrueSkill's sequential
    updates). Without topics, exactly default_rng(seed).integers(0, n, (resamples, n))."""
    draws = np.random.default_rng(seed).integers(0, clusters.count, (resamples, clusters.count))
    if clusters.unit == "question" and np.array_equal(clusters.codes, np.arange(clusters.count)):
        return draws
    members = [np.flatnonzero(clusters.codes == g) for g in range(clusters.count)]
    sizes = np.array([len(m) for m in members])
    out = np.full((resamples, int(sizes[draws].sum(axis=1).max())), -1)
    for r, row in enumerate(draws):
        picked = np.concatenate([members[g] for g in row])
        out[r, :len(picked)] = picked
    return out


def expression_rates(x: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Mean label over the rows where it exists: x is rows × ... (NaN = missing) -> ..., or with bootstrap
    `counts` (resamples × rows) -> resamples × ... . NaN where nothing was labelled."""
    shape = x.shape[1:]
    flat = x.reshape(len(x), -1)
    here = ~np.isnan(flat)
    values = np.where(here, flat, 0.0)
    if counts is None:
        total, n = values.sum(axis=0), here.sum(axis=0).astype(float)
    else:
        total, n = counts @ values, counts @ here.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / n
    return out.reshape((*out.shape[:-1], *shape))


def percentile_ci(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis; NaN resamples left out (an all-NaN slice is NaN)."""
    with warnings.catch_warnings():  # an all-NaN slice (nothing labelled) is NaN, said by the estimate itself
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(boot, [(1 - level) / 2 * 100, (1 + level) / 2 * 100], axis=0)
    return lo, hi


def interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = percentile_ci(boot, level)
    return float(lo), float(hi)


# -- standard errors and t tests ---------------------------------------------------------------------------------


def cluster_se(psi: np.ndarray, clusters: Clusters, present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-robust standard error of Σ_q psi_q (psi: questions × ..., each question's influence on a
    statistic) and its degrees of freedom: √(G/(G − 1) · Σ_g (Σ_{q∈g} psi_q)²), G the clusters holding a
    question where `present` (default: every question). Without topics this is the usual n/(n − 1) delta-method
    SE over questions; with topics, answers inside a topic may correlate in any way. df = G − 1."""
    flat = psi.reshape(len(psi), -1)
    mask = None if present is None else present.reshape(len(present), -1)
    if len(flat) == 0:
        sums, g = np.zeros((0, flat.shape[1])), np.zeros(flat.shape[1])
    elif clusters.unit == "question" and np.array_equal(clusters.codes, np.arange(len(flat))):
        sums = flat
        g = np.full(flat.shape[1], float(len(flat))) if mask is None else mask.sum(axis=0).astype(float)
    else:
        order = np.argsort(clusters.codes, kind="stable")
        codes = clusters.codes[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        sums = np.add.reduceat(flat[order], starts, axis=0)
        g = (np.full(flat.shape[1], float(len(starts))) if mask is None
             else (np.add.reduceat(mask[order].astype(np.int64), starts, axis=0) > 0).sum(axis=0).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(g / (g - 1) * (sums**2).sum(axis=0))
    shape = psi.shape[1:]
    return se.reshape(shape), (g - 1).reshape(shape)


def contrast_test(x: np.ndarray, weights: np.ndarray, clusters: Clusters | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Σ_m w_m · rate_m per value (a difference of rates, a slope), its standard error and degrees of freedom.

    The SE is the delta method over clusters: each question's influence on each rate is (x − rate) / (labels of
    that model and value), summed per cluster (`cluster_se`). Without missing labels and without topics the
    contrast is a plain mean over questions and this is exactly its t-test SE. x: questions × models × values
    (NaN = missing); weights: models, or models × values (0 for a model with no labels)."""
    clusters = clusters or clusters_of(None, len(x))
    here = ~np.isnan(x)
    w = np.broadcast_to(weights[:, None] if weights.ndim == 1 else weights, x.shape[1:])
    rates = expression_rates(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        influence = np.where(here, x - rates, 0.0) / here.sum(axis=0)
    wz = np.where(w != 0, w, 0.0)
    psi = np.einsum("qmv,mv->qv", influence, wz)
    se, df = cluster_se(psi, clusters, (here & (w != 0)).any(axis=1))
    return np.einsum("mv,mv->v", np.nan_to_num(rates), wz), se, df


def contrast_se(x: np.ndarray, weights: np.ndarray, clusters: Clusters | None = None) -> np.ndarray:
    """The standard error of `contrast_test`."""
    return contrast_test(x, weights, clusters)[1]


def mean_test(values: np.ndarray, clusters: Clusters | None = None) -> tuple[float, float, float]:
    """Mean of per-question values (NaN left out), its cluster-robust SE and df: a one-sample (or paired) t-test
    that resamples topics. Without topics, exactly scipy's ttest_1samp."""
    values = np.asarray(values, float)
    clusters = clusters or clusters_of(None, len(values))
    ok = ~np.isnan(values)
    n = ok.sum()
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values[ok].mean())
    psi = np.where(ok, values - mean, 0.0) / n
    se, df = cluster_se(psi[:, None], clusters, ok[:, None])
    return mean, float(se[0]), float(df[0])


def t_p(estimate: np.ndarray, se: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """Two-sided p of estimate / se on a t distribution with df degrees of freedom; a zero SE gives p = 1 for a
    zero estimate, else 0; NaN where the estimate or SE is, or df < 1."""
    from scipy.stats import t

    estimate, se, df = np.asarray(estimate, float), np.asarray(se, float), np.asarray(df, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, np.abs(estimate) / np.where(se > 0, se, 1.0), np.where(estimate == 0, 0.0, np.inf))
        p = 2 * t.sf(stat, np.maximum(df, 1))
    return np.where(np.isfinite(estimate) & np.isfinite(se) & (df >= 1), p, np.nan)


def t_quantile(level: float, df: np.ndarray | float) -> np.ndarray:
    """The two-sided `level` critical value of t with df degrees of freedom (NaN for df < 1)."""
    from scipy.stats import t

    df = np.asarray(df, float)
    return np.where(df >= 1, t.ppf((1 + level) / 2, np.maximum(df, 1)), np.nan)


# -- multiplicity ------------------------------------------------------------------------------------------------


def adjust_pvalues(p: np.ndarray | Sequence[float], method: Correction = "holm") -> np.ndarray:
    """p-values adjusted for multiplicity over the finite ones (NaN = not tested, stays NaN): Holm and
    Bonferroni control the family-wise error rate, Benjamini-Hochberg ("bh") the false discovery rate."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, q * m)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    elif method == "bh":
        order = np.argsort(q, kind="stable")[::-1]
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, np.minimum.accumulate(q[order] * m / (m - np.arange(m))))
    else:
        raise ConfigError(f"unknown correction {method!r}: holm, bh or bonferroni")
    out[ok] = adj
    return out


# -- permutations inside strata ----------------------------------------------------------------------------------


def _distinct_orders(values: Sequence[object]) -> Iterator[tuple[object, ...]]:
    """Every distinct ordering of a multiset (each once, however many repeats it holds)."""
    counts = Counter(values)
    keys = sorted(counts, key=str)
    n = len(values)

    def rec(prefix: list[object]) -> Iterator[tuple[object, ...]]:
        if len(prefix) == n:
            yield tuple(prefix)
            return
        for k in keys:
            if counts[k]:
                counts[k] -= 1
                prefix.append(k)
                yield from rec(prefix)
                prefix.pop()
                counts[k] += 1

    return rec([])


def arrangements_count(values: Sequence[object]) -> int:
    """Distinct orderings of a multiset: n! / Π (repeats)!."""
    out = math.factorial(len(values))
    for c in Counter(values).values():
        out //= math.factorial(c)
    return out


def permute_within(x: np.ndarray, strata: np.ndarray, permutations: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, bool, int]:
    """Rows of `x` (one value per unit) shuffled inside each stratum: every distinct arrangement when there are at
    most `permutations` (an exact test), else `permutations` random ones. Returns (rows × units, exact, the
    number of distinct arrangements). The observed arrangement is one of the rows of an exact enumeration."""
    x = np.asarray(x, float)
    groups = [np.flatnonzero(strata == s) for s in dict.fromkeys(strata.tolist())]
    total = 1
    for idx in groups:
        total *= arrangements_count(x[idx].tolist())
        if total > permutations:
            break
    if total <= permutations:
        per = [list(_distinct_orders(x[idx].tolist())) for idx in groups]
        rows = np.empty((total, len(x)))
        for k, combo in enumerate(product(*per)):
            for idx, order in zip(groups, combo, strict=True):
                rows[k, idx] = np.asarray(order, float)
        return rows, True, total
    rows = np.tile(x, (permutations, 1))
    for idx in groups:
        if len(idx) > 1:
            rows[:, idx] = rng.permuted(rows[:, idx], axis=1)
    return rows, False, total


def permutation_p(observed: np.ndarray, null: np.ndarray, exact: bool) -> np.ndarray:
    """Two-sided permutation p of |observed| against |null| (permutations × ...): hits / K for an exact
    enumeration (it holds the observed arrangement), (1 + hits) / (1 + K) for random permutations."""
    with np.errstate(invalid="ignore"):
        hits = np.sum(np.abs(null) >= np.abs(observed) - 1e-12, axis=0)
    p = hits / len(null) if exact else (1 + hits) / (1 + len(null))
    return np.where(np.isfinite(observed), p, np.nan)


__all__ = [
    "CORRECTION_NAMES", "Clusters", "Correction", "adjust_pvalues", "arrangements_count", "bootstrap_counts",
    "Topics", "cluster_counts", "cluster_rows", "cluster_se", "clusters_of", "contrast_se", "contrast_test",
    "expression_rates", "interval", "mean_test", "percentile_ci", "permutation_p", "permute_within", "t_p",
    "t_quantile",
]
