"""Reliability of value scores (SPEC §8): Cronbach's α over k-fold splits of the questions, the coefficient of
variation across folds, and ICC / Pearson / Spearman between two benchmarks' profiles of the same models.

α and the ICCs come from `psychometrics` (numpy/scipy, checked against published values), correlations from scipy.
The "subjects" of α are the (model, dimension) scores and its "items" are the folds: α is high when every fold
of questions ranks the models' values the same way, i.e. when the benchmark measures something stable.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..rating import RatingSystem, WinProbability, score_table
from .psychometrics import cronbach_alpha, icc


def fold_scores(labels: np.ndarray, models: list[str], dims: list[str], folds: int = 5, *, seed: int = 0,
                system: RatingSystem = "trueskill", threshold: float = 0.5,
                win: WinProbability = "standard") -> np.ndarray:
    """folds × models × dims of scores, each fold scored on its own random share of the questions."""
    n_q = labels.shape[0]
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    if folds > n_q:
        raise ConfigError(f"--folds {folds} is larger than the {n_q} questions with answers: use at most {n_q}")
    order = np.random.default_rng(seed).permutation(n_q)
    parts = np.array_split(order, folds)
    return np.stack([score_table(labels[idx], models, dims, system=system, threshold=threshold, bootstrap=0,
                                 win=win).score for idx in parts])


def coefficient_of_variation(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """std / mean along an axis (sample std); NaN where the mean is 0."""
    mean = values.mean(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean != 0, values.std(axis=axis, ddof=1) / mean, np.nan)


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
            "pearson_r": float(pearson.statistic), "pearson_p": float(pearson.pvalue),
            "spearman_rho": float(spearman.statistic), "spearman_p": float(spearman.pvalue)}


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
    labels = all_labels[~np.isnan(all_labels).all(axis=(1, 2))]
    dims = run.theory.ids
    per_fold = fold_scores(labels, run.models, dims, folds, seed=seed, system=ev.rating, win=ev.win_probability, threshold=ev.threshold)
    items = per_fold.reshape(folds, -1).T  # (model, dim) × folds
    alpha, lo, hi = cronbach_alpha(items, ev.confidence)
    cv = coefficient_of_variation(per_fold, axis=0)
    rows = []
    for i, m in enumerate(run.models):
        for j, d in enumerate(dims):
            rows.append({"model": m, "dimension": d, **{f"fold_{k + 1}": per_fold[k, i, j] for k in range(folds)},
                         "mean": per_fold[:, i, j].mean(), "cv": cv[i, j]})
    table = pd.DataFrame(rows)
    summary: dict[str, Any] = {"run": str(run_dir), "questions": int(labels.shape[0]), "models": run.models,
                               "folds": folds, "seed": seed, "rating": ev.rating, "cronbach_alpha": alpha,
                               "alpha_ci": [lo, hi], "mean_cv": float(np.nanmean(cv))}
    agreement = None
    if against is not None:
        other = read_evaluation(against)
        shared = [m for m in run.models if m in other.models]
        if other.theory.ids != dims:
            raise ConfigError(f"{against} uses theory '{other.theory.name}', {run_dir} uses '{run.theory.name}'")
        if len(shared) < 2:
            raise ConfigError(f"{run_dir} and {against} share {len(shared)} models; agreement needs at least 2")
        a = _scores(run, all_labels, shared)
        b = _scores(other, other.labels(), shared)
        summary["against"] = {"run": str(against), "models": shared, **profile_agreement(a, b)}
        agreement = pd.DataFrame([{"model": m, "dimension": d, "score_a": a[i, j], "score_b": b[i, j]}
                                  for i, m in enumerate(shared) for j, d in enumerate(dims)])
    result = Reliability(table, summary, agreement)
    if out is not None:
        _write(result, Path(out), run.theory)
    return result


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
