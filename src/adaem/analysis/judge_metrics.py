"""How good a value judge is, as numbers (pure): per-value precision/recall/F1, ranking of a text's gold value,
calibration error, the corrections judge-check learns, intervals over texts, and agreement between judges.

Arrays are texts × values: `gold` booleans, `prob` the judge's P(yes) (NaN where it gave no label).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..calibration import best_threshold, correct, f1_score, log_odds, relative_rescale, within_text

# raw: the judge's P(yes); contextual: its content-free prior divided out; global threshold: one threshold for every
# value (keeps the order of a text's values); thresholds: one per value (the best F1, but values no longer compare);
# relative: a value within δ (log-odds) of the text's most probable one and above a floor (keeps the order); logistic:
# a model per value over the whole vector of log-odds; isotonic: a monotone map per value of its log-odds standardised
# within the text (both followed by per-value thresholds on their output).
CONDITIONS = ("raw", "contextual", "global threshold", "thresholds", "contextual+thresholds", "relative", "logistic",
              "isotonic")
METRICS = ("macro_precision", "macro_recall", "macro_f1", "top1", "top3", "mean_rank", "ece")


def per_value_metrics(gold: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> list[dict[str, float]]:
    """Precision, recall, F1 and support per column; a missing label (NaN) counts as 'not expressed'."""
    pred = np.nan_to_num(prob, nan=0.0) >= thresholds
    rows = []
    for j in range(gold.shape[1]):
        g, p = gold[:, j], pred[:, j]
        tp = float(np.sum(g & p))
        rows.append({"precision": tp / p.sum() if p.sum() else 0.0, "recall": tp / g.sum() if g.sum() else 0.0,
                     "f1": f1_score(g, p), "support": int(g.sum()), "predicted": int(p.sum())})
    return rows


def rank_metrics(gold: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Over texts with exactly one gold value: top-1 and top-3 accuracy and the mean rank of the gold value
    (1 = the judge's most probable value; ties share the worse rank, missing labels rank last)."""
    single = gold.sum(axis=1) == 1
    if not single.any():
        return {"single_texts": 0, "top1": float("nan"), "top3": float("nan"), "mean_rank": float("nan")}
    p = np.nan_to_num(prob[single], nan=-1.0)
    g = gold[single].argmax(axis=1)
    gold_p = p[np.arange(len(g)), g]
    ranks = (p >= gold_p[:, None]).sum(axis=1)
    return {"single_texts": int(single.sum()), "top1": float(np.mean(ranks == 1)), "top3": float(np.mean(ranks <= 3)),
            "mean_rank": float(ranks.mean())}


def calibration_curve(gold: np.ndarray, prob: np.ndarray, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error of P(yes) over every (text, value) label, and the reliability diagram's
    bins (mean confidence, share expressed, count) over equal-width bins of [0, 1]."""
    keep = ~np.isnan(prob)
    p, g = prob[keep], gold[keep].astype(float)
    if not len(p):
        return float("nan"), []
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece, out = 0.0, []
    for b in range(bins):
        m = which == b
        if m.any():
            conf, acc = float(p[m].mean()), float(g[m].mean())
            ece += m.sum() / len(p) * abs(acc - conf)
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "confidence": conf, "expressed": acc, "n": int(m.sum())})
    return float(ece), out


def corrected(prob: np.ndarray, priors: np.ndarray | None, thresholds: np.ndarray | None,
              target: float) -> np.ndarray:
    """P(yes) with the content-free priors divided out and/or per-value thresholds mapped onto `target` (what
    `Calibration.apply` does to one label, over a texts × values array)."""
    out = prob.copy()
    for (i, j), p in np.ndenumerate(prob):
        if not np.isnan(p):
            out[i, j] = correct(p, None if priors is None else float(priors[j]),
                                None if thresholds is None else float(thresholds[j]), target)
    return out


def global_threshold(gold: np.ndarray, prob: np.ndarray) -> float:
    """The one threshold, for every value at once, with the highest F1 over all (text, value) labels."""
    return best_threshold(gold.ravel(), prob.ravel())[0]


def summarize(gold: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, Any]:
    per_value = per_value_metrics(gold, prob, np.full(gold.shape[1], threshold))
    ece, bins = calibration_curve(gold, prob)
    return {"macro_precision": float(np.mean([r["precision"] for r in per_value])),
            "macro_recall": float(np.mean([r["recall"] for r in per_value])),
            "macro_f1": float(np.mean([r["f1"] for r in per_value])), **rank_metrics(gold, prob), "ece": ece,
            "reliability": bins, "per_value": per_value, "missing": int(np.isnan(prob).sum())}


def _single_ranks(gold: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The gold value's rank for each text with exactly one gold value (as `rank_metrics` counts it)."""
    single = gold.sum(axis=1) == 1
    p = np.nan_to_num(prob[single], nan=-1.0)
    g = gold[single].argmax(axis=1)
    return (p >= p[np.arange(len(g)), g][:, None]).sum(axis=1).astype(float)


def _macro_prf(gold: np.ndarray, pred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro precision, recall and F1 (as `summarize`) with each text counted `counts` times: resamples × 3."""
    g, p = gold.astype(float), pred.astype(float)
    tp, n_pred, n_gold = counts @ (g * p), counts @ p, counts @ g
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_gold > 0, tp / n_gold, 0.0)
        f1 = np.where(n_gold + n_pred > 0, 2 * tp / (n_gold + n_pred), 0.0)
    return np.stack([precision.mean(axis=1), recall.mean(axis=1), f1.mean(axis=1)], axis=1)


def bootstrap_intervals(gold: np.ndarray, prob: np.ndarray, threshold: float, resamples: int = 1000,
                        confidence: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Intervals of the summary metrics over texts (texts are the unit: each is labelled on its own).

    Macro precision, recall and F1 (ratios of sums over few positives per value, skewed): BCa bootstrap
    (`resampling.bca_interval`); top-1 and top-3 (shares of the single-value texts): Wilson's interval; the gold
    value's mean rank (a mean bounded by 1 and the number of values): t on the logit scale
    (`resampling.rate_interval`, the rank mapped onto [0, 1]). Measured (`analysis/validity.py`, 63 and 125 texts): the percentile bootstrap that
    stood here covered top-3 0.92–0.93, the mean rank 0.92–0.93 and macro F1 0.94 (0.89–0.91 in a pilot with
    a harsher judge); these 0.94–0.97. ECE has no interval: it is
    biased upwards (a calibrated judge's sample ECE is above 0), so an interval around it misses small true
    errors (NaN here)."""
    from ..resampling import bca_interval, rate_interval, wilson_interval

    nan2 = (float("nan"), float("nan"))
    out: dict[str, tuple[float, float]] = {m: nan2 for m in METRICS}
    n = len(gold)
    if n < 2:
        return out
    ratio = ("macro_precision", "macro_recall", "macro_f1")
    pred = np.nan_to_num(prob, nan=0.0) >= threshold
    if resamples:
        rows = np.random.default_rng(seed).integers(0, n, (resamples, n))
        counts = np.zeros((resamples, n))
        np.add.at(counts, (np.repeat(np.arange(resamples), n), rows.ravel()), 1.0)
        lo, hi = bca_interval(_macro_prf(gold, pred, np.ones((1, n)))[0], _macro_prf(gold, pred, counts),
                              _macro_prf(gold, pred, 1.0 - np.eye(n)), confidence)
        out.update({m: (float(lo[k]), float(hi[k])) for k, m in enumerate(ratio)})
    ranks = _single_ranks(gold, prob)
    if len(ranks) >= 2:
        v = gold.shape[1]
        out.update(top1=wilson_interval(ranks == 1, confidence)[1:], top3=wilson_interval(ranks <= 3, confidence)[1:])
        _, lo, hi = rate_interval(((ranks - 1) / max(v - 1, 1))[:, None], level=confidence)
        out["mean_rank"] = (float(1 + lo[0] * (v - 1)), float(1 + hi[0] * (v - 1)))
    return out


def choose_correction(results: dict[str, dict[str, Any]], raw_intervals: dict[str, tuple[float, float]]) -> str:
    """The correction to keep: the one with the highest held-out macro F1 among those that raise it over the raw
    labels without worsening the ranking of a text's values beyond the raw figures' intervals (top-1 not below
    its lower bound, the gold value's mean rank not above its upper bound); 'raw' when none does. A per-value
    rescale can lift F1 while making values incomparable (the gold value no longer first): that is not kept."""
    base = results["raw"]
    top1_floor, rank_ceiling = raw_intervals["top1"][0], raw_intervals["mean_rank"][1]
    eligible = []
    for cond, r in results.items():
        if cond == "raw" or not r["macro_f1"] > base["macro_f1"] + 1e-9:
            continue
        ranks_ok = np.isnan(base["top1"]) or (r["top1"] >= top1_floor - 1e-9 and r["mean_rank"] <= rank_ceiling + 1e-9)
        if ranks_ok:
            eligible.append(cond)
    if not eligible:
        return "raw"
    return max(eligible, key=lambda c: (results[c]["macro_f1"], -CONDITIONS.index(c)))


def binary_agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Cohen's κ and raw agreement of two judges' thresholded labels (booleans, NaN/None rows skipped) over the
    cells both labelled."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = ~np.isnan(a) & ~np.isnan(b)
    x, y = a[both] >= 0.5, b[both] >= 0.5
    if not both.any():
        return {"kappa": float("nan"), "agreement": float("nan"), "n": 0}
    observed = float(np.mean(x == y))
    px, py = float(np.mean(x)), float(np.mean(y))
    expected = px * py + (1 - px) * (1 - py)
    kappa = (observed - expected) / (1 - expected) if expected < 1 else (1.0 if observed == 1 else float("nan"))
    return {"kappa": float(kappa), "agreement": observed, "n": int(both.sum())}


# -- corrections that read a text's whole vector (learned on the training half) -----------------------------------
def macro_f1(gold: np.ndarray, prob: np.ndarray, threshold: float) -> float:
    pred = np.nan_to_num(prob, nan=0.0) >= threshold
    return float(np.mean([f1_score(gold[:, j], pred[:, j]) for j in range(gold.shape[1])]))


def learn_relative(gold: np.ndarray, prob: np.ndarray, target: float = 0.5) -> dict[str, float]:
    """δ (log-odds below the text's most probable value) and a floor on P(yes), chosen together for the best
    training macro F1: a value is expressed when it is nearly as probable as the text's top value, and probable at
    all. Ties keep the smaller δ and floor."""
    best = (-1.0, 0.0, 0.0)
    for floor in np.arange(0.0, 0.96, 0.05):
        for delta in np.arange(0.0, 6.01, 0.25):
            f1 = macro_f1(gold, relative_rescale(prob, float(delta), float(floor), target), target)
            if f1 > best[0] + 1e-12:
                best = (f1, float(delta), float(floor))
    return {"delta": best[1], "floor": best[2]}


def learn_model(kind: str, gold: np.ndarray, prob: np.ndarray, ids: list[str]) -> dict[str, object]:
    """A logistic or isotonic model of P(expressed) per value (scikit-learn), as plain numbers for
    `calibration.model_probabilities`. A value with one class only in the training texts is left out of the
    model: logistic keeps its raw P(yes), isotonic maps it with the map of all values pooled."""
    usable = [j for j in range(len(ids)) if 0 < gold[:, j].sum() < len(gold)]
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        z = log_odds(prob)
        mean = np.nanmean(z, axis=0)
        scale = np.nanstd(z, axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        x = np.where(np.isnan(prob), 0.0, (z - mean) / scale)
        coef, intercept = [], []
        for j in usable:
            fit = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x, gold[:, j])
            coef.append(fit.coef_[0].tolist())
            intercept.append(float(fit.intercept_[0]))
        # the model reads every value's log-odds, but predicts only the usable ones
        return {"kind": "logistic", "ids": [ids[j] for j in usable], "inputs": list(ids),
                "mean": mean.tolist(), "scale": scale.tolist(), "coef": coef, "intercept": intercept}
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        def fitted(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
            fit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
            return [fit.X_thresholds_.tolist(), fit.y_thresholds_.tolist()]

        z = within_text(prob)
        keep = ~np.isnan(z)
        knots = [fitted(z[keep[:, j], j], gold[keep[:, j], j]) for j in usable]
        # a value with one class in the training texts (power seen in none of 87 real answers) gets the map of
        # every value pooled: its raw P(yes) had the judge find power in half the answers, all of them wrong
        pooled = fitted(z[keep], gold[keep]) if keep.any() and 0 < gold[keep].sum() < keep.sum() else None
        return {"kind": "isotonic", "ids": [ids[j] for j in usable], "knots": knots,
                **({"pooled": pooled} if pooled is not None and len(usable) < len(ids) else {})}
    raise ValueError(f"unknown model kind {kind!r}")
