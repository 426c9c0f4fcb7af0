"""`adaem annotate results`: the paper's table (Appendix C.10, Table 9) for a study, with intervals, a paired
test and inter-rater agreement; read from the study database, computed by `comparison` and `agreement`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .agreement import Weights, fleiss_kappa, krippendorff_alpha, mean_pairwise_kappa, rater_agreement
from .comparison import compare_sets, item_means
from .study import Study

METHODS = (
    "Each question's score is the mean of its raters' ratings; a set's mean is over its questions, its 95% CI a "
    "t interval; gain = (generated − baseline) / baseline, its CI t on the log of the ratio with each question "
    "pair a unit.",
    "Paired test: sign-flip permutation test of the mean within-pair difference, two-sided ({permutations} "
    "random sign vectors; exact for ≤ 12 pairs).",
    "Agreement over every rated question of both sets: Cohen's κ {weights}-weighted, averaged over rater pairs; "
    "Fleiss' κ (nominal); Krippendorff's α (ordinal metric, missing ratings allowed).",
)


@dataclass
class AnnotationResults:
    """`.table`: per metric, each set's mean and CI, the gain and its CI, the mean paired difference and p.
    `.agreement`: per metric (and all metrics pooled), κ, Fleiss' κ, α, with the items and raters behind them.
    `.raters`: each rater's ratings and agreement with the rest. `.warnings`: outlier raters, gaps."""

    study: Path
    baseline_name: str
    generated_name: str
    scale: tuple[int, int]
    table: Any  # pandas DataFrame
    agreement: Any
    raters: Any
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)


def rating_matrices(study: Study) -> tuple[list[str], list[str], dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(rater names, item ids, metric → items × raters of ratings (NaN: not rated), each item's pair, each item's
    set as 0 = baseline / 1 = generated). Raters are every rater with an assignment or a rating."""
    items = study.items()
    index = {it["id"]: i for i, it in enumerate(items)}
    rows = study.ratings()
    names = [r.name for r in study.raters()]
    col = {n: j for j, n in enumerate(names)}
    mats = {k: np.full((len(items), len(names)), np.nan) for k in study.metrics.keys()}
    for r in rows:
        mats[r["metric"]][index[r["item"]], col[r["rater"]]] = r["value"]
    pair = np.array([it["pair"] for it in items])
    generated = np.array([it["set_name"] == "generated" for it in items], dtype=int)
    return names, [it["id"] for it in items], mats, pair, generated


def _per_pair(values: np.ndarray, pair: np.ndarray, generated: np.ndarray, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    base, gen = np.full(n_pairs, np.nan), np.full(n_pairs, np.nan)
    base[pair[generated == 0]] = values[generated == 0]
    gen[pair[generated == 1]] = values[generated == 1]
    return base, gen


def annotate_results(study: Path | str | Study, *, resamples: int = 2000, permutations: int = 10_000,
                     weights: Weights = "quadratic", confidence: float = 0.95, seed: int = 0) -> AnnotationResults:
    """The results of a study as it stands (a study still being rated gives results on the ratings so far)."""
    import pandas as pd

    own = not isinstance(study, Study)
    s = Study.open(study) if not isinstance(study, Study) else study
    try:
        names, _, mats, pair, generated = rating_matrices(s)
        metrics = s.metrics
        points = metrics.scale.points
        n_pairs = int(pair.max()) + 1 if len(pair) else 0
        table, agreement = [], []
        for i, m in enumerate(metrics.metrics):
            matrix = mats[m.key]
            base, gen = _per_pair(item_means(matrix), pair, generated, n_pairs)
            c = compare_sets(base, gen, resamples=resamples, permutations=permutations, confidence=confidence,
                             seed=seed + i)
            table.append({"metric": m.name, "baseline": c.baseline, "baseline_lo": c.baseline_ci[0],
                          "baseline_hi": c.baseline_ci[1], "generated": c.generated, "generated_lo": c.generated_ci[0],
                          "generated_hi": c.generated_ci[1], "gain": c.gain, "gain_lo": c.gain_ci[0],
                          "gain_hi": c.gain_ci[1], "difference": c.difference, "p_value": c.p_value, "pairs": c.pairs,
                          "baseline_items": c.baseline_items, "generated_items": c.generated_items})
            agreement.append(_agreement_row(m.name, matrix, points, weights))
        if len(metrics.metrics) > 1:
            agreement.append(_agreement_row("all metrics", np.vstack(list(mats.values())), points, weights))
        rated = [n for j, n in enumerate(names) if any(np.isfinite(mt[:, j]).any() for mt in mats.values())]
        keep = [names.index(n) for n in rated]
        per_rater = rater_agreement([mt[:, keep] for mt in mats.values()], points, weights, seed=seed) if keep else None
        rater_rows, warnings = [], []
        for j, name in enumerate(rated):
            count = int(sum(np.isfinite(mt[:, keep[j]]).sum() for mt in mats.values()))
            row = {"rater": name, "ratings": count, "kappa_with_others": None, "kappa_among_others": None,
                   "flagged": False}
            if per_rater is not None:
                row.update(kappa_with_others=_f(per_rater.with_others[j]), kappa_among_others=_f(per_rater.among_others[j]),
                           flagged=bool(per_rater.flagged[j]))
                if per_rater.flagged[j]:
                    warnings.append(f"rater '{name}' agrees with the others at κ {per_rater.with_others[j]:.2f}, the "
                                    f"others among themselves at {per_rater.among_others[j]:.2f} (mean over metrics): "
                                    "an outlier; look at their ratings before reading the results")
            rater_rows.append(row)
        notes = _notes(s, mats, len(rated))
        methods = [t.format(resamples=resamples, permutations=permutations, weights=weights) for t in METHODS]
        return AnnotationResults(
            study=s.path, baseline_name=s.meta("baseline_name"), generated_name=s.meta("generated_name"),
            scale=(metrics.scale.min, metrics.scale.max), table=pd.DataFrame(table),
            agreement=pd.DataFrame(agreement), raters=pd.DataFrame(rater_rows,
                                                                   columns=["rater", "ratings", "kappa_with_others",
                                                                            "kappa_among_others", "flagged"]),
            warnings=warnings, notes=notes, methods=methods)
    finally:
        if own:
            s.close()


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _agreement_row(name: str, matrix: np.ndarray, points: list[int], weights: Weights) -> dict[str, Any]:
    """κ, Fleiss' κ and α over the items with at least two ratings, and how many items, raters, ratings."""
    pairable = np.isfinite(matrix).sum(1) >= 2
    m = matrix[pairable]
    kappa, rater_pairs = mean_pairwise_kappa(m, points, weights)
    return {"metric": name, "cohen_kappa": kappa, "rater_pairs": rater_pairs, "fleiss_kappa": fleiss_kappa(m, points),
            "krippendorff_alpha": krippendorff_alpha(m, points, "ordinal"), "items": int(pairable.sum()),
            "raters": int(np.isfinite(m).any(0).sum()), "ratings": int(np.isfinite(m).sum())}


def _notes(study: Study, mats: dict[str, np.ndarray], raters: int) -> list[str]:
    notes = []
    assigned = int(study.conn.execute("SELECT COUNT(*) FROM assignments").fetchone()[0])
    rated = int(sum(np.isfinite(m).sum() for m in mats.values()))
    expected = assigned * len(mats)
    if rated < expected:
        notes.append(f"{rated} of {expected} ratings given so far: results on the ratings so far")
    if raters < 2:
        notes.append("agreement needs at least 2 raters who rated the same questions")
    return notes
