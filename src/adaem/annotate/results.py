"""`adaem annotate results`: the paper's table (Appendix C.10, Table 9) for a study, with intervals, a paired
test and inter-rater agreement; read from the study database, computed by `comparison` and `agreement` as the
study's pre-registered analysis plan says (plan.py). The report shows this same computation, never its own."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..resampling import adjust_pvalues
from .agreement import (
    fleiss_kappa,
    krippendorff_alpha,
    mean_pairwise_kappa,
    pairwise_kappa,
    rater_agreement,
    shared_items,
)
from .comparison import compare_sets, item_means
from .plan import AnalysisPlan, check_plan, deviations
from .study import Study

TOO_FEW = "too few shared items"
MISSING = ("Missing ratings: a question's score averages the ratings it has; Cohen's κ of two raters uses only the "
           "questions both rated; Fleiss' κ uses the questions with at least two ratings, each over the raters who "
           "rated it (unequal numbers allowed, each question weighs the same); Krippendorff's α uses every pairable "
           "value by its definition. Nothing is imputed.")


@dataclass
class AnnotationResults:
    """`.table`: per metric, each set's mean and CI, the gain and its CI, the mean paired difference, p and its
    Holm adjustment. `.agreement`: per metric (and all metrics pooled), κ over the rater pairs sharing enough
    questions, Fleiss' κ, α, with the questions, raters and pairs behind them. `.pairs`: every two raters, the
    questions they share and their κ per metric (None: too few shared items). `.raters`: each rater's ratings,
    agreement with the rest, attention checks and time. `.warnings`: outlier raters; `.deviations`: where this
    computation departs from the study's pre-registered plan."""

    study: Path
    baseline_name: str
    generated_name: str
    scale: tuple[int, int]
    table: Any  # pandas DataFrame
    agreement: Any
    raters: Any
    pairs: Any = None
    metrics: dict[str, str] = field(default_factory=dict)  # key -> name, in the design's order
    plan: AnalysisPlan = field(default_factory=AnalysisPlan)
    plan_sha256: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)


def rating_matrices(study: Study) -> tuple[list[str], list[str], dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(rater names, item ids, metric → items × raters of ratings (NaN: not rated), each item's pair, each item's
    set as 0 = baseline / 1 = generated). Raters are every rater of the study; practice and checks left out."""
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


def annotate_results(study: Path | str | Study, *, resamples: int | None = None, permutations: int | None = None,
                     weights: str | None = None, confidence: float | None = None, seed: int | None = None,
                     min_overlap: int | None = None) -> AnnotationResults:
    """The results of a study as it stands (a study still being rated gives results on the ratings so far), as its
    analysis plan says; a setting given here that differs from the plan is used and named in `.deviations`."""
    import pandas as pd

    own = not isinstance(study, Study)
    s = Study.open(study) if not isinstance(study, Study) else study
    try:
        given: dict[str, Any] = {"resamples": resamples, "permutations": permutations, "weights": weights, "confidence": confidence,
                 "seed": seed, "min_overlap": min_overlap}
        plan = replace(s.plan, **{k: v for k, v in given.items() if v is not None})
        check_plan(plan, "results")
        changed = [f"computed with {d}" for d in deviations(s.plan, given)]
        if s.plan.sha256() != s.meta("plan_sha256"):
            changed.insert(0, "the plan stored in the study no longer matches the hash recorded at its creation "
                              f"({s.meta('plan_sha256')[:12]}…): it was edited")
        names, _, mats, pair, generated = rating_matrices(s)
        checks = s.check_results()
        excluded: dict[str, str] = {}
        if plan.check_pass_rate is not None:
            for name, c in checks.items():
                if c["answered"] and c["passed"] / c["answered"] < plan.check_pass_rate:
                    excluded[name] = f"passed {c['passed']} of {c['answered']} attention checks"
        if excluded:
            drop = [names.index(n) for n in excluded]
            for k in mats:
                mats[k][:, drop] = np.nan
        table, p_values = _table(s, mats, pair, generated, plan)
        agreement = _agreement(s, mats, plan)
        pairs = _pairs(s, names, mats, plan)
        rated = [n for j, n in enumerate(names) if any(np.isfinite(mt[:, j]).any() for mt in mats.values())]
        rater_rows, warnings = _raters(s, names, rated, mats, plan, checks, excluded)
        notes = _notes(s, mats, len(rated), excluded, checks)
        extra = [n for n in names if n not in _planned(s)]
        if extra:
            changed.append(f"the study has raters its design did not (imported later): {', '.join(extra)}")
        practice, n_checks = len(s.design.practice), len(s.design.checks)
        methods = plan.describe([m.name for m in s.metrics.metrics], n_checks, practice) + [MISSING]
        table_df = pd.DataFrame(table)
        if len(table_df):
            table_df["p_holm"] = adjust_pvalues(np.array(p_values, float), "holm")
        return AnnotationResults(
            study=s.path, baseline_name=s.meta("baseline_name"), generated_name=s.meta("generated_name"),
            scale=(s.metrics.scale.min, s.metrics.scale.max), table=table_df,
            agreement=pd.DataFrame(agreement), raters=pd.DataFrame(rater_rows, columns=RATER_COLUMNS),
            pairs=pd.DataFrame(pairs, columns=["rater_a", "rater_b", "shared_questions", *s.metrics.keys(), "note"]),
            metrics={m.key: m.name for m in s.metrics.metrics}, plan=plan, plan_sha256=s.meta("plan_sha256"), warnings=warnings,
            notes=notes, methods=methods, deviations=changed)
    finally:
        if own:
            s.close()


RATER_COLUMNS = ["rater", "ratings", "partners", "shared_questions", "kappa_with_others", "kappa_among_others",
                 "agreement", "flagged", "checks_passed", "checks_answered", "checks_assigned", "median_seconds",
                 "excluded"]


def _planned(s: Study) -> list[str]:
    import json

    return list(json.loads(s.meta("raters_planned", "[]")))


def _table(s: Study, mats: dict[str, np.ndarray], pair: np.ndarray, generated: np.ndarray,
           plan: AnalysisPlan) -> tuple[list[dict[str, Any]], list[float]]:
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    rows, p_values = [], []
    for i, m in enumerate(s.metrics.metrics):
        base, gen = _per_pair(item_means(mats[m.key]), pair, generated, n_pairs)
        c = compare_sets(base, gen, resamples=plan.resamples, permutations=plan.permutations,
                         confidence=plan.confidence, seed=plan.seed + i)
        rows.append({"metric": m.name, "baseline": c.baseline, "baseline_lo": c.baseline_ci[0],
                     "baseline_hi": c.baseline_ci[1], "generated": c.generated, "generated_lo": c.generated_ci[0],
                     "generated_hi": c.generated_ci[1], "gain": c.gain, "gain_lo": c.gain_ci[0],
                     "gain_hi": c.gain_ci[1], "difference": c.difference, "p_value": c.p_value, "pairs": c.pairs,
                     "baseline_items": c.baseline_items, "generated_items": c.generated_items})
        p_values.append(c.p_value)
    return rows, p_values


def _agreement(s: Study, mats: dict[str, np.ndarray], plan: AnalysisPlan) -> list[dict[str, Any]]:
    points = s.metrics.scale.points
    rows = [_agreement_row(m.name, mats[m.key], points, plan) for m in s.metrics.metrics]
    if len(s.metrics.metrics) > 1:
        rows.append(_agreement_row("all metrics", np.vstack(list(mats.values())), points, plan))
    return rows


def _agreement_row(name: str, matrix: np.ndarray, points: list[int], plan: AnalysisPlan) -> dict[str, Any]:
    """κ over the rater pairs sharing at least min_overlap questions; Fleiss' κ and α over the questions with at
    least two ratings; how many questions, raters, ratings and rater pairs (and pairs sharing too few)."""
    pairable = np.isfinite(matrix).sum(1) >= 2
    m = matrix[pairable]
    kappa, rater_pairs = mean_pairwise_kappa(m, points, plan.weights, min_overlap=plan.min_overlap)  # type: ignore[arg-type]
    shared = shared_items(m)[np.triu_indices(m.shape[1], 1)]
    return {"metric": name, "cohen_kappa": kappa, "rater_pairs": rater_pairs,
            "pairs_too_few": int(((shared > 0) & (shared < plan.min_overlap)).sum()),
            "pairs_none": int((shared == 0).sum()), "fleiss_kappa": fleiss_kappa(m, points),
            "krippendorff_alpha": krippendorff_alpha(m, points, "ordinal"), "items": int(pairable.sum()),
            "raters": int(np.isfinite(m).any(0).sum()), "ratings": int(np.isfinite(m).sum())}


def _pairs(s: Study, names: list[str], mats: dict[str, np.ndarray], plan: AnalysisPlan) -> list[dict[str, Any]]:
    """Every two raters who rated anything: the questions both rated and κ per metric (None below min_overlap)."""
    points = s.metrics.scale.points
    active = [j for j in range(len(names)) if any(np.isfinite(m[:, j]).any() for m in mats.values())]
    stacked = np.isfinite(np.stack(list(mats.values()))).any(0).astype(np.int64)  # items × raters, any metric
    any_metric = stacked.T @ stacked
    per_metric = {k: (pairwise_kappa(m, points, plan.weights, min_overlap=plan.min_overlap), shared_items(m))  # type: ignore[arg-type]
                  for k, m in mats.items()}
    rows = []
    for x, a in enumerate(active):
        for b in active[x + 1:]:
            row: dict[str, Any] = {"rater_a": names[a], "rater_b": names[b], "shared_questions": int(any_metric[a, b])}
            for m in s.metrics.metrics:
                kappa, shared = per_metric[m.key]
                row[m.key] = _f(kappa[a, b]) if shared[a, b] >= plan.min_overlap else None
            row["note"] = "" if any_metric[a, b] >= plan.min_overlap else \
                (f"{TOO_FEW} ({int(any_metric[a, b])} < {plan.min_overlap})" if any_metric[a, b] else "no shared items")
            rows.append(row)
    return rows


def _raters(s: Study, names: list[str], rated: list[str], mats: dict[str, np.ndarray], plan: AnalysisPlan,
            checks: dict[str, dict[str, Any]], excluded: dict[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    keep = [names.index(n) for n in rated]
    points = s.metrics.scale.points
    per = rater_agreement([mt[:, keep] for mt in mats.values()], points, plan.weights,  # type: ignore[arg-type]
                          margin=plan.outlier_margin, seed=plan.seed, min_overlap=plan.min_overlap) if keep else None
    seconds = s.seconds_per_item()
    rows, warnings = [], []
    listed = rated + [n for n in names if n not in rated and (n in excluded or checks.get(n, {}).get("answered"))]
    for name in listed:
        j = rated.index(name) if name in rated else None
        count = int(sum(np.isfinite(mt[:, keep[j]]).sum() for mt in mats.values())) if j is not None else 0
        c = checks.get(name, {})
        mine = sorted(seconds.get(name, {}).values())
        row: dict[str, Any] = {
            "rater": name, "ratings": count, "partners": 0, "shared_questions": 0, "kappa_with_others": None,
            "kappa_among_others": None, "agreement": "", "flagged": False, "checks_passed": c.get("passed"),
            "checks_answered": c.get("answered"), "checks_assigned": c.get("assigned"),
            "median_seconds": float(np.median(mine)) if mine else None, "excluded": excluded.get(name, "")}
        if per is not None and j is not None:
            row.update(partners=int(per.partners[j]), shared_questions=int(per.shared[j]),
                       kappa_with_others=_f(per.with_others[j]), kappa_among_others=_f(per.among_others[j]),
                       flagged=bool(per.flagged[j]))
            if per.partners[j] == 0:
                row["agreement"] = f"{TOO_FEW} (fewer than {plan.min_overlap} with anyone)"
                row["kappa_with_others"] = None
            elif per.partners[j] == 1 and len(rated) >= 3:
                row["agreement"] = "one rater to compare with: not judged"
            if per.flagged[j]:
                row["agreement"] = "outlier"
                warnings.append(
                    f"rater '{name}' agrees with the others at κ {per.with_others[j]:.2f}, the others among themselves "
                    f"at {per.among_others[j]:.2f} (mean over metrics; {int(per.partners[j])} raters sharing at least "
                    f"{plan.min_overlap} questions, {int(per.shared[j])} questions in all): an outlier; look at their "
                    "ratings before reading the results")
        elif name in excluded:
            row["agreement"] = "excluded"
        rows.append(row)
    return rows, warnings


def _f(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _notes(study: Study, mats: dict[str, np.ndarray], raters: int, excluded: dict[str, str],
           checks: dict[str, dict[str, Any]]) -> list[str]:
    notes = []
    assigned = int(study.conn.execute("SELECT COUNT(*) FROM assignments a JOIN items i ON i.id = a.item "
                                      "WHERE i.kind = 'study'").fetchone()[0])
    rated = int(sum(np.isfinite(m).sum() for m in mats.values()))
    expected = assigned * len(mats)
    if rated < expected:
        notes.append(f"{rated} of {expected} ratings given so far: results on the ratings so far")
    if raters < 2:
        notes.append("agreement needs at least 2 raters who rated the same questions")
    for name, why in excluded.items():
        notes.append(f"rater '{name}' left out of every figure, as the plan says: {why}")
    for name, c in checks.items():
        for fail in c["failed"]:
            wanted = ", ".join(f"{k} {v}" for k, v in fail["expected"].items())
            got = ", ".join(f"{k} {v}" for k, v in fail["given"].items())
            notes.append(f"rater '{name}' failed the attention check {fail['question'][:60]!r}: {got} (expected {wanted})")
    return notes
