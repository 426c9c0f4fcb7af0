"""Which benchmark tells these models apart (the paper's §4.3 Fig. 8a and Table 15): the same models evaluated on
several benchmarks, and per benchmark two numbers from the models' value profiles.

- mean pairwise Pearson correlation of the models' profiles across the values ("the average Pearson correlation
  of value orientations across the above four LLMs"): lower = the benchmark makes the models look less alike;
- mean within-model standard deviation across the values ("the average standard deviation across the five
  foundations within each v_model", the population SD: Table 15's 0.096 for MFQ is reproduced with ddof = 0):
  higher = the benchmark separates a model's values from each other.

A profile is each model's expression rate per value (share of questions where it expressed the value, 0–1, as
Table 15's numbers are) by default. `measure="score"` uses the TrueSkill scores / 100 instead; those are relative
(a value's scores average 50 over the models), which pulls the mean correlation towards −1/(K − 1) even when the
models do not differ, so rates are the default.

Every figure has an interval over topics: a delete-one-topic jackknife standard error with a t quantile on G − 1
degrees of freedom (G topics; questions when the benchmark has none), and each pair of benchmarks a t test of the
difference (Welch–Satterthwaite degrees of freedom): claims about questions like these, not only these. Chosen by
simulation (benchmarks/bench_validity.py): with 30 topics of 3–10 questions and topic effects, percentile
bootstrap intervals covered 0.80–0.89 (a bootstrap over few clusters is too narrow and these statistics are
biased), the jackknife-t centred on the jackknife's bias-corrected figure 0.935–0.95 (uncorrected, the mean SD's
covered 0.875 at 30 topics). No model is called: everything comes from the runs' answers.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from ..resampling import Clusters, clusters_of, expression_rates
from ..store import json_text

Measure = Literal["rate", "score"]


def profile_separation(profiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean pairwise Pearson correlation, mean within-model population SD) of `profiles` (... × models × values).
    A model whose profile is flat has no correlation with anyone: its pairs are left out (NaN when none is left)."""
    p = np.asarray(profiles, dtype=float)
    centred = p - p.mean(axis=-1, keepdims=True)
    sd = np.sqrt((centred**2).mean(axis=-1))  # population SD, as Table 15
    k = p.shape[-2]
    iu = np.triu_indices(k, 1)
    cov = np.einsum("...iv,...jv->...ij", centred, centred)
    norms = np.sqrt(np.einsum("...iv,...iv->...i", centred, centred))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / (norms[..., :, None] * norms[..., None, :])
    pairs = corr[..., iu[0], iu[1]]
    with warnings.catch_warnings():  # a resample whose profiles are all flat is NaN, said by the value itself
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(pairs, axis=-1), sd.mean(axis=-1)


def expressed(labels: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """questions × models × values of 1.0 (expressed), 0.0 (not), NaN (no answer or no label)."""
    return np.where(np.isnan(labels), np.nan, (np.nan_to_num(labels) >= threshold).astype(float))


def jackknife_profiles(labels: np.ndarray, clusters: Clusters, *, measure: Measure = "rate", threshold: float = 0.5,
                       win: str = "standard") -> np.ndarray:
    """G × models × values of profiles (0–1), each with one topic (cluster) left out."""
    x = expressed(labels, threshold)
    keep = (clusters.codes[None, :] != np.arange(clusters.count)[:, None]).astype(float)  # G × questions
    if measure == "rate":
        return expression_rates(x, keep)
    from ..rating import beta_of, rate_resamples, scores_from_moments

    present = ~np.isnan(x)
    hit = (np.nan_to_num(x) > 0) & present
    order = np.arange(len(x))
    rows = np.full((clusters.count, len(x)), len(x))  # the left-out topic's questions become no-match padding
    for g in range(clusters.count):
        kept = order[clusters.codes != g]
        rows[g, :len(kept)] = kept
    pad = np.zeros((1, *hit.shape[1:]), bool)
    mu, var = rate_resamples(np.concatenate([hit, pad]), np.concatenate([present, pad]), rows)
    return scores_from_moments(mu, var, beta_of("trueskill"), win).transpose(0, 2, 1) / 100  # type: ignore[arg-type]


def jackknife_se(leave_one_out: np.ndarray) -> np.ndarray:
    """The delete-one jackknife standard error over the first axis: sqrt((G − 1)/G · Σ (θ_(g) − θ̄)²)."""
    g = len(leave_one_out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centred = leave_one_out - np.nanmean(leave_one_out, axis=0)
        return np.sqrt((g - 1) / g * np.nansum(centred**2, axis=0))


def observed_profiles(labels: np.ndarray, *, measure: Measure = "rate", threshold: float = 0.5,
                      win: str = "standard") -> np.ndarray:
    """models × values of the profile on the benchmark as it is (0–1)."""
    x = expressed(labels, threshold)
    if measure == "rate":
        return expression_rates(x)
    from ..rating import beta_of, rate_resamples, scores_from_moments

    present = ~np.isnan(x)
    hit = (np.nan_to_num(x) > 0) & present
    mu, var = rate_resamples(hit, present, np.arange(len(hit))[None])
    return scores_from_moments(mu, var, beta_of("trueskill"), win)[0].T / 100  # type: ignore[arg-type]


def t_interval(estimate: float, se: float, df: float, confidence: float) -> tuple[float, float]:
    from scipy.stats import t

    q = float(t.ppf((1 + confidence) / 2, df))
    return estimate - q * se, estimate + q * se


def t_test_p(difference: float, se: float, df: float) -> float:
    from scipy.stats import t

    return float(2 * t.sf(abs(difference) / se, df)) if se > 0 else float("nan")


# Below this many topics (or questions, without topics) a resampled interval is not estimated: three topics give a
# percentile "interval" that need not even hold the estimate. The figure is shown, its interval said to be missing.
MIN_CLUSTERS = 10


@dataclass
class Benchmark:
    """One benchmark's evaluate run, reduced to what the analysis needs."""

    name: str
    labels: np.ndarray  # questions × models × values (the shared models)
    clusters: Clusters


@dataclass
class Distinguishability:
    table: Any  # DataFrame: benchmark, questions, unit, mean_corr [lo, hi], mean_sd [lo, hi]
    tests: Any  # DataFrame: a, b, statistic, difference (a − b) [lo, hi], p
    profiles: dict[str, np.ndarray]  # benchmark → models × values (the observed profiles)
    models: list[str]
    values: list[str]
    settings: dict[str, Any]


def separation(benchmarks: list[Benchmark], *, measure: Measure = "rate", threshold: float = 0.5,
               confidence: float = 0.95, win: str = "standard", models: list[str] | None = None,
               values: list[str] | None = None) -> Distinguishability:
    """The two figures per benchmark with jackknife-t intervals over its topics, and for each pair of benchmarks
    the difference of each figure with its interval and t-test p (the benchmarks' questions are independent).
    Intervals and differences are centred on the jackknife's bias-corrected figures, G·θ − (G − 1)·mean θ_(g):
    a profile's SD across values is inflated by sampling noise (more on a small benchmark), and the uncorrected
    interval covered the population SD 0.875 with 30 topics (0.95 corrected, `analysis/validity.py`); the table
    shows the plain figure, as Table 15 does."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    figures: list[tuple[np.ndarray, np.ndarray, int]] = []  # (bias-corrected, jackknife SEs, clusters) each
    observed = {}
    for b in benchmarks:
        profile = observed_profiles(b.labels, measure=measure, threshold=threshold, win=win)
        estimate = np.array(profile_separation(profile))
        observed[b.name] = profile
        g = b.clusters.count
        if g >= MIN_CLUSTERS:
            loo = np.stack(profile_separation(jackknife_profiles(
                b.labels, b.clusters, measure=measure, threshold=threshold, win=win)), axis=1)  # G × 2
            se = jackknife_se(loo)
            centre = estimate - (g - 1) * (np.nanmean(loo, axis=0) - estimate)  # jackknife bias correction
            (c_lo, c_hi), (s_lo, s_hi) = (t_interval(float(centre[k]), float(se[k]), g - 1, confidence)
                                          for k in (0, 1))
            # Sampling noise attenuates a correlation, so the corrected centre of two close models' correlation
            # can pass 1 (0.905 observed on 15 topics, interval [0.929, 1.138] unclipped); the bounds are clipped
            # to what a correlation and an SD can be, which changes no coverage. Fisher's z instead covered 0.72
            # with 2 models correlated 0.96 on 15 topics, against 0.96 here (validity.py).
            c_lo, c_hi = (min(max(x, -1.0), 1.0) for x in (c_lo, c_hi))
            s_lo, s_hi = max(s_lo, 0.0), max(s_hi, 0.0)
            unit = b.clusters.describe()
        else:
            se, centre = np.full(2, np.nan), estimate
            c_lo = c_hi = s_lo = s_hi = float("nan")
            unit = f"{b.clusters.describe()}: too few for an interval (at least {MIN_CLUSTERS})"
        figures.append((centre, se, g))
        rows.append({"benchmark": b.name, "questions": int(len(b.labels)), "unit": unit,
                     "mean_corr": float(estimate[0]), "corr_lo": c_lo, "corr_hi": c_hi,
                     "mean_sd": float(estimate[1]), "sd_lo": s_lo, "sd_hi": s_hi})
    tests = []
    for i, a in enumerate(benchmarks):
        for j in range(i + 1, len(benchmarks)):
            (ea, sa, ga), (eb, sb, gb) = figures[i], figures[j]
            for k, statistic in enumerate(("mean_corr", "mean_sd")):
                difference = float(ea[k] - eb[k])
                se_d = float(np.hypot(sa[k], sb[k]))
                df = float(se_d**4 / (sa[k] ** 4 / (ga - 1) + sb[k] ** 4 / (gb - 1))) \
                    if np.isfinite(se_d) and se_d > 0 else float("nan")  # Welch–Satterthwaite
                lo, hi = t_interval(difference, se_d, df, confidence) if np.isfinite(df) else (float("nan"),) * 2
                tests.append({"a": a.name, "b": benchmarks[j].name, "statistic": statistic, "difference": difference,
                              "lo": lo, "hi": hi, "p": t_test_p(difference, se_d, df) if np.isfinite(df) else
                              float("nan")})
    settings = {"measure": measure, "threshold": threshold, "confidence": confidence,
                "interval": "delete-one-topic jackknife: bias-corrected centre, SE, t on G − 1 df "
                            "(Welch–Satterthwaite between benchmarks)"}
    return Distinguishability(pd.DataFrame(rows), pd.DataFrame(tests), observed, list(models or []),
                              list(values or []), settings)


def distinguishability(runs: list[Path | str], *, names: list[str] | None = None, measure: Measure = "rate",
                       confidence: float = 0.95, out: Path | str | None = None) -> Distinguishability:
    """Which of several benchmarks tells the same models apart best: one evaluate run per benchmark (the models
    they share are compared; the theory must be the same)."""
    from ..evaluation import question_topics, read_evaluation

    if len(runs) < 1:
        raise ConfigError("distinguish: give at least one evaluate run")
    names = list(names) if names else [Path(r).name for r in runs]
    if len(names) != len(runs):
        raise ConfigError(f"distinguish: {len(names)} names for {len(runs)} runs")
    read = [read_evaluation(r) for r in runs]
    theory = read[0].theory
    for run in read[1:]:
        if run.theory.ids != theory.ids:
            raise ConfigError(f"{run.path} uses theory '{run.theory.name}', {read[0].path} uses '{theory.name}'")
    shared = [m for m in read[0].models if all(m in r.models for r in read[1:])]
    if len(shared) < 2:
        raise ConfigError(f"distinguish: the runs share {len(shared)} models; at least 2 are needed")
    ev = read[0].config.evaluation
    benchmarks = []
    for name, run in zip(names, read, strict=True):
        labels = run.labels()[:, [run.models.index(m) for m in shared]]
        keep = ~np.isnan(labels).all(axis=(1, 2))
        topics = question_topics(run.questions)
        clusters = clusters_of([t for t, k in zip(topics, keep, strict=True) if k] if topics else None,
                               int(keep.sum()))
        benchmarks.append(Benchmark(name, labels[keep], clusters))
    result = separation(benchmarks, measure=measure, threshold=ev.threshold, confidence=confidence,
                        win=ev.win_probability, models=shared, values=theory.ids)
    result.settings["runs"] = [str(r) for r in runs]
    if out is not None:
        write_distinguishability(result, Path(out), [d.name for d in theory.dimensions])
    return result


def write_distinguishability(result: Distinguishability, out: Path, value_names: list[str]) -> None:
    """distinguishability.csv / _tests.csv / .json and the radar grid (Fig. 8a) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "distinguishability.csv", index=False)
    result.tests.to_csv(out / "distinguishability_tests.csv", index=False)
    payload = {"settings": result.settings, "models": result.models, "values": result.values,
               "benchmarks": result.table.to_dict(orient="records"), "tests": result.tests.to_dict(orient="records"),
               "profiles": {k: v.tolist() for k, v in result.profiles.items()}}
    (out / "distinguishability.json").write_text(json_text(payload))
    radar_grid(result, out / "distinguishability.png", value_names)


def radar_grid(result: Distinguishability, path: Path, value_names: list[str]) -> Path:
    """One radar per benchmark with every model's profile (the paper's Fig. 8a), titled with its two figures."""
    from ..charts import _pyplot

    plt = _pyplot()
    names = list(result.profiles)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.4 * rows), subplot_kw={"polar": True},
                             squeeze=False)
    angles = np.linspace(0, 2 * np.pi, len(value_names), endpoint=False).tolist()
    top = max(1e-9, max(float(np.nanmax(p)) for p in result.profiles.values()))
    for ax, name in zip(axes.ravel(), names, strict=False):
        row = result.table[result.table.benchmark == name].iloc[0]
        for k, model in enumerate(result.models):
            values = np.nan_to_num(result.profiles[name][k]).tolist()
            ax.plot(angles + angles[:1], values + values[:1], linewidth=1.6, label=model.split("/")[-1],
                    color=plt.cm.tab10(k % 10))
            ax.fill(angles + angles[:1], values + values[:1], alpha=0.06, color=plt.cm.tab10(k % 10))
        ax.set_xticks(angles)
        ax.set_xticklabels([v[:3].upper() for v in value_names], fontsize=8)
        ax.set_ylim(0, top)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(f"{name}\ncorr {row.mean_corr:.2f} [{row.corr_lo:.2f}, {row.corr_hi:.2f}] · "
                     f"sd {row.mean_sd:.3f}", fontsize=9, pad=14)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
    fig.suptitle("Which benchmark tells the models apart (lower mean correlation, higher SD = more distinguishable)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def read_distinguishability(out: Path | str) -> dict[str, Any] | None:
    """A written analysis (for the report), or None when the directory holds none."""
    path = Path(out) / "distinguishability.json"
    return json.loads(path.read_text()) if path.exists() else None


__all__ = ["Distinguishability", "distinguishability", "jackknife_se", "profile_separation", "separation"]
