"""Findings about questions (SPEC §8): does a model's profile shift between topic categories, do two models
diverge on the questions about one region, and how a generate run's informativeness grows pull by pull.

These are claims about *these models* on different questions: they say a measured difference is not question
sampling noise, which in a generated benchmark means topic sampling noise. Questions of one seed topic are
correlated and a category is set per topic, so the tests aggregate or resample topics (`Clusters`); a benchmark
without topics falls back to questions, and every result's `unit` says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..resampling import cluster_leverage, cluster_se, rate_interval, t_p, t_quantile
from .claims import conclude_alone, plural
from .cube import Labels, as_cube

# -- 1. category profiles ---------------------------------------------------------------------------------------


@dataclass
class CategoryProfiles:
    """Per category: each model's profile with CIs; per (model, value): does it shift by category."""

    profiles: pd.DataFrame  # category (the value of `column`), model, value, n, topics, rate, ci_lo, ci_hi
    shifts: pd.DataFrame  # model, value, F, df, df_within, p, p_adj, eta_sq, top, top_rate, bottom, bottom_rate, significant
    claim: str | None
    not_shown: str | None
    column: str = "category"
    unit: str = ""
    untestable: int = 0  # cells with too few expected counts or units

    def pvalues(self) -> np.ndarray:
        return self.shifts["p"].to_numpy(float)

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        shifts = self.shifts.assign(p_adj=p_adj, significant=p_adj <= alpha)
        self.shifts, self.claim, self.not_shown = shifts, None, None
        tested = int(shifts.p.notna().sum())
        test = f"one-way ANOVA over {self.unit} per (model, value)"
        sig = shifts[shifts.significant].sort_values("eta_sq", ascending=False)
        if len(sig):
            parts = [f"{r.model} on {r.value}: {r.top_rate:.2f} in {r.top} vs {r.bottom_rate:.2f} in {r.bottom} "
                     f"(η² = {r.eta_sq:.2f})" for r in sig.head(3).itertuples()]
            self.claim = (f"{len(sig)} of {tested} (model, value) rates shift between {plural(self.column)} ({test}; "
                          f"{how}, adjusted p ≤ {alpha}); largest: " + "; ".join(parts))
            return
        why = f"no (model, value) rate shifts between {plural(self.column)} ({test}; {how}"
        self.not_shown = why + (f"; {self.untestable} cells have too few expected counts or units)" if self.untestable
                                else ")")


def category_profiles(labels: Labels, *, column: str = "category", alpha: float = 0.05, resamples: int = 200,
                      seed: int = 0, min_expected: float = 5.0) -> CategoryProfiles:
    """Each model's expression rates inside each category (t intervals over the category's topics), and for
    each (model, value) a test of "the rate is the same in every category".

    The test is a one-way ANOVA of the topics' mean labels across categories (F with categories − 1 and
    topics − categories degrees of freedom): a category is set per topic, so the topic is the unit that was
    assigned to it, and questions of one topic move together. Without topics the units are the questions and
    the test is the classical one on 0/1 labels (≈ Pearson's chi-square of homogeneity). Cells whose expected
    counts n_c·r̄ or n_c·(1 − r̄) fall under `min_expected` in some category, or without two units in some
    category, are not tested (p NaN). Benjamini-Hochberg across all tested cells when made alone (many cells,
    and a few true shifts are the interesting output, so FDR rather than family-wise control). Effect size:
    η², the share of the units' variance between categories. The profile intervals are `rate_interval`'s over the
    category's topics (t on the logit scale, CR2 SE, Bell–McCaffrey df): with ~7 topics per category the plain
    rate ± t·SE covered 0.929 in the validity suite (issue 36), this 0.958."""
    from scipy.stats import f as f_dist

    del resamples, seed  # the intervals and the test are analytic over topics; kept so calls that pass them work
    cube = as_cube(labels)
    cats = cube.attribute(column)
    names = sorted({c for c in cats if c is not None}, key=str)
    if len(names) < 2:
        raise ConfigError(f"category profiles need questions in at least two {column}s, found {names}")
    clusters = cube.clusters()
    here_all = ~np.isnan(cube.x)
    rate_c, n_c, rows = [], [], []
    for name in names:
        sel = cats == name
        x, here = cube.x[sel], here_all[sel]
        sub = clusters.subset(sel)
        r, lo, hi = rate_interval(x, sub, 1 - alpha)
        n = here.sum(axis=0)
        topics = (cluster_leverage(sub, here) > 0).sum(axis=0)
        rate_c.append(r)
        n_c.append(n)
        for i, model in enumerate(cube.models):
            for v, value in enumerate(cube.values):
                rows.append((name, model, value, int(n[i, v]), int(topics[i, v]), r[i, v], lo[i, v], hi[i, v]))
    profiles = pd.DataFrame(rows, columns=["category", "model", "value", "n", "topics", "rate", "ci_lo", "ci_hi"])

    # the units: (topic, category) pairs, each with its mean label per (model, value)
    known = np.array([c is not None for c in cats])
    cat_code = np.array([names.index(c) if c is not None else -1 for c in cats])
    unit_key = clusters.codes * len(names) + cat_code
    units, inverse = np.unique(unit_key[known], return_inverse=True)
    sums = np.zeros((len(units), *cube.x.shape[1:]))
    counts = np.zeros_like(sums)
    np.add.at(sums, inverse, np.nan_to_num(cube.x[known]))
    np.add.at(counts, inverse, here_all[known])
    unit_cat = units % len(names)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = sums / counts  # units × models × values, NaN where the unit has no label
    ok = counts > 0
    onehot = (unit_cat[:, None] == np.arange(len(names))[None]).astype(float)  # units × categories
    k_c = np.einsum("uc,umv->cmv", onehot, ok.astype(float))
    mean_c = np.einsum("uc,umv->cmv", onehot, np.where(ok, y, 0.0)) / np.where(k_c > 0, k_c, np.nan)
    total_units = ok.sum(axis=0)
    grand = np.where(ok, y, 0.0).sum(axis=0) / np.where(total_units > 0, total_units, np.nan)
    ssb = np.nansum(k_c * (mean_c - grand) ** 2, axis=0)
    within = np.where(ok, y - mean_c[unit_cat], 0.0)
    ssw = (within**2).sum(axis=0)
    cats_here = (k_c > 0).sum(axis=0)
    df1, df2 = cats_here - 1, total_units - cats_here
    rc, nc = np.nan_to_num(np.stack(rate_c)), np.stack(n_c).astype(float)  # categories × models × values
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (rc * nc).sum(axis=0) / nc.sum(axis=0)
        expected = np.where(nc > 0, nc * np.minimum(mean, 1 - mean), np.inf).min(axis=0)
        stat = (ssb / np.maximum(df1, 1)) / (ssw / np.maximum(df2, 1))
    units_ok = np.where(k_c > 0, k_c >= 2, True).all(axis=0)
    testable = (df1 >= 1) & (df2 >= 1) & (expected >= min_expected) & units_ok & ((ssw > 1e-12) | (ssb <= 1e-12))
    stat = np.where(ssb <= 1e-12, 0.0, stat)
    p = np.where(testable, f_dist.sf(stat, np.maximum(df1, 1), np.maximum(df2, 1)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.where(ssb + ssw > 0, ssb / (ssb + ssw), 0.0)
    masked = np.where(nc > 0, rc, np.nan)
    top = np.where(np.isnan(masked), -1, masked).argmax(axis=0)
    bottom = np.where(np.isnan(masked), 2, masked).argmin(axis=0)
    shift_rows = []
    for i, model in enumerate(cube.models):
        for v, value in enumerate(cube.values):
            shift_rows.append({"model": model, "value": value, "F": stat[i, v] if testable[i, v] else np.nan,
                               "df": int(df1[i, v]), "df_within": int(df2[i, v]), "p": p[i, v], "p_adj": np.nan,
                               "eta_sq": eta[i, v] if testable[i, v] else np.nan,
                               "top": names[top[i, v]], "top_rate": rc[top[i, v], i, v],
                               "bottom": names[bottom[i, v]], "bottom_rate": rc[bottom[i, v], i, v],
                               "significant": False})
    result = CategoryProfiles(profiles, pd.DataFrame(shift_rows), None, None, column, clusters.describe(),
                              int(testable.size - testable.sum()))
    conclude_alone(result, alpha, "bh")
    return result


# -- 2. regional divergence of two models -----------------------------------------------------------------------


@dataclass
class RegionDivergence:
    """Per region and value: model a's expression rate minus model b's on the questions about that region."""

    model_a: str
    model_b: str
    column: str
    contrast: str
    table: pd.DataFrame  # region, value, questions, topics, rate_a, rate_b, difference, elsewhere, effect, se, df, ci_lo, ci_hi, p, p_adj, significant
    skipped: dict[str, int]  # regions with fewer than min_questions answered by both -> their count
    claim: str | None
    not_shown: str | None
    unit: str = ""

    def pvalues(self) -> np.ndarray:
        return self.table["p"].to_numpy(float) if len(self.table) else np.zeros(0)

    def conclude(self, p_adj: np.ndarray, alpha: float, how: str) -> None:
        if not len(self.table):
            return
        table = self.table.assign(p_adj=p_adj, significant=p_adj <= alpha)
        self.table = table.sort_values("effect", key=np.abs, ascending=False, ignore_index=True)
        self.claim = self.not_shown = None
        sig = self.table[self.table.significant]
        test = "t-test" if self.contrast == "zero" else "t-test against the other questions"
        tested = int(self.table.p.notna().sum())
        detail = f"{test} over {self.unit}; {how}, adjusted p ≤ {alpha} over {tested} {self.column} × value tests"
        what = "differ" if self.contrast == "zero" else "diverge more than elsewhere"
        if len(sig):
            parts = [f"{r.region} · {r.value} {r.effect:+.2f} [{r.ci_lo:+.2f}, {r.ci_hi:+.2f}]"
                     for r in sig.head(5).itertuples()]
            more = f" and {len(sig) - 5} more" if len(sig) > 5 else ""
            self.claim = (f"{self.model_a} and {self.model_b} {what} on questions about "
                          f"{', '.join(map(str, sig.region.unique()))}: " + "; ".join(parts) + more + f" ({detail})")
        else:
            self.not_shown = f"{self.model_a} and {self.model_b} are not shown to {what} on any {self.column} ({detail})"


def region_divergence(labels: Labels, model_a: str, model_b: str, *, column: str = "region",
                      contrast: Literal["zero", "elsewhere"] = "zero", min_questions: int = 20, alpha: float = 0.05,
                      resamples: int = 200, seed: int = 0) -> RegionDivergence:
    """On the questions about each region, a's rate minus b's per value (paired: only questions where both have
    the label), with a t interval.

    contrast="zero" tests the difference itself: "on questions about China, a expresses X more than b" (a
    paired t-test with the cluster-robust SE over the region's topics, df = topics − 1). contrast="elsewhere"
    tests the region's difference minus the two models' difference on every other question: "a and b diverge
    *more* on China", the paper's regional-divergence finding, not confounded by how the two differ everywhere;
    its SE sums each topic's influence on both means (a topic may hold questions inside and outside the region)
    and its df is Welch–Satterthwaite's over the two topic counts. Benjamini-Hochberg over every region × value
    tested when made alone (many regions, few expected hits); the interval is the marginal 1 − alpha t
    interval. Regions with fewer than `min_questions` questions answered by both models, or fewer than two
    topics, are not tested."""
    del resamples, seed  # the intervals are t intervals over topics; kept so calls that pass them still work
    cube = as_cube(labels)
    for m in (model_a, model_b):
        if m not in cube.models:
            raise ConfigError(f"no labels for model {m!r}; the labels have {cube.models}")
    if contrast not in ("zero", "elsewhere"):
        raise ConfigError(f"contrast: zero or elsewhere, got {contrast!r}")
    keys = np.array(["" if r is None else str(r) for r in cube.attribute(column)], dtype=object)
    clusters = cube.clusters()
    xa = cube.x[:, cube.models.index(model_a)]
    d = xa - cube.x[:, cube.models.index(model_b)]  # questions × values, NaN unless both labelled
    here = ~np.isnan(d)
    dz = np.where(here, d, 0.0)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for s in sorted(set(keys)):
        if s == "":
            continue
        inside = keys == s
        answered = int(here[inside].any(axis=1).sum())
        if answered < min_questions:
            skipped[s] = answered
            continue
        h_in, h_out = here & inside[:, None], here & ~inside[:, None]
        n, n_o = h_in.sum(axis=0).astype(float), h_out.sum(axis=0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean, mean_o = (dz * h_in).sum(axis=0) / n, (dz * h_out).sum(axis=0) / n_o
            psi_in = np.where(h_in, d - mean, 0.0) / n
            psi_out = -np.where(h_out, d - mean_o, 0.0) / n_o
        se_in, df_in = cluster_se(psi_in, clusters, h_in)
        if contrast == "zero":
            effect, se, df = mean, se_in, df_in
        else:
            se_out, df_out = cluster_se(psi_out, clusters, h_out)
            se, _ = cluster_se(psi_in + psi_out, clusters, here)
            effect = mean - mean_o
            with np.errstate(invalid="ignore", divide="ignore"):
                df = (se_in**2 + se_out**2) ** 2 / (se_in**4 / df_in + se_out**4 / df_out)
        half = t_quantile(1 - alpha, df) * se
        p = t_p(effect, se, df)
        for v, value in enumerate(cube.values):
            sa = np.where(h_in[:, v], xa[:, v], 0.0).sum()
            rows.append({"region": s, "value": value, "questions": int(n[v]), "topics": int(df_in[v] + 1),
                         "rate_a": sa / n[v] if n[v] else np.nan,
                         "rate_b": (sa - dz[:, v][h_in[:, v]].sum()) / n[v] if n[v] else np.nan,
                         "difference": mean[v], "elsewhere": mean_o[v], "effect": effect[v], "se": se[v],
                         "df": df[v], "ci_lo": effect[v] - half[v], "ci_hi": effect[v] + half[v], "p": p[v],
                         "p_adj": np.nan, "significant": False})
    columns = ["region", "value", "questions", "topics", "rate_a", "rate_b", "difference", "elsewhere", "effect", "se",
               "df", "ci_lo", "ci_hi", "p", "p_adj", "significant"]
    result = RegionDivergence(model_a, model_b, column, contrast, pd.DataFrame(rows, columns=columns), skipped, None,
                              None, clusters.describe())
    if not rows:
        result.not_shown = f"no {column} has {min_questions} questions answered by both models ({skipped})"
        return result
    conclude_alone(result, alpha, "bh")
    return result


# -- 3. informativeness per pull --------------------------------------------------------------------------------


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

    curve: pd.DataFrame  # pull, questions, pull_mean (NaN: nothing accepted), running_mean
    baselines: pd.DataFrame  # name, mean, above_from (first pull after which the running mean stays above; NaN: never)


def informativeness_curve(scores: pd.DataFrame, baselines: Mapping[str, float] | None = None) -> PullCurve:
    """Running mean of S over all questions accepted up to each pull (from `pull_scores`), and for each baseline
    mean S (e.g. SVS's from `adaem compare`) the first pull from which the running mean stays above it to the
    end. No test and no interval: the bandit chooses where each next question comes from, so the questions up
    to a pull are not a sample of any fixed population an interval could be about (`adaem compare` tests one
    finished set against another). The baselines are only comparable when scored under the same pool and
    definition of S as the run's P2 scores (compare under the run's scorers)."""
    if not {"pull", "score"} <= set(scores.columns):
        raise ConfigError("scores need `pull` and `score` columns (see pull_scores)")
    s = scores.dropna(subset=["score"])
    columns = ["pull", "questions", "pull_mean", "running_mean"]
    if s.empty:
        return PullCurve(pd.DataFrame(columns=columns),
                         pd.DataFrame({"name": list(baselines or {}), "mean": list((baselines or {}).values()),
                                       "above_from": np.nan}))
    pulls = np.arange(1, int(s["pull"].max()) + 1)
    grouped = s.groupby("pull")["score"]
    n = grouped.count().reindex(pulls, fill_value=0).to_numpy(float)
    total = grouped.sum().reindex(pulls, fill_value=0.0).to_numpy(float)
    cn, cs = np.cumsum(n), np.cumsum(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        running = cs / cn
        pull_mean = np.where(n > 0, total / n, np.nan)
    curve = pd.DataFrame({"pull": pulls, "questions": cn.astype(int), "pull_mean": pull_mean, "running_mean": running})
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


__all__ = ["CategoryProfiles", "PullCurve", "RegionDivergence", "category_profiles", "informativeness_curve",
           "pull_scores", "region_divergence"]
