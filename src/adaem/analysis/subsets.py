"""How many questions are enough (the paper's Appendix K.2, Fig. 21): "we randomly sample 200, 500, and 1000
questions for evaluation and compute the consistency between their results and the original results" with ICC,
Pearson, Spearman and Cronbach's α.

For each subset size, `draws` random subsets of the questions (without replacement, as the paper) are scored on
their own, and each subset's profile (models × values of TrueSkill scores, as the run's) is compared with the full
benchmark's: ICC(2,1), Pearson, Spearman and Cronbach's α of the two profiles. The figure per size is the mean
over draws, with the 2.5–97.5% spread over draws (what one subset of that size may give) and a topic-resampled
interval of that mean (the benchmark's topics drawn with replacement first: the same study on questions like
these). A subset is part of the benchmark it is compared with, as in the paper, so agreement rises towards 1 as
the size approaches the benchmark's.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..rating import beta_of, rate_resamples, scores_from_moments
from ..resampling import Clusters, clusters_of, percentile_ci
from ..store import json_text
from .psychometrics import cronbach_alpha

METRICS = ("icc", "pearson", "spearman", "alpha")


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """ICC(2,1) (two-way random, absolute agreement: Shrout & Fleiss), Pearson, Spearman and Cronbach's α of two
    profiles taken as two raters of the (model, value) targets; NaN where fewer than 3 targets are shared."""
    from .reliability import profile_agreement

    x, y = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return dict.fromkeys(METRICS, float("nan"))
    found = profile_agreement(x[keep], y[keep])
    alpha = cronbach_alpha(np.stack([x[keep], y[keep]], axis=1))[0]
    return {"icc": found["icc2"], "pearson": found["pearson_r"], "spearman": found["spearman_rho"],
            "alpha": 1.0 if np.allclose(x[keep], y[keep]) else alpha}


def _profile(hit: np.ndarray, present: np.ndarray, rows: np.ndarray, win: str) -> np.ndarray:
    """models × values of scores / 100 from the questions `rows` (in order)."""
    mu, var = rate_resamples(hit, present, rows[None])
    return scores_from_moments(mu, var, beta_of("trueskill"), win)[0].T / 100  # type: ignore[arg-type]


def subset_agreement(hit: np.ndarray, present: np.ndarray, sizes: list[int], draws: int, rng: np.random.Generator,
                     win: str = "standard") -> dict[int, np.ndarray]:
    """size → draws × metrics of agreement between random subsets and the whole of these questions."""
    n = len(hit)
    full = _profile(hit, present, np.arange(n), win)
    out = {}
    for size in sizes:
        rows = []
        for _ in range(draws):
            picked = np.sort(rng.choice(n, size=size, replace=False))  # in the run's order, as a smaller run would be
            found = agreement(_profile(hit, present, picked, win), full)
            rows.append([found[m] for m in METRICS])
        out[size] = np.array(rows)
    return out


def without_draw_noise(boot: np.ndarray, within: np.ndarray, boot_draws: int, draws: int) -> np.ndarray:
    """Replicates of a mean over `boot_draws` random subsets, rescaled about their mean to the spread a mean over
    `draws` subsets has: Var(replicate) = Var(topics) + V_w / boot_draws, where V_w, the variance over subsets within
    a benchmark, is estimated from each replicate's own draws. Without this the interval carried the extra noise of
    its fewer draws per replicate and covered 0.970–0.977 (analysis/validity.py); the replicates keep their draws
    small because each is a whole subset study."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(boot, axis=0)
        total = np.nanvar(boot, axis=0, ddof=1)
        noise = np.nanmean(within, axis=0)
        target = np.maximum(total - noise / boot_draws, 0.0) + noise / draws
        usable = (total > 0) & np.isfinite(target)  # no draw variance to read (too few draws): left as it is
        scale = np.where(usable, np.sqrt(target / np.where(usable, total, 1.0)), 1.0)
    return centre + (boot - centre) * scale


@dataclass
class SubsetConsistency:
    table: Any  # DataFrame: size, metric, mean, draws_lo, draws_hi, lo, hi
    settings: dict[str, Any]


def subset_consistency(labels: np.ndarray, sizes: list[int], *, draws: int = 20, threshold: float = 0.5,
                       topics: Any = None, resamples: int = 100, confidence: float = 0.95, seed: int = 0,
                       win: str = "standard") -> SubsetConsistency:
    """The K.2 table of one benchmark's labels (questions × models × values)."""
    import pandas as pd

    n = len(labels)
    bad = [s for s in sizes if not 2 <= s < n]
    if bad:
        raise ConfigError(f"subsets: sizes must be at least 2 and below the {n} questions with answers, got {bad}")
    if labels.shape[1] < 2:
        raise ConfigError("subsets: scores are relative, so the run needs at least 2 models")
    present = ~np.isnan(labels)
    hit = (np.nan_to_num(labels) >= threshold) & present
    rng = np.random.default_rng(seed)
    observed = subset_agreement(hit, present, sizes, draws, rng, win)
    clusters: Clusters = clusters_of(topics, n)
    boot: dict[int, list[np.ndarray]] = {s: [] for s in sizes}
    within: dict[int, list[np.ndarray]] = {s: [] for s in sizes}  # each replicate's variance over its draws
    boot_draws = max(2, draws // 4)
    members = [np.flatnonzero(clusters.codes == g) for g in range(clusters.count)]
    from .distinguishability import MIN_CLUSTERS  # noqa: I001

    if clusters.count < MIN_CLUSTERS:
        resamples = 0  # too few topics for an interval: said in `unit`
    for _ in range(resamples):  # the benchmark itself resampled by topic, then the same study on it
        drawn = rng.integers(0, clusters.count, clusters.count)
        rows = np.concatenate([members[g] for g in drawn])
        usable = [s for s in sizes if s < len(rows)]
        found = subset_agreement(hit[rows], present[rows], usable, boot_draws, rng, win)
        for s in usable:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                boot[s].append(np.nanmean(found[s], axis=0))
                within[s].append(np.nanvar(found[s], axis=0, ddof=1))
    out = []
    for s in sizes:
        spread_lo, spread_hi = percentile_ci(observed[s], 0.95)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(observed[s], axis=0)
        lo, hi = (percentile_ci(without_draw_noise(np.array(boot[s]), np.array(within[s]), boot_draws, draws),
                                confidence) if boot[s] else (mean * np.nan, mean * np.nan))
        for k, metric in enumerate(METRICS):
            out.append({"size": s, "metric": metric, "mean": float(mean[k]), "draws_lo": float(spread_lo[k]),
                        "draws_hi": float(spread_hi[k]), "lo": float(lo[k]), "hi": float(hi[k])})
    settings = {"questions": n, "sizes": sizes, "draws": draws, "resamples": resamples, "confidence": confidence,
                "seed": seed, "unit": clusters.describe() if clusters.count >= MIN_CLUSTERS else
                f"{clusters.describe()}: too few for an interval (at least {MIN_CLUSTERS})"}
    return SubsetConsistency(pd.DataFrame(out), settings)


def subsets(run: Path | str, sizes: list[int] | None = None, *, draws: int = 20, resamples: int = 100,
            confidence: float = 0.95, seed: int = 0, out: Path | str | None = None) -> SubsetConsistency:
    """Appendix K.2 on an evaluate run: agreement of random subsets' profiles with the whole benchmark's. Default
    sizes: the paper's 200, 500, 1000 that are below the run's question count, else a quarter and a half of it."""
    from ..evaluation import question_topics, read_evaluation

    evaluated = read_evaluation(run)
    labels = evaluated.labels()
    keep = ~np.isnan(labels).all(axis=(1, 2))
    labels = labels[keep]
    topics = question_topics(evaluated.questions)
    topics = [t for t, k in zip(topics, keep, strict=True) if k] if topics else None
    n = len(labels)
    if sizes is None:
        sizes = [s for s in (200, 500, 1000) if s < n] or sorted({max(2, n // 4), max(2, n // 2)} - {n})
    ev = evaluated.config.evaluation
    result = subset_consistency(labels, sizes, draws=draws, threshold=ev.threshold, topics=topics,
                                resamples=resamples, confidence=confidence, seed=seed, win=ev.win_probability)
    result.settings["run"] = str(run)
    if out is not None:
        write_subsets(result, Path(out))
    return result


def write_subsets(result: SubsetConsistency, out: Path) -> None:
    """subsets.csv / .json and Fig. 21's chart (each metric against the subset size)."""
    from ..charts import _pyplot

    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "subsets.csv", index=False)
    (out / "subsets.json").write_text(json_text({"settings": result.settings,
                                                 "rows": result.table.to_dict(orient="records")}))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for k, metric in enumerate(METRICS):
        rows = result.table[result.table.metric == metric]
        x = rows["size"] + (k - 1.5) * 0.01 * rows["size"].max()
        line = ax.plot(x, rows["mean"], marker="o",
                       label={"icc": "ICC(2,1)", "alpha": "Cronbach's α"}.get(metric, metric.capitalize()))[0]
        ax.vlines(x, rows["lo"], rows["hi"], color=line.get_color(), linewidth=1.2)  # a percentile interval need not
        # hold the mean of the draws, so it is drawn as it is rather than as ± error bars
    ax.set_xlabel("questions in the subset")
    ax.set_ylabel("agreement with the whole benchmark")
    ax.set_title(f"Subsets of {result.settings['questions']} questions ({result.settings['draws']} draws per size; "
                 f"bars: {result.settings['confidence']:.0%} topic-resampled interval)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "subsets.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def read_subsets(out: Path | str) -> dict[str, Any] | None:
    path = Path(out) / "subsets.json"
    return json.loads(path.read_text()) if path.exists() else None


__all__ = ["METRICS", "SubsetConsistency", "agreement", "subset_agreement", "subset_consistency", "subsets"]
