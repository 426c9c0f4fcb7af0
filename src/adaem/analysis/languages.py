"""Does a model hold the same values in every language? Consistency of value profiles across the languages of a
multi-language `adaem evaluate` run: pure numpy/pandas, no I/O.

The input is one label tensor per language (questions × models × values, P(expressed) or NaN), with the same
question order in every language, so that question i in Chinese is the translation of question i in English.

Why expression rates, not TrueSkill scores: a score is a mean win probability against the *other models of the
same pool* on the same questions, so it is relative. If every model expresses power more often in Chinese, the
scores in Chinese need not move at all; and a model's score in one language moves when another model changes.
The expression rate (the share of a model's labelled answers that express the value, as `rating.score_table`
and scores.csv compute it) is absolute: it belongs to the model alone, and it can be compared across languages.

Complete cases: every statistic of a model is over the questions it answered in *every* language compared
(per value: labelled in each), `questions` of them; `excluded` counts the questions it answered in some of its
languages but not all (a flagged translation, a parse failure). Otherwise a question missing in one language
moves that language's rate by what the question is about, not by the language, and a permutation that shuffles
answers into empty slots reads the missing translations as a language effect.

Statistics per model (rates in % of answers, so differences are in points):
- `spread`: how far the model's rates differ between languages: the root mean square over values of the
  standard deviation (ddof = 0) of each value's rate across the languages, *debiased*: sampling noise alone
  makes a raw spread positive (two languages, 100 questions, rates near 50%: ~3 points with no language effect
  at all), so the expected square of that noise, estimated from the questions' own variation (cluster-robust
  over topics), is subtracted before the root. 0 when the rates differ no more than noise explains.
  `spread_lo` / `spread_hi`: the interval of the squared spread, estimate ± t·SE (the SE of a sum of squared
  means: √(2 tr Σ² + 4 γᵀΣγ) over the rates' covariance Σ, γ their differences), cut at 0, and its root:
  measured to cover 0.92–0.98 at true spreads of 0, 2 and 5 points (benchmarks/bench_validity.py).
- `spread_p`: does the language make any difference? The share of arrangements with each question's answers
  shuffled between its languages (all of them when there are at most `permutations`, an exact test: on 4
  questions in 2 languages the smallest p is 2/16) whose raw spread is at least the observed one.
- `rho`: the Spearman rank correlation of the model's rate profile (over values) in one language with its
  profile in another, averaged over the language pairs. Sampling noise pulls it below 1 even with no language
  effect at all, so `rho_null` gives the mean ρ of the shuffled arrangements: what ρ would be if the language
  made no difference (its attenuation ceiling). Read ρ against rho_null, not against 1. No interval: a bootstrap
  interval of ρ covered the true profiles' ρ 15–79% of the time (noise attenuates every resample too).
- `max_shift_value`, `max_shift`: the value with the largest debiased spread, and that spread (points); no value
  (None) when none is above noise.
Per language pair (on the questions answered in both): `rho`, `rho_null`, and `rms_diff` (the debiased root mean
square over values of rate_a − rate_b, points) with its interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from itertools import combinations, product
from itertools import permutations as all_orders

import numpy as np
import pandas as pd

from ..resampling import Clusters, Topics, clusters_of, t_quantile

MODEL_COLUMNS = ["model", "languages", "questions", "excluded", "spread", "spread_lo", "spread_hi", "spread_p", "rho",
                 "rho_null", "max_shift_value", "max_shift", "ci_unit"]
PAIR_COLUMNS = ["model", "language_a", "language_b", "questions", "excluded", "rho", "rho_null", "rms_diff",
                "rms_diff_lo", "rms_diff_hi", "p", "ci_unit"]


def _mean_last(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=-1)


def _ranks(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share the mean rank) along the last axis among the entries where `ok`;
    O(values²), which is nothing for the 5–20 values of a theory and vectorises over everything else."""
    xi, xj, okj = x[..., :, None], x[..., None, :], ok[..., None, :]
    less = ((xj < xi) & okj).sum(axis=-1)
    equal = ((xj == xi) & okj).sum(axis=-1)
    return less + (equal + 1) / 2


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho along the last axis, over the positions where both are finite: ... × values -> ... .
    NaN where a profile is constant there (its ranks have no variance) or fewer than two positions remain."""
    ok = np.isfinite(a) & np.isfinite(b)
    ra, rb = _ranks(np.where(ok, a, 0.0), ok), _ranks(np.where(ok, b, 0.0), ok)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(ok, ra - np.where(ok, ra, 0).sum(axis=-1, keepdims=True) / n[..., None], 0.0)
        db = np.where(ok, rb - np.where(ok, rb, 0).sum(axis=-1, keepdims=True) / n[..., None], 0.0)
        den = np.sqrt((da**2).sum(axis=-1) * (db**2).sum(axis=-1))
        rho = (da * db).sum(axis=-1) / den
    return np.where((n >= 2) & (den > 1e-12), np.clip(rho, -1.0, 1.0), np.nan)


def _orders(n_q: int, n_l: int, permutations: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """arrangements × questions × languages: the language in each slot. Every arrangement when there are at most
    `permutations` (exact), else random ones."""
    if n_q * math.log(math.factorial(n_l)) <= math.log(max(permutations, 1)):
        per = list(all_orders(range(n_l)))
        rows = np.array([list(c) for c in product(per, repeat=n_q)], dtype=np.int16).reshape(-1, n_q, n_l)
        return rows, True
    slots = np.tile(np.arange(n_l, dtype=np.int16), (permutations, n_q, 1))
    return rng.permuted(slots, axis=2), False


def _shuffled_rates(x: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """arrangements × languages × values rates (0–1) of complete cases x (questions × languages × values, NaN
    = not complete) with each question's languages put in the slots `orders` gives."""
    here = ~np.isnan(x)
    values = np.where(here, x, 0.0)
    n_l = x.shape[1]
    total = np.zeros((len(orders), n_l, x.shape[2]))
    count = np.zeros_like(total)
    for k in range(n_l):
        for slot in range(n_l):
            s = (orders[:, :, slot] == k).astype(float)
            total[:, slot] += s @ values[:, k]
            count[:, slot] += s @ here[:, k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _rho(rates: np.ndarray) -> np.ndarray:
    """... × languages × values -> ... : Spearman ρ of the profiles, mean over language pairs."""
    pairs = list(combinations(range(rates.shape[-2]), 2))
    rhos = np.stack([spearman(rates[..., i, :], rates[..., j, :]) for i, j in pairs], axis=-1)
    return _mean_last(rhos)


def _square_interval(t: float, sigma: np.ndarray, tr2: float, k: int, z: float) -> tuple[float, float]:
    """Interval for θ² = |γ|²/k from its unbiased estimate t = (|c|² − tr Σ)/k, c ~ (γ, Σ): the θ² ≥ 0 with
    |t − θ²| ≤ z·sd(t | θ²), where var(t | θ²) = (2 tr Σ² + 4 γᵀΣγ)/k² and γᵀΣγ is taken as k·θ² times
    Σ's eigenvalues weighted by themselves (tr Σ² / tr Σ). Inverting the test at each θ² (rather than using
    the estimate's own SE, which noise inflates) keeps the interval's coverage near nominal at θ = 0, where
    the estimate is a centred, skewed sum of squares. tr Σ² is the caller's unbiased estimate (the plug-in
    tr Σ̂² is biased up by ~(tr Σ)²/topics). Empty intervals (t far below what noise allows) become [0, 0]."""
    tr1 = float(np.trace(sigma))
    if tr1 <= 0:
        return max(t, 0.0), max(t, 0.0)
    a, b = 2 * tr2 / k**2, 4 * tr2 / tr1 / k
    centre = t + z**2 * b / 2
    disc = z**2 * b * t + z**4 * b**2 / 4 + z**2 * a
    if disc < 0:
        return 0.0, 0.0
    root = math.sqrt(disc)
    return max(centre - root, 0.0), max(centre + root, 0.0)


def consistency(x: np.ndarray, clusters: Clusters, *, confidence: float = 0.95, permutations: int = 200,
                seed: int = 0, intervals: bool = True) -> dict[str, object]:
    """Statistics of one model over its languages. x: questions × languages × values of 0/1 labels, NaN =
    missing. Complete cases are taken here. Returns spread (0–1 scale), its interval, per-value spread, p, rho,
    rho_null, questions and excluded."""
    n_q, n_l, n_v = x.shape
    answered = (~np.isnan(x)).any(axis=2)  # questions × languages
    excluded = int((answered.any(axis=1) & ~answered.all(axis=1)).sum())
    complete = (~np.isnan(x)).all(axis=1)  # questions × values
    used = complete.any(axis=1)
    out: dict[str, object] = {"questions": int(used.sum()), "excluded": excluded}
    nan_v = np.full(n_v, np.nan)
    out.update(spread=np.nan, lo=np.nan, hi=np.nan, per_value=nan_v, p=np.nan, rho=np.nan, rho_null=np.nan)
    if used.sum() < 2:
        return out
    xc = np.where(complete[:, None, :], x, np.nan)[used]
    cl = clusters.subset(used)
    here = ~np.isnan(xc[:, 0, :])  # questions × values
    n = here.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.nansum(xc, axis=0) / n  # languages × values
    centred = rates - rates.mean(axis=0)  # c[l, v]
    with warnings.catch_warnings():  # a value not complete on a question: all NaN there, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        e = np.where(here[:, None, :], xc - np.nanmean(xc, axis=1, keepdims=True), 0.0)  # per-question centring
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = np.where(here[:, None, :], e - centred, 0.0) / n  # questions × languages × values
    k = n_l * n_v
    flat = psi.reshape(len(psi), k)
    order = np.argsort(cl.codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, cl.codes[order][1:] != cl.codes[order][:-1]])
    sums = np.add.reduceat(flat[order], starts, axis=0)
    g = len(starts)
    ok = np.broadcast_to(np.isfinite(centred) & (n > 0), (n_l, n_v)).ravel()
    c = np.where(ok, centred.ravel(), 0.0)
    sums = np.where(ok, np.nan_to_num(sums), 0.0)
    sigma = g / max(g - 1, 1) * sums.T @ sums  # k × k covariance of the centred rates
    kk = max(int(ok.sum()), 1)
    raw = float(c @ c) / kk
    t = raw - float(np.trace(sigma)) / kk
    gram = sums @ sums.T  # clusters × clusters: tr Σ² from distinct pairs of clusters only (unbiased)
    tr2 = (g / max(g - 1, 1)) ** 3 * float((gram**2).sum() - (np.diag(gram) ** 2).sum())
    lo, hi = _square_interval(t, sigma, max(tr2, 0.0), kk, float(t_quantile(confidence, g - 1)))
    diag = np.diag(sigma).reshape(n_l, n_v).sum(axis=0)
    with np.errstate(invalid="ignore"):
        per_value = np.sqrt(np.maximum((centred**2).sum(axis=0) - diag, 0.0) / n_l)
    if not intervals:
        lo = hi = float("nan")
    out.update(spread=math.sqrt(max(t, 0.0)), lo=math.sqrt(lo), hi=math.sqrt(hi),
               per_value=np.where(n > 0, per_value, np.nan), rho=float(_rho(rates)))
    if permutations:
        orders, exact = _orders(len(xc), n_l, permutations, np.random.default_rng(seed))
        shuffled = _shuffled_rates(xc, orders)
        spread = ((shuffled - shuffled.mean(axis=1, keepdims=True)) ** 2).reshape(len(orders), -1)
        null = np.nansum(spread, axis=1) / kk
        hits = int((null >= raw - 1e-12).sum())
        out["p"] = hits / len(orders) if exact else (1 + hits) / (1 + len(orders))
        out["rho_null"] = float(_mean_last(_rho(shuffled)))
    return out


def language_consistency(labels: Mapping[str, np.ndarray], models: list[str], dims: list[str], *,
                         threshold: float = 0.5, confidence: float = 0.95, bootstrap: int = 200, seed: int = 0,
                         permutations: int = 200, topics: Topics = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How much each model's value profile changes between languages (see the module docstring for why rates,
    complete cases, and how to read each number).

    labels: language -> questions × models × dims of P(expressed), NaN where there is no answer or no label;
    the same questions in the same order in every language (a question not asked in a language is all NaN
    there). expressed = label ≥ threshold, as `evaluate` scores. `topics`: each question's seed topic (the
    intervals then treat topics, not questions, as independent; `ci_unit` says which).

    Returns (per model: MODEL_COLUMNS; per model and language pair: PAIR_COLUMNS). `languages` lists the
    languages in which the model has at least one label (in the order of `labels`); its statistics and pairs
    are over those. With fewer than two languages both frames are empty. `permutations=0` gives NaN `spread_p`
    and `rho_null`; `bootstrap=0` gives no intervals (they are analytic: any other value only asks for them)."""
    langs = list(labels)
    empty = pd.DataFrame(columns=MODEL_COLUMNS), pd.DataFrame(columns=PAIR_COLUMNS)
    if len(langs) < 2:
        return empty
    shapes = {np.shape(labels[lang]) for lang in langs}
    n_m, n_d = len(models), len(dims)
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[1:] != (n_m, n_d):
        raise ValueError(f"every language's labels must be questions × {n_m} models × {n_d} dims with the same "
                         f"questions; got {[np.shape(labels[lang]) for lang in langs]}")
    x = np.stack([np.asarray(labels[lang], dtype=float) for lang in langs], axis=1)  # Q × L × M × D
    expressed = np.where(np.isnan(x), np.nan, (np.nan_to_num(x) >= threshold).astype(float))
    clusters = clusters_of(topics, x.shape[0])
    unit = clusters.describe()
    has = (~np.isnan(x)).any(axis=(0, 3))  # L × M: the model has a label in that language
    model_rows, pair_rows = [], []
    for i, model in enumerate(models):
        own = [k for k in range(len(langs)) if has[k, i]]
        row: dict[str, object] = {"model": model, "languages": ",".join(langs[k] for k in own), "questions": 0,
                                  "excluded": 0, "spread": np.nan, "spread_lo": np.nan, "spread_hi": np.nan,
                                  "spread_p": np.nan, "rho": np.nan, "rho_null": np.nan, "max_shift_value": None,
                                  "max_shift": np.nan, "ci_unit": unit}
        if len(own) >= 2:
            st = consistency(expressed[:, own, i], clusters, confidence=confidence, permutations=permutations,
                             seed=seed, intervals=bool(bootstrap))
            per_value = np.asarray(st["per_value"])
            top = int(np.nanargmax(per_value)) if np.isfinite(per_value).any() else None
            shifted = dims[top] if top is not None and per_value[top] > 1e-9 else None  # none above noise
            row.update({"questions": st["questions"], "excluded": st["excluded"],
                        "spread": 100 * float(st["spread"]), "spread_lo": 100 * float(st["lo"]),  # type: ignore[arg-type]
                        "spread_hi": 100 * float(st["hi"]), "spread_p": st["p"], "rho": st["rho"],  # type: ignore[arg-type]
                        "rho_null": st["rho_null"], "max_shift_value": shifted,
                        "max_shift": 100 * per_value[top] if shifted is not None else 0.0 if top is not None else np.nan})
            for a, b in combinations(own, 2):
                pst = consistency(expressed[:, [a, b], i], clusters, confidence=confidence,
                                  permutations=permutations, seed=seed, intervals=bool(bootstrap))
                pair_rows.append({"model": model, "language_a": langs[a], "language_b": langs[b],
                                  "questions": pst["questions"], "excluded": pst["excluded"], "rho": pst["rho"],
                                  "rho_null": pst["rho_null"], "rms_diff": 200 * float(pst["spread"]),  # type: ignore[arg-type]
                                  "rms_diff_lo": 200 * float(pst["lo"]), "rms_diff_hi": 200 * float(pst["hi"]),  # type: ignore[arg-type]
                                  "p": pst["p"], "ci_unit": unit})
        model_rows.append(row)
    return (pd.DataFrame(model_rows, columns=MODEL_COLUMNS),
            pd.DataFrame(pair_rows, columns=PAIR_COLUMNS) if pair_rows else empty[1])
