"""Does a model hold the same values in every language? Consistency of value profiles across the languages of a
multi-language `adaem evaluate` run: pure numpy/pandas, no I/O.

The input is one label tensor per language (questions × models × values, P(expressed) or NaN), with the same
question order in every language, so that question i in Chinese is the translation of question i in English.

Why expression rates, not TrueSkill scores: a score is a mean win probability against the *other models of the
same pool* on the same questions, so it is relative. If every model expresses power more often in Chinese, the
scores in Chinese need not move at all; and a model's score in one language moves when another model changes.
The expression rate (the share of a model's labelled answers that express the value, as `rating.score_table`
and scores.csv compute it) is absolute: it belongs to the model alone, and it can be compared across languages.

Statistics per model (rates in % of answers, so differences are in points):
- `spread`: for each value, the standard deviation (ddof = 0) of its rate across the languages, then the mean
  over the values. 0 when every language gives the same rates. It is never negative, so sampling noise alone
  pushes it above 0: with two languages and n questions at a rate near 50%, independent answers give
  E[spread] ≈ 0.56 · 50/√n points (2.8 at n = 100). Its percentile CI says how precisely it is measured, not
  whether it differs from 0 (a CI of a non-negative statistic excludes 0 whenever the languages differ on any
  resampled question). `spread_null` and `spread_p` say that: the mean spread, and the share of spreads at
  least as large as the one observed, when each question's answers are shuffled between its languages
  (a permutation test of "the language makes no difference to this model's answers", which keeps each
  question's answers together and so keeps the questions' differences out of the null).
- `rho`: the Spearman rank correlation of the model's rate profile (over values) in one language with its
  profile in another, averaged over the language pairs. Profiles share much of their shape across models
  (benevolence is expressed more than power by nearly every model), so rho is high even for unrelated models;
  it drops when the *order* of the values changes between languages. Undefined (NaN) when a profile is
  constant (every value at the same rate, e.g. all 0) or fewer than 2 values have a rate in both languages;
  a NaN resample is left out of the CI.
- `max_shift_value`, `max_shift`: the value with the largest spread, and that spread (points); no value
  (None) when every spread is 0.
Per language pair: `rho` and `mean_abs_diff` (mean over values of |rate_a − rate_b|, points).

Confidence intervals are percentile bootstraps over questions with the draws of `rating.score_table`
(`findings.bootstrap_counts`): one resample of question indices is applied to every language, so a question
and its translations stay together (the pairing that makes the comparison sharper than two separate samples).
A resample repeats some questions and drops others, which adds noise to every rate, and spread and mean
|difference| grow with noise: when the languages nearly agree their interval can lie above the estimate
(compare with `spread_null`).
A missing label (no answer, parse failure, a translation left out, a value the judge could not label) is left
out of that language's rate, never counted as 0; when the languages miss different questions, part of the
spread comes from the question sets differing, not from the language.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from .resampling import bootstrap_counts, expression_rates
from .resampling import percentile_ci as _percentile_ci

MODEL_COLUMNS = ["model", "languages", "spread", "spread_lo", "spread_hi", "spread_null", "spread_p", "rho", "rho_lo",
                 "rho_hi", "max_shift_value", "max_shift"]
PAIR_COLUMNS = ["model", "language_a", "language_b", "rho", "rho_lo", "rho_hi", "mean_abs_diff", "mean_abs_diff_lo",
                "mean_abs_diff_hi"]


def value_spread(rates: np.ndarray) -> np.ndarray:
    """... × languages × models × values -> ... × models × values: the standard deviation (ddof = 0) over the
    languages where the rate exists; NaN where fewer than two languages have it."""
    n = np.isfinite(rates).sum(axis=-3)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(rates, axis=-3)
    return np.where(n >= 2, sd, np.nan)


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


def _profile_stats(rates: np.ndarray, pairs: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """From ... × languages × models × values rates: per-value spread (... × models × values), spread and rho
    (... × models), and per pair rho and mean |difference| (... × pairs × models)."""
    per_value = value_spread(rates)
    a = np.stack([rates[..., i, :, :] for i, _ in pairs], axis=-3)  # ... × pairs × models × values
    b = np.stack([rates[..., j, :, :] for _, j in pairs], axis=-3)
    pair_rho = spearman(a, b)
    pair_mad = _mean_last(np.abs(a - b))
    return {"per_value": per_value, "spread": _mean_last(per_value), "pair_rho": pair_rho, "pair_mad": pair_mad,
            "rho": _mean_last(np.moveaxis(pair_rho, -2, -1))}


def _permuted_rates(expressed: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    """permutations × languages × models × values rates (%) with each question's languages shuffled.

    The rate in slot l of a permutation is Σ_k S_kl @ x_k / Σ_k S_kl @ here_k, where S_kl (permutations ×
    questions) marks the questions whose language k lands in slot l: L² matrix products over every permutation
    at once, like the bootstrap's counts @ values."""
    n_q, n_l = expressed.shape[:2]
    flat = expressed.reshape(n_q, n_l, -1)
    here = ~np.isnan(flat)
    values = np.where(here, flat, 0.0)
    rng = np.random.default_rng([seed, 1])
    slots = np.tile(np.arange(n_l, dtype=np.int16), (permutations, n_q, 1))
    perm = rng.permuted(slots, axis=2)  # permutations × questions × slots: the language in each slot
    total = np.zeros((permutations, n_l, flat.shape[2]))
    count = np.zeros_like(total)
    for k in range(n_l):
        for slot in range(n_l):
            s = (perm[:, :, slot] == k).astype(float)
            total[:, slot] += s @ values[:, k]
            count[:, slot] += s @ here[:, k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count * 100).reshape(permutations, n_l, *expressed.shape[2:])


def language_consistency(labels: Mapping[str, np.ndarray], models: list[str], dims: list[str], *,
                         threshold: float = 0.5, confidence: float = 0.95, bootstrap: int = 200, seed: int = 0,
                         permutations: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How much each model's value profile changes between languages (see the module docstring for why rates,
    and how to read each number).

    labels: language -> questions × models × dims of P(expressed), NaN where there is no answer or no label;
    the same questions in the same order in every language (a question not asked in a language is all NaN
    there). expressed = label ≥ threshold, as `evaluate` scores.

    Returns (per model: MODEL_COLUMNS; per model and language pair: PAIR_COLUMNS). `languages` lists the
    languages in which the model has at least one label (in the order of `labels`); its statistics and pairs
    are over those. With fewer than two languages both frames are empty. `bootstrap=0` (or a single question)
    gives NaN intervals, `permutations=0` NaN `spread_null` / `spread_p`."""
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
    n_q = x.shape[0]
    pairs = list(combinations(range(len(langs)), 2))

    rates = expression_rates(expressed) * 100  # L × M × D
    point = _profile_stats(rates, pairs)
    nan_m = np.full(n_m, np.nan)
    ci = {k: (np.full_like(point[k], np.nan),) * 2 for k in ("spread", "rho", "pair_rho", "pair_mad")}
    if bootstrap and n_q > 1:
        boot = _profile_stats(expression_rates(expressed, bootstrap_counts(n_q, bootstrap, seed)) * 100, pairs)
        ci = {k: _percentile_ci(boot[k], confidence) for k in ci}
    null, p = nan_m, nan_m
    if permutations and n_q > 1:
        spreads = _mean_last(value_spread(_permuted_rates(expressed, permutations, seed)))  # perms × models
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            null = np.nanmean(spreads, axis=0)
        valid = np.isfinite(spreads).sum(axis=0)
        exceed = (spreads >= point["spread"] - 1e-9).sum(axis=0)  # ties count against the model: conservative
        p = np.where(np.isfinite(point["spread"]) & (valid > 0), (1 + exceed) / (1 + valid), np.nan)

    has = (~np.isnan(x)).any(axis=(0, 3))  # L × M: the model has a label in that language
    model_rows, pair_rows = [], []
    for i, model in enumerate(models):
        own = [lang for k, lang in enumerate(langs) if has[k, i]]
        per_value = point["per_value"][i]
        top = int(np.nanargmax(per_value)) if np.isfinite(per_value).any() else None
        shifted = dims[top] if top is not None and per_value[top] > 1e-9 else None  # none when nothing moved
        model_rows.append({"model": model, "languages": ",".join(own), "spread": point["spread"][i],
                           "spread_lo": ci["spread"][0][i], "spread_hi": ci["spread"][1][i], "spread_null": null[i],
                           "spread_p": p[i], "rho": point["rho"][i], "rho_lo": ci["rho"][0][i],
                           "rho_hi": ci["rho"][1][i], "max_shift_value": shifted,
                           "max_shift": per_value[top] if top is not None else np.nan})
        for k, (a, b) in enumerate(pairs):
            if has[a, i] and has[b, i]:
                pair_rows.append({"model": model, "language_a": langs[a], "language_b": langs[b],
                                  "rho": point["pair_rho"][k, i], "rho_lo": ci["pair_rho"][0][k, i],
                                  "rho_hi": ci["pair_rho"][1][k, i], "mean_abs_diff": point["pair_mad"][k, i],
                                  "mean_abs_diff_lo": ci["pair_mad"][0][k, i],
                                  "mean_abs_diff_hi": ci["pair_mad"][1][k, i]})
    return (pd.DataFrame(model_rows, columns=MODEL_COLUMNS),
            pd.DataFrame(pair_rows, columns=PAIR_COLUMNS) if pair_rows else empty[1])
