"""The paper's findings (SPEC §8) from per-answer value labels, each with a significance test.

Input is a tidy DataFrame with one row per (model, question, value): `model`, `question_id`, `value` and
`expressed` (0/1 or P(expressed); NaN, or no row, when the judge gave no label), plus the question's `category`
and `region` where known (`tidy_labels` builds it from outputs/answers.jsonl records, `label_cube` turns it into
the dense array every analysis works on; each analysis accepts either). Model metadata is a plain mapping
model -> {family, size_b, kind, vendor, region, release}; any key may be missing, and a model without the key an
analysis needs is left out of that analysis (the result names who was tested).

Shared conventions:
- a model's expression rate of a value is its mean label over the questions where that label exists (a
  missing label is left out, never 0), `rating.score_table`'s rate on 0-1 instead of 0-100;
- bootstraps over questions draw with `bootstrap_counts`, the same draws as `score_table`, so for 0/1 labels
  the per-model intervals here equal scores.csv's rate_lo / rate_hi for the same seed and resample count;
- every result has `claim` (a sentence, set only when the test passes at `alpha` after the correction the
  result names) and `not_shown` (why there is no claim: not significant, or not testable and why);
- two units of inference. Claims about *kinds of model* (families share profiles; reasoning models differ
  from chat models) permute labels over models: the models are the sample, which is the only way such a claim
  generalises past the models in hand, and with few models it has little power. Claims about *these models*
  (size trends inside one family, category shifts of one model, two models' divergence by region) resample
  questions and are conditional on the models: they say the measured difference is not question sampling
  noise, not that it would hold for other models.

Pure functions, no I/O: pictures are in `findings_plots`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from ..errors import ConfigError

ATTRIBUTES = ("category", "region")
Correction = Literal["holm", "bh", "bonferroni"]
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}
Metadata = Mapping[str, Mapping[str, Any]]


# -- input ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCube:
    """Labels as a dense questions × models × values array (NaN = no label) and each question's attributes."""

    models: list[str]
    questions: list[str]
    values: list[str]
    x: np.ndarray  # questions × models × values, in [0, 1] or NaN
    attrs: pd.DataFrame  # index: question ids in cube order; columns: the ATTRIBUTES the labels had

    def attribute(self, column: str) -> np.ndarray:
        """Each question's `column` (object array, None where unknown); ConfigError if no question has one."""
        if column not in self.attrs.columns or self.attrs[column].isna().all():
            raise ConfigError(f"the labels carry no question {column!r}: pass a `{column}` column")
        return self.attrs[column].astype(object).where(self.attrs[column].notna(), None).to_numpy()


Labels: TypeAlias = pd.DataFrame | LabelCube


def tidy_labels(records: Iterable[Mapping[str, Any]], *, threshold: float | None = None) -> pd.DataFrame:
    """Answer records (outputs/answers.jsonl) -> the tidy frame: one row per labelled (model, question, value).

    A record without a vector (a parse failure) and a value the judge could not label give no row. `region` is
    the question's `region`, else its `country`. With `threshold`, a soft label becomes 1 when ≥ threshold
    (what `evaluate` scores); without, soft labels stay probabilities and rates are expected rates."""
    rows = []
    for r in records:
        vector = r.get("vector")
        if not vector or r.get("model") is None or r.get("question_id") is None:
            continue
        region = r.get("region") or r.get("country")
        for value, p in vector.items():
            if p is None:
                continue
            label = float(p >= threshold) if threshold is not None else float(p)
            rows.append((r["model"], r["question_id"], value, label, r.get("category"), region))
    return pd.DataFrame(rows, columns=["model", "question_id", "value", "expressed", *ATTRIBUTES])


def label_cube(labels: pd.DataFrame, *, models: Sequence[str] | None = None,
               values: Sequence[str] | None = None) -> LabelCube:
    """The tidy frame as a dense cube. Models and values in the order given, else of first appearance;
    questions in order of first appearance. A repeated (model, question, value) is a ConfigError."""
    need = {"model", "question_id", "value", "expressed"}
    if not need <= set(labels.columns):
        raise ConfigError(f"labels need the columns {sorted(need)}; missing {sorted(need - set(labels.columns))}")
    models = list(models) if models is not None else list(pd.unique(labels["model"]))
    values = list(values) if values is not None else list(pd.unique(labels["value"]))
    questions = list(pd.unique(labels["question_id"]))
    qi = pd.Categorical(labels["question_id"], categories=questions).codes
    mi = pd.Categorical(labels["model"], categories=models).codes
    vi = pd.Categorical(labels["value"], categories=values).codes
    keep = (mi >= 0) & (vi >= 0)
    expressed = labels["expressed"].to_numpy(float)
    if np.any((expressed < 0) | (expressed > 1)):
        raise ConfigError("labels: `expressed` must be 0/1 or a probability in [0, 1]")
    flat = (qi[keep].astype(np.int64) * len(models) + mi[keep]) * len(values) + vi[keep]
    if len(flat) and np.bincount(flat, minlength=len(questions) * len(models) * len(values)).max() > 1:
        raise ConfigError("labels: a (model, question_id, value) appears more than once")
    x = np.full(len(questions) * len(models) * len(values), np.nan)
    x[flat] = expressed[keep]
    present = [c for c in ATTRIBUTES if c in labels.columns]
    if present:
        attrs = labels.groupby(qi, sort=True)[present].first()
        attrs.index = pd.Index(questions, name="question_id")
    else:
        attrs = pd.DataFrame(index=pd.Index(questions, name="question_id"))
    return LabelCube(models, questions, values, x.reshape(len(questions), len(models), len(values)), attrs)


def _cube(labels: Labels) -> LabelCube:
    return labels if isinstance(labels, LabelCube) else label_cube(labels)


# -- shared statistics ------------------------------------------------------------------------------------------


def bootstrap_counts(n: int, resamples: int, seed: int | Sequence[int] = 0) -> np.ndarray:
    """resamples × n: how often each item is drawn in each bootstrap resample. With an int seed these are the
    draws of `rating.score_table` (default_rng(seed).integers(0, n, (resamples, n))), so weighted means with
    these counts reproduce its bootstrap rates; a sequence seeds an independent stream (e.g. [seed, stratum])."""
    rows = np.random.default_rng(seed).integers(0, n, (resamples, n))
    flat = (rows + n * np.arange(resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(float)


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


def _t_p(estimate: np.ndarray, se: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """Two-sided p of estimate / se on a t distribution with df degrees of freedom; a zero SE gives p = 1 for a
    zero estimate, else 0; NaN where the estimate or SE is."""
    from scipy.stats import t

    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, np.abs(estimate) / np.where(se > 0, se, 1.0), np.where(estimate == 0, 0.0, np.inf))
        p = 2 * t.sf(stat, np.maximum(df, 1))
    return np.where(np.isfinite(estimate) & np.isfinite(se), p, np.nan)


def contrast_se(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Standard error over questions of Σ_m w_m · rate_m per value (a difference of rates, a slope), by the
    delta method: each question's influence on each rate is (x − rate) / (labels of that model and value), and
    the contrast's variance is n/(n − 1) · Σ_q (Σ_m w_m · influence)². Without missing labels the contrast is
    a plain mean over questions and this is exactly its t-test SE. x: questions × models × values (NaN =
    missing); weights: models, or models × values (0 for a model with no labels)."""
    here = ~np.isnan(x)
    w = np.broadcast_to(weights[:, None] if weights.ndim == 1 else weights, x.shape[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        influence = np.where(here, x - expression_rates(x), 0.0) / here.sum(axis=0)
    psi = np.einsum("qmv,mv->qv", influence, np.where(w != 0, w, 0.0))
    n = (here & (w != 0)).any(axis=1).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(n / (n - 1) * (psi**2).sum(axis=0))


def _percentile_ci(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    with warnings.catch_warnings():  # an all-NaN slice (nothing labelled) is NaN, said by the estimate itself
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(boot, [(1 - level) / 2 * 100, (1 + level) / 2 * 100], axis=0)
    return lo, hi


def _interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = _percentile_ci(boot, level)
    return float(lo), float(hi)


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _meta(meta: Metadata | None, model: str, key: str) -> Any:
    value = (meta or {}).get(model, {}).get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


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


def _partitions(sizes: Sequence[int]) -> int:
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
    within_r: float
    between_r: float
    within_ci: tuple[float, float]
    between_ci: tuple[float, float]
    difference_ci: tuple[float, float]
    p: float  # one-sided permutation p of within − between
    permutations: int
    claim: str | None
    not_shown: str | None


def profile_similarity(labels: Labels, meta: Metadata | None = None, *, key: str = "family", center: bool = True,
                       alpha: float = 0.05, permutations: int = 10_000, resamples: int = 200,
                       seed: int = 0) -> ProfileSimilarity:
    """Correlation of models' value profiles, their clustering, and the test of "models that share `key` are
    more alike than other pairs".

    The statistic is mean r over same-`key` pairs minus mean r over the other pairs, among models whose `key`
    is known. Its null distribution comes from permuting the `key` labels over those models (a Mantel-type
    test: pairs share models, so they are not independent, and the permutation respects that); p is one-sided,
    (1 + #permuted ≥ observed) / (1 + permutations). With few models there are few distinct arrangements
    (2 families of 2: 3), and the smallest reachable p is 1 / that count: `not_shown` says so. The bootstrap
    over questions gives intervals for the two means (how much they depend on the question sample)."""
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    cube = _cube(labels)
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
    groups = {m: _meta(meta, m, key) for m in models}

    tested = [i for i, m in enumerate(models) if groups[m] is not None]
    codes = pd.factorize(np.array([groups[models[i]] for i in tested], dtype=object))[0]
    ii, jj = np.triu_indices(len(tested), 1)
    same = codes[ii] == codes[jj]
    a, b = np.array(tested)[ii], np.array(tested)[jj]
    nan2 = (float("nan"), float("nan"))
    result = ProfileSimilarity(key, center, models, order, pd.DataFrame(prof, index=models, columns=cube.values),
                               pd.DataFrame(r, index=models, columns=models), tree, groups, float("nan"),
                               float("nan"), nan2, nan2, nan2, float("nan"), 0, None, None)
    sizes = list(Counter(codes.tolist()).values())
    if len(sizes) < 2 or not same.any():
        result.not_shown = (f"needs two {key} values and one {key} with two models among the models with a "
                            f"known {key}; found {dict(Counter(str(groups[models[i]]) for i in tested))}")
        return result
    pair_r = r[a, b]
    result.within_r, result.between_r = float(pair_r[same].mean()), float(pair_r[~same].mean())
    observed = result.within_r - result.between_r

    boot = profile_correlations(expression_rates(cube.x, bootstrap_counts(len(cube.x), resamples, seed))[:, complete],
                                center)[:, a, b]
    within_b, between_b = np.nanmean(boot[:, same], axis=1), np.nanmean(boot[:, ~same], axis=1)
    result.within_ci = _interval(within_b, 1 - alpha)
    result.between_ci = _interval(between_b, 1 - alpha)
    result.difference_ci = _interval(within_b - between_b, 1 - alpha)

    rng = np.random.default_rng(seed)
    shuffled = codes[np.argsort(rng.random((permutations, len(codes))), axis=1)]
    same_p = shuffled[:, ii] == shuffled[:, jj]
    stats = (same_p @ pair_r) / same_p.sum(axis=1) - (~same_p @ pair_r) / (~same_p).sum(axis=1)
    result.p = float((1 + np.sum(stats >= observed - 1e-12)) / (1 + permutations))
    result.permutations = permutations
    reachable = _partitions(sizes)
    who = f"{key} members" if key == "family" else f"models of one {key}"
    numbers = f"mean r {result.within_r:.2f} vs {result.between_r:.2f}, permutation {_fmt_p(result.p)}"
    if result.p <= alpha and observed > 0:
        result.claim = f"{who} are closer than other pairs: {numbers}"
    elif 1 / reachable > alpha:
        result.not_shown = (f"{len(tested)} models in groups of {sorted(sizes)} allow only {reachable} distinct "
                            f"arrangements, so no p can reach {alpha} ({numbers})")
    else:
        result.not_shown = f"{who} are not shown to be closer than other pairs: {numbers}"
    return result


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


def _assignments(n: int, n_a: int, permutations: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Group-a indicator rows over n models: every C(n, n_a) split when that is at most `permutations` (an
    exact test), else `permutations` random ones; and whether it was exact."""
    if math.comb(n, n_a) <= permutations:
        rows = np.zeros((math.comb(n, n_a), n))
        for k, picked in enumerate(combinations(range(n), n_a)):
            rows[k, list(picked)] = 1
        return rows, True
    order = np.argsort(rng.random((permutations, n)), axis=1)
    return (order < n_a).astype(float), False


def group_difference(labels: Labels, meta: Metadata, key: str = "kind", groups: tuple[str, str] | None = None, *,
                     unit: Literal["model", "question"] = "model", correction: Correction = "holm",
                     alpha: float = 0.05, permutations: int = 10_000, resamples: int = 200,
                     seed: int = 0) -> GroupDifference:
    """For every value, group a's mean expression rate minus group b's (each model weighs the same), the
    effect sizes, a p-value and its correction across values.

    unit="model" (default) permutes the group labels over the models: the test of "reasoning models express X
    more than chat models", with the models as the sample. It is exact (every split) when there are at most
    `permutations` splits. Its power is bounded by the number of models: 4 vs 4 models have 70 splits, so the
    smallest two-sided p is 2/70 and, after Holm over 10 values, nothing can be significant; `not_shown` says
    when that is the case. Its interval is a two-level bootstrap (models within each group, and questions).
    unit="question" asks instead whether *these* models differ by group: a t-test over questions (delta-method
    SE, `contrast_se`) and a bootstrap interval over questions. It has power with two models, but one idiosyncratic model makes its whole
    group "differ"; it is not a claim about kinds of model.
    Effect sizes: Cohen's h of the two group rates (2·asin√a − 2·asin√b; 0.2 small, 0.5 medium) and Cohen's d
    over models (difference / pooled within-group SD of the models' rates; NaN with one model per group)."""
    cube = _cube(labels)
    known = {m: _meta(meta, m, key) for m in cube.models}
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
    diff = rate_a - rate_b
    boot_q = expression_rates(x, bootstrap_counts(len(x), resamples, seed))  # resamples × models × values
    if unit == "model":
        rng = np.random.default_rng([seed, 1])
        pick_a = rng.integers(0, n_a, (resamples, n_a))
        pick_b = n_a + rng.integers(0, n - n_a, (resamples, n - n_a))
        rows = np.arange(resamples)[:, None]
        boot = np.nanmean(boot_q[rows, pick_a], axis=1) - np.nanmean(boot_q[rows, pick_b], axis=1)
        split, exact = _assignments(n, n_a, permutations, np.random.default_rng(seed))
        w = here.T.astype(float)  # values × models
        rz = np.where(here, rates, 0.0).T
        with np.errstate(invalid="ignore", divide="ignore"):
            null = (split @ rz.T) / (split @ w.T) - ((1 - split) @ rz.T) / ((1 - split) @ w.T)  # splits × values
        hits = np.sum(np.abs(null) >= np.abs(diff) - 1e-12, axis=0)
        p = hits / len(split) if exact else (1 + hits) / (1 + len(split))
        smallest = (2 if 2 * n_a == n else 1) / math.comb(n, n_a) if exact else 1 / (1 + permutations)
    elif unit == "question":
        boot = means(np.swapaxes(boot_q, 1, 2), in_a) - means(np.swapaxes(boot_q, 1, 2), ~in_a)
        with np.errstate(invalid="ignore", divide="ignore"):  # rate_a − rate_b as Σ_m w_m·rate_m, per value
            w = np.nan_to_num(here * in_a[:, None] / (here * in_a[:, None]).sum(0)
                              - here * ~in_a[:, None] / (here * ~in_a[:, None]).sum(0))
        p = _t_p(diff, contrast_se(x, w), len(x) - 1)
        smallest = 0.0
    else:
        raise ConfigError(f"unit: model or question, got {unit!r}")
    lo, hi = _percentile_ci(boot, 1 - alpha)
    p_adj = adjust_pvalues(p, correction)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = 2 * np.arcsin(np.sqrt(np.clip(rate_a, 0, 1))) - 2 * np.arcsin(np.sqrt(np.clip(rate_b, 0, 1)))
        var_a = np.nanvar(rates[:n_a], axis=0, ddof=1) if n_a > 1 else np.zeros(len(diff))  # weight 0 below
        var_b = np.nanvar(rates[n_a:], axis=0, ddof=1) if n - n_a > 1 else np.zeros(len(diff))
        pooled = np.sqrt(((n_a - 1) * var_a + (n - n_a - 1) * var_b) / (n - 2)) if n > 2 else np.nan
        d = diff / pooled
    significant = p_adj <= alpha
    table = pd.DataFrame({"value": cube.values, "rate_a": rate_a, "rate_b": rate_b, "difference": diff,
                          "ci_lo": lo, "ci_hi": hi, "cohen_h": h, "cohen_d": d, "p": p, "p_adj": p_adj,
                          "significant": significant})
    name = CORRECTION_NAMES[correction]
    test = "permutation over models" if unit == "model" else "t-test over questions"
    result = GroupDifference(key, groups, members, unit, name, table, None, None)
    who = f"{groups[0]} vs {groups[1]} models ({key}, {n_a} vs {n - n_a})"
    if significant.any():
        parts = [f"{row.value} {row.difference:+.2f} ({row.rate_a:.2f} vs {row.rate_b:.2f}, h = {row.cohen_h:.2f}, "
                 f"{_fmt_p(row.p)})" for row in table[significant].itertuples()]
        result.claim = (f"{who} differ on {int(significant.sum())} of {len(table)} values ({test}, {name}-adjusted "
                        f"p ≤ {alpha}): " + "; ".join(parts))
    elif smallest * (len(table) if correction != "bh" else 1) > alpha:
        result.not_shown = (f"{who}: with these group sizes the smallest {test} p is {smallest:.3f}, so after "
                            f"{name} over {len(table)} values no value can reach {alpha}; more models are needed "
                            f"(unit='question' tests these models only)")
    else:
        best = table.loc[table["p"].idxmin()] if table["p"].notna().any() else None
        tail = "" if best is None else (f"; the closest is {best.value} {best.difference:+.2f}, {_fmt_p(best.p)}, "
                                        f"{name}-adjusted p = {best.p_adj:.3f}")
        result.not_shown = f"{who} are not shown to differ on any value ({test}){tail}"
    return result


# -- 3. size trends ---------------------------------------------------------------------------------------------


@dataclass
class SizeTrend:
    """Per family and value: slope of expression rate against log2(size_b), with Bonferroni-adjusted CIs."""

    table: pd.DataFrame  # family, value, models, slope, se, ci_lo, ci_hi (adjusted), boot_lo, boot_hi, p, p_adj, significant
    level: float  # confidence level of every interval: 1 − alpha / tests
    tests: int
    claim: str | None
    not_shown: str | None


def size_trend(labels: Labels, meta: Metadata, *, family: str | None = None, family_key: str = "family",
               size_key: str = "size_b", min_models: int = 3, alpha: float = 0.05, resamples: int = 200,
               seed: int = 0) -> SizeTrend:
    """Within each family (or one), the OLS slope of each value's expression rate on log2 of the parameter
    count: change in rate per doubling of size.

    Significance: the interval slope ± t·SE at level 1 − alpha/m excludes 0 (Bonferroni over the m family ×
    value slopes tested), with the delta-method SE over questions (`contrast_se`: answers to one question stay
    together; exact for complete labels). A percentile bootstrap at 1 − 0.05/30 would need thousands of
    resamples, and a bootstrap SE from 200 adds enough noise to push the error rate above alpha, so the bootstrap
    (`resamples`, the same draws for every model) gives the marginal 1 − alpha interval boot_lo / boot_hi, for
    display. This is conditional on the models: with three or four models in a family, any difference between
    them that happens to be monotone in size reads as a trend; the claim is that these models' rates change
    with size, not that size is the cause."""
    from scipy.stats import t

    cube = _cube(labels)
    rates = expression_rates(cube.x)
    families: dict[Any, list[tuple[int, float]]] = {}
    for i, model in enumerate(cube.models):
        fam, size = _meta(meta, model, family_key), _meta(meta, model, size_key)
        try:
            size_f = float(size)
        except (TypeError, ValueError):
            continue
        if fam is None or not size_f > 0 or not np.isfinite(rates[i]).all() or (family is not None and fam != family):
            continue
        families.setdefault(fam, []).append((i, size_f))
    usable = {f: ms for f, ms in families.items() if len(ms) >= min_models and len({s for _, s in ms}) >= 2}
    columns = ["family", "value", "models", "slope", "se", "ci_lo", "ci_hi", "boot_lo", "boot_hi", "p", "p_adj",
               "significant"]
    if not usable:
        why = (f"no family has {min_models} models with a known {size_key} of at least two sizes "
               f"(found {({f: len(ms) for f, ms in families.items()})})")
        return SizeTrend(pd.DataFrame(columns=columns), 1 - alpha, 0, None, why)
    boot = expression_rates(cube.x, bootstrap_counts(len(cube.x), resamples, seed))
    m = len(usable) * len(cube.values)
    level = 1 - alpha / m
    z = float(t.ppf(1 - alpha / (2 * m), max(len(cube.x) - 1, 1)))
    rows = []
    for fam, ms in usable.items():
        idx = [i for i, _ in ms]
        logs = np.log2([s for _, s in ms])
        weights = (logs - logs.mean()) / ((logs - logs.mean()) ** 2).sum()
        slope = weights @ rates[idx]
        se = contrast_se(cube.x[:, idx], weights)
        p = _t_p(slope, se, len(cube.x) - 1)
        boot_lo, boot_hi = _percentile_ci(np.einsum("m,bmv->bv", weights, boot[:, idx]), 1 - alpha)
        for v, value in enumerate(cube.values):
            rows.append({"family": fam, "value": value, "models": [cube.models[i] for i in idx],
                         "slope": slope[v], "se": se[v], "ci_lo": slope[v] - z * se[v], "ci_hi": slope[v] + z * se[v],
                         "boot_lo": boot_lo[v], "boot_hi": boot_hi[v], "p": p[v], "p_adj": min(1.0, p[v] * m),
                         "significant": bool(abs(slope[v]) > z * se[v])})
    table = pd.DataFrame(rows, columns=columns)
    sig = table[table.significant]
    ci = f"Bonferroni-adjusted {level:.1%} CI over {m} family × value slopes excludes 0"
    if len(sig):
        parts = [f"within {r.family}, {r.value} {r.slope:+.3f} per doubling of parameters "
                 f"[{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]" for r in sig.itertuples()]
        return SizeTrend(table, level, m, "expression changes with model size: " + "; ".join(parts) + f" ({ci})", None)
    best = table.loc[table["p"].idxmin()]
    return SizeTrend(table, level, m, None, f"no size trend shown: no {ci} (the closest, {best.family} "
                                            f"{best.value}, {best.slope:+.3f} per doubling, {_fmt_p(best.p)})")


# -- 4. category profiles ---------------------------------------------------------------------------------------


@dataclass
class CategoryProfiles:
    """Per category: each model's profile with bootstrap CIs; per (model, value): does it shift by category."""

    profiles: pd.DataFrame  # category (the value of `column`), model, value, n, rate, ci_lo, ci_hi
    shifts: pd.DataFrame  # model, value, chi2, df, p, p_adj, cramers_v, top, top_rate, bottom, bottom_rate, significant
    claim: str | None
    not_shown: str | None


def category_profiles(labels: Labels, *, column: str = "category", alpha: float = 0.05, resamples: int = 200,
                      seed: int = 0, min_expected: float = 5.0) -> CategoryProfiles:
    """Each model's expression rates inside each category (bootstrap CIs over the category's questions), and
    for each (model, value) a test of "the rate is the same in every category".

    The test is Pearson's chi-square of homogeneity on the categories × expressed table (df = categories − 1):
    for 0/1 labels T = Σ_c n_c (r_c − r̄)² / (r̄(1 − r̄)) exactly; for soft labels the same statistic with the
    labels' pooled variance in the denominator (a score test of equal means). Its χ² approximation wants
    expected counts n_c·r̄ and n_c·(1 − r̄) of at least `min_expected` in every category: cells below are not
    tested (p NaN). Benjamini-Hochberg across all tested cells (many cells, and a few true shifts are the
    interesting output, so FDR rather than family-wise control). Cramér's V = sqrt(T / N) is the effect size."""
    from scipy.stats import chi2

    cube = _cube(labels)
    cats = cube.attribute(column)
    names = sorted({c for c in cats if c is not None}, key=str)
    if len(names) < 2:
        raise ConfigError(f"category profiles need questions in at least two {column}s, found {names}")
    level = 1 - alpha
    rate_c, n_c, sq_c, rows = [], [], [], []
    for k, name in enumerate(names):
        x = cube.x[cats == name]
        r = expression_rates(x)
        n = (~np.isnan(x)).sum(axis=0)
        lo, hi = _percentile_ci(expression_rates(x, bootstrap_counts(len(x), resamples, [seed, k])), level)
        rate_c.append(r)
        n_c.append(n)
        sq_c.append(np.nansum(x**2, axis=0))
        for i, model in enumerate(cube.models):
            for v, value in enumerate(cube.values):
                rows.append((name, model, value, int(n[i, v]), r[i, v], lo[i, v], hi[i, v]))
    profiles = pd.DataFrame(rows, columns=["category", "model", "value", "n", "rate", "ci_lo", "ci_hi"])
    rc, nc = np.nan_to_num(np.stack(rate_c)), np.stack(n_c).astype(float)  # categories × models × values
    total = nc.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (rc * nc).sum(axis=0) / total
        var = np.stack(sq_c).sum(axis=0) / total - mean**2
        stat = (nc * (rc - mean) ** 2).sum(axis=0) / var
    var = np.where(np.isfinite(var), np.maximum(var, 0.0), np.nan)
    df = (nc > 0).sum(axis=0) - 1
    expected = np.where(nc > 0, nc * np.minimum(mean, 1 - mean), np.inf).min(axis=0)
    testable = (df >= 1) & (expected >= min_expected)
    stat = np.where(var > 1e-12, stat, 0.0)
    p = np.where(testable, chi2.sf(stat, np.maximum(df, 1)), np.nan)
    p_adj = adjust_pvalues(p, "bh")
    masked = np.where(nc > 0, rc, np.nan)
    top = np.where(np.isnan(masked), -1, masked).argmax(axis=0)
    bottom = np.where(np.isnan(masked), 2, masked).argmin(axis=0)
    shift_rows = []
    for i, model in enumerate(cube.models):
        for v, value in enumerate(cube.values):
            shift_rows.append({"model": model, "value": value, "chi2": stat[i, v] if testable[i, v] else np.nan,
                               "df": int(df[i, v]), "p": p[i, v], "p_adj": p_adj[i, v],
                               "cramers_v": math.sqrt(stat[i, v] / total[i, v]) if testable[i, v] else np.nan,
                               "top": names[top[i, v]], "top_rate": rc[top[i, v], i, v],
                               "bottom": names[bottom[i, v]], "bottom_rate": rc[bottom[i, v], i, v],
                               "significant": bool(p_adj[i, v] <= alpha)})
    shifts = pd.DataFrame(shift_rows)
    tested = int(testable.sum())
    sig = shifts[shifts.significant].sort_values("cramers_v", ascending=False)
    how = f"chi-square per (model, value), Benjamini-Hochberg q ≤ {alpha}"
    if len(sig):
        parts = [f"{r.model} on {r.value}: {r.top_rate:.2f} in {r.top} vs {r.bottom_rate:.2f} in {r.bottom} "
                 f"(V = {r.cramers_v:.2f})" for r in sig.head(3).itertuples()]
        claim = (f"{len(sig)} of {tested} (model, value) rates shift between {_plural(column)} ({how}); largest: "
                 + "; ".join(parts))
        return CategoryProfiles(profiles, shifts, claim, None)
    why = f"no (model, value) rate shifts between {_plural(column)} ({how}"
    why += f"; {testable.size - tested} cells have too few expected counts)" if tested < testable.size else ")"
    return CategoryProfiles(profiles, shifts, None, why)


# -- 5. regional divergence of two models -----------------------------------------------------------------------


@dataclass
class RegionDivergence:
    """Per region and value: model a's expression rate minus model b's on the questions about that region."""

    model_a: str
    model_b: str
    column: str
    contrast: str
    table: pd.DataFrame  # region, value, questions, rate_a, rate_b, difference, elsewhere, effect, ci_lo, ci_hi, p, p_adj, significant
    skipped: dict[str, int]  # regions with fewer than min_questions answered by both -> their count
    claim: str | None
    not_shown: str | None


def region_divergence(labels: Labels, model_a: str, model_b: str, *, column: str = "region",
                      contrast: Literal["zero", "elsewhere"] = "zero", min_questions: int = 20, alpha: float = 0.05,
                      resamples: int = 200, seed: int = 0) -> RegionDivergence:
    """On the questions about each region, a's rate minus b's per value (paired: only questions where both have
    the label), with a bootstrap interval over that region's questions.

    contrast="zero" tests the difference itself: "on questions about China, a expresses X more than b" (a
    paired t-test over the region's questions). contrast="elsewhere" tests the region's difference minus the
    two models' difference on every other question (Welch's t-test: the two question sets are disjoint; the
    bootstrap resamples each region, and the questions with no region, within themselves): "a and b diverge
    *more* on China", the paper's regional-divergence finding, not confounded by how the two differ everywhere.
    Analytic t-tests rather than bootstrap p-values because regions are small (tens of questions), where a
    normal approximation with a bootstrap SE rejects too often. Benjamini-Hochberg over every region × value
    tested (many regions, few expected hits); the interval is the marginal percentile interval at 1 − alpha.
    Regions with fewer than `min_questions` questions answered by both models are not tested."""
    cube = _cube(labels)
    for m in (model_a, model_b):
        if m not in cube.models:
            raise ConfigError(f"no labels for model {m!r}; the labels have {cube.models}")
    if contrast not in ("zero", "elsewhere"):
        raise ConfigError(f"contrast: zero or elsewhere, got {contrast!r}")
    keys = np.array(["" if r is None else str(r) for r in cube.attribute(column)], dtype=object)
    xa = cube.x[:, cube.models.index(model_a)]
    d = xa - cube.x[:, cube.models.index(model_b)]  # questions × values, NaN unless both labelled
    strata = sorted(set(keys))
    moments: dict[str, tuple[np.ndarray, ...]] = {}  # stratum -> n, Σd, Σd², Σ a (point); Σd, n per resample
    for k, s in enumerate(strata):
        x = d[keys == s]
        here = ~np.isnan(x)
        xz = np.where(here, x, 0.0)
        boot = bootstrap_counts(len(x), resamples, [seed, k])
        moments[s] = (here.sum(axis=0).astype(float), xz.sum(axis=0), (xz**2).sum(axis=0),
                      np.where(here, xa[keys == s], 0.0).sum(axis=0), boot @ xz, boot @ here.astype(float))
    total = [sum(m[j] for m in moments.values()) for j in range(6)]
    rows: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    effects, ses, dfs, boots = [], [], [], []
    for s in strata:
        if s == "":
            continue
        answered = int((~np.isnan(d[keys == s])).any(axis=1).sum())
        if answered < min_questions:
            skipped[s] = answered
            continue
        n, sd, sq, sa, bs, bn = moments[s]
        n_o, sd_o, sq_o, bs_o, bn_o = (total[0] - n, total[1] - sd, total[2] - sq, total[4] - bs, total[5] - bn)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean, mean_o = sd / n, sd_o / n_o
            var = (sq - n * mean**2) / (n - 1)
            var_o = (sq_o - n_o * mean_o**2) / (n_o - 1)
            boot = bs / bn
            if contrast == "zero":
                effect, se, df = mean, np.sqrt(var / n), n - 1
                effect_boot = boot
            else:
                effect, se = mean - mean_o, np.sqrt(var / n + var_o / n_o)
                df = se**4 / ((var / n) ** 2 / (n - 1) + (var_o / n_o) ** 2 / (n_o - 1))  # Welch-Satterthwaite
                effect_boot = boot - bs_o / bn_o
        effects.append(effect)
        ses.append(se)  # NaN with fewer than two questions: not tested
        dfs.append(df)
        boots.append(effect_boot)
        for v, value in enumerate(cube.values):
            rows.append({"region": s, "value": value, "questions": int(n[v]), "rate_a": sa[v] / n[v] if n[v] else np.nan,
                         "rate_b": (sa[v] - sd[v]) / n[v] if n[v] else np.nan, "difference": mean[v],
                         "elsewhere": mean_o[v]})
    columns = ["region", "value", "questions", "rate_a", "rate_b", "difference", "elsewhere", "effect", "ci_lo",
               "ci_hi", "p", "p_adj", "significant"]
    result = RegionDivergence(model_a, model_b, column, contrast, pd.DataFrame(rows, columns=columns), skipped, None, None)
    if not rows:
        result.not_shown = f"no {column} has {min_questions} questions answered by both models ({skipped})"
        return result
    effect = np.concatenate(effects)
    p = _t_p(effect, np.concatenate(ses), np.concatenate(dfs))
    lo, hi = _percentile_ci(np.concatenate(boots, axis=1), 1 - alpha)
    p_adj = adjust_pvalues(p, "bh")
    table = result.table.assign(effect=effect, ci_lo=lo, ci_hi=hi, p=p, p_adj=p_adj, significant=p_adj <= alpha)
    result.table = table.sort_values("effect", key=np.abs, ascending=False, ignore_index=True)
    sig = result.table[result.table.significant]
    test = "paired t-test" if contrast == "zero" else "Welch t-test against the other questions"
    how = f"{test}, Benjamini-Hochberg q ≤ {alpha} over {int(np.isfinite(p).sum())} {column} × value tests"
    what = "differ" if contrast == "zero" else "diverge more than elsewhere"
    if len(sig):
        parts = [f"{r.region} · {r.value} {r.effect:+.2f} [{r.ci_lo:+.2f}, {r.ci_hi:+.2f}]" for r in sig.head(5).itertuples()]
        more = f" and {len(sig) - 5} more" if len(sig) > 5 else ""
        result.claim = (f"{model_a} and {model_b} {what} on questions about {', '.join(map(str, sig.region.unique()))}: "
                        + "; ".join(parts) + more + f" ({how})")
    else:
        result.not_shown = f"{model_a} and {model_b} are not shown to {what} on any {column} ({how})"
    return result


# -- 6. informativeness per pull --------------------------------------------------------------------------------


def pull_scores(records: Iterable[Mapping[str, Any]], score_key: str = "p2_score") -> pd.DataFrame:
    """A generate run's S per pull, one row per record: pull (1-based, in the order pulls started), score.

    Takes either benchmark.jsonl questions (id "p{t}-w{w}-g{g}", S = `score_key`, the scorers' P2 score by
    default: one row per accepted question) or summary.json's `trajectory` (id t, reward = the pull's mean P2
    score, None when every candidate was kept out: no row)."""
    from ..generation.job import question_order

    rows = []
    for r in records:
        if "reward" in r:  # a trajectory entry
            if r.get("reward") is not None:
                rows.append((int(r["id"]) + 1, str(r["id"]), float(r["reward"])))
        elif r.get(score_key) is not None and str(r.get("id", "")).startswith("p"):
            rows.append((question_order(str(r["id"]))[0] + 1, str(r["id"]), float(r[score_key])))
    return pd.DataFrame(rows, columns=["pull", "id", "score"]).sort_values(["pull", "id"], ignore_index=True)


@dataclass
class PullCurve:
    """Running mean of S by pull and when it passes each baseline (data for the informativeness curve)."""

    curve: pd.DataFrame  # pull, questions, pull_mean (NaN: nothing accepted), running_mean, running_se
    baselines: pd.DataFrame  # name, mean, above_from (first pull after which the running mean stays above; NaN: never)


def informativeness_curve(scores: pd.DataFrame, baselines: Mapping[str, float] | None = None) -> PullCurve:
    """Running mean of S over all questions accepted up to each pull (from `pull_scores`), and for each baseline
    mean S (e.g. SVS's from `adaem compare`) the first pull from which the running mean stays above it to the
    end. No test: a descriptive curve. The baselines are only comparable when scored under the same pool and
    definition of S as the run's P2 scores (compare under the run's scorers)."""
    if not {"pull", "score"} <= set(scores.columns):
        raise ConfigError("scores need `pull` and `score` columns (see pull_scores)")
    s = scores.dropna(subset=["score"])
    columns = ["pull", "questions", "pull_mean", "running_mean", "running_se"]
    if s.empty:
        return PullCurve(pd.DataFrame(columns=columns),
                         pd.DataFrame({"name": list(baselines or {}), "mean": list((baselines or {}).values()),
                                       "above_from": np.nan}))
    pulls = np.arange(1, int(s["pull"].max()) + 1)
    grouped = s.groupby("pull")["score"]
    n = grouped.count().reindex(pulls, fill_value=0).to_numpy(float)
    total = grouped.sum().reindex(pulls, fill_value=0.0).to_numpy(float)
    squares = (s.assign(sq=s["score"] ** 2).groupby("pull")["sq"].sum()).reindex(pulls, fill_value=0.0).to_numpy(float)
    cn, cs, cq = np.cumsum(n), np.cumsum(total), np.cumsum(squares)
    with np.errstate(invalid="ignore", divide="ignore"):
        running = cs / cn
        var = (cq - cn * running**2) / (cn - 1)
        se = np.sqrt(np.maximum(var, 0) / cn)
        pull_mean = np.where(n > 0, total / n, np.nan)
    curve = pd.DataFrame({"pull": pulls, "questions": cn.astype(int), "pull_mean": pull_mean,
                          "running_mean": running, "running_se": se})
    rows = []
    for name, mean in (baselines or {}).items():
        below = np.flatnonzero(~(running > mean))  # NaN (no question yet) counts as not above
        if len(below) == 0:
            above_from: float = float(pulls[0])
        elif below[-1] == len(pulls) - 1:
            above_from = float("nan")
        else:
            above_from = float(pulls[below[-1] + 1])
        rows.append({"name": name, "mean": float(mean), "above_from": above_from})
    return PullCurve(curve, pd.DataFrame(rows, columns=["name", "mean", "above_from"]))


__all__ = [
    "CategoryProfiles", "GroupDifference", "LabelCube", "ProfileSimilarity", "PullCurve", "RegionDivergence",
    "SizeTrend", "adjust_pvalues", "bootstrap_counts", "category_profiles", "contrast_se", "expression_rates",
    "group_difference", "informativeness_curve", "label_cube", "profile_correlations", "profile_similarity",
    "pull_scores", "region_divergence", "size_trend", "tidy_labels",
]
