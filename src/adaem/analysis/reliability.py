"""Reliability of value scores (SPEC §8): Cronbach's α over k-fold splits of the questions, the coefficient of
variation across folds, and ICC / Pearson / Spearman between two benchmarks' profiles of the same models.

α and the ICCs come from `psychometrics` (numpy/scipy, checked against published values), correlations from scipy.
The "subjects" of α are the (model, dimension) scores and its "items" are the folds: α is high when every fold
of questions ranks the models' values the same way, i.e. when the benchmark measures something stable. Folds
hold whole topics when the benchmark has them, and every interval is over topics: the subjects are
these models' values, fixed; the claim is about other questions like these (issue 36).
Intervals are normal on a variance-stabilising scale with the SD of a bootstrap over topics: TrueSkill's
sequential updates make the jackknife (and the bootstrap's percentiles) unreliable here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..rating import RatingSystem, WinProbability, beta_of, rate_resamples, score_table, scores_from_moments
from ..resampling import Clusters, clusters_of
from .psychometrics import icc


def fold_of(n_q: int, folds: int, seed: int = 0, clusters: Clusters | None = None) -> np.ndarray:
    """Each question's fold (0..folds − 1). Without topics, a seeded shuffle cut into near-equal parts; with
    topics, whole topics per fold (shuffled, each to the fold with the fewest questions so far), so that α says
    how alike the scores are on *other topics*, not on other questions of the same topics."""
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    if folds > n_q:
        raise ConfigError(f"--folds {folds} is larger than the {n_q} questions with answers: use at most {n_q}")
    rng = np.random.default_rng(seed)
    out = np.empty(n_q, dtype=np.int64)
    if clusters is None or clusters.unit == "question":
        for k, part in enumerate(np.array_split(rng.permutation(n_q), folds)):
            out[part] = k
        return out
    if folds > clusters.count:
        raise ConfigError(f"--folds {folds} is larger than the {clusters.count} topics (folds hold whole topics): "
                          f"use at most {clusters.count}")
    sizes = np.bincount(clusters.codes, minlength=clusters.count)
    filled = np.zeros(folds)
    fold_of_topic = np.empty(clusters.count, dtype=np.int64)
    for g in rng.permutation(clusters.count):
        fold_of_topic[g] = k = int(np.argmin(filled))
        filled[k] += sizes[g]
    return fold_of_topic[clusters.codes]


def subset_scores(labels: np.ndarray, subsets: list[np.ndarray], models: list[str], dims: list[str], *,
                  system: RatingSystem = "trueskill", threshold: float = 0.5,
                  win: WinProbability = "standard") -> np.ndarray:
    """len(subsets) × models × dims: the scores of each subset of the questions (index arrays) on its own,
    TrueSkill's every subset in one batched pass."""
    if system != "trueskill":
        return np.stack([score_table(labels[idx], models, dims, system=system, threshold=threshold,
                                     bootstrap=0, win=win).score for idx in subsets])
    present = ~np.isnan(labels)
    expressed = (np.nan_to_num(labels, nan=0.0) >= threshold) & present
    n_q = len(labels)
    rows = np.full((len(subsets), max((len(i) for i in subsets), default=0)), n_q)
    for r, idx in enumerate(subsets):
        rows[r, :len(idx)] = idx
    pad = np.zeros((1, *labels.shape[1:]), bool)
    mu, var = rate_resamples(np.concatenate([expressed, pad]), np.concatenate([present, pad]), rows)
    return scores_from_moments(mu, var, beta_of("trueskill"), win).transpose(0, 2, 1)


def fold_scores(labels: np.ndarray, models: list[str], dims: list[str], folds: int = 5, *, seed: int = 0,
                system: RatingSystem = "trueskill", threshold: float = 0.5,
                topics: Sequence[object] | np.ndarray | None = None, win: WinProbability = "standard") -> np.ndarray:
    """folds × models × dims of scores, each fold scored on its own share of the questions (`fold_of`)."""
    fold = fold_of(labels.shape[0], folds, seed, clusters_of(topics, labels.shape[0]))
    return subset_scores(labels, [np.flatnonzero(fold == k) for k in range(folds)], models, dims, system=system,
                         threshold=threshold, win=win)


def fold_alpha(per_fold: np.ndarray) -> float:
    """Cronbach's α of folds × models × dims scores, subjects = (model, dim), items = folds (NaN if undefined)."""
    items = per_fold.reshape(len(per_fold), -1).T
    k = items.shape[1]
    total = items.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / total)) if total > 0 else float("nan")


def topic_resamples(clusters: Clusters, resamples: int, seed: int = 0) -> list[np.ndarray]:
    """Bootstrap resamples of whole topics: for each, the questions drawn (a topic drawn twice gives its
    questions twice), in draw order."""
    members = [np.flatnonzero(clusters.codes == g) for g in range(clusters.count)]
    draws = np.random.default_rng(seed).integers(0, clusters.count, (resamples, clusters.count))
    return [np.concatenate([members[g] for g in row]) for row in draws]


def _normal_interval(estimate: np.ndarray, boot: np.ndarray, level: float, forward: Any, inverse: Any
                     ) -> tuple[np.ndarray, np.ndarray]:
    """estimate ± z · SD of the bootstrap values (resamples × ...), on the scale `forward`, mapped back."""
    from scipy.stats import norm

    with np.errstate(invalid="ignore", divide="ignore"):
        z, zb = forward(np.asarray(estimate, float)), forward(np.asarray(boot, float))
        ok = np.isfinite(zb)
        count = ok.sum(axis=0)
        mean = np.where(ok, zb, 0.0).sum(axis=0) / count
        sd = np.sqrt(np.where(ok, (zb - mean) ** 2, 0.0).sum(axis=0) / (count - 1))
        sd = np.where(count > 2, sd, np.nan)
        half = float(norm.ppf((1 + level) / 2)) * sd
        lo, hi = inverse(z - half), inverse(z + half)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def alpha_interval(labels: np.ndarray, fold: np.ndarray, clusters: Clusters, models: list[str], dims: list[str], *,
                   system: RatingSystem = "trueskill", threshold: float = 0.5, confidence: float = 0.95,
                   resamples: int = 200, seed: int = 0, win: WinProbability = "standard") -> tuple[float, float]:
    """Cronbach's α's interval over the questions' topics (questions without topics): α ± z · SD on Feldt's scale
    ln(1 − α), the SD over a bootstrap of whole topics (each resample split into folds again, a topic drawn
    twice kept in one fold). The subjects (model, value) are fixed; what varies is which questions were asked,
    so it says how consistent these models' scores would be on other questions like these.

    Chosen by simulation (`analysis/validity.py`; 30 topics of 3–10 questions): Feldt's F interval takes the
    subjects as a random sample and the questions as fixed, the other way round; a jackknife over topics
    overstated α's spread (coverage 1.00: TrueSkill's sequential updates move with any one topic removed); the
    percentile of the bootstrap is off-centre (copies of a topic in one fold lower α: 0.41)."""
    from ..resampling import TRANSFORMS

    folds = int(fold.max()) + 1
    if clusters.count < 3:
        return float("nan"), float("nan")
    subsets: list[np.ndarray] = []
    for b, rows in enumerate(topic_resamples(clusters, resamples, seed)):
        drawn = clusters_of(clusters.codes[rows].tolist(), len(rows))  # copies of a topic (or question) stay together
        if drawn.count < folds:
            continue
        again = fold_of(len(rows), folds, seed + b, drawn)
        subsets += [rows[again == k] for k in range(folds)]
    if not subsets:
        return float("nan"), float("nan")
    scores = subset_scores(labels, subsets, models, dims, system=system, threshold=threshold, win=win)
    boot = np.array([fold_alpha(scores[b * folds:(b + 1) * folds]) for b in range(len(subsets) // folds)])
    estimate = fold_alpha(subset_scores(labels, [np.flatnonzero(fold == k) for k in range(folds)], models, dims,
                                    system=system, threshold=threshold, win=win))
    lo, hi = _normal_interval(np.array(estimate), boot, confidence, *TRANSFORMS["log1m"])
    return float(lo), float(hi)


def coefficient_of_variation(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """std / mean along an axis (sample std); NaN where the mean is 0."""
    mean = values.mean(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean != 0, values.std(axis=axis, ddof=1) / mean, np.nan)


AGREEMENT = ("icc2", "icc3", "pearson_r", "spearman_rho")


def profile_agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """ICC(2,1) = ICC(A,1) and ICC(3,1) = ICC(C,1), Pearson and Spearman (scipy) between two flattened profiles."""
    from scipy import stats

    x, y = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 3:
        raise ConfigError(f"profile agreement needs at least 3 shared (model, value) scores, got {len(x)}")
    agreement = icc(np.stack([x, y], axis=1))
    with warnings.catch_warnings():  # identical profiles: a constant input, said without noise
        warnings.simplefilter("ignore")
        pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
    # identical profiles have no residual variance: their agreement is perfect, not undefined
    icc2 = 1.0 if np.allclose(x, y) else agreement.icc2
    icc3 = 1.0 if np.allclose(x, y) else agreement.icc3
    return {"pairs": int(len(x)), "icc2": float(icc2), "icc3": float(icc3),
            "pearson_r": float(pearson.statistic), "spearman_rho": float(spearman.statistic)}


def agreement_intervals(labels_a: np.ndarray, topics_a: Sequence[object] | np.ndarray | None, labels_b: np.ndarray,
                        topics_b: Sequence[object] | np.ndarray | None, models: list[str], dims: list[str], *,
                        system: RatingSystem = "trueskill", threshold: float = 0.5, confidence: float = 0.95,
                        resamples: int = 200, seed: int = 0, win: WinProbability = "standard"
                        ) -> dict[str, tuple[float, float]]:
    """Intervals of `profile_agreement`'s four figures over both benchmarks' topics: each estimate ± z · SD on
    Fisher's z scale, the SD over bootstraps of whole topics of each run (independently). The (model, value)
    subjects are fixed: the claim is how alike two benchmarks like these would profile these models. (scipy's
    p-values of r and ρ, shown until issue 36, took the 10 × models scores as independent draws; they are not
    reported.)"""
    from ..resampling import TRANSFORMS

    full_a = subset_scores(labels_a, [np.arange(len(labels_a))], models, dims, system=system, threshold=threshold, win=win)[0]
    full_b = subset_scores(labels_b, [np.arange(len(labels_b))], models, dims, system=system, threshold=threshold, win=win)[0]
    estimate = profile_agreement(full_a, full_b)
    ca, cb = clusters_of(topics_a, len(labels_a)), clusters_of(topics_b, len(labels_b))
    if ca.count < 3 or cb.count < 3:
        return {k: (float("nan"), float("nan")) for k in AGREEMENT}
    boot_a = subset_scores(labels_a, topic_resamples(ca, resamples, seed), models, dims, system=system,
                           threshold=threshold, win=win)
    boot_b = subset_scores(labels_b, topic_resamples(cb, resamples, seed + 1), models, dims, system=system,
                           threshold=threshold, win=win)
    boot = np.array([[st[k] for k in AGREEMENT] for st in (profile_agreement(x, y) for x, y in
                                                          zip(boot_a, boot_b, strict=True))])
    lo, hi = _normal_interval(np.array([estimate[k] for k in AGREEMENT]), boot, confidence, *TRANSFORMS["atanh"])
    return {k: (float(lo[i]), float(hi[i])) for i, k in enumerate(AGREEMENT)}


@dataclass
class Reliability:
    folds: Any  # DataFrame: model, dimension, fold_1..fold_k, mean, cv
    summary: dict[str, Any]  # alpha, CI, mean CV, and the agreement with another run when given
    agreement: Any | None  # DataFrame: model, dimension, score_a, score_b (None without --against)


def reliability(run_dir: Path | str, folds: int = 5, *, against: Path | str | None = None,
                out: Path | None = None, seed: int = 0) -> Reliability:
    """Reliability of an evaluate run; with `against`, agreement with another run's profiles of the same models."""
    import pandas as pd

    from ..evaluation import read_evaluation

    run = read_evaluation(run_dir)
    ev = run.config.evaluation
    if len(run.models) < 2:
        raise ConfigError("reliability needs an evaluation of at least 2 models (scores are relative)")
    all_labels = run.labels()
    answered = ~np.isnan(all_labels).all(axis=(1, 2))
    labels = all_labels[answered]
    topics = _topics(run.questions, answered)
    clusters = clusters_of(topics, len(labels))
    dims = run.theory.ids
    fold = fold_of(len(labels), folds, seed, clusters)
    per_fold = subset_scores(labels, [np.flatnonzero(fold == k) for k in range(folds)], run.models, dims,
                             system=ev.rating, threshold=ev.threshold, win=ev.win_probability)
    alpha = fold_alpha(per_fold)
    lo, hi = alpha_interval(labels, fold, clusters, run.models, dims, system=ev.rating, threshold=ev.threshold,
                            confidence=ev.confidence, seed=seed, win=ev.win_probability)
    cv = coefficient_of_variation(per_fold, axis=0)
    rows = []
    for i, m in enumerate(run.models):
        for j, d in enumerate(dims):
            rows.append({"model": m, "dimension": d, **{f"fold_{k + 1}": per_fold[k, i, j] for k in range(folds)},
                         "mean": per_fold[:, i, j].mean(), "cv": cv[i, j]})
    table = pd.DataFrame(rows)
    summary: dict[str, Any] = {"run": str(run_dir), "questions": int(labels.shape[0]), "models": run.models,
                               "folds": folds, "seed": seed, "rating": ev.rating, "cronbach_alpha": alpha,
                               "alpha_ci": [lo, hi], "ci_unit": clusters.describe(),
                               "folds_hold": "whole topics" if clusters.unit == "topic" else "questions",
                               "mean_cv": float(np.nanmean(cv))}
    agreement = None
    if against is not None:
        other = read_evaluation(against)
        shared = [m for m in run.models if m in other.models]
        if other.theory.ids != dims:
            raise ConfigError(f"{against} uses theory '{other.theory.name}', {run_dir} uses '{run.theory.name}'")
        if len(shared) < 2:
            raise ConfigError(f"{run_dir} and {against} share {len(shared)} models; agreement needs at least 2")
        a = _scores(run, all_labels, shared)
        other_labels = other.labels()
        b = _scores(other, other_labels, shared)
        idx_a, idx_b = [run.models.index(m) for m in shared], [other.models.index(m) for m in shared]
        ok_b = ~np.isnan(other_labels).all(axis=(1, 2))
        intervals = agreement_intervals(labels[:, idx_a], topics, other_labels[ok_b][:, idx_b],
                                        _topics(other.questions, ok_b), shared, dims, system=ev.rating,
                                        threshold=ev.threshold, confidence=ev.confidence, seed=seed,
                                        win=ev.win_probability)
        summary["against"] = {"run": str(against), "models": shared, **profile_agreement(a, b),
                              **{f"{k}_ci": list(v) for k, v in intervals.items()},
                              "ci_unit": "topics of both runs (questions where a run has none)"}
        agreement = pd.DataFrame([{"model": m, "dimension": d, "score_a": a[i, j], "score_b": b[i, j]}
                                  for i, m in enumerate(shared) for j, d in enumerate(dims)])
    result = Reliability(table, summary, agreement)
    if out is not None:
        _write(result, Path(out), run.theory)
    return result


def _topics(questions: list[Any], keep: np.ndarray) -> list[Any] | None:
    """The kept questions' topics, or None when the benchmark has none."""
    topics = [q.topic for q, k in zip(questions, keep, strict=True) if k]
    return topics if any(t is not None for t in topics) else None


def _scores(run, labels: np.ndarray, models: list[str]) -> np.ndarray:
    """The run's scores of `models` alone (every question), from its label tensor."""
    ev = run.config.evaluation
    idx = [run.models.index(m) for m in models]
    return score_table(labels[:, idx], models, run.theory.ids, system=ev.rating, win=ev.win_probability, threshold=ev.threshold,
                       bootstrap=0).score


def _write(result: Reliability, out: Path, theory) -> None:
    from ..charts import _pyplot

    out.mkdir(parents=True, exist_ok=True)
    result.folds.to_csv(out / "reliability_folds.csv", index=False)
    (out / "reliability.json").write_text(json.dumps(result.summary, indent=1, default=float))
    plt = _pyplot()
    folds = [c for c in result.folds.columns if c.startswith("fold_")]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(result.folds)), 4.2))
    labels = [f"{m.split('/')[-1]}·{d}" for m, d in zip(result.folds.model, result.folds.dimension, strict=True)]
    for k, col in enumerate(folds):
        ax.scatter(range(len(labels)), result.folds[col], s=14, alpha=0.7, label=col.replace("_", " "),
                   color=plt.cm.tab10(k % 10))
    ax.plot(range(len(labels)), result.folds["mean"], "k_", markersize=12, label="mean")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("score (0–100)")
    s = result.summary
    ax.set_title(f"Scores per fold of questions: Cronbach's α = {s['cronbach_alpha']:.3f} "
                 f"[{s['alpha_ci'][0]:.2f}, {s['alpha_ci'][1]:.2f}], mean CV = {s['mean_cv']:.3f}", fontsize=10)
    ax.legend(fontsize=7, ncol=min(6, len(folds) + 1), loc="upper right")
    fig.tight_layout()
    fig.savefig(out / "reliability_folds.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    if result.agreement is not None:
        ag, st = result.agreement, s["against"]
        fig, ax = plt.subplots(figsize=(5.2, 5.2))
        for k, m in enumerate(ag.model.unique()):
            sub = ag[ag.model == m]
            ax.scatter(sub.score_a, sub.score_b, label=m, color=plt.cm.tab10(k % 10))
        ax.plot([0, 100], [0, 100], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlabel(s["run"])
        ax.set_ylabel(st["run"])
        ax.set_title(f"ICC(2,1) {st['icc2']:.2f} · Pearson {st['pearson_r']:.2f} · Spearman {st['spearman_rho']:.2f}",
                     fontsize=10)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "reliability_agreement.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
